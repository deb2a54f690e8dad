//! The sandbox acquirer's connector (`crate::sandbox` documents its API): pure translation between our
//! flows and its JSON. It plays the card network in test mode and local development.

use super::call::{HttpAnswer, HttpCall, HttpMethod};
use super::flows::{Authorization, AuthorizeRequest};
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

/// `merchant`: the acquirer's merchant, our sandbox account's id (its daily report is per merchant).
pub fn authorize(merchant: &str, request: &AuthorizeRequest<'_>) -> HttpCall {
    // The sandbox takes the expiry as JSON numbers, so those placeholders must stand unquoted: they are
    // written as marker strings and unquoted after serialisation.
    let mut body = json!({
        "merchant": merchant,
        "reference": request.attempt_id,
        "charge": request.charge_id,
        "amount": request.amount.minor(),
        "currency": request.currency.code(),
        "capture": request.capture,
        "return_url": request.return_url,
    });
    if request.method == PaymentMethod::ApplePay {
        body["network_token"] = json!({ "number": PLACEHOLDER_NUMBER, "exp_month": "EXP_MONTH", "exp_year": "EXP_YEAR",
                                         "cryptogram": PLACEHOLDER_CRYPTOGRAM, "eci": PLACEHOLDER_ECI, "wallet": "apple_pay" });
    } else {
        body["card"] = json!({ "number": PLACEHOLDER_NUMBER, "exp_month": "EXP_MONTH", "exp_year": "EXP_YEAR", "cvc": PLACEHOLDER_CVC });
    }
    let body =
        body.to_string().replace("\"EXP_MONTH\"", PLACEHOLDER_EXP_MONTH).replace("\"EXP_YEAR\"", PLACEHOLDER_EXP_YEAR);
    HttpCall { method: HttpMethod::Post, path: "/authorizations".into(), content_type: JSON, headers: vec![], body }
}

pub fn read_authorization(answer: &HttpAnswer) -> AuthorizeOutcome {
    if answer.status != 201 {
        return AuthorizeOutcome::Unknown { detail: format!("sandbox answered {}", answer.status) };
    }
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return AuthorizeOutcome::Unknown { detail: "sandbox answered something that is not JSON".into() };
    };
    match (body["status"].as_str(), body["id"].as_str()) {
        (Some("approved"), Some(id)) => AuthorizeOutcome::Approved {
            processor_reference: id.to_owned(),
            captured: body["captured"].as_i64().unwrap_or(0) > 0,
            capture_pending: false,
            card: None,
        },
        (Some("requires_action"), Some(id)) => match body["redirect_url"].as_str() {
            Some(url) if url.starts_with("http") => AuthorizeOutcome::RequiresAction {
                processor_reference: id.to_owned(),
                redirect_url: url.to_owned(),
                card: None,
            },
            _ => AuthorizeOutcome::Unknown { detail: "sandbox asked for authentication without a redirect_url".into() },
        },
        (Some("declined"), _) => {
            let raw = body["decline_code"].as_str().unwrap_or("generic_decline");
            AuthorizeOutcome::Declined {
                code: DeclineCode::parse(raw).unwrap_or(DeclineCode::GenericDecline),
                raw_code: raw.to_owned(),
                card: None,
            }
        }
        _ => AuthorizeOutcome::Unknown { detail: format!("unexpected sandbox answer {body}") },
    }
}

fn get(path: String) -> HttpCall {
    HttpCall { method: HttpMethod::Get, path, content_type: None, headers: vec![], body: String::new() }
}

fn post(path: String, body: Value) -> HttpCall {
    HttpCall { method: HttpMethod::Post, path, content_type: JSON, headers: vec![], body: body.to_string() }
}

pub fn find_authorization(attempt_id: &str) -> HttpCall {
    get(format!("/authorizations?reference={}", super::call::form_value(attempt_id)))
}

pub fn authorization_state(authorization: &Authorization<'_>) -> HttpCall {
    get(format!("/authorizations/{}", authorization.processor_reference))
}

pub fn read_lookup(answer: &HttpAnswer) -> AuthorizationLookup {
    if answer.status == 404 {
        return AuthorizationLookup::NotFound;
    }
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return AuthorizationLookup::Unknown { detail: "sandbox lookup answered something that is not JSON".into() };
    };
    match (answer.status, body["status"].as_str(), body["id"].as_str()) {
        (200, Some("approved"), Some(id)) => AuthorizationLookup::Approved {
            processor_reference: id.to_owned(),
            amount_captured: body["captured"].as_i64().unwrap_or(0),
            voided: body["voided"].as_bool().unwrap_or(false),
        },
        (200, Some("requires_action"), _) => AuthorizationLookup::RequiresAction,
        (200, Some("declined"), _) => {
            let raw = body["decline_code"].as_str().unwrap_or("generic_decline");
            AuthorizationLookup::Declined {
                code: DeclineCode::parse(raw).unwrap_or(DeclineCode::GenericDecline),
                raw_code: raw.to_owned(),
            }
        }
        _ => AuthorizationLookup::Unknown { detail: format!("unexpected sandbox lookup {} {body}", answer.status) },
    }
}

/// The merchant's settlement report over `[from, to)` (Unix seconds).
pub fn daily_report(merchant: &str, from: i64, to: i64) -> HttpCall {
    get(format!("/reports/daily?merchant={}&from={from}&to={to}", super::call::form_value(merchant)))
}

/// The refund made under our `refund_id`, if any.
pub fn find_refund(refund_id: &str) -> HttpCall {
    get(format!("/refunds?reference={}", super::call::form_value(refund_id)))
}

pub fn read_refund(answer: &HttpAnswer) -> OperationLookup {
    if answer.status == 404 {
        return OperationLookup::NotFound;
    }
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    match (answer.status, body["status"].as_str(), body["id"].as_str()) {
        (200, Some("succeeded"), Some(id)) => OperationLookup::Succeeded { reference: id.to_owned() },
        (200, Some("failed"), _) => {
            OperationLookup::Failed { code: body["error"].as_str().unwrap_or("refund_declined").to_owned() }
        }
        (status, _, _) => OperationLookup::Unknown { detail: format!("sandbox refund lookup answered {status}") },
    }
}

pub fn capture(authorization: &Authorization<'_>, amount: Amount) -> HttpCall {
    post(format!("/authorizations/{}/capture", authorization.processor_reference), json!({ "amount": amount.minor() }))
}

pub fn void(authorization: &Authorization<'_>) -> HttpCall {
    post(format!("/authorizations/{}/void", authorization.processor_reference), json!({}))
}

/// Idempotent by `refund_id`: sending it again returns the first answer.
pub fn refund(authorization: &Authorization<'_>, amount: Amount, refund_id: &str) -> HttpCall {
    let body =
        json!({ "authorization": authorization.processor_reference, "amount": amount.minor(), "reference": refund_id });
    post("/refunds".into(), body)
}

/// 2xx succeeded; 4xx is the acquirer's definite refusal; anything else is unknown.
pub fn read_operation(answer: &HttpAnswer) -> OperationOutcome {
    match answer.status {
        200..=299 => {
            let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
            // A refund answers its own id; a capture or void answers the authorization.
            let reference = body["id"].as_str().filter(|id| id.starts_with("rf_")).map(str::to_owned);
            OperationOutcome::Succeeded { reference }
        }
        400..=499 => {
            let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
            OperationOutcome::Failed { code: body["error"].as_str().unwrap_or("refused").to_owned() }
        }
        status => OperationOutcome::Unknown { detail: format!("sandbox answered {status}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpAnswer {
        HttpAnswer { status, body: body.into() }
    }

    #[test]
    fn authorization_answers_read_as_outcomes() {
        let approved = read_authorization(&answer(201, r#"{"id":"auth_1","status":"approved","captured":0}"#));
        assert!(matches!(approved, AuthorizeOutcome::Approved { captured: false, .. }));
        let declined = read_authorization(&answer(
            201,
            r#"{"id":"auth_2","status":"declined","decline_code":"insufficient_funds"}"#,
        ));
        assert!(matches!(declined, AuthorizeOutcome::Declined { code: DeclineCode::InsufficientFunds, .. }));
        assert!(matches!(read_authorization(&answer(500, "{}")), AuthorizeOutcome::Unknown { .. }));
        assert!(matches!(read_authorization(&answer(201, "<html>")), AuthorizeOutcome::Unknown { .. }));
    }

    #[test]
    fn the_authorize_body_names_the_merchant_and_charge_and_keeps_the_expiry_placeholders_unquoted() {
        let currency = paygate_core::Currency::parse("USD").unwrap();
        let request = AuthorizeRequest {
            attempt_id: "att_1",
            charge_id: "ch_1",
            token: "tok_1",
            amount: Amount::new(500).unwrap(),
            currency,
            capture: false,
            mada: false,
            method: paygate_core::payment_method::PaymentMethod::Card,
            return_url: "https://api.paygate.test/v1/authentication_returns/ar_0",
        };
        let body = authorize("pa_1", &request).body;
        assert!(body.contains(&format!("\"exp_month\":{PLACEHOLDER_EXP_MONTH}")), "{body}");
        assert!(body.contains(r#""merchant":"pa_1""#) && body.contains(r#""charge":"ch_1""#), "{body}");
        assert!(body.contains(&format!("\"number\":\"{PLACEHOLDER_NUMBER}\"")), "{body}");
    }

    #[test]
    fn operations_are_refused_on_4xx_and_unknown_on_5xx() {
        assert_eq!(read_operation(&answer(200, "{}")), OperationOutcome::Succeeded { reference: None });
        let refunded = read_operation(&answer(200, r#"{"id":"rf_re_1","status":"succeeded"}"#));
        assert_eq!(refunded, OperationOutcome::Succeeded { reference: Some("rf_re_1".into()) });
        assert_eq!(read_refund(&answer(404, "{}")), OperationLookup::NotFound);
        assert_eq!(
            read_refund(&answer(200, r#"{"status":"failed","error":"refund_declined"}"#)),
            OperationLookup::Failed { code: "refund_declined".into() }
        );
        assert_eq!(
            read_operation(&answer(409, r#"{"error":"not_capturable"}"#)),
            OperationOutcome::Failed { code: "not_capturable".into() }
        );
        assert!(matches!(read_operation(&answer(502, "")), OperationOutcome::Unknown { .. }));
        assert_eq!(read_lookup(&answer(404, "")), AuthorizationLookup::NotFound);
    }
}
