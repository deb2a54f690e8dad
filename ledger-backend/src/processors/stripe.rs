//! The Stripe connector: pure translation between our flows and Stripe's PaymentIntents API
//! (docs.stripe.com/api; `docs/processors/stripe.md` has the sources). Bodies are form-encoded with
//! bracketed keys; every call carries the pinned `Stripe-Version` and our attempt or refund id as its
//! `Idempotency-Key`; our charge and attempt ids are planted in `metadata` for recovery and
//! reconciliation.

use super::call::{HttpAnswer, HttpCall, HttpMethod, form_body, form_value};
use super::credentials::Secret;
use super::events::{EventEffect, ProcessorEvent};
use super::flows::{Authorization, AuthorizeRequest, Flow};
use super::outcome::{AuthorizationLookup, AuthorizeOutcome, OperationLookup, OperationOutcome};
use paygate_core::Amount;
use paygate_core::decline::DeclineCode;
use paygate_core::internal::{
    PLACEHOLDER_CRYPTOGRAM, PLACEHOLDER_CVC, PLACEHOLDER_ECI, PLACEHOLDER_EXP_MONTH, PLACEHOLDER_EXP_YEAR,
    PLACEHOLDER_NUMBER,
};
use paygate_core::payment_method::PaymentMethod;
use serde_json::Value;

/// The API version every call pins, so Stripe's answers keep the shape this code reads.
pub const STRIPE_VERSION: &str = "2024-06-20";
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
/// The metadata keys our ids travel under (settlement reports read them back: one definition, in core).
pub use paygate_core::settlement::stripe::{METADATA_ATTEMPT, METADATA_CHARGE, METADATA_REFUND};

pub(super) fn headers(secret_key: &Secret, idempotency_key: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers =
        vec![("authorization", format!("Bearer {}", secret_key.expose())), ("stripe-version", STRIPE_VERSION.into())];
    if let Some(key) = idempotency_key {
        headers.push(("idempotency-key", key.to_owned()));
    }
    headers
}

/// `POST /v1/payment_intents`, confirmed at once, with the raw card the vault fills in; manual capture
/// unless it is a sale.
pub fn authorize(secret_key: &Secret, request: &AuthorizeRequest<'_>) -> HttpCall {
    let pairs = [
        ("amount", request.amount.minor().to_string()),
        ("currency", request.currency.code().to_ascii_lowercase()),
        ("confirm", "true".into()),
        ("capture_method", if request.capture { "automatic" } else { "manual" }.into()),
        ("payment_method_types[0]", "card".into()),
        ("payment_method_data[type]", "card".into()),
        ("metadata[paygate_charge_id]", request.charge_id.to_owned()),
        ("metadata[paygate_attempt_id]", request.attempt_id.to_owned()),
        // Where Stripe's 3-D Secure page sends the shopper back; with it, an authentication the issuer asks
        // for comes as `next_action.redirect_to_url`.
        ("return_url", request.return_url.to_owned()),
    ];
    // A card's number; or an Apple Pay device card as a network token with its cryptogram, in the parameters
    // Stripe enables per account (not in its public reference: activemerchant's Stripe gateway sends them).
    let card: &[(&str, &str)] = match request.method {
        PaymentMethod::Card => &[
            ("payment_method_data[card][number]", PLACEHOLDER_NUMBER),
            ("payment_method_data[card][exp_month]", PLACEHOLDER_EXP_MONTH),
            ("payment_method_data[card][exp_year]", PLACEHOLDER_EXP_YEAR),
            ("payment_method_data[card][cvc]", PLACEHOLDER_CVC),
        ],
        PaymentMethod::ApplePay => &[
            ("payment_method_data[card][network_token][number]", PLACEHOLDER_NUMBER),
            ("payment_method_data[card][network_token][exp_month]", PLACEHOLDER_EXP_MONTH),
            ("payment_method_data[card][network_token][exp_year]", PLACEHOLDER_EXP_YEAR),
            ("payment_method_data[card][network_token][tokenization_method]", "apple_pay"),
            ("payment_method_options[card][network_token][cryptogram]", PLACEHOLDER_CRYPTOGRAM),
            ("payment_method_options[card][network_token][electronic_commerce_indicator]", PLACEHOLDER_ECI),
        ],
    };
    HttpCall {
        method: HttpMethod::Post,
        path: "/v1/payment_intents".into(),
        content_type: FORM,
        headers: headers(secret_key, Some(request.attempt_id)),
        body: form_body(&pairs, card),
    }
}

/// Stripe's error object, when the answer is one.
fn error_of(body: &Value) -> Option<&Value> {
    body.get("error").filter(|e| e.is_object())
}

/// The raw-card-data refusal (docs: support.stripe.com/questions/enabling-access-to-raw-card-data-apis):
/// an `invalid_request_error` without a code, recognisable only by its message.
fn is_raw_card_refusal(error: &Value) -> bool {
    let message = error["message"].as_str().unwrap_or("");
    error["type"] == "invalid_request_error"
        && (message.contains("Sending credit card numbers directly") || message.contains("raw card data"))
}

/// Stripe's refusal of the network-token parameters on an account it has not enabled them for (an unknown
/// parameter, to that account).
fn is_network_token_refusal(error: &Value) -> bool {
    error["code"] == "parameter_unknown" && error["param"].as_str().is_some_and(|p| p.contains("[network_token]"))
}

/// A PaymentIntent's status as our outcome.
fn read_intent(intent: &Value) -> AuthorizeOutcome {
    let id = intent["id"].as_str().unwrap_or_default().to_owned();
    match intent["status"].as_str() {
        Some("requires_capture") if !id.is_empty() => {
            AuthorizeOutcome::Approved { processor_reference: id, captured: false, capture_pending: false, card: None }
        }
        Some("succeeded") if !id.is_empty() => {
            AuthorizeOutcome::Approved { processor_reference: id, captured: true, capture_pending: false, card: None }
        }
        // The issuer wants 3-D Secure: the shopper goes to Stripe's page, which sends them back to our return URL.
        Some("requires_action") => match intent["next_action"]["redirect_to_url"]["url"].as_str() {
            Some(url) if intent["next_action"]["type"] == "redirect_to_url" && !id.is_empty() => {
                AuthorizeOutcome::RequiresAction { processor_reference: id, redirect_url: url.to_owned(), card: None }
            }
            // Any other action (Stripe.js's `use_stripe_sdk`) cannot be taken from a server: a clear failure.
            _ => AuthorizeOutcome::Declined {
                code: DeclineCode::AuthenticationRequired,
                raw_code: "requires_action".into(),
                card: None,
            },
        },
        Some("processing") => AuthorizeOutcome::Pending { processor_reference: Some(id) },
        Some("requires_payment_method") => {
            let raw = decline_code_of(&intent["last_payment_error"]);
            AuthorizeOutcome::Declined { code: DeclineCode::from_stripe(&raw), raw_code: raw, card: None }
        }
        other => AuthorizeOutcome::Unknown { detail: format!("PaymentIntent in status {other:?}") },
    }
}

/// The most specific code of a card error: `decline_code` for `card_declined`, else `code`.
fn decline_code_of(error: &Value) -> String {
    error["decline_code"].as_str().or(error["code"].as_str()).unwrap_or("card_declined").to_owned()
}

pub fn read_authorization(answer: &HttpAnswer) -> AuthorizeOutcome {
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return AuthorizeOutcome::Unknown {
            detail: format!("Stripe answered {} with something not JSON", answer.status),
        };
    };
    match (answer.status, error_of(&body)) {
        (200, None) => read_intent(&body),
        (402, Some(error)) => {
            let raw = decline_code_of(error);
            AuthorizeOutcome::Declined { code: DeclineCode::from_stripe(&raw), raw_code: raw, card: None }
        }
        (400, Some(error)) if is_network_token_refusal(error) => AuthorizeOutcome::Misconfigured {
            detail:
                "Stripe refused network tokens: this account needs Stripe to enable network tokens to take Apple Pay \
                     decrypted by Paygate"
                    .into(),
            card: None,
        },
        (400, Some(error)) if is_raw_card_refusal(error) => AuthorizeOutcome::Misconfigured {
            detail: "Stripe refused raw card data: this account needs Stripe's raw card data APIs enabled".into(),
            card: None,
        },
        (401 | 403, _) => AuthorizeOutcome::Misconfigured {
            detail: format!("Stripe refused the account's secret key (HTTP {})", answer.status),
            card: None,
        },
        // Stripe refuses before executing (validation: an amount under its minimum, a currency it does not
        // take): nothing was authorized, and the charge fails with Stripe's code kept.
        (400, Some(error)) if error["type"] == "invalid_request_error" => AuthorizeOutcome::Declined {
            code: DeclineCode::ProcessingError,
            raw_code: error["code"].as_str().unwrap_or("invalid_request_error").to_owned(),
            card: None,
        },
        // Rate limited: documented as not processed. The vault goes on to the next account when there is one
        // (`ConnectorKind::answered_unprocessed`); when this was the last, the charge fails cleanly.
        (429, _) => AuthorizeOutcome::NotSent { detail: "Stripe rate-limited the request (429)".into() },
        // An idempotency conflict (the attempt id was used differently or is in flight), 5xx, or anything
        // else: only asking later can tell what happened.
        (status, _) => AuthorizeOutcome::Unknown { detail: format!("Stripe answered {status}") },
    }
}

fn get(secret_key: &Secret, path: String) -> HttpCall {
    HttpCall {
        method: HttpMethod::Get,
        path,
        content_type: None,
        headers: headers(secret_key, None),
        body: String::new(),
    }
}

fn post(secret_key: &Secret, path: String, pairs: &[(&str, String)], idempotency_key: &str) -> HttpCall {
    HttpCall {
        method: HttpMethod::Post,
        path,
        content_type: FORM,
        headers: headers(secret_key, Some(idempotency_key)),
        body: form_body(pairs, &[]),
    }
}

/// Recovery: the PaymentIntent our attempt created, found by the attempt id we planted in its metadata.
pub fn find_authorization(secret_key: &Secret, attempt_id: &str) -> HttpCall {
    let query = format!("metadata['{METADATA_ATTEMPT}']:'{attempt_id}'");
    get(secret_key, format!("/v1/payment_intents/search?query={}", form_value(&query)))
}

pub fn authorization_state(secret_key: &Secret, authorization: &Authorization<'_>) -> HttpCall {
    get(secret_key, format!("/v1/payment_intents/{}", authorization.processor_reference))
}

fn lookup_of(intent: &Value) -> AuthorizationLookup {
    let id = intent["id"].as_str().unwrap_or_default().to_owned();
    let received = intent["amount_received"].as_i64().unwrap_or(0);
    match intent["status"].as_str() {
        Some("requires_capture" | "succeeded") => {
            AuthorizationLookup::Approved { processor_reference: id, amount_captured: received, voided: false }
        }
        Some("canceled") if intent["latest_charge"].is_string() && intent["last_payment_error"].is_null() => {
            AuthorizationLookup::Approved { processor_reference: id, amount_captured: received, voided: true }
        }
        Some("requires_payment_method" | "canceled") => {
            let raw = decline_code_of(&intent["last_payment_error"]);
            AuthorizationLookup::Declined { code: DeclineCode::from_stripe(&raw), raw_code: raw }
        }
        Some("requires_action") => AuthorizationLookup::RequiresAction,
        other => AuthorizationLookup::Unknown { detail: format!("PaymentIntent in status {other:?}") },
    }
}

/// Reads a search (`data` holds at most the one intent) or a retrieve.
pub fn read_lookup(answer: &HttpAnswer) -> AuthorizationLookup {
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return AuthorizationLookup::Unknown {
            detail: format!("Stripe answered {} with something not JSON", answer.status),
        };
    };
    match (answer.status, body["object"].as_str()) {
        (200, Some("search_result")) => match body["data"].as_array().map(Vec::as_slice) {
            Some([]) => AuthorizationLookup::NotFound,
            Some([intent, ..]) => lookup_of(intent),
            None => AuthorizationLookup::Unknown { detail: "Stripe search without data".into() },
        },
        (200, Some("payment_intent")) => lookup_of(&body),
        (404, _) => AuthorizationLookup::NotFound,
        (status, _) => AuthorizationLookup::Unknown { detail: format!("Stripe answered {status}") },
    }
}

/// `amount_to_capture` of the authorization; Stripe releases the rest (`final_capture` defaults to true).
pub fn capture(secret_key: &Secret, authorization: &Authorization<'_>, amount: Amount, attempt_id: &str) -> HttpCall {
    let path = format!("/v1/payment_intents/{}/capture", authorization.processor_reference);
    post(secret_key, path, &[("amount_to_capture", amount.minor().to_string())], attempt_id)
}

pub fn void(secret_key: &Secret, authorization: &Authorization<'_>, attempt_id: &str) -> HttpCall {
    let path = format!("/v1/payment_intents/{}/cancel", authorization.processor_reference);
    post(secret_key, path, &[], attempt_id)
}

/// Idempotent by `refund_id`: sending it again (recovery) replays Stripe's first answer.
pub fn refund(secret_key: &Secret, authorization: &Authorization<'_>, amount: Amount, refund_id: &str) -> HttpCall {
    let pairs = [
        ("payment_intent", authorization.processor_reference.to_owned()),
        ("amount", amount.minor().to_string()),
        ("metadata[paygate_refund_id]", refund_id.to_owned()),
    ];
    post(secret_key, "/v1/refunds".into(), &pairs, refund_id)
}

/// Recovery: the refunds of the PaymentIntent, among which ours carries our refund id in its metadata.
pub fn find_refund(secret_key: &Secret, authorization: &Authorization<'_>) -> HttpCall {
    get(secret_key, format!("/v1/refunds?payment_intent={}", form_value(authorization.processor_reference)))
}

pub fn read_refund(answer: &HttpAnswer, refund_id: &str) -> OperationLookup {
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return OperationLookup::Unknown {
            detail: format!("Stripe answered {} with something not JSON", answer.status),
        };
    };
    if answer.status != 200 || body["object"] != "list" {
        return OperationLookup::Unknown { detail: format!("Stripe answered {}", answer.status) };
    }
    let ours =
        body["data"].as_array().into_iter().flatten().find(|refund| refund["metadata"][METADATA_REFUND] == refund_id);
    match ours {
        None => OperationLookup::NotFound,
        Some(refund) => match (refund["status"].as_str(), refund["id"].as_str()) {
            (Some("succeeded"), Some(id)) => OperationLookup::Succeeded { reference: id.to_owned() },
            (Some("failed" | "canceled"), _) => OperationLookup::Failed {
                code: refund["failure_reason"].as_str().unwrap_or("refund_failed").to_owned(),
            },
            _ => OperationLookup::Pending,
        },
    }
}

pub fn read_operation(flow: Flow, answer: &HttpAnswer) -> OperationOutcome {
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return OperationOutcome::Unknown {
            detail: format!("Stripe answered {} with something not JSON", answer.status),
        };
    };
    let done = match flow {
        Flow::Capture => body["status"] == "succeeded",
        Flow::Void => body["status"] == "canceled",
        Flow::Refund => body["status"] == "succeeded",
    };
    // A refund's id is what Stripe's reports name it by; a capture or void answers the PaymentIntent.
    let reference = (flow == Flow::Refund).then(|| body["id"].as_str().map(str::to_owned)).flatten();
    match (answer.status, error_of(&body)) {
        (200, None) if done => OperationOutcome::Succeeded { reference },
        // A refund still `pending` at Stripe is not done: recovery asks again.
        (200, None) => OperationOutcome::Unknown { detail: format!("Stripe status {}", body["status"]) },
        (400 | 402, Some(error)) if error["type"] == "invalid_request_error" || error["type"] == "card_error" => {
            OperationOutcome::Failed { code: error["code"].as_str().unwrap_or("invalid_request_error").to_owned() }
        }
        (status, _) => OperationOutcome::Unknown { detail: format!("Stripe answered {status}") },
    }
}

/// A Stripe event (`{id: evt_…, type, data: {object}}`) as ours. Our Stripe calls are answered at once, so most
/// events confirm what we know; disputes are stored and told. Refunds made in Stripe's dashboard come with
/// part 2's reconciliation of `charge.refunded` amounts.
pub fn read_event(body: &[u8]) -> Result<ProcessorEvent, String> {
    let event: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let id = event["id"].as_str().filter(|i| !i.is_empty()).ok_or("the event has no id")?.to_owned();
    let event_type = event["type"].as_str().filter(|t| !t.is_empty()).ok_or("the event has no type")?.to_owned();
    let object = &event["data"]["object"];
    let payment = object["payment_intent"]
        .as_str()
        .or_else(|| object["id"].as_str().filter(|i| i.starts_with("pi_")))
        .map(str::to_owned);
    let effect = match event_type.as_str() {
        "payment_intent.amount_capturable_updated" => EventEffect::Authorized { captured: false },
        "payment_intent.succeeded" => EventEffect::Authorized { captured: true },
        "payment_intent.payment_failed" => {
            let raw = decline_code_of(&object["last_payment_error"]);
            EventEffect::AuthorizationDeclined { code: DeclineCode::from_stripe(&raw), raw_code: raw }
        }
        "charge.dispute.created" => EventEffect::DisputeOpened,
        // The amounts, never the `refunded` flag: a partial refund must not read as a full one.
        "charge.refunded" => match object["amount_refunded"].as_i64() {
            Some(total) => EventEffect::RefundedInAll {
                total,
                refund: object["refunds"]["data"][0]["id"].as_str().map(str::to_owned),
            },
            None => return Err("charge.refunded without amount_refunded".into()),
        },
        _ => EventEffect::Nothing,
    };
    let metadata = &object["metadata"];
    let charge = metadata[METADATA_CHARGE].as_str().map(str::to_owned);
    let attempt = metadata[METADATA_ATTEMPT].as_str().map(str::to_owned);
    Ok(ProcessorEvent { id, event_type, payment, charge, attempt, effect })
}

#[cfg(test)]
#[path = "stripe_tests.rs"]
mod tests;
