//! `POST /v1/tokens` with `{"apple_pay": {"payment_data": <the token's paymentData>}}`: an Apple Pay `EC_v1`
//! token opened here, in the vault (`paygate_core::applepay` for everything but the curve operations, which
//! are WebCrypto's), and its device card sealed like a card: the device account number, its expiry, the
//! single-use cryptogram and the ECI. The token's amount and currency stay in the summary so the charge can
//! be checked against them. Nothing of the card or cryptogram is ever logged: failures log their reason only.
//!
//! In order: the token is read (only `EC_v1`), matched to one of Paygate's processing keys by
//! `publicKeyHash`, its signature checked to the root (Apple Root CA – G3 in live mode) at a signing time
//! within five minutes of now, the three ECDSA signatures verified, the shared secret derived, the payment
//! decrypted (only `3DSecure` payments) and its device card checked like a card number.

use super::tokens::{Stored, fingerprint, store_token};
use crate::auth::Caller;
use crate::problem::Refusal;
use crate::webcrypto;
use paygate_core::ErrorCode;
use paygate_core::applepay::{self, TokenError};
use paygate_core::card::{CardNumber, Expiry};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::rc::Rc;
use worker::Env;

const PARAM: &str = "apple_pay.payment_data";

fn invalid(param: &str, detail: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::ParameterInvalid).param(param).detail(detail)
}

/// A token the caller sent that cannot be used, said without anything from inside it.
fn refused(error: &TokenError) -> Refusal {
    invalid(PARAM, error.to_string())
}

fn broken(request_id: &str, what: &str, error: impl std::fmt::Display) -> Refusal {
    worker::console_error!("{request_id} Apple Pay {what}: {error}");
    Refusal::new(ErrorCode::ServiceUnavailable).detail("Apple Pay is not available right now")
}

/// The `paymentData` object of `{apple_pay: {payment_data}}`, naming the field at fault.
fn payment_data(body: &Map<String, Value>) -> Result<&Value, Refusal> {
    if let Some(unknown) = body.keys().find(|k| k.as_str() != "apple_pay") {
        return Err(Refusal::new(ErrorCode::ParameterUnknown)
            .param(unknown)
            .detail(format!("unknown parameter {unknown}")));
    }
    let Some(Value::Object(apple_pay)) = body.get("apple_pay") else {
        return Err(invalid("apple_pay", "apple_pay must be an object"));
    };
    if let Some(unknown) = apple_pay.keys().find(|k| k.as_str() != "payment_data") {
        let param = format!("apple_pay.{unknown}");
        return Err(Refusal::new(ErrorCode::ParameterUnknown)
            .param(&param)
            .detail(format!("unknown parameter {param}")));
    }
    match apple_pay.get("payment_data") {
        Some(data @ Value::Object(_)) => Ok(data),
        Some(_) => Err(invalid(PARAM, "apple_pay.payment_data must be the token's paymentData object")),
        None => {
            Err(Refusal::new(ErrorCode::ParameterMissing).param(PARAM).detail("apple_pay.payment_data is required"))
        }
    }
}

/// The processing keys as WebCrypto holds them, with each one's `publicKeyHash` and the configuration (PKCS#8)
/// they were imported from.
struct Keys {
    configured: Vec<Vec<u8>>,
    keys: Vec<webcrypto::ProcessingKey>,
    hashes: Vec<[u8; 32]>,
}

thread_local! {
    /// The keys as imported: an isolate imports them once, and again only when the configuration changes (a
    /// rotation).
    static KEYS: RefCell<Option<Rc<Keys>>> = const { RefCell::new(None) };
}

async fn processing_keys(env: &Env, request_id: &str) -> Result<Rc<Keys>, Refusal> {
    let configured = crate::config::apple_pay_processing_keys(env)?;
    let cached = KEYS.with_borrow(|cache| cache.as_ref().filter(|k| k.configured == configured).cloned());
    if let Some(keys) = cached {
        return Ok(keys);
    }
    let mut keys = Vec::new();
    for der in &configured {
        keys.push(webcrypto::processing_key(der).await.map_err(|e| broken(request_id, "processing key", e))?);
    }
    let hashes = keys.iter().map(|k| applepay::public_key_hash(&applepay::p256_spki(&k.point))).collect();
    let keys = Rc::new(Keys { configured, keys, hashes });
    KEYS.with_borrow_mut(|cache| *cache = Some(keys.clone()));
    Ok(keys)
}

pub async fn create<F, Fut>(
    env: &Env,
    caller: &Caller,
    body: &Map<String, Value>,
    request_id: &str,
    now: i64,
    card_limit: F,
) -> Result<Value, Refusal>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), Refusal>>,
{
    let data = payment_data(body)?;
    let token = applepay::parse(data.to_string().as_bytes()).map_err(|e| refused(&e))?;
    let merchant_identifier = crate::apple_pay::merchant_id(env).ok_or_else(|| {
        Refusal::new(ErrorCode::ServiceUnavailable).detail("Apple Pay is not configured for this deployment")
    })?;
    // Paygate's processing keys, newest first; the token names the one it was encrypted for.
    let keys = processing_keys(env, request_id).await?;
    let key = &keys.keys[applepay::select_key(&token, &keys.hashes).map_err(|e| refused(&e))?];
    let root = crate::config::apple_pay_root(env, caller.mode)?;
    let checks =
        applepay::signature_checks(&token, &root, now, applepay::SIGNING_WINDOW_SECONDS).map_err(|e| refused(&e))?;
    for check in &checks {
        let holds = webcrypto::verify(check).await.map_err(|e| broken(request_id, "signature check", e))?;
        if !holds {
            return Err(refused(&TokenError::Signature(format!("{} does not verify", check.what))));
        }
    }
    let ephemeral = applepay::ephemeral_point(&token).map_err(|e| refused(&e))?;
    let shared = webcrypto::shared_secret(key, &ephemeral).await.map_err(|_| refused(&TokenError::Decrypt))?;
    let symmetric = applepay::symmetric_key(&shared, &applepay::merchant_id_hash(&merchant_identifier));
    let payment = applepay::decrypt(&token, &symmetric).map_err(|e| refused(&e))?;
    // The device card: a card number like any other, and an expiry written YYMMDD.
    let number = CardNumber::parse(&payment.device_account_number)
        .map_err(|_| invalid(PARAM, "the token's device card number is not a card number"))?;
    let (year, month) = (&payment.expiration[..2], &payment.expiration[2..4]);
    let expiry = Expiry::new(month.parse().unwrap_or(0), 2000 + year.parse::<u32>().unwrap_or(0))
        .and_then(|e| e.check_at(now).map(|()| e))
        .map_err(|e| invalid(PARAM, format!("the token's device card: {e}")))?;
    let currency = paygate_core::Currency::all()
        .find(|c| c.numeric() == payment.currency_numeric)
        .ok_or_else(|| invalid(PARAM, "the token's currency is not one Paygate knows"))?;
    // The cryptogram travels into processor bodies (JSON strings, forms): only base64 is taken; the ECI is digits.
    let base64_text =
        |t: &str| !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    if !base64_text(&payment.cryptogram)
        || payment.eci.as_deref().is_some_and(|e| e.is_empty() || e.len() > 2 || !e.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(PARAM, "the token's cryptogram or ECI is malformed"));
    }
    let fingerprint = fingerprint(env, caller, &number)?;
    card_limit(fingerprint.clone()).await?;
    let brands: Vec<&str> = number.brands().all().map(|b| b.as_str()).collect();
    let summary = json!({
        "brand": number.brand().as_str(),
        "brands": brands,
        "last4": number.last4(),
        "bin": number.bin6(),
        "exp_month": expiry.month(),
        "exp_year": expiry.year(),
        "fingerprint": fingerprint,
        "issuing_country": number.issuing_country(),
        // The last 4 are the device account number's, not the card's: say so wherever they are shown.
        "wallet": { "type": "apple_pay", "amount": payment.amount, "currency": currency.code() },
    });
    let plain = json!({
        "number": number.expose_digits(),
        "exp_month": expiry.month(),
        "exp_year": expiry.year(),
        "network_token": true,
        "cryptogram": payment.cryptogram,
        "eci": payment.eci,
    });
    store_token(env, caller, Stored { kind: "apple_pay", plain, cvc: None, summary, now }, request_id).await
}
