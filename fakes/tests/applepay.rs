//! Tokens minted with our own test chain (`paygate_fakes::apple`), opened with core's reader: what must pass
//! and what must fail — a missing OID, another processing key, a stale or out-of-validity signing time, a
//! tampered token, an EMV payment, and the one token in 256 whose shared secret starts with a zero byte.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use paygate_core::applepay::{self, Curve, TokenError};
use paygate_fakes::apple::{self as apple, Minting, Payment, TestChain};
use sha2::Digest;

const MERCHANT: &str = "merchant.dev.paygate.test";
/// 2026-11-01T00:00:00Z: the chain's start; tokens are signed a day later.
const FROM: i64 = 1_793_491_200;
const SIGNED: i64 = FROM + 86_400;

fn processing() -> p256::SecretKey {
    apple::key("merchant processing key")
}

fn mint(chain: &TestChain, ephemeral: &str, payment: &Payment<'_>) -> Vec<u8> {
    let key = processing().public_key();
    let minting =
        Minting { chain, processing_key: &key, merchant_identifier: MERCHANT, signing_time: SIGNED, ephemeral };
    apple::mint(&minting, payment).to_string().into_bytes()
}

/// The caller's side: every ECDSA check holds (the chain's keys are all P-256).
fn verified(token: &applepay::PaymentToken, chain: &TestChain, now: i64) -> Result<(), TokenError> {
    for check in applepay::signature_checks(token, &chain.root.der, now, applepay::SIGNING_WINDOW_SECONDS)? {
        assert_eq!(check.key.curve, Curve::P256);
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&check.key.point).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&check.signature).unwrap();
        if key.verify_prehash(&sha2::Sha256::digest(&check.message), &signature).is_err() {
            return Err(TokenError::Signature(format!("{} does not verify", check.what)));
        }
    }
    Ok(())
}

fn opened(token: &applepay::PaymentToken) -> Result<applepay::Decrypted, TokenError> {
    let processing = processing();
    let our_keys = [
        applepay::public_key_hash(&apple::spki(&apple::key("an older key").public_key())),
        applepay::public_key_hash(&apple::spki(&processing.public_key())),
    ];
    assert_eq!(applepay::select_key(token, &our_keys)?, 1);
    let ephemeral = p256::PublicKey::from_sec1_bytes(&applepay::ephemeral_point(token)?).unwrap();
    let shared: [u8; 32] =
        (*p256::ecdh::diffie_hellman(processing.to_nonzero_scalar(), ephemeral.as_affine()).raw_secret_bytes()).into();
    applepay::decrypt(token, &applepay::symmetric_key(&shared, &applepay::merchant_id_hash(MERCHANT)))
}

#[test]
fn a_token_of_our_test_chain_verifies_and_opens_to_what_the_device_put_in() {
    let chain = TestChain::new(FROM);
    let payment = Payment::default();
    let token = applepay::parse(&mint(&chain, "ephemeral 1", &payment)).unwrap();
    verified(&token, &chain, SIGNED + 30).unwrap();
    let opened = opened(&token).unwrap();
    assert_eq!(
        (opened.device_account_number.as_str(), opened.expiration.as_str()),
        (payment.device_account_number, payment.expiration)
    );
    assert_eq!(
        (opened.currency_numeric, opened.amount, opened.cryptogram.as_str(), opened.eci.as_deref()),
        (840, 1_000, payment.cryptogram, Some("07"))
    );
}

#[test]
fn a_chain_without_either_apple_oid_is_refused() {
    for (intermediate, leaf, missing) in
        [(&[apple::OID_INTERMEDIATE][..], &[][..], "leaf"), (&[][..], &[apple::OID_LEAF][..], "intermediate")]
    {
        let chain = TestChain::build("test", FROM, intermediate, leaf);
        let token = applepay::parse(&mint(&chain, "ephemeral 1", &Payment::default())).unwrap();
        let refused = verified(&token, &chain, SIGNED).unwrap_err();
        assert!(matches!(refused, TokenError::Signature(ref why) if why.contains(missing)), "{refused}");
    }
}

#[test]
fn another_key_a_stale_or_early_signature_a_tampered_token_and_emv_are_each_refused() {
    let chain = TestChain::new(FROM);
    let token = applepay::parse(&mint(&chain, "ephemeral 1", &Payment::default())).unwrap();
    // Encrypted for a key that is not ours.
    assert_eq!(applepay::select_key(&token, &[[0; 32]]), Err(TokenError::UnknownKey));
    // Signed too long before now, or "after" now beyond the window.
    assert!(matches!(verified(&token, &chain, SIGNED + 3_600), Err(TokenError::Stale { .. })));
    assert!(matches!(verified(&token, &chain, SIGNED - 3_600), Err(TokenError::Stale { .. })));
    // Signed before the chain was valid.
    let key = processing().public_key();
    let early = Minting {
        chain: &chain,
        processing_key: &key,
        merchant_identifier: MERCHANT,
        signing_time: FROM - 60,
        ephemeral: "early",
    };
    let early = applepay::parse(apple::mint(&early, &Payment::default()).to_string().as_bytes()).unwrap();
    assert!(
        matches!(verified(&early, &chain, FROM - 60), Err(TokenError::Signature(ref why)) if why.contains("not valid at the signing time"))
    );
    // Any byte of the signed content changed.
    for field in 0..3 {
        let mut tampered = token.clone();
        match field {
            0 => tampered.data[5] ^= 1,
            1 => tampered.transaction_id[0] ^= 1,
            _ => *tampered.ephemeral_public_key.last_mut().unwrap() ^= 1,
        }
        assert!(verified(&tampered, &chain, SIGNED).is_err(), "field {field}");
    }
    // Checked against another root (same names, other keys): the intermediate's signature does not hold.
    let other = TestChain::build("other", FROM, &[apple::OID_INTERMEDIATE], &[apple::OID_LEAF]);
    let refused = verified(&token, &other, SIGNED).unwrap_err();
    assert!(matches!(refused, TokenError::Signature(ref why) if why.contains("intermediate by root")), "{refused}");
    // An EMV payment (a device in a region whose tokens carry EMV data) is refused by name.
    let emv =
        applepay::parse(&mint(&chain, "ephemeral 2", &Payment { data_type: "EMV", ..Payment::default() })).unwrap();
    assert_eq!(opened(&emv).unwrap_err(), TokenError::UnsupportedDataType("EMV".into()));
}

#[test]
fn a_shared_secret_with_a_leading_zero_byte_keeps_all_32_bytes() {
    let chain = TestChain::new(FROM);
    let processing = processing().public_key();
    // About one ephemeral key in 256 gives such a secret; search for one deterministically.
    let label = (0..5_000)
        .map(|i| format!("ephemeral {i}"))
        .find(|label| apple::shared_secret(&apple::key(label), &processing)[0] == 0)
        .expect("one in 5,000 keys has a secret starting with a zero byte");
    let token = applepay::parse(&mint(&chain, &label, &Payment::default())).unwrap();
    verified(&token, &chain, SIGNED).unwrap();
    assert_eq!(opened(&token).unwrap().amount, 1_000);
}
