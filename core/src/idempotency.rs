//! The Idempotency-Key contract, shared by the edge and the backend so the two can never disagree
//! (draft-ietf-httpapi-idempotency-key-header, with Stripe's rule for which answers are kept):
//!
//! - which requests must carry a key (`requires_key`: the money-moving POSTs);
//! - what a key may look like (`IdempotencyKey::parse`);
//! - what makes two requests under one key "the same" (`fingerprint`);
//! - which answers are stored and replayed (`stores_answer`): a request refused before it started
//!   executing (a malformed key, authentication, validation, a rate limit, a conflict) stores nothing, so
//!   the caller may fix it and retry under the same key; once execution started, the answer is the
//!   request's outcome and every retry gets it again, declines included. A 5xx stores nothing either: the
//!   outcome is unknown, and the retry must reach the backend, whose own record answers it.

use crate::problem::ErrorCode;
use sha2::{Digest, Sha256};

/// The header, as HTTP/2 and workerd spell it (lower case).
pub const HEADER: &str = "idempotency-key";
/// The longest key accepted, in bytes (all of them ASCII).
pub const KEY_CHARS_MAX: usize = 255;

/// The routes that move money: a retry of one of these must never act twice, so the key is required.
const MONEY_MOVING: [(&str, &str); 2] = [("POST", "/v1/charges"), ("POST", "/v1/refunds")];

/// Whether `method path` (the public path, `/v1/...`, without the query) needs an Idempotency-Key.
pub fn requires_key(method: &str, path: &str) -> bool {
    MONEY_MOVING.iter().any(|(m, p)| m.eq_ignore_ascii_case(method) && *p == path)
}

/// A well-formed Idempotency-Key: 1 to 255 printable ASCII characters (`order 1001` and UUIDs alike),
/// neither starting nor ending with a space, which HTTP would strip on the way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to {KEY_CHARS_MAX} printable ASCII characters, not starting or ending with a space")]
pub struct KeyError;

impl IdempotencyKey {
    /// Parses the header's raw bytes (a header may carry any octets; ours are ASCII only).
    pub fn parse(raw: &[u8]) -> Result<Self, KeyError> {
        let printable = raw.iter().all(|b| (0x20..=0x7e).contains(b));
        let trimmed = raw.first() != Some(&b' ') && raw.last() != Some(&b' ');
        if raw.is_empty() || raw.len() > KEY_CHARS_MAX || !printable || !trimmed {
            return Err(KeyError);
        }
        // Printable ASCII is valid UTF-8.
        core::str::from_utf8(raw).map(|key| IdempotencyKey(key.to_owned())).map_err(|_| KeyError)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies "the same request" under one key: method, path with query, and the exact body, as
/// SHA-256 in hex. Each part is length-prefixed, so no two different requests run together into one input.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    crate::hex::encode(&hash.finalize())
}

/// Whether an answer with `status` (and, for an error, its problem `code`) is kept for replays.
pub fn stores_answer(status: u16, code: Option<ErrorCode>) -> bool {
    match code {
        _ if status >= 500 => false,
        Some(code) => !code.refused_before_execution(),
        None => (200..300).contains(&status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_without_outer_spaces() {
        for good in ["order 1001", "a", "9f1c0b7e-1d2a-4c1e-9f8e-2b3c4d5e6f70", &"k".repeat(KEY_CHARS_MAX)] {
            assert_eq!(IdempotencyKey::parse(good.as_bytes()).map(|k| k.0), Ok(good.to_owned()), "{good}");
        }
        for bad in ["", " lead", "trail ", "tab\tkey", "nul\0", "é", &"k".repeat(KEY_CHARS_MAX + 1)] {
            assert_eq!(IdempotencyKey::parse(bad.as_bytes()), Err(KeyError), "{bad:?}");
        }
        assert_eq!(IdempotencyKey::parse(&[0x6b, 0xff]), Err(KeyError));
    }

    #[test]
    fn the_fingerprint_separates_its_parts() {
        let a = fingerprint("POST", "/v1/charges", b"{}");
        assert_eq!(a, fingerprint("POST", "/v1/charges", b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/charges{", b"}"));
        assert_ne!(a, fingerprint("POST", "/v1/refunds", b"{}"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn only_outcomes_are_stored() {
        assert!(stores_answer(201, None));
        assert!(stores_answer(200, None));
        assert!(stores_answer(402, Some(ErrorCode::CardDeclined)));
        assert!(stores_answer(402, Some(ErrorCode::ProcessingError)));
        for refused in [
            ErrorCode::ParameterInvalid,
            ErrorCode::IdempotencyKeyInvalid,
            ErrorCode::ApiKeyInvalid,
            ErrorCode::RateLimited,
            ErrorCode::IdempotencyInFlight,
            ErrorCode::ResourceNotFound,
        ] {
            assert!(!stores_answer(refused.status(), Some(refused)), "{refused:?}");
        }
        assert!(!stores_answer(500, Some(ErrorCode::InternalError)));
        assert!(!stores_answer(502, None));
        assert!(!stores_answer(404, None));
    }

    #[test]
    fn money_moving_routes_need_a_key() {
        assert!(requires_key("POST", "/v1/charges"));
        assert!(requires_key("post", "/v1/refunds"));
        assert!(!requires_key("GET", "/v1/charges"));
        assert!(!requires_key("POST", "/v1/charges/ch_1/capture"));
    }
}
