//! Envelope encryption of vaulted card data: AES-256-GCM under a versioned data key, a fresh 96-bit nonce
//! per seal, and the record's token id and owner as associated data, so a ciphertext moved to another
//! token or merchant fails to open. Every sealed value names the key version that sealed it; new values
//! use the highest version, so rotating is adding a version (see `config::vault_data_keys`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sealed {
    pub key_version: u32,
    /// 12 bytes, hex.
    pub nonce: String,
    /// Ciphertext with its 16-byte tag, hex.
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("no data key of version {0}")]
    UnknownKeyVersion(u32),
    #[error("no data key configured")]
    NoKey,
    #[error("the sealed value does not open (wrong key, record or tampering)")]
    Open,
    #[error("randomness unavailable")]
    Random,
}

/// Seals `plaintext` with the newest key in `keys` (sorted by version), bound to `context`.
pub fn seal(keys: &[(u32, [u8; 32])], plaintext: &[u8], context: &str) -> Result<Sealed, CipherError> {
    let (version, key) = keys.last().ok_or(CipherError::NoKey)?;
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| CipherError::Random)?;
    let cipher = Aes256Gcm::new(key.into());
    let data = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
        .map_err(|_| CipherError::Open)?;
    Ok(Sealed {
        key_version: *version,
        nonce: paygate_core::hex::encode(&nonce),
        data: paygate_core::hex::encode(&data),
    })
}

/// Opens `sealed` with the key of its version, checking it was sealed for `context`.
pub fn open(keys: &[(u32, [u8; 32])], sealed: &Sealed, context: &str) -> Result<Vec<u8>, CipherError> {
    let (_, key) = keys
        .iter()
        .find(|(v, _)| *v == sealed.key_version)
        .ok_or(CipherError::UnknownKeyVersion(sealed.key_version))?;
    let nonce = paygate_core::hex::decode(&sealed.nonce).filter(|n| n.len() == 12).ok_or(CipherError::Open)?;
    let data = paygate_core::hex::decode(&sealed.data).ok_or(CipherError::Open)?;
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(&nonce), Payload { msg: &data, aad: context.as_bytes() })
        .map_err(|_| CipherError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: (u32, [u8; 32]) = (1, [1; 32]);
    const K2: (u32, [u8; 32]) = (2, [2; 32]);

    #[test]
    fn seals_with_the_newest_key_and_opens_with_the_named_one() {
        let old = seal(&[K1], b"4242424242424242", "tok_a").unwrap();
        assert_eq!(old.key_version, 1);
        let rotated = [K1, K2];
        let new = seal(&rotated, b"4242424242424242", "tok_a").unwrap();
        assert_eq!(new.key_version, 2);
        // After a rotation both still open; the ciphertext never shows the plaintext.
        assert_eq!(open(&rotated, &old, "tok_a").unwrap(), b"4242424242424242");
        assert_eq!(open(&rotated, &new, "tok_a").unwrap(), b"4242424242424242");
        assert!(!new.data.contains("4242424242424242"));
        // A retired version no longer opens.
        assert_eq!(open(&[K2], &old, "tok_a"), Err(CipherError::UnknownKeyVersion(1)));
    }

    #[test]
    fn another_record_or_a_flipped_bit_does_not_open() {
        let sealed = seal(&[K1], b"4242424242424242", "tok_a").unwrap();
        assert_eq!(open(&[K1], &sealed, "tok_b"), Err(CipherError::Open));
        let mut tampered = sealed.clone();
        let flipped = if tampered.data.starts_with('0') { "1" } else { "0" };
        tampered.data.replace_range(0..1, flipped);
        assert_eq!(open(&[K1], &tampered, "tok_a"), Err(CipherError::Open));
        let wrong_key = [(1, [9; 32])];
        assert_eq!(open(&wrong_key, &sealed, "tok_a"), Err(CipherError::Open));
    }

    #[test]
    fn two_seals_of_one_card_differ() {
        let a = seal(&[K1], b"4242424242424242", "tok_a").unwrap();
        let b = seal(&[K1], b"4242424242424242", "tok_a").unwrap();
        assert_ne!((a.nonce, a.data), (b.nonce, b.data));
    }
}
