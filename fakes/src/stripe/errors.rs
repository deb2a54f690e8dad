//! Stripe's error object (docs.stripe.com/api/errors): `{"error": {type, code, decline_code, message, param,
//! doc_url, payment_intent, charge, ...}}` with the documented HTTP statuses: 400 invalid request, 401 bad
//! key, 402 card errors, 404 no such object, 409 idempotency conflicts, 5xx Stripe's own failures.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct StripeError {
    pub status: StatusCode,
    pub body: Map<String, Value>,
}

impl StripeError {
    fn new(status: StatusCode, kind: &str, message: &str) -> Self {
        let mut body = Map::new();
        body.insert("type".into(), json!(kind));
        body.insert("message".into(), json!(message));
        StripeError { status, body }
    }

    fn with(mut self, name: &str, value: Value) -> Self {
        self.body.insert(name.into(), value);
        self
    }

    pub fn invalid_request(code: &str, param: Option<&str>, message: &str) -> Self {
        let error = StripeError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
            .with("code", json!(code))
            .with("doc_url", json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))));
        match param {
            Some(param) => error.with("param", json!(param)),
            None => error,
        }
    }

    /// An invalid request without a code (Stripe sends some, like the raw-card-data refusal, bare).
    pub fn invalid_request_bare(message: &str) -> Self {
        StripeError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn unauthorized(key: &str) -> Self {
        let tail: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            &format!("Invalid API Key provided: sk_****{tail}"),
        )
    }

    pub fn no_such(kind: &str, id: &str) -> Self {
        StripeError::new(StatusCode::NOT_FOUND, "invalid_request_error", &format!("No such {kind}: '{id}'"))
            .with("code", json!("resource_missing"))
            .with("param", json!("id"))
    }

    /// A card error (402): `code` is Stripe's error code (`card_declined`, `expired_card`, ...), with the
    /// issuer's `decline_code` for `card_declined`; the PaymentIntent as it now is rides along.
    pub fn card(code: &str, decline_code: Option<&str>, message: &str, intent: Value, charge: &str) -> Self {
        let error = StripeError::new(StatusCode::PAYMENT_REQUIRED, "card_error", message)
            .with("code", json!(code))
            .with("charge", json!(charge))
            .with("payment_intent", intent);
        match decline_code {
            Some(decline) => error.with("decline_code", json!(decline)),
            None => error,
        }
    }

    /// The operation does not fit the PaymentIntent's status (capture of a canceled one, ...).
    pub fn unexpected_state(intent: Value, message: &str) -> Self {
        StripeError::invalid_request("payment_intent_unexpected_state", None, message).with("payment_intent", intent)
    }

    pub fn idempotency_mismatch(key: &str) -> Self {
        StripeError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            &format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    pub fn idempotency_in_flight() -> Self {
        StripeError::new(
            StatusCode::CONFLICT,
            "idempotency_error",
            "There is currently another in-progress request using this Stripe API key and idempotency key.",
        )
        .with("code", json!("idempotency_key_in_use"))
    }

    pub fn api_error() -> Self {
        StripeError::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "An unknown error occurred")
    }

    /// Stripe's 429 (`rate_limit`): "Too many requests hit the API too quickly"; the request was not processed.
    pub fn rate_limited() -> Self {
        let mut error = StripeError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_request_error",
            "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        );
        error.body.insert("code".into(), "rate_limit".into());
        error
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn to_json(&self) -> Value {
        json!({ "error": Value::Object(self.body.clone()) })
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.to_json())).into_response()
    }
}
