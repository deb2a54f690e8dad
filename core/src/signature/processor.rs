//! The signatures processors put on the webhooks they send us, verified before anything of the body is
//! parsed:
//!
//! - Stripe, `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`: lowercase hex HMAC-SHA256 over `"<t>.<raw body>"`,
//!   keyed by the whole `whsec_…` secret as UTF-8 (not decoded); any `v1` may match (several during a secret's
//!   rotation); older than five minutes is refused (stripe-python `_webhook.py`, `DEFAULT_TOLERANCE = 300`).
//! - Checkout.com, `Cko-Signature: <hex>`: HMAC-SHA256 of the raw body keyed by the endpoint's secret
//!   (Hyperswitch's `IncomingWebhook for Checkout`).

use super::{constant_time_eq, hex, hmac_sha256, unhex};

/// How old (or how far ahead) a Stripe signature's timestamp may be, in seconds.
pub const STRIPE_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProcessorSignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Verifies a `Stripe-Signature` header over `body` at `now` (Unix seconds).
pub fn verify_stripe(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), ProcessorSignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(value.parse::<i64>().map_err(|_| ProcessorSignatureError::Malformed)?)
            }
            Some(("v1", value)) => signatures.push(value),
            Some(_) => {}
            None => return Err(ProcessorSignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(ProcessorSignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(ProcessorSignatureError::Malformed);
    }
    if (now - timestamp).abs() > STRIPE_TOLERANCE_SECONDS {
        return Err(ProcessorSignatureError::Stale);
    }
    let expected = hmac_sha256(secret.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body]);
    let matches = signatures.iter().any(|s| unhex(s).is_some_and(|given| constant_time_eq(&given, &expected)));
    if matches { Ok(()) } else { Err(ProcessorSignatureError::Mismatch) }
}

/// A `Stripe-Signature` header for `body` at `timestamp` (what a test or a fake sends).
pub fn sign_stripe(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body]);
    format!("t={timestamp},v1={}", hex(&mac))
}

/// Verifies a `Cko-Signature` header over `body`.
pub fn verify_checkout(secret: &str, header: &str, body: &[u8]) -> Result<(), ProcessorSignatureError> {
    let given = unhex(header.trim()).ok_or(ProcessorSignatureError::Malformed)?;
    let expected = hmac_sha256(secret.as_bytes(), &[body]);
    if constant_time_eq(&given, &expected) { Ok(()) } else { Err(ProcessorSignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with Python's `hmac` (an implementation independent of ours) following Stripe's documented
    // scheme: hmac.new(b"whsec_test_secret", b"1700000000." + body, sha256).hexdigest().
    const STRIPE_BODY: &str = r#"{"id":"evt_test_webhook","object":"event"}"#;
    const STRIPE_V1: &str = "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";
    // hmac.new(b"cko_secret_0123", body, sha256).hexdigest()
    const CKO_BODY: &str = r#"{"id":"evt_1","type":"payment_captured"}"#;
    const CKO_SIGNATURE: &str = "95cd9d3e3097f5a401270e3860f5b7f297f868477cd11484ef5ddd755f2315e9";

    #[test]
    fn stripes_scheme_verifies_an_independently_computed_signature() {
        let header = format!("t=1700000000,v1={STRIPE_V1}");
        assert_eq!(verify_stripe("whsec_test_secret", &header, STRIPE_BODY.as_bytes(), 1_700_000_100), Ok(()));
        assert_eq!(sign_stripe("whsec_test_secret", 1_700_000_000, STRIPE_BODY.as_bytes()), header);
    }

    #[test]
    fn any_v1_may_match_and_everything_else_is_refused() {
        let good = format!("t=1700000000,v1={},v1={STRIPE_V1},v0=ignored", "0".repeat(64));
        assert_eq!(verify_stripe("whsec_test_secret", &good, STRIPE_BODY.as_bytes(), 1_700_000_000), Ok(()));
        let now = 1_700_000_000;
        for (header, error) in [
            (format!("t=1700000000,v1={}", "0".repeat(64)), ProcessorSignatureError::Mismatch),
            (format!("v1={STRIPE_V1}"), ProcessorSignatureError::Malformed),
            ("t=1700000000".to_owned(), ProcessorSignatureError::Malformed),
            ("garbage".to_owned(), ProcessorSignatureError::Malformed),
            (format!("t=abc,v1={STRIPE_V1}"), ProcessorSignatureError::Malformed),
        ] {
            assert_eq!(
                verify_stripe("whsec_test_secret", &header, STRIPE_BODY.as_bytes(), now),
                Err(error),
                "{header}"
            );
        }
        let header = format!("t=1700000000,v1={STRIPE_V1}");
        assert_eq!(
            verify_stripe("whsec_test_secret", &header, STRIPE_BODY.as_bytes(), now + 301),
            Err(ProcessorSignatureError::Stale)
        );
        assert_eq!(
            verify_stripe("whsec_other", &header, STRIPE_BODY.as_bytes(), now),
            Err(ProcessorSignatureError::Mismatch)
        );
        let tampered = STRIPE_BODY.replace("evt_test", "evt_TEST");
        assert_eq!(
            verify_stripe("whsec_test_secret", &header, tampered.as_bytes(), now),
            Err(ProcessorSignatureError::Mismatch)
        );
    }

    #[test]
    fn checkouts_signature_is_the_hmac_of_the_body() {
        assert_eq!(verify_checkout("cko_secret_0123", CKO_SIGNATURE, CKO_BODY.as_bytes()), Ok(()));
        assert_eq!(
            verify_checkout("cko_secret_9999", CKO_SIGNATURE, CKO_BODY.as_bytes()),
            Err(ProcessorSignatureError::Mismatch)
        );
        assert_eq!(
            verify_checkout("cko_secret_0123", "not hex", CKO_BODY.as_bytes()),
            Err(ProcessorSignatureError::Malformed)
        );
        assert_eq!(verify_checkout("cko_secret_0123", CKO_SIGNATURE, b"{}"), Err(ProcessorSignatureError::Mismatch));
    }
}
