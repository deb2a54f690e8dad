//! The fake's stand-in for Checkout.com's 3-D Secure page (`_links.redirect.href` of a 202 payment): `GET
//! /_fake/3ds/{id}` shows the payment with Approve, Fail and Abandon; `POST` (`decision=…`) decides:
//! - approve: the authorization is processed (approved, and captured for a sale), with its webhooks, and the
//!   browser goes to `success_url` with `cko-session-id`, as Checkout.com sends it;
//! - fail: declined with `3ds.authentication_response: N` (response code `AUTHENTICATION_DECLINED`
//!   **[unverified]**), `payment_declined`, and the browser goes to `failure_url`.
//!
//! Abandon decides nothing; the session expires after `THREE_DS_SESSION_MS` (status `Expired`), after which the
//! page refuses a decision, as it does for a payment already decided (409).

use super::payments::{AUTHENTICATION_DECLINED, event_of};
use super::state::{Action, ActionKind, Shared, lock, now_ms};
use crate::three_d_secure::{self as shared, Decision};
use axum::extract::{Path, State};
use axum::response::Response;

/// Whether the payment's challenge waits for the cardholder now.
fn waiting(payment: &super::state::Payment, now: u64) -> bool {
    payment.three_ds.as_ref().and_then(|t| t.pending_until_ms).is_some_and(|until| now <= until)
}

pub async fn page(State(shared_books): State<Shared>, Path(id): Path<String>) -> Response {
    let books = lock(&shared_books);
    match books.payments.get(&id) {
        Some(payment) if waiting(payment, now_ms()) => shared::page(
            "Checkout.com 3DS Test Page",
            payment.amount,
            &payment.currency,
            "Authenticate",
            "Fail authentication",
        ),
        Some(_) => shared::over(),
        None => shared::not_found(),
    }
}

pub async fn decide(
    State(shared_books): State<Shared>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Decision>,
) -> Response {
    let (back, delivery) = {
        let mut guard = lock(&shared_books);
        let books = &mut *guard;
        let now = now_ms();
        let (authorization_id, capture_id) = (books.id("act"), books.id("act"));
        let Some(payment) = books.payments.get_mut(&id) else { return shared::not_found() };
        if !waiting(payment, now) {
            return shared::over();
        }
        let approved = match form.decision.as_str() {
            "approve" => true,
            "fail" => false,
            "abandon" => return shared::abandoned(),
            _ => return shared::unknown_decision(),
        };
        let Some(three_ds) = payment.three_ds.as_mut() else { return shared::over() };
        three_ds.pending_until_ms = None;
        three_ds.authentication_response = Some(if approved { "Y" } else { "N" });
        let (capture, success_url, failure_url) =
            (three_ds.capture, three_ds.success_url.clone(), three_ds.failure_url.clone());
        payment.approved = approved;
        payment.response_code = if approved { "10000" } else { AUTHENTICATION_DECLINED };
        payment.actions.push(Action {
            id: authorization_id,
            kind: ActionKind::Authorization,
            amount: payment.amount,
            reference: payment.reference.clone(),
            processed_at_ms: now,
            approved,
            response_code: payment.response_code,
        });
        let delay = books.accounts.get(&payment.account).map(|a| a.action_delay_ms).unwrap_or(0);
        if approved && capture {
            payment.actions.push(Action {
                id: capture_id,
                kind: ActionKind::Capture,
                amount: payment.amount,
                reference: None,
                processed_at_ms: now + delay,
                approved: !payment.captures_declined,
                response_code: if payment.captures_declined { "20005" } else { "10000" },
            });
        }
        let outgoing: Vec<_> = payment.actions.iter().map(|action| event_of(payment, action)).collect();
        let account = books.accounts.get(&payment.account).cloned();
        let back = if approved { success_url } else { failure_url };
        (back, account.map(|account| (account, outgoing)))
    };
    if let Some((account, outgoing)) = delivery {
        super::send_webhooks(&account, outgoing);
    }
    shared::back(back, &format!("cko-session-id=sid_{}", id.trim_start_matches("pay_")))
}
