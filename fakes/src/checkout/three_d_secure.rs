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
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

fn document(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"
    ))
}

fn over() -> Response {
    (StatusCode::CONFLICT, document("Done", "<h1>This authentication is over</h1>")).into_response()
}

/// Whether the payment's challenge waits for the cardholder now.
fn waiting(payment: &super::state::Payment, now: u64) -> bool {
    payment.three_ds.as_ref().and_then(|t| t.pending_until_ms).is_some_and(|until| now <= until)
}

pub async fn page(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let books = lock(&shared);
    match books.payments.get(&id) {
        Some(payment) if waiting(payment, now_ms()) => {
            let body = format!(
                "<h1>Checkout.com 3DS Test Page</h1><p>{} {}</p><form method=\"post\">\
                 <button id=\"approve\" name=\"decision\" value=\"approve\">Authenticate</button>\
                 <button id=\"fail\" name=\"decision\" value=\"fail\">Fail authentication</button>\
                 <button id=\"abandon\" name=\"decision\" value=\"abandon\">Abandon</button></form>",
                payment.amount, payment.currency,
            );
            document("Checkout.com 3DS Test Page", &body).into_response()
        }
        Some(_) => over(),
        None => (StatusCode::NOT_FOUND, document("Not found", "<h1>No such payment</h1>")).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct Decision {
    decision: String,
}

pub async fn decide(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Decision>,
) -> Response {
    let (back, delivery) = {
        let mut guard = lock(&shared);
        let books = &mut *guard;
        let now = now_ms();
        let (authorization_id, capture_id) = (books.id("act"), books.id("act"));
        let Some(payment) = books.payments.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, document("Not found", "<h1>No such payment</h1>")).into_response();
        };
        if !waiting(payment, now) {
            return over();
        }
        let approved = match form.decision.as_str() {
            "approve" => true,
            "fail" => false,
            "abandon" => return document("Abandoned", "<h1>Authentication abandoned</h1>").into_response(),
            _ => {
                return (StatusCode::BAD_REQUEST, document("Bad request", "<h1>Unknown decision</h1>")).into_response();
            }
        };
        let Some(three_ds) = payment.three_ds.as_mut() else { return over() };
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
    match back {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{url}{separator}cko-session-id=sid_{}", id.trim_start_matches("pay_")))
                .into_response()
        }
        None => document("Done", "<h1>Authentication done</h1>").into_response(),
    }
}
