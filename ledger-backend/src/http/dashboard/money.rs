//! Where the money went: every refund (paged), and the balance per currency (pending and available, from the
//! ledger) with the payouts the processors made.

use super::chrome::{Chrome, Nav, money, when};
use super::pages::{PageError, render};
use super::session::Signed;
use crate::domain::page::Page;
use crate::domain::settlement::payouts;
use crate::domain::{balance, refunds};
use crate::http::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use paygate_core::id::{PayoutId, RefundId};

const PAGE_SIZE: i64 = 25;

/// `starting_after` from the query, if it is an id `valid` accepts.
fn cursor(query: Option<&str>, valid: impl Fn(&str) -> bool) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .ok()?
        .into_iter()
        .find(|(name, _)| name == "starting_after")
        .map(|(_, value)| value)
        .filter(|value| valid(value))
}

pub struct RefundRow {
    pub id: String,
    pub charge: String,
    pub amount: String,
    pub status: String,
    pub failure: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/refunds.html")]
struct RefundsPage {
    chrome: Chrome,
    rows: Vec<RefundRow>,
    older: Option<String>,
}

pub async fn refunds(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let page = Page {
        limit: PAGE_SIZE,
        starting_after: cursor(query.as_deref(), |c| RefundId::parse(c).is_ok()),
        ending_before: None,
    };
    let listed = signed.act(refunds::list(&state.pool, signed.session.scope(), &page)).await;
    let (records, has_more) = match listed {
        Ok(listed) => listed,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let older = match (records.last(), has_more) {
        (Some(last), true) => Some(format!("/dashboard/refunds?starting_after={}", last.id)),
        _ => None,
    };
    let rows = records
        .iter()
        .map(|r| RefundRow {
            id: r.id.to_string(),
            charge: r.charge_id.to_string(),
            amount: money(r.amount, &r.currency),
            status: r.status.clone(),
            failure: r.failure_code.clone().unwrap_or_default(),
            created: when(r.created),
        })
        .collect();
    render(StatusCode::OK, &RefundsPage { chrome: Chrome::new(&signed, Nav::Refunds), rows, older })
}

pub struct BalanceRow {
    pub currency: String,
    pub pending: String,
    pub available: String,
}

pub struct PayoutRow {
    pub id: String,
    pub amount: String,
    pub status: String,
    pub processor_payout: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/balance.html")]
struct BalancePage {
    chrome: Chrome,
    balances: Vec<BalanceRow>,
    payouts: Vec<PayoutRow>,
    older: Option<String>,
}

pub async fn balance(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let session = &signed.session;
    let page = Page {
        limit: PAGE_SIZE,
        starting_after: cursor(query.as_deref(), |c| PayoutId::parse(c).is_ok()),
        ending_before: None,
    };
    let loaded = signed
        .act(async {
            let balance = balance::of(&state.pool, session.merchant_id, session.mode).await?;
            let payouts = payouts::list(&state.pool, session.scope(), &page).await?;
            Ok::<_, sqlx::Error>((balance, payouts))
        })
        .await;
    let (balance, (payouts, has_more)) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    // One row per currency, never summed across them.
    let mut currencies: Vec<String> =
        balance.pending.iter().chain(&balance.available).map(|line| line.currency.clone()).collect();
    currencies.sort();
    currencies.dedup();
    let amount_in = |lines: &[balance::BalanceAmount], currency: &str| {
        money(lines.iter().find(|l| l.currency == currency).map_or(0, |l| l.amount), currency)
    };
    let balances = currencies
        .iter()
        .map(|currency| BalanceRow {
            currency: currency.clone(),
            pending: amount_in(&balance.pending, currency),
            available: amount_in(&balance.available, currency),
        })
        .collect();
    let older = match (payouts.last(), has_more) {
        (Some(last), true) => Some(format!("/dashboard/balance?starting_after={}", last.id)),
        _ => None,
    };
    let payouts = payouts
        .iter()
        .map(|p| PayoutRow {
            id: p.id.clone(),
            amount: money(p.amount, &p.currency),
            status: p.status.clone(),
            processor_payout: p.processor_payout.clone(),
            created: when(p.created),
        })
        .collect();
    render(StatusCode::OK, &BalancePage { chrome: Chrome::new(&signed, Nav::Balance), balances, payouts, older })
}
