//! X.509 certificates and the PKCS#7 (CMS) SignedData around an Apple Pay token, read only as far as checking
//! the signature needs: who signed what with which key, the extensions' object identifiers, validity, and the
//! signed attributes.

use super::TokenError;
use super::der::{self, Element};

pub const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const OID_P256: &str = "1.2.840.10045.3.1.7";
pub const OID_P384: &str = "1.3.132.0.34";
pub const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
pub const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    /// Bytes of one coordinate (and of `r` and `s`).
    pub fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

/// An EC public key: its curve and its uncompressed point (`04 ‖ x ‖ y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub curve: Curve,
    pub point: Vec<u8>,
}

fn bad(what: impl Into<String>) -> TokenError {
    TokenError::Signature(what.into())
}

/// A SubjectPublicKeyInfo (DER) as an EC key on P-256 or P-384.
pub fn public_key(spki: &Element<'_>) -> Result<PublicKey, TokenError> {
    let parts = der::at_least(spki, 2, "a public key")?;
    let algorithm = der::at_least(&parts[0], 2, "a public key's algorithm")?;
    if der::oid_text(algorithm[0].content)? != OID_EC_PUBLIC_KEY || algorithm[1].tag != der::OID {
        return Err(bad("a public key that is not an EC key"));
    }
    let curve = match der::oid_text(algorithm[1].content)?.as_str() {
        OID_P256 => Curve::P256,
        OID_P384 => Curve::P384,
        other => return Err(bad(format!("a key on curve {other}"))),
    };
    let point = der::bit_string(&parts[1])?;
    if point.len() != 1 + 2 * curve.size() || point[0] != 0x04 {
        return Err(bad("a public key that is not an uncompressed point of its curve"));
    }
    Ok(PublicKey { curve, point: point.to_vec() })
}

/// What the checks need of one certificate.
#[derive(Debug, Clone)]
pub struct Certificate<'a> {
    /// The DER of the to-be-signed part, which the issuer signed.
    pub tbs: &'a [u8],
    pub signature_hash: Hash,
    /// The issuer's signature, `r ‖ s` sized for the issuer's curve (set when checked).
    pub signature_der: &'a [u8],
    pub serial: &'a [u8],
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
    pub key: PublicKey,
    /// The DER SubjectPublicKeyInfo (what a token's `publicKeyHash` hashes).
    pub spki: &'a [u8],
    /// Each extension's object identifier and value (the OCTET STRING's content).
    pub extensions: Vec<(String, &'a [u8])>,
}

impl Certificate<'_> {
    pub fn has_extension(&self, oid: &str) -> bool {
        self.extensions.iter().any(|(o, _)| o == oid)
    }

    pub fn extension(&self, oid: &str) -> Option<&[u8]> {
        self.extensions.iter().find(|(o, _)| o == oid).map(|(_, v)| *v)
    }
}

fn signature_hash(algorithm: &Element<'_>) -> Result<Hash, TokenError> {
    let parts = der::at_least(algorithm, 1, "a signature algorithm")?;
    match der::oid_text(parts[0].content)?.as_str() {
        OID_ECDSA_SHA256 => Ok(Hash::Sha256),
        OID_ECDSA_SHA384 => Ok(Hash::Sha384),
        other => Err(bad(format!("a certificate signed with {other}, not ECDSA"))),
    }
}

pub fn certificate<'a>(element: &Element<'a>) -> Result<Certificate<'a>, TokenError> {
    let parts = der::at_least(element, 3, "a certificate")?;
    let tbs = der::children(&parts[0])?;
    // An explicit version comes first when present.
    let tbs_fields: Vec<&Element<'a>> = tbs.iter().filter(|e| e.tag != der::CONTEXT_0).collect();
    if tbs_fields.len() < 6 {
        return Err(bad("a certificate with too few fields"));
    }
    let validity = der::at_least(tbs_fields[3], 2, "a certificate's validity")?;
    let mut extensions = Vec::new();
    if let Some(list) = tbs.iter().find(|e| e.tag == der::CONTEXT_3) {
        let (sequence, _) = der::expect(list.content, der::SEQUENCE, "extensions")?;
        for extension in der::children(&sequence)? {
            let fields = der::at_least(&extension, 2, "an extension")?;
            let value = fields
                .iter()
                .rev()
                .find(|f| f.tag == der::OCTET_STRING)
                .ok_or_else(|| bad("an extension without a value"))?;
            extensions.push((der::oid_text(fields[0].content)?, value.content));
        }
    }
    let signature = der::bit_string(&parts[2])?;
    Ok(Certificate {
        tbs: parts[0].whole,
        signature_hash: signature_hash(&parts[1])?,
        signature_der: signature,
        serial: tbs_fields[0].content,
        issuer: tbs_fields[2].whole,
        subject: tbs_fields[4].whole,
        not_before: der::time(&validity[0])?,
        not_after: der::time(&validity[1])?,
        key: public_key(tbs_fields[5])?,
        spki: tbs_fields[5].whole,
        extensions,
    })
}

/// A certificate given as PEM (one `CERTIFICATE` block) or DER, as DER.
pub fn der_of(text_or_der: &[u8]) -> Result<Vec<u8>, TokenError> {
    use base64::Engine;
    let Ok(text) = std::str::from_utf8(text_or_der) else { return Ok(text_or_der.to_vec()) };
    let Some(start) = text.find("-----BEGIN CERTIFICATE-----") else { return Ok(text_or_der.to_vec()) };
    let body = &text[start + 27..];
    let end = body.find("-----END CERTIFICATE-----").ok_or_else(|| bad("a PEM certificate without its end"))?;
    let base64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(base64).map_err(|_| bad("a PEM certificate that is not base64"))
}

/// The SignedData of a token's `signature`.
#[derive(Debug, Clone)]
pub struct SignedData<'a> {
    pub certificates: Vec<Certificate<'a>>,
    /// The signer's issuer (raw Name) and serial number.
    pub signer_issuer: &'a [u8],
    pub signer_serial: &'a [u8],
    /// The signed attributes as signed: their DER with the `[0]` tag replaced by SET's.
    pub signed_attributes: Vec<u8>,
    pub message_digest: &'a [u8],
    pub signing_time: i64,
    pub signature_der: &'a [u8],
}

pub fn signed_data(signature: &[u8]) -> Result<SignedData<'_>, TokenError> {
    let (info, _) = der::expect(signature, der::SEQUENCE, "the signature")?;
    let info_parts = der::at_least(&info, 2, "the signature")?;
    if der::oid_text(info_parts[0].content)? != OID_SIGNED_DATA {
        return Err(bad("the signature is not PKCS#7 signed data"));
    }
    let (signed, _) = der::expect(info_parts[1].content, der::SEQUENCE, "the signed data")?;
    let fields = der::at_least(&signed, 4, "the signed data")?;
    let certificates = fields
        .iter()
        .find(|f| f.tag == der::CONTEXT_0)
        .map(der::children)
        .transpose()?
        .unwrap_or_default()
        .iter()
        .map(certificate)
        .collect::<Result<Vec<_>, _>>()?;
    let signer_infos = fields.last().filter(|f| f.tag == der::SET).ok_or_else(|| bad("no signer"))?;
    let signers = der::children(signer_infos)?;
    let [signer] = signers.as_slice() else { return Err(bad("not exactly one signer")) };
    let parts = der::at_least(signer, 5, "the signer")?;
    let identifier = der::at_least(&parts[1], 2, "the signer's identifier")?;
    let attributes = parts.iter().find(|p| p.tag == der::CONTEXT_0).ok_or_else(|| bad("no signed attributes"))?;
    if attributes.indefinite {
        return Err(bad("signed attributes not in DER"));
    }
    let mut signed_attributes = attributes.whole.to_vec();
    signed_attributes[0] = der::SET;
    let (mut message_digest, mut signing_time) = (None, None);
    for attribute in der::children(attributes)? {
        let pair = der::at_least(&attribute, 2, "a signed attribute")?;
        let values = der::at_least(&pair[1], 1, "a signed attribute's values")?;
        match der::oid_text(pair[0].content)?.as_str() {
            OID_MESSAGE_DIGEST if values[0].tag == der::OCTET_STRING => message_digest = Some(values[0].content),
            OID_SIGNING_TIME => signing_time = Some(der::time(&values[0])?),
            _ => {}
        }
    }
    let signature = parts.iter().rev().find(|p| p.tag == der::OCTET_STRING).ok_or_else(|| bad("no signature value"))?;
    Ok(SignedData {
        certificates,
        signer_issuer: identifier[0].whole,
        signer_serial: identifier[1].content,
        signed_attributes,
        message_digest: message_digest.ok_or_else(|| bad("no message digest among the signed attributes"))?,
        signing_time: signing_time.ok_or_else(|| bad("no signing time among the signed attributes"))?,
        signature_der: signature.content,
    })
}
