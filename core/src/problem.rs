//! RFC 9457 problem details, the one error shape of every Paygate answer (edge and backend alike), and
//! the catalogue of error codes. A code's HTTP status, title and `type` URI are fixed here so they stay
//! stable across releases; `detail` and `param` say what went wrong with this particular request.

use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/problem+json";
/// Where each code is documented; the code is appended.
pub const TYPE_BASE: &str = "https://docs.paygate.dev/errors/";

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $title:literal);)*) => {
        /// Every error code the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode { $($(#[$doc])* $variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// A short, stable, human summary; the same for every occurrence of the code.
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }

            /// Whether this refusal comes before the request started executing (its shape, its key, its
            /// caller, a rate limit, a conflict, a missing object) rather than being the request's outcome.
            /// Decides what an idempotent request stores (`crate::idempotency::stores_answer`); written as
            /// an exhaustive match below so a new code must be placed.
            pub fn refused_before_execution(self) -> bool {
                before_execution(self)
            }

            pub fn parse(text: &str) -> Option<ErrorCode> {
                match text { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// The body is not valid JSON, or not an object.
    BodyMalformed = ("body_malformed", 400, "The request body is not valid JSON");
    ParameterMissing = ("parameter_missing", 400, "A required parameter is missing");
    ParameterInvalid = ("parameter_invalid", 400, "A parameter has an invalid value");
    ParameterUnknown = ("parameter_unknown", 400, "The request has a parameter this endpoint does not take");
    IdempotencyKeyMissing = ("idempotency_key_missing", 400, "This request needs an Idempotency-Key header");
    IdempotencyKeyInvalid = ("idempotency_key_invalid", 400, "The Idempotency-Key header is malformed");
    CardNumberInvalid = ("card_number_invalid", 400, "The card number is not valid");
    CardExpired = ("card_expired", 400, "The card has expired");
    ExpiryInvalid = ("expiry_invalid", 400, "The expiry date is not valid");
    CvcInvalid = ("cvc_invalid", 400, "The security code is not valid");
    CardBrandUnsupported = ("card_brand_unsupported", 400, "This card brand is not supported");
    TokenUsed = ("token_used", 400, "The token was already used or has expired");
    AmountTooLarge = ("amount_too_large", 400, "The amount exceeds what this operation allows");
    AuthenticationRequired = ("authentication_required", 401, "No API key was provided");
    ApiKeyInvalid = ("api_key_invalid", 401, "The API key is not valid");
    SignatureInvalid = ("signature_invalid", 401, "The request signature is missing, forged or stale");
    CardDeclined = ("card_declined", 402, "The card was declined");
    InsufficientFunds = ("insufficient_funds", 402, "The card has insufficient funds");
    IncorrectCvc = ("incorrect_cvc", 402, "The card's security code is incorrect");
    ProcessingError = ("processing_error", 402, "The processor could not process the card");
    /// A publishable key used for a secret operation, or the reverse.
    PermissionDenied = ("permission_denied", 403, "This API key may not perform this request");
    ResourceNotFound = ("resource_not_found", 404, "No such object");
    RouteNotFound = ("route_not_found", 404, "No such endpoint");
    MethodNotAllowed = ("method_not_allowed", 405, "This endpoint does not accept this method");
    IdempotencyInFlight = ("idempotency_in_flight", 409, "A request with this Idempotency-Key is still in progress");
    /// The object's state does not allow the action (capture a voided charge...).
    InvalidState = ("invalid_state", 409, "The object's state does not allow this action");
    ProcessorNotConfigured = ("processor_not_configured", 409, "No enabled processor account can take this payment");
    PayloadTooLarge = ("payload_too_large", 413, "The request body is too large");
    UnsupportedMediaType = ("unsupported_media_type", 415, "The request body must be application/json");
    IdempotencyKeyReused = ("idempotency_key_reused", 422, "This Idempotency-Key was used with a different request");
    RateLimited = ("rate_limited", 429, "Too many requests");
    InternalError = ("internal_error", 500, "Something went wrong on our side");
    UpstreamError = ("upstream_error", 502, "An upstream service answered badly");
    ServiceUnavailable = ("service_unavailable", 503, "The service is temporarily unavailable");
}

fn before_execution(code: ErrorCode) -> bool {
    use ErrorCode::*;
    match code {
        // Outcomes of the attempt itself: the processor's answer, kept and replayed.
        CardDeclined | InsufficientFunds | IncorrectCvc | ProcessingError => false,
        BodyMalformed
        | ParameterMissing
        | ParameterInvalid
        | ParameterUnknown
        | IdempotencyKeyMissing
        | IdempotencyKeyInvalid
        | CardNumberInvalid
        | CardExpired
        | ExpiryInvalid
        | CvcInvalid
        | CardBrandUnsupported
        | TokenUsed
        | AmountTooLarge
        | AuthenticationRequired
        | ApiKeyInvalid
        | SignatureInvalid
        | PermissionDenied
        | ResourceNotFound
        | RouteNotFound
        | MethodNotAllowed
        | IdempotencyInFlight
        | InvalidState
        | ProcessorNotConfigured
        | PayloadTooLarge
        | UnsupportedMediaType
        | IdempotencyKeyReused
        | RateLimited => true,
        // The outcome is unknown; never stored (see `stores_answer`), listed for completeness.
        InternalError | UpstreamError | ServiceUnavailable => true,
    }
}

/// An RFC 9457 problem with Paygate's extension members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub code: ErrorCode,
    /// The request parameter at fault, as a JSON path (`amount`, `metadata.order_id`, `card.number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    pub fn new(code: ErrorCode) -> Self {
        Problem {
            type_uri: format!("{TYPE_BASE}{}", code.as_str()),
            title: code.title().to_owned(),
            status: code.status(),
            detail: None,
            code,
            param: None,
            request_id: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The problem as a JSON body. Serialising plain strings and integers cannot fail.
    pub fn to_json(&self) -> String {
        serde_json_free::to_json(self)
    }
}

/// Core avoids a serde_json dependency (it would weigh on the SDK's wasm); this tiny writer covers the
/// problem shape, whose members are strings, one integer and an enum rendered as a string.
mod serde_json_free {
    use super::Problem;

    pub(super) fn to_json(p: &Problem) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        member(&mut out, "type", &p.type_uri);
        out.push(',');
        member(&mut out, "title", &p.title);
        out.push_str(&format!(",\"status\":{}", p.status));
        if let Some(detail) = &p.detail {
            out.push(',');
            member(&mut out, "detail", detail);
        }
        out.push(',');
        member(&mut out, "code", p.code.as_str());
        if let Some(param) = &p.param {
            out.push(',');
            member(&mut out, "param", param);
        }
        if let Some(request_id) = &p.request_id {
            out.push(',');
            member(&mut out, "request_id", request_id);
        }
        out.push('}');
        out
    }

    fn member(out: &mut String, name: &str, value: &str) {
        out.push('"');
        out.push_str(name);
        out.push_str("\":\"");
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            // The serde name (used in JSON) and the catalogue string must never drift apart.
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!((400..600).contains(&code.status()), "{code:?}");
            let problem = Problem::new(code);
            assert!(problem.type_uri.ends_with(code.as_str()));
        }
    }

    #[test]
    fn json_matches_serde_and_escapes() {
        let problem = Problem::new(ErrorCode::ParameterInvalid)
            .detail("amount must be an integer, got \"1.5\"\n")
            .param("amount")
            .request_id("req_1");
        let ours: serde_json::Value = serde_json::from_str(&problem.to_json()).unwrap();
        let serde: serde_json::Value = serde_json::to_value(&problem).unwrap();
        assert_eq!(ours, serde);
        assert_eq!(ours["status"], 400);
        assert_eq!(ours["param"], "amount");
        let bare: serde_json::Value = serde_json::from_str(&Problem::new(ErrorCode::RateLimited).to_json()).unwrap();
        assert!(bare.get("param").is_none());
    }
}
