//! The Checkout.com connector: pure translation between our flows and the Unified Payments API
//! (`docs/processors/checkout.md` has the sources). JSON bodies; `Cko-Idempotency-Key` carries our attempt or
//! refund id; `reference` is our charge id on the payment and our attempt or refund id on each action, so the
//! actions list and the reports name them. A payment answers 201 when processed (`approved: false` is a
//! decline); captures, voids and refunds answer 202 with only an action id and are **pending** until the
//! actions list (or a webhook) says how they ended.

use super::call::{HttpAnswer, HttpCall, HttpMethod, form_value};
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
use serde_json::{Value, json};

const JSON: Option<&str> = Some("application/json");
/// The metadata key our attempt id travels under (recovery finds a lost payment by it).
pub const METADATA_ATTEMPT: &str = "paygate_attempt_id";

/// An account's credentials as the calls need them.
#[derive(Debug, Clone)]
pub struct Account<'a> {
    pub secret_key: &'a Secret,
    pub processing_channel_id: &'a str,
}

pub(super) fn headers(account: &Account<'_>, idempotency_key: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![("authorization", format!("Bearer {}", account.secret_key.expose()))];
    if let Some(key) = idempotency_key {
        headers.push(("cko-idempotency-key", key.to_owned()));
    }
    headers
}

/// `POST /payments` with the card the vault fills in (`capture: true` is a sale).
pub fn authorize(account: &Account<'_>, request: &AuthorizeRequest<'_>) -> HttpCall {
    // Checkout.com takes the expiry as JSON numbers: those placeholders stand unquoted (written as marker
    // strings, unquoted after serialisation).
    // An Apple Pay device card goes pre-decrypted as a network token ("Pay with a pre-decrypted Apple Pay token").
    let source = match request.method {
        PaymentMethod::ApplePay => {
            json!({ "type": "network_token", "token": PLACEHOLDER_NUMBER, "token_type": "applepay",
                                           "expiry_month": "EXP_MONTH", "expiry_year": "EXP_YEAR",
                                           "cryptogram": PLACEHOLDER_CRYPTOGRAM, "eci": PLACEHOLDER_ECI })
        }
        PaymentMethod::Card => json!({ "type": "card", "number": PLACEHOLDER_NUMBER, "expiry_month": "EXP_MONTH",
                                       "expiry_year": "EXP_YEAR", "cvv": PLACEHOLDER_CVC }),
    };
    let mut body = json!({
        "source": source,
        "amount": request.amount.minor(),
        "currency": request.currency.code(),
        "capture": request.capture,
        "reference": request.charge_id,
        "processing_channel_id": account.processing_channel_id,
        "metadata": { METADATA_ATTEMPT: request.attempt_id },
        // 3-D Secure always: where the issuer can, it is frictionless; where it wants a challenge, the shopper is
        // sent to it and back to our return URL, whichever way it ended. Mada requires it ("Mada cards only work
        // with 3DS enabled").
        "3ds": { "enabled": true },
        "success_url": request.return_url,
        "failure_url": request.return_url,
    });
    // Mada is always a sale, and its docs say "do not provide `capture` or `capture_on`".
    if request.mada {
        body.as_object_mut().map(|fields| fields.remove("capture"));
    }
    let body =
        body.to_string().replace("\"EXP_MONTH\"", PLACEHOLDER_EXP_MONTH).replace("\"EXP_YEAR\"", PLACEHOLDER_EXP_YEAR);
    HttpCall {
        method: HttpMethod::Post,
        path: "/payments".into(),
        content_type: JSON,
        headers: headers(account, Some(request.attempt_id)),
        body,
    }
}

/// A processed payment (201, or a lookup) as our outcome.
fn read_payment(payment: &Value, capture_requested: bool) -> AuthorizeOutcome {
    let id = payment["id"].as_str().unwrap_or_default().to_owned();
    let code = payment["response_code"].as_str().unwrap_or("");
    match (payment["approved"].as_bool(), payment["status"].as_str()) {
        // A declined authentication is the cardholder's failure, whatever response code the decline carries
        // (`3ds.authentication_response`: N no, R rejected, U could not) **[unverified: the code Checkout.com gives]**.
        (Some(false), _) | (_, Some("Declined"))
            if matches!(payment["3ds"]["authentication_response"].as_str(), Some("N" | "R" | "U")) =>
        {
            AuthorizeOutcome::Declined {
                code: DeclineCode::AuthenticationFailed,
                raw_code: code.to_owned(),
                card: None,
            }
        }
        (Some(false), _) | (_, Some("Declined")) => {
            AuthorizeOutcome::Declined { code: DeclineCode::from_checkout(code), raw_code: code.to_owned(), card: None }
        }
        (Some(true), Some("Captured")) if !id.is_empty() => {
            AuthorizeOutcome::Approved { processor_reference: id, captured: true, capture_pending: false, card: None }
        }
        // A sale at Checkout.com is authorized at once and captured just after: the capture is pending
        // until the actions list (or the `payment_captured` webhook) confirms it.
        (Some(true), Some("Authorized")) if !id.is_empty() => AuthorizeOutcome::Approved {
            processor_reference: id,
            captured: false,
            capture_pending: capture_requested,
            card: None,
        },
        (_, status) => AuthorizeOutcome::Unknown { detail: format!("Checkout.com payment in status {status:?}") },
    }
}

pub fn read_authorization(answer: &HttpAnswer, capture_requested: bool) -> AuthorizeOutcome {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    match answer.status {
        201 => read_payment(&body, capture_requested),
        // Accepted, not processed: the cardholder must authenticate at `_links.redirect` first (3-D Secure).
        202 => match (body["id"].as_str(), body["_links"]["redirect"]["href"].as_str()) {
            (Some(id), Some(href)) if href.starts_with("https://") || href.starts_with("http://") => {
                AuthorizeOutcome::RequiresAction {
                    processor_reference: id.to_owned(),
                    redirect_url: href.to_owned(),
                    card: None,
                }
            }
            // Another asynchronous method: the outcome comes later.
            _ => AuthorizeOutcome::Pending { processor_reference: body["id"].as_str().map(str::to_owned) },
        },
        401 | 403 => AuthorizeOutcome::Misconfigured {
            detail: format!("Checkout.com refused the account's secret key (HTTP {})", answer.status),
            card: None,
        },
        // Refused before processing: our request (or the card's details) did not validate.
        422 => {
            let codes: Vec<&str> =
                body["error_codes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let code = match codes.first().copied() {
                Some("card_number_invalid") => DeclineCode::IncorrectNumber,
                Some("card_expired" | "card_expiry_month_invalid" | "card_expiry_year_invalid") => {
                    DeclineCode::ExpiredCard
                }
                Some("cvv_invalid") => DeclineCode::IncorrectCvc,
                Some("processing_channel_id_required" | "processing_channel_id_invalid") => {
                    return AuthorizeOutcome::Misconfigured {
                        detail: "Checkout.com refused the processing channel".into(),
                        card: None,
                    };
                }
                _ => DeclineCode::ProcessingError,
            };
            AuthorizeOutcome::Declined { code, raw_code: codes.join(","), card: None }
        }
        // Rate-limited before processing (documented): nothing was authorized; the vault tried the next account
        // if there was one.
        429 => AuthorizeOutcome::NotSent { detail: "Checkout.com rate-limited the request (429)".into() },
        status => AuthorizeOutcome::Unknown { detail: format!("Checkout.com answered {status}") },
    }
}

fn get(account: &Account<'_>, path: String) -> HttpCall {
    HttpCall { method: HttpMethod::Get, path, content_type: None, headers: headers(account, None), body: String::new() }
}

/// Recovery: the payments made with our charge id as reference; ours carries our attempt id in metadata.
pub fn find_authorization(account: &Account<'_>, charge_id: &str) -> HttpCall {
    get(account, format!("/payments?reference={}", form_value(charge_id)))
}

pub fn authorization_state(account: &Account<'_>, authorization: &Authorization<'_>) -> HttpCall {
    get(account, format!("/payments/{}", authorization.processor_reference))
}

fn lookup_of(payment: &Value) -> AuthorizationLookup {
    let id = payment["id"].as_str().unwrap_or_default().to_owned();
    let balances = &payment["balances"];
    let three_ds = &payment["3ds"];
    match payment["status"].as_str() {
        // Waiting for the cardholder's authentication (3-D Secure asked, not answered yet).
        Some("Pending") if three_ds.is_object() && three_ds["authentication_response"].is_null() => {
            return AuthorizationLookup::RequiresAction;
        }
        // Another pending payment: its outcome comes later.
        Some("Pending") => {
            return AuthorizationLookup::Unknown { detail: "Checkout.com payment pending".into() };
        }
        // The authentication's session lapsed unanswered: it can never be authorized now.
        Some("Expired") if three_ds.is_object() && three_ds["authentication_response"].is_null() => {
            return AuthorizationLookup::Declined {
                code: DeclineCode::AuthenticationAbandoned,
                raw_code: "Expired".into(),
            };
        }
        _ => {}
    }
    match read_payment(payment, false) {
        AuthorizeOutcome::Declined { code, raw_code, .. } => AuthorizationLookup::Declined { code, raw_code },
        AuthorizeOutcome::Approved { .. } | AuthorizeOutcome::Unknown { .. } if payment["approved"] == true => {
            AuthorizationLookup::Approved {
                processor_reference: id,
                amount_captured: balances["total_captured"].as_i64().unwrap_or(0),
                voided: balances["total_voided"].as_i64().unwrap_or(0) > 0,
            }
        }
        _ => AuthorizationLookup::Unknown { detail: format!("Checkout.com payment {payment}") },
    }
}

/// Reads a list by reference (our attempt's payment, by metadata) or one payment.
pub fn read_lookup(answer: &HttpAnswer, attempt_id: &str) -> AuthorizationLookup {
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return AuthorizationLookup::Unknown { detail: format!("Checkout.com answered {}", answer.status) };
    };
    match (answer.status, body["data"].as_array()) {
        (200, Some(payments)) => match payments.iter().find(|p| p["metadata"][METADATA_ATTEMPT] == attempt_id) {
            Some(payment) => lookup_of(payment),
            None => AuthorizationLookup::NotFound,
        },
        (200, None) => lookup_of(&body),
        (404, _) => AuthorizationLookup::NotFound,
        (status, _) => AuthorizationLookup::Unknown { detail: format!("Checkout.com answered {status}") },
    }
}

/// Capture (`amount`; the rest is released), void or refund, each with our id as its `reference`.
pub fn operation(
    account: &Account<'_>,
    flow: Flow,
    authorization: &Authorization<'_>,
    amount: Amount,
    id: &str,
) -> HttpCall {
    let (action, body) = match flow {
        Flow::Capture => ("captures", json!({ "amount": amount.minor(), "reference": id })),
        Flow::Void => ("voids", json!({ "reference": id })),
        Flow::Refund => ("refunds", json!({ "amount": amount.minor(), "reference": id })),
    };
    HttpCall {
        method: HttpMethod::Post,
        path: format!("/payments/{}/{action}", authorization.processor_reference),
        content_type: JSON,
        headers: headers(account, Some(id)),
        body: body.to_string(),
    }
}

/// 202 is accepted, not done: pending with its action id. 403/422 are refusals; anything else unknown.
pub fn read_operation(answer: &HttpAnswer) -> OperationOutcome {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    match answer.status {
        202 => OperationOutcome::Pending { reference: body["action_id"].as_str().map(str::to_owned) },
        403 | 422 => {
            let codes: Vec<&str> =
                body["error_codes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let code = codes.first().copied().or(body["error_type"].as_str()).unwrap_or("action_not_allowed");
            OperationOutcome::Failed { code: code.to_owned() }
        }
        status => OperationOutcome::Unknown { detail: format!("Checkout.com answered {status}") },
    }
}

/// The payment's processed actions, where ours is found.
pub fn find_operation(account: &Account<'_>, authorization: &Authorization<'_>) -> HttpCall {
    get(account, format!("/payments/{}/actions", authorization.processor_reference))
}

/// Our action among the processed ones: by its reference (our id), or for a capture a capture without one
/// (the one a sale requested in the payment itself).
pub fn read_operation_lookup(answer: &HttpAnswer, flow: Flow, id: &str) -> OperationLookup {
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return OperationLookup::Unknown { detail: format!("Checkout.com answered {}", answer.status) };
    };
    let Some(actions) = body.as_array().filter(|_| answer.status == 200) else {
        return OperationLookup::Unknown { detail: format!("Checkout.com answered {}", answer.status) };
    };
    let kind = match flow {
        Flow::Capture => "Capture",
        Flow::Void => "Void",
        Flow::Refund => "Refund",
    };
    let ours = actions
        .iter()
        .filter(|a| a["type"] == kind)
        .find(|a| a["reference"] == id || (flow == Flow::Capture && a["reference"].is_null()));
    match ours {
        None => OperationLookup::NotFound,
        Some(action) if action["approved"] == true => {
            OperationLookup::Succeeded { reference: action["id"].as_str().unwrap_or_default().to_owned() }
        }
        Some(action) => {
            OperationLookup::Failed { code: action["response_code"].as_str().unwrap_or("declined").to_owned() }
        }
    }
}

/// A Checkout.com webhook (`{id, type, data: {id: pay_…, action_id, reference, response_code, …}}`, types as in
/// Hyperswitch's `CheckoutWebhookEventType`) as our event.
pub fn read_event(body: &[u8]) -> Result<ProcessorEvent, String> {
    let event: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let id = event["id"].as_str().filter(|i| !i.is_empty()).ok_or("the event has no id")?.to_owned();
    let event_type = event["type"].as_str().filter(|t| !t.is_empty()).ok_or("the event has no type")?.to_owned();
    let data = &event["data"];
    let text = |name: &str| data[name].as_str().map(str::to_owned);
    let code = || text("response_code").unwrap_or_else(|| "declined".into());
    let effect = match event_type.as_str() {
        "payment_approved" => EventEffect::Authorized { captured: false },
        "payment_declined" => {
            let raw = code();
            EventEffect::AuthorizationDeclined { code: DeclineCode::from_checkout(&raw), raw_code: raw }
        }
        "payment_captured" => EventEffect::Captured { action: text("action_id") },
        "payment_capture_declined" => EventEffect::CaptureDeclined { code: code() },
        "payment_voided" => EventEffect::Voided,
        "payment_void_declined" => EventEffect::VoidDeclined { code: code() },
        "payment_refunded" => EventEffect::Refunded {
            reference: text("reference"),
            action: text("action_id"),
            amount: data["amount"].as_i64(),
        },
        "payment_refund_declined" => {
            EventEffect::RefundDeclined { reference: text("reference"), action: text("action_id"), code: code() }
        }
        kind if kind.starts_with("dispute_received") || kind == "dispute_evidence_required" => {
            EventEffect::DisputeOpened
        }
        _ => EventEffect::Nothing,
    };
    let payment = text("payment_id").or_else(|| text("id").filter(|i| i.starts_with("pay_")));
    // The payment's reference is our charge id; its metadata carries our attempt id.
    let charge = text("reference").filter(|r| r.starts_with("ch_"));
    let attempt = data["metadata"][METADATA_ATTEMPT].as_str().map(str::to_owned);
    Ok(ProcessorEvent { id, event_type, payment, charge, attempt, effect })
}

#[cfg(test)]
#[path = "checkout_tests.rs"]
mod tests;
