//! The internal contract between the edge and the backend, defined once so the two sides (and the tests'
//! stand-ins) cannot drift: the internal paths, the key lookup, the revocation notice and the vault-forward
//! call. Every one of these requests carries the edge signature (`signature::edge`); the shapes below are
//! their JSON bodies.

use crate::api_key::{KeyKind, Mode};
use serde::{Deserialize, Serialize};

/// Backend: which merchant, mode and kind an active key's hash belongs to (asked by the edge).
pub const KEY_LOOKUP_PATH: &str = "/v1/internal/api_keys/lookup";
/// The backend's `/v1` paths only the edge calls, as itself: the edge never forwards a caller's request there.
pub const INTERNAL_V1_PREFIX: &str = "/v1/internal/";
/// Edge: "this key was revoked, forget it now" (told by the backend).
pub const KEY_REVOKED_PATH: &str = "/internal/api_keys/revoked";
/// Edge: "send this processor request with the card fields of token T filled in" (asked by the backend).
pub const VAULT_FORWARD_PATH: &str = "/internal/vault/forward";
/// Edge: "what is known of the card of token T" (its `CardSummary`, without spending it; asked by the backend
/// when routing looks at the card's brand or issuing country).
pub const VAULT_DESCRIBE_PATH: &str = "/internal/vault/describe";

/// Backend: "a processor sent this webhook for this processor account" (forwarded by the edge, which takes
/// it at `PROCESSOR_EVENTS_PUBLIC_PREFIX/{connector}/{account}` without an API key).
pub const PROCESSOR_EVENTS_PATH: &str = "/v1/internal/processor_events";
/// Where processors deliver their webhooks at the edge: `…/{connector}/{processor account id}`.
pub const PROCESSOR_EVENTS_PUBLIC_PREFIX: &str = "/v1/processor_events";

/// The merchant dashboard, served by the backend and reached only through the edge on the API's origin, which
/// forwards every request under this prefix signed as itself (no API key: the dashboard's own session cookie
/// says who is calling, and only the backend can check it).
pub const DASHBOARD_PREFIX: &str = "/dashboard";
/// The backend's unsigned copy of the public API's OpenAPI document, which the edge serves at
/// `crate::edge_routes::OPENAPI_PATH`.
pub const PUBLIC_OPENAPI_PATH: &str = "/openapi/public.json";
/// The browser's request headers the edge passes on to the dashboard (lower case); the rest stay at the edge.
pub const DASHBOARD_REQUEST_HEADERS: &[&str] = &[
    "cookie",
    "content-type",
    "accept-language",
    "origin",
    "referer",
    "sec-fetch-site",
    "hx-request",
    "hx-boosted",
    "hx-current-url",
    "hx-target",
    "hx-trigger",
    "x-csrf-token",
];
/// The dashboard's answer headers the edge relays to the browser (lower case).
pub const DASHBOARD_RESPONSE_HEADERS: &[&str] = &[
    "set-cookie",
    "location",
    "content-type",
    "content-disposition",
    "cache-control",
    "content-security-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "permissions-policy",
    "referrer-policy",
    "x-content-type-options",
    "x-frame-options",
    "vary",
    "hx-redirect",
    "hx-refresh",
    "hx-push-url",
    "hx-location",
];

/// Body of `PROCESSOR_EVENTS_PATH`: the processor's request as it arrived, untouched: the backend verifies its
/// signature (with the account's secret, which only the backend holds) before it parses a byte of `body`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorEventForward {
    pub connector: String,
    pub account: String,
    /// The processor's signature header (`Stripe-Signature`, `Cko-Signature`); empty when absent.
    pub signature: String,
    pub body: String,
}

/// Body of `VAULT_DESCRIBE_PATH`; the answer is a `CardSummary`, or a problem when the token is unknown, used
/// or not the signed merchant's and mode's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRef {
    pub token: String,
}

/// How long the edge waits for a processor behind the vault; the backend waits the same before it calls
/// the outcome unknown.
pub const VAULT_FORWARD_TIMEOUT_SECONDS: u64 = 10;

/// Body of `KEY_LOOKUP_PATH` and of `KEY_REVOKED_PATH`: the key's keyed hash (64 lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyHash {
    pub key_hash: String,
}

/// The answer to a key lookup: who the key belongs to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyIdentity {
    pub key_id: String,
    pub merchant_id: String,
    pub mode: Mode,
    pub kind: KeyKind,
}

/// The placeholders a vault-forward body may hold; the edge replaces them textually with digits only, so
/// they are safe inside JSON strings and as JSON numbers.
pub const PLACEHOLDER_NUMBER: &str = "{{card.number}}";
pub const PLACEHOLDER_EXP_MONTH: &str = "{{card.exp_month}}";
pub const PLACEHOLDER_EXP_YEAR: &str = "{{card.exp_year}}";
pub const PLACEHOLDER_CVC: &str = "{{card.cvc}}";
/// A network token's one-time cryptogram (base64: the edge percent-encodes it in form bodies) and its ECI
/// (digits); only a token opened from a wallet (Apple Pay) has them.
pub const PLACEHOLDER_CRYPTOGRAM: &str = "{{card.cryptogram}}";
pub const PLACEHOLDER_ECI: &str = "{{card.eci}}";

/// The request headers a vault-forward call may carry to a processor (lower case); the edge refuses any other,
/// so the backend cannot use the vault to send arbitrary headers to a processor host.
pub const FORWARDED_HEADERS: &[&str] =
    &["authorization", "idempotency-key", "stripe-version", "cko-idempotency-key", "accept"];

/// The content types a vault-forward body may have.
pub const FORWARDED_CONTENT_TYPES: &[&str] = &["application/json", "application/x-www-form-urlencoded"];

/// Body of `VAULT_FORWARD_PATH`: the card of `token`, sent with the first of `calls` that reaches its processor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultForwardRequest {
    pub token: String,
    /// In order of preference (routing's failover): the next is tried only when the one before certainly
    /// never reached its processor (`CallResult::NotSent`). Each carries its own attempt's idempotency key.
    pub calls: Vec<ProcessorCall>,
}

/// One processor request, with card placeholders in `body`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorCall {
    /// The processor, by `ConnectorKind` name; the edge maps it to its allow-listed host for the mode.
    pub destination: String,
    /// `POST` or `PUT`.
    pub method: String,
    /// A plain absolute path on the processor's host.
    pub path: String,
    /// One of `FORWARDED_CONTENT_TYPES`.
    pub content_type: String,
    /// Only names in `FORWARDED_HEADERS`.
    pub headers: Vec<(String, String)>,
    /// The processor request's body, with placeholders.
    pub body: String,
}

/// How one call of a vault-forward ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CallResult {
    /// The processor answered (its status and body, card number scrubbed).
    Answered { status: u16, body: String },
    /// The request certainly never reached the processor (connection refused, name not resolved, TLS
    /// failed): safe to send elsewhere.
    NotSent { reason: String },
    /// The request may have reached the processor but no answer came (timeout, reset): never sent elsewhere.
    Unknown { reason: String },
}

impl CallResult {
    /// Whether the vault may send the same payment to the next account (failover) after this result of a call to
    /// `destination`: only when the processor certainly never processed it, because the request never reached
    /// it or because its answer is one it documents as "not processed" (`ConnectorKind::answered_unprocessed`).
    /// An unknown outcome never lets the next go: that is how double charges happen.
    pub fn lets_next_go(&self, destination: &str) -> bool {
        match self {
            CallResult::NotSent { .. } => true,
            CallResult::Answered { status, .. } => crate::processor::ConnectorKind::parse(destination)
                .is_some_and(|kind| kind.answered_unprocessed(*status)),
            CallResult::Unknown { .. } => false,
        }
    }
}

/// What may be known about a card outside the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub brand: String,
    pub last4: String,
    pub bin: String,
    pub exp_month: i16,
    pub exp_year: i16,
    /// Keyed: the same card gives the same fingerprint for one Paygate deployment, and nothing else.
    pub fingerprint: String,
    /// Every brand the card carries, the primary first (a co-badged Mada card: `["mada", "visa"]`).
    #[serde(default)]
    pub brands: Vec<String>,
    /// ISO 3166-1 alpha-2, where the number says it (`SA` for Mada); absent otherwise.
    #[serde(default)]
    pub issuing_country: Option<String>,
    /// The wallet the card came from (Apple Pay: a device card), with what the customer approved there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<Wallet>,
}

/// A wallet payment's facts, from its token: the charge must ask for exactly this amount and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// `apple_pay`.
    #[serde(rename = "type")]
    pub kind: String,
    pub amount: i64,
    /// ISO 4217, upper case.
    pub currency: String,
}

/// The answer to a vault-forward: how each call tried ended, in order (only the last can be other than
/// `NotSent`), and the card's summary. Refusals (token unknown, used, another merchant's) are problem
/// documents instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultForwardAnswer {
    pub tried: Vec<CallResult>,
    pub card: Option<CardSummary>,
}

impl ProcessorCall {
    /// Why the edge may not send this call, naming the field at fault; `None` when it may.
    pub fn refusal(&self) -> Option<(&'static str, &'static str)> {
        if !self.path.starts_with('/')
            || self.path.contains("..")
            || self.path.contains("//")
            || self.path.contains('@')
        {
            return Some(("path", "path must be a plain absolute path"));
        }
        if !matches!(self.method.as_str(), "POST" | "PUT") {
            return Some(("method", "method must be POST or PUT"));
        }
        if !FORWARDED_CONTENT_TYPES.contains(&self.content_type.as_str()) {
            return Some(("content_type", "content_type is not one a processor call may have"));
        }
        let header_ok = |(name, value): &(String, String)| {
            FORWARDED_HEADERS.contains(&name.as_str()) && !value.chars().any(|c| c.is_control())
        };
        if !self.headers.iter().all(header_ok) {
            return Some(("headers", "headers may only be the processor headers the vault forwards"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> ProcessorCall {
        ProcessorCall {
            destination: "stripe".into(),
            method: "POST".into(),
            path: "/v1/payment_intents".into(),
            content_type: "application/x-www-form-urlencoded".into(),
            headers: vec![("authorization".into(), "Bearer sk_test_x".into())],
            body: String::new(),
        }
    }

    #[test]
    fn only_a_call_that_was_certainly_not_processed_lets_the_next_account_go() {
        let answered = |status| CallResult::Answered { status, body: String::new() };
        assert!(CallResult::NotSent { reason: "refused".into() }.lets_next_go("sandbox"));
        assert!(answered(429).lets_next_go("stripe"));
        assert!(answered(429).lets_next_go("checkout"));
        assert!(!answered(429).lets_next_go("sandbox"), "the sandbox documents no such answer");
        assert!(!answered(429).lets_next_go("unknown"));
        for status in [200, 201, 202, 400, 402, 500, 502, 503] {
            assert!(!answered(status).lets_next_go("stripe"), "{status}");
        }
        assert!(!CallResult::Unknown { reason: "timeout".into() }.lets_next_go("stripe"));
    }

    #[test]
    fn a_processor_call_names_what_the_edge_refuses() {
        assert_eq!(call().refusal(), None);
        for (change, field) in [
            ((|c: &mut ProcessorCall| c.path = "//evil.example/x".into()) as fn(&mut ProcessorCall), "path"),
            (|c| c.path = "/a/../b".into(), "path"),
            (|c| c.path = "relative".into(), "path"),
            (|c| c.method = "GET".into(), "method"),
            (|c| c.content_type = "text/plain".into(), "content_type"),
            (|c| c.headers.push(("host".into(), "evil.example".into())), "headers"),
            (|c| c.headers.push(("authorization".into(), "a\r\nx: y".into())), "headers"),
        ] {
            let mut bad = call();
            change(&mut bad);
            assert_eq!(bad.refusal().map(|(f, _)| f), Some(field), "{bad:?}");
        }
    }

    #[test]
    fn call_results_are_tagged() {
        let text = serde_json::to_string(&CallResult::NotSent { reason: "refused".into() }).unwrap();
        assert_eq!(text, r#"{"result":"not_sent","reason":"refused"}"#);
    }
}
