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
use crate::three_d_secure::{self as shared, Decision};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

pub async fn page(State(shared_books): State<Shared>, Path(id): Path<String>) -> Response {
    let books = lock(&shared_books);
    match books.intents.get(&id) {
        Some(intent) if intent.status == "requires_action" => shared::page(
            "3D Secure 2 Test Page",
            intent.amount,
            &intent.currency.to_ascii_uppercase(),
            "Complete authentication",
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
    let (back, key, outbox, delivery) = {
        let mut guard = lock(&shared_books);
        let books = &mut *guard;
        // An approved authentication makes the PaymentIntent's charge.
        let charge = books.id("ch");
        let Some(intent) = books.intents.get_mut(&id) else { return shared::not_found() };
        if intent.status != "requires_action" {
            return shared::over();
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
            "abandon" => return shared::abandoned(),
            _ => return shared::unknown_decision(),
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
    shared::back(back, &format!("payment_intent={id}&payment_intent_client_secret={id}_secret_fake"))
}
