//! Apple Pay payment tokens (developer.apple.com "Payment token format reference"), read and opened without any
//! I/O and without elliptic-curve arithmetic of its own: the three ECDSA verifications and the one ECDH are
//! handed to the caller as data (`EcdsaCheck`, `ephemeral_point`), so the worker does them with WebCrypto (no
//! curve code in its WASM) and the tests with RustCrypto. Everything else is here:
//!
//! 1. `parse`: the token's JSON, dispatched on `version` (`EC_v1`; `RSA_v1` and anything else refused).
//! 2. `signature_checks`: the detached PKCS#7 signature: the leaf carries OID 1.2.840.113635.100.6.29, the
//!    intermediate 1.2.840.113635.100.6.2.14; the intermediate is issued by the configured root (Apple Root CA –
//!    G3 in production, a test root in tests), the leaf by the intermediate; each was valid at the signing time;
//!    the signing time is within `window` of `now` (an injected clock); the message digest is SHA-256 of
//!    `ephemeralPublicKey ‖ data ‖ transactionId ‖ applicationData`. What is left are the three signatures.
//! 3. `symmetric_key`: the NIST SP 800-56A one-step KDF over the 32-byte shared secret (fixed width: a
//!    leading zero byte is kept) and the merchant identifier's hash.
//! 4. `decrypt`: AES-256-GCM with a 16-byte zero IV, then the plaintext's fields; only `3DSecure` payments
//!    (an EMV payment is refused).
//!
//! Nothing here logs or keeps the device account number or the cryptogram: they go back to the caller only.

pub mod certificate;
pub mod der;

pub use certificate::{Curve, Hash, PublicKey};

use base64::Engine;
use sha2::{Digest, Sha256};

/// Apple Root CA – G3 (apple.com/certificateauthority), the root every live token must chain to. Tests use
/// a root of their own, and only in test mode.
pub const APPLE_ROOT_CA_G3_PEM: &str = include_str!("apple_root_ca_g3.pem");

/// The leaf (signing) and intermediate certificates' marker extensions.
pub const OID_LEAF: &str = "1.2.840.113635.100.6.29";
pub const OID_INTERMEDIATE: &str = "1.2.840.113635.100.6.2.14";
/// The merchant identifier's hash in a Payment Processing certificate (a UTF8String of 64 hex digits).
pub const OID_MERCHANT_ID: &str = "1.2.840.113635.100.6.32";
/// How far the signing time may be from now, either way, for a fresh token (Apple's own advice is minutes).
pub const SIGNING_WINDOW_SECONDS: i64 = 300;
/// The largest token accepted (Apple's are about 4 KiB).
pub const TOKEN_BYTES_MAX: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not an Apple Pay payment token: {0}")]
    Malformed(String),
    #[error("token version {0} is not supported (EC_v1 only)")]
    UnsupportedVersion(String),
    #[error("the token's signature does not verify: {0}")]
    Signature(String),
    #[error("the token was signed at {signed}, too far from now ({now})")]
    Stale { signed: i64, now: i64 },
    #[error("the token is encrypted for another processing key")]
    UnknownKey,
    #[error("the token cannot be decrypted")]
    Decrypt,
    #[error("payment data type {0} is not supported (3DSecure only)")]
    UnsupportedDataType(String),
}

/// An `EC_v1` token, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentToken {
    pub data: Vec<u8>,
    pub signature: Vec<u8>,
    /// The ephemeral public key as sent: a DER SubjectPublicKeyInfo.
    pub ephemeral_public_key: Vec<u8>,
    /// SHA-256 of the processing certificate's public key (DER SubjectPublicKeyInfo).
    pub public_key_hash: [u8; 32],
    pub transaction_id: Vec<u8>,
    pub application_data: Option<Vec<u8>>,
}

#[derive(serde::Deserialize)]
struct Wire {
    version: String,
    data: String,
    signature: String,
    header: WireHeader,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHeader {
    ephemeral_public_key: Option<String>,
    public_key_hash: String,
    transaction_id: String,
    application_data: Option<String>,
}

fn malformed(what: impl Into<String>) -> TokenError {
    TokenError::Malformed(what.into())
}

fn base64(field: &str, text: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| malformed(format!("{field} is not base64")))
}

fn hex(field: &str, text: &str) -> Result<Vec<u8>, TokenError> {
    crate::hex::decode(text).ok_or_else(|| malformed(format!("{field} is not hex")))
}

/// The token's `paymentData` (the object with `version`, `data`, `signature`, `header`).
pub fn parse(json: &[u8]) -> Result<PaymentToken, TokenError> {
    if json.len() > TOKEN_BYTES_MAX {
        return Err(malformed("it is larger than a token can be"));
    }
    let wire: Wire = serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))?;
    if wire.version != "EC_v1" {
        return Err(TokenError::UnsupportedVersion(wire.version.chars().take(20).collect()));
    }
    let key = wire.header.ephemeral_public_key.ok_or_else(|| malformed("header.ephemeralPublicKey is missing"))?;
    let public_key_hash: [u8; 32] = base64("header.publicKeyHash", &wire.header.public_key_hash)?
        .try_into()
        .map_err(|_| malformed("header.publicKeyHash is not 32 bytes"))?;
    let data = base64("data", &wire.data)?;
    if data.len() < 16 {
        return Err(malformed("data is shorter than its tag"));
    }
    Ok(PaymentToken {
        data,
        signature: base64("signature", &wire.signature)?,
        ephemeral_public_key: base64("header.ephemeralPublicKey", &key)?,
        public_key_hash,
        transaction_id: hex("header.transactionId", &wire.header.transaction_id)?,
        application_data: wire.header.application_data.map(|a| hex("header.applicationData", &a)).transpose()?,
    })
}

/// One ECDSA verification left to the caller: `signature` (`r ‖ s`) over `message`, hashed with `hash`, by
/// `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcdsaCheck {
    pub what: &'static str,
    pub key: PublicKey,
    pub hash: Hash,
    pub message: Vec<u8>,
    pub signature: Vec<u8>,
}

/// What the signature signs: `ephemeralPublicKey ‖ data ‖ transactionId ‖ applicationData`.
pub fn signed_content(token: &PaymentToken) -> Vec<u8> {
    let mut content = token.ephemeral_public_key.clone();
    content.extend_from_slice(&token.data);
    content.extend_from_slice(&token.transaction_id);
    if let Some(application) = &token.application_data {
        content.extend_from_slice(application);
    }
    content
}

/// Checks everything about the token's signature but the three ECDSA signatures, which it returns for the
/// caller to verify (every one must hold): the intermediate's by the root, the leaf's by the intermediate, the
/// signed attributes' by the leaf. `root` is the trusted root certificate (DER).
pub fn signature_checks(
    token: &PaymentToken,
    root: &[u8],
    now: i64,
    window: i64,
) -> Result<Vec<EcdsaCheck>, TokenError> {
    let bad = |what: &str| TokenError::Signature(what.to_owned());
    let (root_element, _) = der::expect(root, der::SEQUENCE, "the root certificate")?;
    let root = certificate::certificate(&root_element)?;
    let signed = certificate::signed_data(&token.signature)?;
    let leaf = signed
        .certificates
        .iter()
        .find(|c| c.has_extension(OID_LEAF))
        .ok_or_else(|| bad("no leaf certificate (OID 1.2.840.113635.100.6.29)"))?;
    let intermediate = signed
        .certificates
        .iter()
        .find(|c| c.has_extension(OID_INTERMEDIATE))
        .ok_or_else(|| bad("no intermediate certificate (OID 1.2.840.113635.100.6.2.14)"))?;
    if leaf.issuer != signed.signer_issuer || leaf.serial != signed.signer_serial {
        return Err(bad("the signer is not the leaf certificate"));
    }
    if leaf.issuer != intermediate.subject || intermediate.issuer != root.subject {
        return Err(bad("the certificates do not chain to the root"));
    }
    if leaf.key.curve != Curve::P256 {
        return Err(bad("the leaf key is not on P-256"));
    }
    for (name, cert) in [("leaf", leaf), ("intermediate", intermediate), ("root", &root)] {
        if !(cert.not_before..=cert.not_after).contains(&signed.signing_time) {
            return Err(TokenError::Signature(format!("the {name} certificate was not valid at the signing time")));
        }
    }
    if signed.signing_time > now + window || now - signed.signing_time > window {
        return Err(TokenError::Stale { signed: signed.signing_time, now });
    }
    let digest = Sha256::digest(signed_content(token));
    if signed.message_digest != digest.as_slice() {
        return Err(bad("the message digest is not that of the token's content"));
    }
    let check = |what, key: &PublicKey, hash, message: &[u8], signature: &[u8]| -> Result<EcdsaCheck, TokenError> {
        Ok(EcdsaCheck {
            what,
            key: key.clone(),
            hash,
            message: message.to_vec(),
            signature: der::ecdsa_raw(signature, key.curve.size())?,
        })
    };
    Ok(vec![
        check(
            "intermediate by root",
            &root.key,
            intermediate.signature_hash,
            intermediate.tbs,
            intermediate.signature_der,
        )?,
        check("leaf by intermediate", &intermediate.key, leaf.signature_hash, leaf.tbs, leaf.signature_der)?,
        check("token by leaf", &leaf.key, Hash::Sha256, &signed.signed_attributes, signed.signature_der)?,
    ])
}

/// The ephemeral public key's point (`04 ‖ x ‖ y` on P-256), for the caller's ECDH.
pub fn ephemeral_point(token: &PaymentToken) -> Result<Vec<u8>, TokenError> {
    let (spki, _) = der::expect(&token.ephemeral_public_key, der::SEQUENCE, "the ephemeral public key")
        .map_err(|_| malformed("header.ephemeralPublicKey is not a public key"))?;
    let key = certificate::public_key(&spki).map_err(|_| malformed("header.ephemeralPublicKey is not a P-256 key"))?;
    if key.curve != Curve::P256 {
        return Err(malformed("header.ephemeralPublicKey is not on P-256"));
    }
    Ok(key.point)
}

/// Which of our processing keys (by the SHA-256 of each one's SubjectPublicKeyInfo) the token was encrypted
/// for: its index. Keys are rotated by adding the new one beside the old until no token names the old.
pub fn select_key(token: &PaymentToken, key_hashes: &[[u8; 32]]) -> Result<usize, TokenError> {
    key_hashes.iter().position(|hash| *hash == token.public_key_hash).ok_or(TokenError::UnknownKey)
}

/// A P-256 public key (its uncompressed point) as a DER SubjectPublicKeyInfo.
pub fn p256_spki(point: &[u8]) -> Vec<u8> {
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) <65 bytes> }
    const PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
        0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    [&PREFIX[..], point].concat()
}

/// SHA-256 of a public key's DER SubjectPublicKeyInfo: what `header.publicKeyHash` names.
pub fn public_key_hash(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

/// The merchant identifier's hash: SHA-256 of the identifier (`merchant.com.example`), as the Payment
/// Processing certificate carries it.
pub fn merchant_id_hash(merchant_identifier: &str) -> [u8; 32] {
    Sha256::digest(merchant_identifier.as_bytes()).into()
}

/// The `publicKeyHash` of a Payment Processing certificate (DER): SHA-256 of its SubjectPublicKeyInfo.
pub fn public_key_hash_of_certificate(der_bytes: &[u8]) -> Result<[u8; 32], TokenError> {
    let (element, _) = der::expect(der_bytes, der::SEQUENCE, "the processing certificate")?;
    Ok(public_key_hash(certificate::certificate(&element)?.spki))
}

/// The merchant identifier's hash read from a Payment Processing certificate (DER).
pub fn merchant_id_hash_of_certificate(der_bytes: &[u8]) -> Result<[u8; 32], TokenError> {
    let (element, _) = der::expect(der_bytes, der::SEQUENCE, "the merchant certificate")?;
    let cert = certificate::certificate(&element)?;
    let value =
        cert.extension(OID_MERCHANT_ID).ok_or_else(|| malformed("the certificate has no merchant identifier"))?;
    // The extension's value is a UTF8String of 64 hex digits (some certificates hold them bare).
    let text = match der::read(value) {
        Ok((string, rest)) if string.tag == der::UTF8_STRING && rest.is_empty() => string.content,
        _ => value,
    };
    let text = std::str::from_utf8(text).map_err(|_| malformed("the merchant identifier is not text"))?;
    crate::hex::decode(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| malformed("the merchant identifier is not 32 bytes of hex"))
}

/// The symmetric key: SHA-256(`00 00 00 01` ‖ Z ‖ `0D` ‖ "id-aes256-GCM" ‖ "Apple" ‖ merchant id hash).
pub fn symmetric_key(shared_secret: &[u8; 32], merchant_id_hash: &[u8; 32]) -> [u8; 32] {
    let mut kdf = Sha256::new();
    kdf.update([0, 0, 0, 1]);
    kdf.update(shared_secret);
    kdf.update([0x0D]);
    kdf.update(b"id-aes256-GCM");
    kdf.update(b"Apple");
    kdf.update(merchant_id_hash);
    kdf.finalize().into()
}

/// What an `EC_v1` token holds once opened. `Debug` shows neither the device account number nor the cryptogram.
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub device_account_number: String,
    /// `YYMMDD` as the token writes it.
    pub expiration: String,
    /// ISO 4217 numeric.
    pub currency_numeric: u16,
    /// In the currency's minor units.
    pub amount: i64,
    pub device_manufacturer: String,
    pub cryptogram: String,
    pub eci: Option<String>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("last4", &self.device_account_number.get(self.device_account_number.len().saturating_sub(4)..))
            .field("expiration", &self.expiration)
            .field("currency_numeric", &self.currency_numeric)
            .field("amount", &self.amount)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plaintext {
    application_primary_account_number: String,
    application_expiration_date: String,
    currency_code: String,
    transaction_amount: i64,
    device_manufacturer_identifier: String,
    payment_data_type: String,
    payment_data: PlaintextPayment,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlaintextPayment {
    online_payment_cryptogram: Option<String>,
    eci_indicator: Option<String>,
}

/// Decrypts `data` with `key` (AES-256-GCM, 16-byte zero IV, the tag last) and reads the payment.
pub fn decrypt(token: &PaymentToken, key: &[u8; 32]) -> Result<Decrypted, TokenError> {
    use aes_gcm::aead::consts::U16;
    use aes_gcm::aead::{Aead, KeyInit};
    type Aes256Gcm16 = aes_gcm::AesGcm<aes_gcm::aes::Aes256, U16>;
    let cipher = Aes256Gcm16::new_from_slice(key).map_err(|_| TokenError::Decrypt)?;
    let nonce = aes_gcm::Nonce::<U16>::default();
    let plain = cipher.decrypt(&nonce, token.data.as_slice()).map_err(|_| TokenError::Decrypt)?;
    let text: Plaintext =
        serde_json::from_slice(&plain).map_err(|e| malformed(format!("the decrypted payment: {e}")))?;
    if text.payment_data_type != "3DSecure" {
        return Err(TokenError::UnsupportedDataType(text.payment_data_type.chars().take(20).collect()));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = &text.application_primary_account_number;
    let well_formed = digits(number)
        && (12..=19).contains(&number.len())
        && digits(&text.application_expiration_date)
        && text.application_expiration_date.len() == 6
        && text.transaction_amount >= 0;
    if !well_formed {
        return Err(malformed("the decrypted payment's fields"));
    }
    let currency_numeric = text
        .currency_code
        .parse()
        .ok()
        .filter(|_| digits(&text.currency_code))
        .ok_or_else(|| malformed("currencyCode"))?;
    let cryptogram =
        text.payment_data.online_payment_cryptogram.ok_or_else(|| malformed("no onlinePaymentCryptogram"))?;
    Ok(Decrypted {
        device_account_number: text.application_primary_account_number,
        expiration: text.application_expiration_date,
        currency_numeric,
        amount: text.transaction_amount,
        device_manufacturer: text.device_manufacturer_identifier,
        cryptogram,
        eci: text.payment_data.eci_indicator,
    })
}
