//! Envelope encryption of secrets at rest: AES-256-GCM under a versioned data key, a fresh 96-bit nonce per
//! seal (the caller's randomness: core reads none), and a context (the record's id and owner) as associated
//! data, so a ciphertext moved to another record or merchant fails to open. Every sealed value names the key
//! version that sealed it; new values use the highest version, so rotating is adding a version and, once
//! nothing sealed under the old one is left, removing it. The edge seals vaulted cards with it, the backend
//! webhook signing secrets (and processor credentials next): one definition of the format for both.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};

/// A sealed value as stored (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sealed {
    pub key_version: u32,
    /// 12 bytes, hex.
    pub nonce: String,
    /// Ciphertext with its 16-byte tag, hex.
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("no data key of version {0}")]
    UnknownKeyVersion(u32),
    #[error("no data key configured")]
    NoKey,
    #[error("the sealed value does not open (wrong key, record or tampering)")]
    Open,
    #[error("randomness unavailable")]
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("data keys are written \"<version>:<64 hex>[,<version>:<64 hex>…]\"")]
pub struct DataKeysError;

/// The data keys, sorted by version. `Debug` never shows them.
#[derive(Clone)]
pub struct DataKeys(Vec<(u32, [u8; 32])>);

impl DataKeys {
    /// `"1:<64 hex>"`, or several comma-separated during a rotation.
    pub fn parse(text: &str) -> Result<DataKeys, DataKeysError> {
        let mut keys = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (version, hex) = entry.split_once(':').ok_or(DataKeysError)?;
            let version: u32 = version.trim().parse().map_err(|_| DataKeysError)?;
            let key: [u8; 32] =
                crate::hex::decode(hex.trim()).and_then(|bytes| bytes.try_into().ok()).ok_or(DataKeysError)?;
            keys.push((version, key));
        }
        if keys.is_empty() {
            return Err(DataKeysError);
        }
        keys.sort_by_key(|(version, _)| *version);
        Ok(DataKeys(keys))
    }

    pub fn from_keys(mut keys: Vec<(u32, [u8; 32])>) -> DataKeys {
        keys.sort_by_key(|(version, _)| *version);
        DataKeys(keys)
    }
}

impl core::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DataKeys(versions {:?})", self.0.iter().map(|(v, _)| *v).collect::<Vec<_>>())
    }
}

/// Seals `plaintext` with the newest key, bound to `context`, under the caller's fresh random `nonce`.
pub fn seal(keys: &DataKeys, plaintext: &[u8], context: &str, nonce: [u8; 12]) -> Result<Sealed, SealError> {
    let (version, key) = keys.0.last().ok_or(SealError::NoKey)?;
    let data = Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
        .map_err(|_| SealError::Open)?;
    Ok(Sealed { key_version: *version, nonce: crate::hex::encode(&nonce), data: crate::hex::encode(&data) })
}

/// Opens `sealed` with the key of its version, checking it was sealed for `context`.
pub fn open(keys: &DataKeys, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError> {
    let (_, key) = keys
        .0
        .iter()
        .find(|(v, _)| *v == sealed.key_version)
        .ok_or(SealError::UnknownKeyVersion(sealed.key_version))?;
    let nonce = crate::hex::decode(&sealed.nonce).filter(|n| n.len() == 12).ok_or(SealError::Open)?;
    let data = crate::hex::decode(&sealed.data).ok_or(SealError::Open)?;
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(&nonce), Payload { msg: &data, aad: context.as_bytes() })
        .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k1() -> DataKeys {
        DataKeys::from_keys(vec![(1, [1; 32])])
    }

    fn k1_k2() -> DataKeys {
        DataKeys::from_keys(vec![(2, [2; 32]), (1, [1; 32])])
    }

    #[test]
    fn seals_with_the_newest_key_and_opens_with_the_named_one() {
        let old = seal(&k1(), b"4242424242424242", "tok_a", [7; 12]).unwrap();
        assert_eq!(old.key_version, 1);
        let new = seal(&k1_k2(), b"4242424242424242", "tok_a", [8; 12]).unwrap();
        assert_eq!(new.key_version, 2);
        // After a rotation both still open; the ciphertext never shows the plaintext.
        assert_eq!(open(&k1_k2(), &old, "tok_a").unwrap(), b"4242424242424242");
        assert_eq!(open(&k1_k2(), &new, "tok_a").unwrap(), b"4242424242424242");
        assert!(!new.data.contains("4242424242424242"));
        // A retired version no longer opens.
        let only_2 = DataKeys::from_keys(vec![(2, [2; 32])]);
        assert_eq!(open(&only_2, &old, "tok_a"), Err(SealError::UnknownKeyVersion(1)));
    }

    #[test]
    fn another_record_a_flipped_bit_or_another_key_does_not_open() {
        let sealed = seal(&k1(), b"4242424242424242", "tok_a", [7; 12]).unwrap();
        assert_eq!(open(&k1(), &sealed, "tok_b"), Err(SealError::Open));
        let mut tampered = sealed.clone();
        let flipped = if tampered.data.starts_with('0') { "1" } else { "0" };
        tampered.data.replace_range(0..1, flipped);
        assert_eq!(open(&k1(), &tampered, "tok_a"), Err(SealError::Open));
        let wrong_key = DataKeys::from_keys(vec![(1, [9; 32])]);
        assert_eq!(open(&wrong_key, &sealed, "tok_a"), Err(SealError::Open));
    }

    #[test]
    fn keys_parse_from_their_written_form_and_never_show_in_debug() {
        let text = format!("2:{},1:{}", "22".repeat(32), "11".repeat(32));
        let keys = DataKeys::parse(&text).unwrap();
        assert_eq!(format!("{keys:?}"), "DataKeys(versions [1, 2])");
        let bad_version = format!("x:{}", "11".repeat(32));
        for bad in ["", "1:abcd", bad_version.as_str(), "1"] {
            assert_eq!(DataKeys::parse(bad).map(|_| ()), Err(DataKeysError), "{bad:?}");
        }
    }
}
