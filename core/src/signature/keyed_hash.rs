//! Keyed hashes: how API keys are stored and how cards are fingerprinted. A plain SHA-256 of a card
//! number can be reversed by enumerating the few billion PANs of a BIN; an HMAC under a server-side
//! secret cannot, without the secret.

use super::{hex, hmac_sha256};

/// Domain separation: the same pepper must never make an API-key hash equal to a fingerprint.
const API_KEY_DOMAIN: &[u8] = b"paygate.api_key.v1\0";
const CARD_FINGERPRINT_DOMAIN: &[u8] = b"paygate.card_fingerprint.v1\0";

/// The lookup hash of an API key under the server pepper, as lower-case hex.
pub fn api_key_hash(pepper: &[u8], key: &str) -> String {
    hex(&hmac_sha256(pepper, &[API_KEY_DOMAIN, key.as_bytes()]))
}

/// A card fingerprint: equal for the same PAN under the same merchant-independent key, and useless
/// without the key. 32 hex characters (128 bits) are plenty to tell cards apart.
pub fn card_fingerprint(key: &[u8], pan_digits: &str) -> String {
    let mac = hmac_sha256(key, &[CARD_FINGERPRINT_DOMAIN, pan_digits.as_bytes()]);
    hex(&mac[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_key_and_domain() {
        let a = api_key_hash(b"pepper-one", "sk_test_x");
        assert_eq!(a.len(), 64);
        assert_ne!(a, api_key_hash(b"pepper-two", "sk_test_x"));
        assert_ne!(card_fingerprint(b"k", "4242424242424242")[..], api_key_hash(b"k", "4242424242424242")[..32]);
        assert_eq!(card_fingerprint(b"k", "4242424242424242"), card_fingerprint(b"k", "4242424242424242"));
        assert_eq!(card_fingerprint(b"k", "4242424242424242").len(), 32);
    }
}
