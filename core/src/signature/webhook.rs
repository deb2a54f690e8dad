//! Standard Webhooks (https://www.standardwebhooks.com), version `v1`: HMAC-SHA256 over
//! `webhook-id.webhook-timestamp.body`, keyed by the base64 bytes of a `whsec_` secret, sent as
//! `webhook-signature: v1,<base64>`; several space-separated signatures while a secret is rotated.

use super::{constant_time_eq, hmac_sha256};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use core::fmt;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How far a receiver's clock may be from ours, as the reference libraries allow.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;
/// Secrets we generate are 32 bytes; we accept what the spec's range allows when verifying.
pub const SECRET_BYTES: usize = 32;
const SECRET_BYTES_MIN: usize = 24;
const SECRET_BYTES_MAX: usize = 64;
const SECRET_PREFIX: &str = "whsec_";
/// A signature header longer than this is not from an honest sender; refuse before parsing it.
const SIGNATURE_HEADER_CHARS_MAX: usize = 4_096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    #[error("secret must start with whsec_")]
    MissingPrefix,
    #[error("secret is not valid base64")]
    NotBase64,
    #[error("secret must decode to between 24 and 64 bytes")]
    WrongLength,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookVerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not an integer")]
    InvalidTimestamp,
    #[error("webhook-timestamp is outside the tolerance window")]
    TimestampOutOfTolerance,
    #[error("no signature matches")]
    NoMatchingSignature,
}

/// A webhook signing secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn parse(text: &str) -> Result<Self, WebhookSecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(WebhookSecretError::MissingPrefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| WebhookSecretError::NotBase64)?;
        if !(SECRET_BYTES_MIN..=SECRET_BYTES_MAX).contains(&bytes.len()) {
            return Err(WebhookSecretError::WrongLength);
        }
        Ok(WebhookSecret(bytes))
    }

    /// A new secret from `SECRET_BYTES` random bytes supplied by the caller's CSPRNG.
    pub fn from_random(random: [u8; SECRET_BYTES]) -> Self {
        WebhookSecret(random.to_vec())
    }

    /// The `whsec_…` form, shown to the merchant once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// One `v1,<base64>` signature of a message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(msg_id, &timestamp.to_string(), body)))
    }

    fn mac(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.0, &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body])
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The `webhook-signature` header value for a message signed by every active secret (one normally,
/// two while a rotation overlaps).
pub fn signature_header(secrets: &[&WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The three Standard Webhooks headers of a received message.
#[derive(Debug, Clone, Copy)]
pub struct WebhookHeaders<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

impl<'a> WebhookHeaders<'a> {
    /// Collects the headers through a lookup function (any HTTP library's header map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, WebhookVerifyError> {
        let need = |name: &'static str| get(name).ok_or(WebhookVerifyError::MissingHeader(name));
        Ok(WebhookHeaders {
            id: need(HEADER_ID)?,
            timestamp: need(HEADER_TIMESTAMP)?,
            signature: need(HEADER_SIGNATURE)?,
        })
    }
}

/// Verifies a received message at `now_unix_seconds`: the timestamp must be within the tolerance and
/// some `v1` entry of the signature header must match (other versions are skipped, as the spec says).
pub fn verify(
    secret: &WebhookSecret,
    headers: &WebhookHeaders<'_>,
    body: &[u8],
    now_unix_seconds: i64,
) -> Result<(), WebhookVerifyError> {
    let timestamp: i64 = headers.timestamp.parse().map_err(|_| WebhookVerifyError::InvalidTimestamp)?;
    if (now_unix_seconds - timestamp).abs() > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(WebhookVerifyError::TimestampOutOfTolerance);
    }
    if headers.signature.len() > SIGNATURE_HEADER_CHARS_MAX {
        return Err(WebhookVerifyError::NoMatchingSignature);
    }
    let expected = secret.mac(headers.id, headers.timestamp, body);
    let matched = headers
        .signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, sig)| STANDARD.decode(sig).ok())
        .any(|sig| constant_time_eq(&sig, &expected));
    if matched { Ok(()) } else { Err(WebhookVerifyError::NoMatchingSignature) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let secret = WebhookSecret::from_random([9; SECRET_BYTES]);
        assert_eq!(WebhookSecret::parse(&secret.expose()), Ok(secret.clone()));
        assert_eq!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(WebhookSecretError::MissingPrefix));
        assert_eq!(WebhookSecret::parse("whsec_!!!"), Err(WebhookSecretError::NotBase64));
        assert_eq!(WebhookSecret::parse("whsec_AAAA"), Err(WebhookSecretError::WrongLength));
        assert!(!format!("{secret:?}").contains(&secret.expose()[6..]));
    }

    #[test]
    fn timestamps_outside_the_window_fail_even_when_signed() {
        let secret = WebhookSecret::from_random([1; SECRET_BYTES]);
        let sig = secret.sign("msg_1", 1_000_000, b"{}");
        let headers = WebhookHeaders { id: "msg_1", timestamp: "1000000", signature: &sig };
        assert_eq!(verify(&secret, &headers, b"{}", 1_000_300), Ok(()));
        assert_eq!(verify(&secret, &headers, b"{}", 999_700), Ok(()));
        assert_eq!(verify(&secret, &headers, b"{}", 1_000_301), Err(WebhookVerifyError::TimestampOutOfTolerance));
        assert_eq!(verify(&secret, &headers, b"{}", 999_699), Err(WebhookVerifyError::TimestampOutOfTolerance));
    }
}
