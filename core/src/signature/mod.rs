//! Message authentication: Standard Webhooks signatures (shop-facing), the edge↔backend request
//! signature (internal), and keyed hashes for API keys and card fingerprints. Every comparison of a
//! secret-derived value is constant-time.

pub mod edge;
pub mod keyed_hash;
pub mod processor;
pub mod webhook;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Compares two secrets without a timing side channel (unequal lengths compare unequal at once).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub(crate) use crate::hex::{decode as unhex, encode as hex};
