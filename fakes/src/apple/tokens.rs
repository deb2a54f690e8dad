//! Apple's side of Apple Pay, for tests: a test PKI shaped like Apple's (a root, an intermediate carrying
//! OID 1.2.840.113635.100.6.2.14, a leaf carrying 1.2.840.113635.100.6.29, all P-256), and `EC_v1` payment
//! tokens minted the way a device does (developer.apple.com "Payment token format reference"): an ephemeral
//! key, ECDH with the merchant's processing key, the one-step KDF, AES-256-GCM with a 16-byte zero IV, and a
//! detached PKCS#7 signature over `ephemeralPublicKey ‖ data ‖ transactionId`. Written here by hand, with
//! RustCrypto, independently of the reader in `paygate-core`. Keys come from labels (SHA-256 of the label), so
//! every token is reproducible.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const OID_COMMON_NAME: &str = "2.5.4.3";
pub const OID_LEAF: &str = "1.2.840.113635.100.6.29";
pub const OID_INTERMEDIATE: &str = "1.2.840.113635.100.6.2.14";

// ---- DER, written ----

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().expect("a numeric arc")).collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7F) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7F) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    }
    tlv(0x06, &body)
}

fn integer(value: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = value.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

fn utc_time(unix: i64) -> Vec<u8> {
    let text = crate::reports::utc(unix); // YYYY-MM-DD HH:MM:SS
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    tlv(0x17, format!("{}Z", &digits[2..]).as_bytes())
}

fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

fn name(common_name: &str) -> Vec<u8> {
    seq(&[set(&[seq(&[oid(OID_COMMON_NAME), tlv(0x0C, common_name.as_bytes())])])])
}

/// A P-256 public key as a DER SubjectPublicKeyInfo.
pub fn spki(key: &p256::PublicKey) -> Vec<u8> {
    let point = key.to_encoded_point(false);
    seq(&[seq(&[oid(OID_EC_PUBLIC_KEY), oid(OID_P256)]), bit_string(point.as_bytes())])
}

/// The P-256 key of `label` (SHA-256 of it; a label whose hash is not a valid scalar is rehashed).
pub fn key(label: &str) -> p256::SecretKey {
    let mut seed: [u8; 32] = Sha256::digest(label.as_bytes()).into();
    loop {
        if let Ok(key) = p256::SecretKey::from_slice(&seed) {
            return key;
        }
        seed = Sha256::digest(seed).into();
    }
}

// ---- the test PKI ----

/// One certificate of the test PKI and its key.
#[derive(Clone)]
pub struct Issued {
    pub der: Vec<u8>,
    pub key: p256::SecretKey,
    pub subject: Vec<u8>,
    pub serial: u64,
}

/// What to put in a certificate.
pub struct Template<'a> {
    pub common_name: &'a str,
    pub serial: u64,
    pub not_before: i64,
    pub not_after: i64,
    /// Marker extensions (value NULL), e.g. `OID_LEAF`.
    pub markers: &'a [&'a str],
}

/// Issues a certificate for `key` signed by `issuer` (itself when `None`).
pub fn issue(template: &Template<'_>, key: p256::SecretKey, issuer: Option<&Issued>) -> Issued {
    let subject = name(template.common_name);
    let issuer_name = issuer.map_or_else(|| subject.clone(), |i| i.subject.clone());
    let signing = p256::ecdsa::SigningKey::from(issuer.map_or(&key, |i| &i.key));
    let extensions: Vec<Vec<u8>> = template.markers.iter().map(|m| seq(&[oid(m), tlv(0x04, &[0x05, 0x00])])).collect();
    let mut tbs_parts = vec![
        tlv(0xA0, &integer(2)),
        integer(template.serial),
        seq(&[oid(OID_ECDSA_SHA256)]),
        issuer_name,
        seq(&[utc_time(template.not_before), utc_time(template.not_after)]),
        subject.clone(),
        spki(&key.public_key()),
    ];
    if !extensions.is_empty() {
        tbs_parts.push(tlv(0xA3, &seq(&extensions)));
    }
    let tbs = seq(&tbs_parts);
    let signature: p256::ecdsa::Signature = signing.sign(&tbs);
    let der = seq(&[tbs, seq(&[oid(OID_ECDSA_SHA256)]), bit_string(signature.to_der().as_bytes())]);
    Issued { der, key, subject, serial: template.serial }
}

/// A root, an intermediate and a leaf shaped like Apple's, valid from `from` for ten years.
pub struct TestChain {
    pub root: Issued,
    pub intermediate: Issued,
    pub leaf: Issued,
}

impl TestChain {
    pub fn new(from: i64) -> TestChain {
        Self::build("test", from, &[OID_INTERMEDIATE], &[OID_LEAF])
    }

    /// The chain called `name` (its keys are derived from it: another name, other keys), whose intermediate and
    /// leaf carry these marker extensions (to leave one out).
    pub fn build(name: &str, from: i64, intermediate: &[&str], leaf: &[&str]) -> TestChain {
        let until = from + 10 * 365 * 86_400;
        let template = |common_name, serial, markers| Template {
            common_name,
            serial,
            not_before: from,
            not_after: until,
            markers,
        };
        let root = issue(&template("Paygate Test Root CA", 1, &[]), key(&format!("{name} root")), None);
        let intermediate = issue(
            &template("Paygate Test Integration CA", 2, intermediate),
            key(&format!("{name} intermediate")),
            Some(&root),
        );
        let leaf =
            issue(&template("paygate-test-token-signing", 3, leaf), key(&format!("{name} leaf")), Some(&intermediate));
        TestChain { root, intermediate, leaf }
    }
}

// ---- tokens ----

/// What a device puts in a token.
pub struct Payment<'a> {
    pub device_account_number: &'a str,
    /// `YYMMDD`.
    pub expiration: &'a str,
    pub currency_numeric: &'a str,
    pub amount: i64,
    pub cryptogram: &'a str,
    pub eci: Option<&'a str>,
    /// `3DSecure` or `EMV`.
    pub data_type: &'a str,
}

impl Default for Payment<'_> {
    fn default() -> Self {
        Payment {
            device_account_number: "4895370012003478",
            expiration: "291231",
            currency_numeric: "840",
            amount: 1_000,
            cryptogram: "AgAAAAAABk4DWZ4C28yUQAAAAAA=",
            eci: Some("07"),
            data_type: "3DSecure",
        }
    }
}

/// The symmetric key of an `EC_v1` token: SHA-256 over the counter, the shared secret, the algorithm id,
/// "Apple" and the merchant identifier's hash.
fn symmetric_key(shared: &[u8], merchant_id_hash: &[u8; 32]) -> [u8; 32] {
    let mut kdf = Sha256::new();
    kdf.update([0, 0, 0, 1]);
    kdf.update(shared);
    kdf.update([0x0D]);
    kdf.update(b"id-aes256-GCM");
    kdf.update(b"Apple");
    kdf.update(merchant_id_hash);
    kdf.finalize().into()
}

/// How to mint a token: for which processing key and merchant, signed by which chain when.
pub struct Minting<'a> {
    pub chain: &'a TestChain,
    pub processing_key: &'a p256::PublicKey,
    pub merchant_identifier: &'a str,
    pub signing_time: i64,
    /// The ephemeral key's label (a token's ephemeral key is fresh each time on a device).
    pub ephemeral: &'a str,
}

/// The ECDH shared secret's 32 bytes between `ephemeral` and the processing key.
pub fn shared_secret(ephemeral: &p256::SecretKey, processing_key: &p256::PublicKey) -> [u8; 32] {
    let shared = p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), processing_key.as_affine());
    (*shared.raw_secret_bytes()).into()
}

/// An `EC_v1` token (the `paymentData` object) for `payment`.
pub fn mint(minting: &Minting<'_>, payment: &Payment<'_>) -> serde_json::Value {
    let ephemeral = key(minting.ephemeral);
    let shared = shared_secret(&ephemeral, minting.processing_key);
    let merchant_id_hash: [u8; 32] = Sha256::digest(minting.merchant_identifier.as_bytes()).into();
    let key = symmetric_key(&shared, &merchant_id_hash);
    let mut inner = serde_json::json!({ "onlinePaymentCryptogram": payment.cryptogram });
    if let Some(eci) = payment.eci {
        inner["eciIndicator"] = eci.into();
    }
    let plaintext = serde_json::json!({
        "applicationPrimaryAccountNumber": payment.device_account_number,
        "applicationExpirationDate": payment.expiration,
        "currencyCode": payment.currency_numeric,
        "transactionAmount": payment.amount,
        "deviceManufacturerIdentifier": "040010030273",
        "paymentDataType": payment.data_type,
        "paymentData": inner,
    });
    let cipher = aes_gcm::AesGcm::<aes_gcm::aes::Aes256, U16>::new_from_slice(&key).expect("a 32-byte key");
    let data = cipher
        .encrypt(&aes_gcm::Nonce::<U16>::default(), plaintext.to_string().as_bytes())
        .expect("AES-GCM encrypts any plaintext");
    let ephemeral_spki = spki(&ephemeral.public_key());
    let transaction_id: [u8; 32] = Sha256::digest(format!("transaction {}", minting.ephemeral)).into();
    let mut content = ephemeral_spki.clone();
    content.extend_from_slice(&data);
    content.extend_from_slice(&transaction_id);
    let signature = sign(minting.chain, &content, minting.signing_time);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let key_hash: [u8; 32] = Sha256::digest(spki(minting.processing_key)).into();
    serde_json::json!({
        "version": "EC_v1",
        "data": b64(&data),
        "signature": b64(&signature),
        "header": {
            "ephemeralPublicKey": b64(&ephemeral_spki),
            "publicKeyHash": b64(&key_hash),
            "transactionId": paygate_core::hex::encode(&transaction_id),
        },
    })
}

/// A detached PKCS#7 SignedData over `content` by the chain's leaf, carrying the leaf and the intermediate.
pub fn sign(chain: &TestChain, content: &[u8], signing_time: i64) -> Vec<u8> {
    let sha256 = seq(&[oid(OID_SHA256), vec![0x05, 0x00]]);
    let attributes = [
        seq(&[oid(OID_CONTENT_TYPE), set(&[oid(OID_DATA)])]),
        seq(&[oid(OID_SIGNING_TIME), set(&[utc_time(signing_time)])]),
        seq(&[oid(OID_MESSAGE_DIGEST), set(&[tlv(0x04, &Sha256::digest(content))])]),
    ];
    let signed_attributes = set(&attributes);
    let signing = p256::ecdsa::SigningKey::from(&chain.leaf.key);
    let signature: p256::ecdsa::Signature = signing.sign(&signed_attributes);
    let signer = seq(&[
        integer(1),
        seq(&[chain.intermediate.subject.clone(), integer(chain.leaf.serial)]),
        sha256.clone(),
        tlv(0xA0, &attributes.concat()),
        seq(&[oid(OID_ECDSA_SHA256)]),
        tlv(0x04, signature.to_der().as_bytes()),
    ]);
    let signed_data = seq(&[
        integer(1),
        set(&[sha256]),
        seq(&[oid(OID_DATA)]),
        tlv(0xA0, &[chain.leaf.der.clone(), chain.intermediate.der.clone()].concat()),
        set(&[signer]),
    ]);
    seq(&[oid(OID_SIGNED_DATA), tlv(0xA0, &signed_data)])
}
