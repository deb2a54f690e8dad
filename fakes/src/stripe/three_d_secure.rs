//! The fake's stand-in for Stripe's hosted 3-D Secure page (hooks.stripe.com): `next_action.redirect_to_url.url`
//! of a PaymentIntent in `requires_action`. `GET /_fake/3ds/{id}` shows the payment with Approve, Fail and Abandon;
//! `POST` (`decision=…`) decides as Stripe documents the outcomes (docs.stripe.com/payments/3d-secure, "Testing"):
//! - approve: the PaymentIntent goes on to `requires_capture` (manual capture) or `succeeded`, with its charge and
//!   the webhook Stripe sends;
//! - fail: back to `requires_payment_method` with `last_payment_error.code = payment_intent_authentication_failure`
//!   and `payment_intent.payment_failed`;
//!
//! both then redirect the browser to the `return_url` with `payment_intent` and `payment_intent_client_secret`
//! appended, as Stripe does. Abandon decides nothing. A PaymentIntent no longer in `requires_action` (decided,
//! canceled) gets 409.

use super::intents::to_json;
use super::state::{Shared, lock};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

fn document(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"
    ))
}

pub async fn page(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let books = lock(&shared);
    match books.intents.get(&id) {
        Some(intent) if intent.status == "requires_action" => {
            let body = format!(
                "<h1>3D Secure 2 Test Page</h1><p>{} {}</p><form method=\"post\">\
                 <button id=\"approve\" name=\"decision\" value=\"approve\">Complete authentication</button>\
                 <button id=\"fail\" name=\"decision\" value=\"fail\">Fail authentication</button>\
                 <button id=\"abandon\" name=\"decision\" value=\"abandon\">Abandon</button></form>",
                intent.amount,
                intent.currency.to_ascii_uppercase(),
            );
            document("3D Secure 2 Test Page", &body).into_response()
        }
        Some(_) => (StatusCode::CONFLICT, document("Done", "<h1>This authentication is over</h1>")).into_response(),
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
    let (back, key, outbox, delivery) = {
        let mut guard = lock(&shared);
        let books = &mut *guard;
        // An approved authentication makes the PaymentIntent's charge.
        let charge = books.id("ch");
        let Some(intent) = books.intents.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, document("Not found", "<h1>No such payment</h1>")).into_response();
        };
        if intent.status != "requires_action" {
            return (StatusCode::CONFLICT, document("Done", "<h1>This authentication is over</h1>")).into_response();
        }
        let event = match form.decision.as_str() {
            "approve" => {
                intent.next_action = serde_json::Value::Null;
                intent.latest_charge = Some(charge);
                if intent.capture_method == "manual" {
                    intent.status = "requires_capture";
                    intent.amount_capturable = intent.amount;
                    "payment_intent.amount_capturable_updated"
                } else {
                    intent.status = "succeeded";
                    intent.amount_received = intent.amount;
                    "payment_intent.succeeded"
                }
            }
            "fail" => {
                intent.next_action = serde_json::Value::Null;
                intent.status = "requires_payment_method";
                intent.last_payment_error = json!({
                    "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data \
                                or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
                });
                "payment_intent.payment_failed"
            }
            "abandon" => return document("Abandoned", "<h1>Authentication abandoned</h1>").into_response(),
            _ => {
                return (StatusCode::BAD_REQUEST, document("Bad request", "<h1>Unknown decision</h1>")).into_response();
            }
        };
        let intent = intent.clone();
        if intent.status == "succeeded" {
            super::reporting::record_capture(books, &intent);
        }
        books.outbox.push((event, to_json(&intent)));
        let outbox: Vec<_> = std::mem::take(&mut books.outbox)
            .into_iter()
            .map(|(kind, object)| (books.id("evt"), kind, object))
            .collect();
        let delivery = books.accounts.get(&intent.account).map(|a| a.control.webhooks.clone()).unwrap_or_default();
        (intent.return_url.clone(), intent.account.clone(), outbox, delivery)
    };
    super::deliver(&key, outbox, &delivery, None);
    match back {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{url}{separator}payment_intent={id}&payment_intent_client_secret={id}_secret_fake"))
                .into_response()
        }
        None => document("Done", "<h1>Authentication done</h1>").into_response(),
    }
}
