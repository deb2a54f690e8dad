//! 3-D Secure's way back: when a processor asks for the cardholder's authentication, the shopper's browser goes to
//! the processor's (or issuer's) page and comes back to Paygate's return URL, which names the charge only by a
//! **return reference**: 32 random bytes, unguessable, shown once. The backend keeps only its SHA-256, so neither
//! a database reader nor a log can rebuild a working URL, and a reference is good for one charge while that
//! charge waits for its authentication: after that it finds nothing.
//!
//! The browser's arrival is only a nudge: the backend then asks the processor how the authentication ended and
//! never takes the browser's word for it (a forged "success" changes nothing).

use sha2::{Digest, Sha256};

/// Where the edge takes the browser's return, without an API key: `RETURN_PUBLIC_PREFIX/{reference}`.
pub const RETURN_PUBLIC_PREFIX: &str = "/v1/authentication_returns";
/// Backend: "the browser came back with this reference" (told by the edge, signed; body `AuthenticationReturn`).
pub const RETURN_INTERNAL_PATH: &str = "/v1/internal/authentication_returns";

const PREFIX: &str = "ar_";
const RANDOM_BYTES: usize = 32;

/// A new reference from 32 bytes of the caller's randomness (core draws none itself): `ar_` and 64 hex digits.
pub fn new_reference(random: [u8; RANDOM_BYTES]) -> String {
    [PREFIX, &crate::hex::encode(&random)].concat()
}

/// Whether `text` has a reference's shape; anything else is refused before a lookup.
pub fn is_reference(text: &str) -> bool {
    text.strip_prefix(PREFIX)
        .is_some_and(|hex| hex.len() == RANDOM_BYTES * 2 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// What the backend stores and looks up: the SHA-256 of the reference.
pub fn reference_hash(reference: &str) -> [u8; 32] {
    Sha256::digest(reference.as_bytes()).into()
}

/// The URL the processor sends the browser back to: the edge's public base and the reference.
pub fn return_url(public_base: &str, reference: &str) -> String {
    [public_base.trim_end_matches('/'), RETURN_PUBLIC_PREFIX, "/", reference].concat()
}

/// Body of `RETURN_INTERNAL_PATH`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticationReturn {
    pub reference: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_the_prefix_and_64_hex_digits_and_nothing_else_passes() {
        let reference = new_reference([0xab; 32]);
        assert_eq!(reference, format!("ar_{}", "ab".repeat(32)));
        assert!(is_reference(&reference));
        for bad in [
            "",
            "ar_",
            &format!("ar_{}", "AB".repeat(32)),
            &format!("ar_{}", "ab".repeat(31)),
            &format!("ar_{}", "ab".repeat(33)),
            &format!("ch_{}", "ab".repeat(32)),
            &format!("ar_{}g", "a".repeat(63)),
        ] {
            assert!(!is_reference(bad), "{bad}");
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_text_and_differs_per_reference() {
        let one = new_reference([1; 32]);
        let two = new_reference([2; 32]);
        assert_eq!(reference_hash(&one).to_vec(), Sha256::digest(one.as_bytes()).to_vec());
        assert_ne!(reference_hash(&one), reference_hash(&two));
    }

    #[test]
    fn the_return_url_joins_the_public_base_and_the_reference() {
        let reference = new_reference([7; 32]);
        assert_eq!(
            return_url("https://api.paygate.dev/", &reference),
            format!("https://api.paygate.dev/v1/authentication_returns/{reference}")
        );
    }
}
