//! The vault's sealing of card data: core's envelope (`paygate_core::sealed`: AES-256-GCM under versioned
//! data keys, the token id and owner as associated data) with a fresh nonce from the runtime's randomness.

pub use paygate_core::sealed::{DataKeys, SealError as CipherError, Sealed, open};

/// Seals `plaintext` with the newest key in `keys`, bound to `context`.
pub fn seal(keys: &DataKeys, plaintext: &[u8], context: &str) -> Result<Sealed, CipherError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| CipherError::Random)?;
    paygate_core::sealed::seal(keys, plaintext, context, nonce)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_seals_of_one_card_differ() {
        let keys = super::DataKeys::from_keys(vec![(1, [1; 32])]);
        let a = super::seal(&keys, b"4242424242424242", "tok_a").unwrap();
        let b = super::seal(&keys, b"4242424242424242", "tok_a").unwrap();
        assert_ne!((a.nonce, a.data), (b.nonce, b.data));
    }
}
