//! Reconciliation: the runs (rows matched, exceptions found per category) and the exceptions, filtered by state
//! and category, each acknowledged or resolved with a note (and, when resolving, an optional correcting entry in
//! the ledger), audited with the user; the same domain functions as the API.

use super::chrome::{Chrome, Nav, money, when};
use super::pages::{PageError, render};
use super::session::{Act, Signed};
use crate::domain::dashboard::Permission;
use crate::domain::page::Page;
use crate::domain::settlement::exceptions::{self, Correction, ExceptionError, ExceptionRecord, Filters};
use crate::http::AppState;
use crate::http::path_id::PathId;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::id::{ReconciliationExceptionId, ReconciliationExceptionKind};
use paygate_core::ledger::AccountKind;
use paygate_core::{Amount, Currency};

const PAGE_SIZE: i64 = 25;

pub struct RunRow {
    pub id: String,
    pub account: String,
    pub matched: i32,
    pub exceptions: String,
    pub started: String,
}

pub struct ExceptionRow {
    pub id: String,
    pub category: String,
    pub state: String,
    pub subject: String,
    pub charge: String,
    pub expected: String,
    pub actual: String,
    pub detail: String,
    pub note: String,
    pub opened: String,
    pub open: bool,
}

impl ExceptionRow {
    fn of(e: &ExceptionRecord) -> ExceptionRow {
        let amount = |a: Option<i64>| match (a, &e.currency) {
            (Some(a), Some(c)) => money(a, c),
            _ => String::new(),
        };
        ExceptionRow {
            id: e.id.clone(),
            category: e.category.clone(),
            state: e.state.clone(),
            subject: e.subject.clone(),
            charge: e.charge_id.clone().unwrap_or_default(),
            expected: amount(e.expected_amount),
            actual: amount(e.actual_amount),
            detail: e.detail.clone(),
            note: e.note.clone().unwrap_or_default(),
            opened: when(e.opened_at),
            open: e.state != "resolved",
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/reconciliation.html")]
struct ReconciliationPage {
    chrome: Chrome,
    runs: Vec<RunRow>,
    exceptions: Vec<ExceptionRow>,
    state: String,
    category: String,
    states: [&'static str; 3],
    accounts: Vec<&'static str>,
    older: Option<String>,
    can_operate: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Query {
    state: String,
    category: String,
    starting_after: String,
    done: String,
}

async fn reconciliation_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    query: Query,
    error: Option<String>,
) -> Response {
    let scope = signed.session.scope();
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filters = Filters {
        state: text(&query.state).filter(|s| exceptions::STATES.contains(&s.as_str())),
        category: text(&query.category)
            .filter(|c| c.len() <= 40 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
        ..Filters::default()
    };
    let page = Page {
        limit: PAGE_SIZE,
        starting_after: text(&query.starting_after).filter(|c| ReconciliationExceptionId::parse(c).is_ok()),
        ending_before: None,
    };
    let runs_page = Page { limit: 10, ..Page::default() };
    let loaded = signed
        .act(async {
            let runs = exceptions::list_runs(&state.pool, scope, &runs_page).await?;
            let found = exceptions::list(&state.pool, scope, &filters, &page).await?;
            Ok::<_, ExceptionError>((runs, found))
        })
        .await;
    let ((runs, _), (found, has_more)) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let filter_query =
        serde_urlencoded::to_string([("state", &query.state), ("category", &query.category)]).unwrap_or_default();
    let older = match (found.last(), has_more) {
        (Some(last), true) => Some(format!("/dashboard/reconciliation?{filter_query}&starting_after={}", last.id)),
        _ => None,
    };
    let runs = runs
        .iter()
        .map(|r| RunRow {
            id: r.id.clone(),
            account: r.processor_account_id.clone(),
            matched: r.rows_matched,
            exceptions: r
                .exceptions
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            started: when(r.started_at),
        })
        .collect();
    let page = ReconciliationPage {
        chrome: Chrome::new(signed, Nav::Reconciliation),
        runs,
        exceptions: found.iter().map(ExceptionRow::of).collect(),
        state: query.state,
        category: query.category,
        states: exceptions::STATES,
        accounts: AccountKind::ALL.iter().map(|k| k.as_str()).collect(),
        older,
        can_operate: signed.session.role.allows(Permission::OperatePayments),
        notice: (!query.done.is_empty()).then(|| signed.lang.labels().done.to_owned()),
        error,
    };
    render(status, &page)
}

pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let query: Query = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    reconciliation_page(&state, &signed, StatusCode::OK, query, None).await
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct WorkForm {
    note: String,
    debit: String,
    credit: String,
    amount: String,
    currency: String,
}

impl WorkForm {
    /// The correcting entry, when the form asks for one; a field that does not read is named.
    fn correction(&self) -> Result<Option<Correction>, String> {
        if self.amount.trim().is_empty() {
            return Ok(None);
        }
        let account = |name: &str, text: &str| {
            AccountKind::ALL
                .iter()
                .copied()
                .find(|k| k.as_str() == text)
                .ok_or_else(|| format!("{name}: {text:?} is no account"))
        };
        let currency = Currency::parse(self.currency.trim()).map_err(|e| format!("currency: {e}"))?;
        let amount = Amount::parse_decimal(self.amount.trim(), currency.exponent())
            .ok()
            .and_then(|a| Amount::positive(a.minor()).ok())
            .ok_or_else(|| format!("amount: {} is not an amount in {}", self.amount.trim(), currency.code()))?;
        Ok(Some(Correction {
            debit: account("debit", &self.debit)?,
            credit: account("credit", &self.credit)?,
            amount,
            currency,
        }))
    }
}

async fn work(state: &AppState, act: Act<WorkForm>, id: ReconciliationExceptionId, target: &'static str) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::OperatePayments) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let correction = match (target, act.form.correction()) {
        ("resolved", Ok(correction)) => correction,
        (_, Ok(_)) => None,
        (_, Err(message)) => {
            return reconciliation_page(state, signed, StatusCode::BAD_REQUEST, Query::default(), Some(message)).await;
        }
    };
    let note = Some(act.form.note.trim().to_owned()).filter(|n| !n.is_empty());
    let scope = signed.session.scope();
    match signed.act(exceptions::work(&state.pool, scope, id, target, note, correction)).await {
        Ok(_) => Redirect::to("/dashboard/reconciliation?done=1").into_response(),
        Err(ExceptionError::NotFound) => PageError::NotFound.page(signed.lang),
        Err(ExceptionError::Invalid(_, message)) => {
            reconciliation_page(state, signed, StatusCode::BAD_REQUEST, Query::default(), Some(message)).await
        }
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

pub async fn acknowledge(
    State(state): State<AppState>,
    PathId(id): PathId<ReconciliationExceptionKind>,
    act: Act<WorkForm>,
) -> Response {
    work(&state, act, id, "acknowledged").await
}

pub async fn resolve(
    State(state): State<AppState>,
    PathId(id): PathId<ReconciliationExceptionKind>,
    act: Act<WorkForm>,
) -> Response {
    work(&state, act, id, "resolved").await
}
