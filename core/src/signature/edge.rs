//! The internal request signature between the edge and the backend (both directions). The backend
//! accepts only requests the edge signed within the last minute, so nobody can reach it around the
//! edge's authentication, rate limits and idempotency; the edge accepts vault-forward calls only when
//! the backend signed them.
//!
//! Signed string (one field per line, no field may contain a newline):
//! `paygate-v1`, timestamp, METHOD, path with query, hex SHA-256 of the body, merchant id, mode,
//! request id, API key id. Header: `paygate-signature: v1=<hex>[,v1=<hex>]` (two entries while a secret
//! rotates). The key id tells the backend which key acted, for its audit log.

use super::{constant_time_eq, hex, hmac_sha256, unhex};
use sha2::{Digest, Sha256};

pub const HEADER_SIGNATURE: &str = "paygate-signature";
pub const HEADER_TIMESTAMP: &str = "paygate-timestamp";
pub const HEADER_MERCHANT: &str = "paygate-merchant";
pub const HEADER_MODE: &str = "paygate-mode";
pub const HEADER_REQUEST_ID: &str = "request-id";
pub const HEADER_KEY_ID: &str = "paygate-key-id";

/// A signed request older or newer than this is stale (clock skew between edge and backend included).
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 60;
/// Shared secrets shorter than this are refused: HMAC keys should carry at least 256 bits.
pub const SECRET_BYTES_MIN: usize = 32;
const VERSION_TAG: &str = "paygate-v1";
const SIGNATURE_HEADER_CHARS_MAX: usize = 1_024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EdgeSecretError {
    #[error("edge signing secret must be at least 32 bytes")]
    TooShort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EdgeSignatureError {
    #[error("request is not signed")]
    Missing,
    #[error("signed field contains a line break")]
    MalformedField,
    #[error("signature timestamp is outside the tolerance window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// The shared secret. `Debug` never shows it.
#[derive(Clone)]
pub struct EdgeSecret(Vec<u8>);

impl EdgeSecret {
    pub fn new(bytes: &[u8]) -> Result<Self, EdgeSecretError> {
        if bytes.len() < SECRET_BYTES_MIN {
            return Err(EdgeSecretError::TooShort);
        }
        Ok(EdgeSecret(bytes.to_vec()))
    }
}

impl core::fmt::Debug for EdgeSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EdgeSecret(***)")
    }
}

/// Everything the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub timestamp: i64,
    pub method: &'a str,
    /// Path and query exactly as sent (`/v1/charges?limit=10`).
    pub path: &'a str,
    pub body: &'a [u8],
    /// Empty for calls not made on behalf of a merchant (key lookups).
    pub merchant_id: &'a str,
    /// `test`, `live`, or empty with an empty merchant.
    pub mode: &'a str,
    pub request_id: &'a str,
    /// The API key the edge authenticated (`key_…`); empty for the edge's and the backend's own calls.
    pub key_id: &'a str,
}

impl SignedRequest<'_> {
    /// The headers that carry this request's signed fields, given its `signature` (from `sign`): what the
    /// signing side sets and the verifying side reads back, in one place. Merchant and mode are sent only
    /// for calls on a merchant's behalf, the key id only when a key acted.
    pub fn headers(&self, signature: String) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (HEADER_SIGNATURE, signature),
            (HEADER_TIMESTAMP, self.timestamp.to_string()),
            (HEADER_REQUEST_ID, self.request_id.to_owned()),
        ];
        if !self.merchant_id.is_empty() {
            headers.push((HEADER_MERCHANT, self.merchant_id.to_owned()));
            headers.push((HEADER_MODE, self.mode.to_owned()));
        }
        if !self.key_id.is_empty() {
            headers.push((HEADER_KEY_ID, self.key_id.to_owned()));
        }
        headers
    }
}

impl SignedRequest<'_> {
    fn mac(&self, secret: &EdgeSecret) -> Result<[u8; 32], EdgeSignatureError> {
        let fields = [self.method, self.path, self.merchant_id, self.mode, self.request_id, self.key_id];
        if fields.iter().any(|f| f.contains(['\n', '\r'])) {
            return Err(EdgeSignatureError::MalformedField);
        }
        let body_hash = hex(&Sha256::digest(self.body));
        let method = self.method.to_ascii_uppercase();
        let canonical = format!(
            "{VERSION_TAG}\n{}\n{method}\n{}\n{body_hash}\n{}\n{}\n{}\n{}",
            self.timestamp, self.path, self.merchant_id, self.mode, self.request_id, self.key_id
        );
        Ok(hmac_sha256(&secret.0, &[canonical.as_bytes()]))
    }

    /// The `paygate-signature` header value, signed by each secret given (current first).
    pub fn sign(&self, secrets: &[&EdgeSecret]) -> Result<String, EdgeSignatureError> {
        let entries: Result<Vec<String>, _> =
            secrets.iter().map(|s| self.mac(s).map(|mac| format!("v1={}", hex(&mac)))).collect();
        Ok(entries?.join(","))
    }

    /// Accepts the request when its timestamp is fresh at `now_unix_seconds` and some `v1` entry of
    /// `header` matches one of `secrets` (the current secret, and the previous one during a rotation).
    pub fn verify(
        &self,
        secrets: &[&EdgeSecret],
        header: &str,
        now_unix_seconds: i64,
    ) -> Result<(), EdgeSignatureError> {
        if header.is_empty() {
            return Err(EdgeSignatureError::Missing);
        }
        if (now_unix_seconds - self.timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
            return Err(EdgeSignatureError::Stale);
        }
        if header.len() > SIGNATURE_HEADER_CHARS_MAX {
            return Err(EdgeSignatureError::Mismatch);
        }
        let offered: Vec<Vec<u8>> =
            header.split(',').filter_map(|entry| entry.trim().strip_prefix("v1=")).filter_map(unhex).collect();
        for secret in secrets {
            let expected = self.mac(secret)?;
            if offered.iter().any(|sig| constant_time_eq(sig, &expected)) {
                return Ok(());
            }
        }
        Err(EdgeSignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &[u8]) -> SignedRequest<'_> {
        SignedRequest {
            timestamp: 1_795_240_800,
            method: "POST",
            path: "/v1/charges",
            body,
            merchant_id: "acct_01jd000000000000000000000",
            mode: "test",
            request_id: "req_01jd000000000000000000000",
            key_id: "key_01jd000000000000000000000",
        }
    }

    #[test]
    fn every_field_is_covered() {
        let secret = EdgeSecret::new(&[1; 32]).unwrap();
        let header = request(b"{}").sign(&[&secret]).unwrap();
        let now = 1_795_240_800;
        assert_eq!(request(b"{}").verify(&[&secret], &header, now), Ok(()));
        let changes: [fn(&mut SignedRequest<'static>); 8] = [
            |r| r.timestamp += 1,
            |r| r.method = "GET",
            |r| r.path = "/v1/refunds",
            |r| r.body = b"{ }",
            |r| r.merchant_id = "acct_other",
            |r| r.mode = "live",
            |r| r.request_id = "req_other",
            |r| r.key_id = "key_other",
        ];
        for change in changes {
            let mut changed = request(b"{}");
            change(&mut changed);
            assert_eq!(changed.verify(&[&secret], &header, now), Err(EdgeSignatureError::Mismatch), "{changed:?}");
        }
    }

    #[test]
    fn stale_forged_and_rotated_signatures() {
        let old = EdgeSecret::new(&[1; 32]).unwrap();
        let new = EdgeSecret::new(&[2; 32]).unwrap();
        let now = 1_795_240_800;
        let signed_by_old = request(b"x").sign(&[&old]).unwrap();
        assert_eq!(request(b"x").verify(&[&new, &old], &signed_by_old, now), Ok(()));
        assert_eq!(request(b"x").verify(&[&new], &signed_by_old, now), Err(EdgeSignatureError::Mismatch));
        let both = request(b"x").sign(&[&new, &old]).unwrap();
        assert_eq!(request(b"x").verify(&[&old], &both, now), Ok(()));
        assert_eq!(request(b"x").verify(&[&new], &signed_by_old, now + 61), Err(EdgeSignatureError::Stale));
        assert_eq!(request(b"x").verify(&[&old], &signed_by_old, now - 61), Err(EdgeSignatureError::Stale));
        assert_eq!(request(b"x").verify(&[&old], "", now), Err(EdgeSignatureError::Missing));
        assert_eq!(request(b"x").verify(&[&old], "v1=zz", now), Err(EdgeSignatureError::Mismatch));
        assert_eq!(EdgeSecret::new(&[0; 31]).map(|_| ()), Err(EdgeSecretError::TooShort));
        let mut injected = request(b"x");
        injected.path = "/v1/charges\nlive";
        assert_eq!(injected.sign(&[&old]), Err(EdgeSignatureError::MalformedField));
    }
}
