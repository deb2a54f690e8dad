//! The elliptic-curve operations Apple Pay tokens need, done by the Workers runtime's WebCrypto (`crypto.subtle`)
//! rather than by curve code compiled into this WASM: ECDSA verification on P-256 and P-384, and ECDH on P-256
//! with a processing key imported from PKCS#8. Core (`paygate_core::applepay`) hands these over as data.

use js_sys::{Array, Object, Promise, Uint8Array};
use paygate_core::applepay::{Curve, EcdsaCheck, Hash};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, EcKeyImportParams, EcdhKeyDeriveParams, EcdsaParams, SubtleCrypto};

/// What went wrong, for the log (never a key or a secret).
pub type CryptoError = String;

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| "no crypto in this runtime".to_owned())?;
    let subtle = js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle"))
        .map_err(|_| "no crypto.subtle in this runtime".to_owned())?;
    Ok(subtle.unchecked_into())
}

async fn settled(promise: Result<Promise, JsValue>, what: &str) -> Result<JsValue, CryptoError> {
    let promise = promise.map_err(|e| format!("{what}: {e:?}"))?;
    JsFuture::from(promise).await.map_err(|e| format!("{what}: {e:?}"))
}

fn usages(list: &[&str]) -> JsValue {
    list.iter().map(|u| JsValue::from_str(u)).collect::<Array>().into()
}

fn curve_name(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "P-256",
        Curve::P384 => "P-384",
    }
}

fn bytes(data: &[u8]) -> Object {
    Uint8Array::from(data).into()
}

/// Whether `check`'s signature holds.
pub async fn verify(check: &EcdsaCheck) -> Result<bool, CryptoError> {
    let subtle = subtle()?;
    let params = EcKeyImportParams::new("ECDSA");
    params.set_named_curve(curve_name(check.key.curve));
    let imported = subtle.import_key_with_object("raw", &bytes(&check.key.point), &params, false, &usages(&["verify"]));
    let key: CryptoKey = settled(imported, "import an ECDSA key").await?.unchecked_into();
    let hash = match check.hash {
        Hash::Sha256 => "SHA-256",
        Hash::Sha384 => "SHA-384",
    };
    let algorithm = EcdsaParams::new_with_str("ECDSA", hash);
    let verified =
        subtle.verify_with_object_and_u8_array_and_u8_array(&algorithm, &key, &check.signature, &check.message);
    Ok(settled(verified, "verify").await?.as_bool() == Some(true))
}

/// A processing key imported from PKCS#8 (DER), and its public point (`04 ‖ x ‖ y`).
pub struct ProcessingKey {
    key: CryptoKey,
    pub point: Vec<u8>,
}

fn base64url(text: &str) -> Result<Vec<u8>, CryptoError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| "a JWK coordinate".to_owned())
}

pub async fn processing_key(pkcs8: &[u8]) -> Result<ProcessingKey, CryptoError> {
    let subtle = subtle()?;
    let params = EcKeyImportParams::new("ECDH");
    params.set_named_curve("P-256");
    // Extractable only so that its public half can be read (as a JWK) to match a token's `publicKeyHash`.
    let imported = subtle.import_key_with_object("pkcs8", &bytes(pkcs8), &params, true, &usages(&["deriveBits"]));
    let key: CryptoKey = settled(imported, "import the processing key").await?.unchecked_into();
    let jwk = settled(subtle.export_key("jwk", &key), "read the processing key's public half").await?;
    let coordinate = |name: &str| -> Result<Vec<u8>, CryptoError> {
        let text = js_sys::Reflect::get(&jwk, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
        base64url(&text.ok_or_else(|| format!("the processing key has no {name}"))?)
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    if x.len() != 32 || y.len() != 32 {
        return Err("the processing key is not on P-256".into());
    }
    Ok(ProcessingKey { key, point: [&[0x04][..], &x, &y].concat() })
}

/// The ECDH shared secret of `key` and the token's ephemeral point: always 32 bytes (WebCrypto's `deriveBits`
/// returns the x coordinate whole, leading zero bytes included).
pub async fn shared_secret(key: &ProcessingKey, ephemeral_point: &[u8]) -> Result<[u8; 32], CryptoError> {
    let subtle = subtle()?;
    let params = EcKeyImportParams::new("ECDH");
    params.set_named_curve("P-256");
    let imported = subtle.import_key_with_object("raw", &bytes(ephemeral_point), &params, false, &usages(&[]));
    let peer: CryptoKey = settled(imported, "import the ephemeral key").await?.unchecked_into();
    let derive = EcdhKeyDeriveParams::new("ECDH", &peer);
    let bits = settled(subtle.derive_bits_with_object(&derive, &key.key, 256), "derive the shared secret").await?;
    let secret = Uint8Array::new(&bits).to_vec();
    secret.try_into().map_err(|_| "the shared secret is not 32 bytes".to_owned())
}
