//! Apple Pay EC_v1 tokens against spreedly/gala's vector (`core/testdata/applepay`, provenance in its
//! `expected.json`): every intermediate value (merchant id hash, shared secret, symmetric key, plaintext), the
//! signature chain to Apple Root CA – G3 at the signing time, and what must fail. The elliptic-curve operations
//! that `applepay` leaves to its caller are done here with RustCrypto, as the worker does them with WebCrypto.

use base64::Engine;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use paygate_core::applepay::{self, Curve, EcdsaCheck, Hash, TokenError, certificate};
use serde_json::Value;
use sha2::Digest;

const TOKEN: &str = include_str!("../testdata/applepay/token.json");
const KEY: &str = include_str!("../testdata/applepay/private_key.pem");
const CERTIFICATE: &str = include_str!("../testdata/applepay/certificate.pem");
const ROOT: &str = include_str!("../testdata/applepay/AppleRootCA-G3.pem");
const EXPECTED: &str = include_str!("../testdata/applepay/expected.json");

fn expected() -> Value {
    serde_json::from_str(EXPECTED).unwrap()
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn der(pem: &str) -> Vec<u8> {
    certificate::der_of(pem.as_bytes()).unwrap()
}

fn signing_time() -> i64 {
    expected()["signature_checks"]["signing_time_unix"].as_i64().unwrap()
}

/// The ECDSA verification the worker does with WebCrypto.
fn holds(check: &EcdsaCheck) -> bool {
    let digest = match check.hash {
        Hash::Sha256 => sha2::Sha256::digest(&check.message).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(&check.message).to_vec(),
    };
    match check.key.curve {
        Curve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&check.key.point).unwrap();
            let signature = p256::ecdsa::Signature::from_slice(&check.signature).unwrap();
            key.verify_prehash(&digest, &signature).is_ok()
        }
        Curve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&check.key.point).unwrap();
            let signature = p384::ecdsa::Signature::from_slice(&check.signature).unwrap();
            key.verify_prehash(&digest, &signature).is_ok()
        }
    }
}

/// The ECDH the worker does with WebCrypto: the shared secret's 32 bytes, leading zeros kept.
fn shared_secret(point: &[u8]) -> [u8; 32] {
    use p256::pkcs8::DecodePrivateKey;
    let secret = p256::SecretKey::from_sec1_pem(KEY).or_else(|_| p256::SecretKey::from_pkcs8_pem(KEY)).unwrap();
    let peer = p256::PublicKey::from_sec1_bytes(point).unwrap();
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    (*shared.raw_secret_bytes()).into()
}

#[test]
fn the_gala_token_opens_to_every_intermediate_value() {
    let expected = expected();
    let token = applepay::parse(TOKEN.as_bytes()).unwrap();
    // The token names our processing certificate's key.
    assert_eq!(applepay::public_key_hash_of_certificate(&der(CERTIFICATE)).unwrap(), token.public_key_hash);
    // And the key's point alone gives the same hash (the worker knows its key, not a certificate).
    let certificate_der = der(CERTIFICATE);
    let (element, _) = applepay::der::read(&certificate_der).unwrap();
    let point = certificate::certificate(&element).unwrap().key.point;
    assert_eq!(applepay::public_key_hash(&applepay::p256_spki(&point)), token.public_key_hash);
    // The bundled production root is Apple's (the same file gala ships).
    assert_eq!(der(applepay::APPLE_ROOT_CA_G3_PEM), der(ROOT));
    let merchant = applepay::merchant_id_hash_of_certificate(&der(CERTIFICATE)).unwrap();
    assert_eq!(paygate_core::hex::encode(&merchant).to_uppercase(), expected["merchant_id_hex"].as_str().unwrap());
    let secret = shared_secret(&applepay::ephemeral_point(&token).unwrap());
    assert_eq!(secret.to_vec(), b64(expected["shared_secret_b64"].as_str().unwrap()));
    let key = applepay::symmetric_key(&secret, &merchant);
    assert_eq!(key.to_vec(), b64(expected["symmetric_key_b64"].as_str().unwrap()));
    let payment = applepay::decrypt(&token, &key).unwrap();
    let plain = &expected["decrypted"];
    assert_eq!(payment.device_account_number, plain["applicationPrimaryAccountNumber"].as_str().unwrap());
    assert_eq!(payment.expiration, plain["applicationExpirationDate"].as_str().unwrap());
    assert_eq!(payment.currency_numeric, 840);
    assert_eq!(payment.amount, plain["transactionAmount"].as_i64().unwrap());
    assert_eq!(payment.device_manufacturer, plain["deviceManufacturerIdentifier"].as_str().unwrap());
    assert_eq!(payment.cryptogram, plain["onlinePaymentCryptogram"].as_str().unwrap());
    assert_eq!(payment.eci, None, "this vector has no eciIndicator");
    // Its Debug shows neither the device account number nor the cryptogram.
    let shown = format!("{payment:?}");
    assert!(!shown.contains(&payment.device_account_number) && !shown.contains(&payment.cryptogram), "{shown}");
}

#[test]
fn the_gala_signature_chains_to_apple_root_g3_at_its_signing_time() {
    let token = applepay::parse(TOKEN.as_bytes()).unwrap();
    let checks = applepay::signature_checks(&token, &der(ROOT), signing_time() + 30, 300).unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c.what).collect();
    assert_eq!(names, ["intermediate by root", "leaf by intermediate", "token by leaf"]);
    assert_eq!(
        (checks[0].key.curve, checks[1].key.curve, checks[2].key.curve),
        (Curve::P384, Curve::P256, Curve::P256)
    );
    for check in &checks {
        assert!(holds(check), "{} does not verify", check.what);
    }
    // Any one of the three signatures altered fails its check.
    for check in &checks {
        let mut altered = check.clone();
        altered.message.push(0);
        assert!(!holds(&altered), "{}", altered.what);
    }
}

#[test]
fn a_stale_token_a_tampered_one_another_root_and_a_bad_tag_each_fail() {
    let token = applepay::parse(TOKEN.as_bytes()).unwrap();
    let root = der(ROOT);
    // Signed long ago: stale now, however valid its chain was then.
    let now = signing_time() + 3_600;
    assert!(matches!(applepay::signature_checks(&token, &root, now, 300), Err(TokenError::Stale { .. })));
    // Data changed: the signed digest no longer matches (gala's "bogus" case).
    let mut tampered = token.clone();
    tampered.data[0] ^= 1;
    let refused = applepay::signature_checks(&tampered, &root, signing_time(), 300).unwrap_err();
    assert!(matches!(refused, TokenError::Signature(ref why) if why.contains("message digest")), "{refused}");
    // A root the chain does not lead to.
    let other = applepay::signature_checks(&token, &der(CERTIFICATE), signing_time(), 300).unwrap_err();
    assert!(matches!(other, TokenError::Signature(_)), "{other}");
    // The right key with a flipped tag byte, and the wrong key.
    let merchant = applepay::merchant_id_hash_of_certificate(&der(CERTIFICATE)).unwrap();
    let key = applepay::symmetric_key(&shared_secret(&applepay::ephemeral_point(&token).unwrap()), &merchant);
    let mut bad_tag = token.clone();
    *bad_tag.data.last_mut().unwrap() ^= 0x80;
    assert_eq!(applepay::decrypt(&bad_tag, &key), Err(TokenError::Decrypt));
    assert_eq!(applepay::decrypt(&token, &[7; 32]), Err(TokenError::Decrypt));
}

#[test]
fn versions_other_than_ec_v1_and_malformed_tokens_are_refused_by_name() {
    let mut token: Value = serde_json::from_str(TOKEN).unwrap();
    token["version"] = "RSA_v1".into();
    assert_eq!(applepay::parse(token.to_string().as_bytes()), Err(TokenError::UnsupportedVersion("RSA_v1".into())));
    for (field, value) in [("data", "not base64!"), ("signature", "%%%")] {
        let mut broken: Value = serde_json::from_str(TOKEN).unwrap();
        broken[field] = value.into();
        assert!(
            matches!(applepay::parse(broken.to_string().as_bytes()), Err(TokenError::Malformed(ref why)) if why.contains(field))
        );
    }
    let mut no_hash: Value = serde_json::from_str(TOKEN).unwrap();
    no_hash["header"]["publicKeyHash"] = "AAAA".into();
    assert!(matches!(applepay::parse(no_hash.to_string().as_bytes()), Err(TokenError::Malformed(_))));
    assert!(applepay::parse(b"[]").is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
    /// No input makes the token or signature readers panic.
    #[test]
    fn no_bytes_make_the_readers_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600), cut in 0usize..2_300) {
        let _ = applepay::parse(&bytes);
        let _ = certificate::signed_data(&bytes);
        let _ = applepay::der::read(&bytes);
        let token = applepay::parse(TOKEN.as_bytes()).unwrap();
        let mut truncated = token.clone();
        truncated.signature.truncate(cut);
        if let Some(byte) = truncated.signature.get_mut(cut / 2) { *byte ^= bytes.first().copied().unwrap_or(1); }
        let _ = applepay::signature_checks(&truncated, &der(ROOT), signing_time(), 300);
    }
}
