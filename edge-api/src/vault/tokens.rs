//! `POST /v1/tokens` (publishable key): validates a card with core's rules (or opens an Apple Pay token:
//! `apple_pay`), seals it in the vault and answers a single-use `tok_` with what may be shown of the card. The number and CVC exist in this
//! request's memory and, sealed, in the token's vault object; nowhere else, and never in a log.

use super::cipher;
use super::store::{self, VaultRecord};
use crate::auth::Caller;
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::card::{CardNumber, CardNumberError, Cvc, Expiry, ExpiryError};
use paygate_core::id::{Id, TokenKind};
use serde_json::{Map, Value, json};
use worker::Env;

/// The card as the browser sends it.
struct CardInput {
    number: CardNumber,
    expiry: Expiry,
    cvc: Option<Cvc>,
    name: Option<String>,
    postal_code: Option<String>,
}

fn invalid(code: ErrorCode, param: &str, detail: impl Into<String>) -> Refusal {
    Refusal::new(code).param(param).detail(detail)
}

fn field<'a>(card: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    card.get(name).filter(|v| !v.is_null())
}

/// Reads `{card: {number, exp_month, exp_year, cvc, name?, postal_code?}}`, naming the field at fault.
fn parse(body: &Map<String, Value>, now: i64) -> Result<CardInput, Refusal> {
    if let Some(unknown) = body.keys().find(|k| k.as_str() != "card") {
        return Err(invalid(ErrorCode::ParameterUnknown, unknown, format!("unknown parameter {unknown}")));
    }
    let card = match body.get("card") {
        Some(Value::Object(card)) => card,
        Some(_) => return Err(invalid(ErrorCode::ParameterInvalid, "card", "card must be an object")),
        None => return Err(invalid(ErrorCode::ParameterMissing, "card", "card is required")),
    };
    const FIELDS: [&str; 6] = ["number", "exp_month", "exp_year", "cvc", "name", "postal_code"];
    if let Some(unknown) = card.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let param = format!("card.{unknown}");
        return Err(invalid(ErrorCode::ParameterUnknown, &param, format!("unknown parameter {param}")));
    }
    let text = |name: &str| -> Result<Option<String>, Refusal> {
        match field(card, name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(
                ErrorCode::ParameterInvalid,
                &format!("card.{name}"),
                format!("card.{name} must be a string"),
            )),
        }
    };
    let number_text = text("number")?
        .ok_or_else(|| invalid(ErrorCode::ParameterMissing, "card.number", "the card number is required"))?;
    let number = CardNumber::parse(&number_text).map_err(|e| {
        let code = match e {
            CardNumberError::Empty => ErrorCode::ParameterMissing,
            _ => ErrorCode::CardNumberInvalid,
        };
        invalid(code, "card.number", e.to_string())
    })?;
    let integer = |name: &str| -> Result<u32, Refusal> {
        let param = format!("card.{name}");
        match field(card, name) {
            None => Err(invalid(ErrorCode::ParameterMissing, &param, format!("{param} is required"))),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                invalid(ErrorCode::ExpiryInvalid, &param, format!("{param} must be a positive integer"))
            }),
            // Browsers' form values are strings: accept "04" and "2030" too.
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| invalid(ErrorCode::ExpiryInvalid, &param, format!("{param} must be a number"))),
            Some(_) => Err(invalid(ErrorCode::ExpiryInvalid, &param, format!("{param} must be a number"))),
        }
    };
    let month = integer("exp_month")?;
    let year = integer("exp_year")?;
    let expiry = Expiry::new(month, year).map_err(|e| {
        let param = if e == ExpiryError::InvalidMonth { "card.exp_month" } else { "card.exp_year" };
        invalid(ErrorCode::ExpiryInvalid, param, e.to_string())
    })?;
    expiry.check_at(now).map_err(|e| match e {
        ExpiryError::Expired => invalid(ErrorCode::CardExpired, "card.exp_year", e.to_string()),
        other => invalid(ErrorCode::ExpiryInvalid, "card.exp_year", other.to_string()),
    })?;
    let cvc = text("cvc")?
        .map(|c| Cvc::parse(&c, number.brand()).map_err(|e| invalid(ErrorCode::CvcInvalid, "card.cvc", e.to_string())))
        .transpose()?;
    let bounded = |name: &str, max: usize| -> Result<Option<String>, Refusal> {
        let value = text(name)?;
        if value.as_ref().is_some_and(|v| v.chars().count() > max || v.chars().any(char::is_control)) {
            let param = format!("card.{name}");
            return Err(invalid(
                ErrorCode::ParameterInvalid,
                &param,
                format!("{param} is at most {max} printable characters"),
            ));
        }
        Ok(value)
    };
    Ok(CardInput { number, expiry, cvc, name: bounded("name", 100)?, postal_code: bounded("postal_code", 16)? })
}

/// Tokenizes the card in `body` for `caller`. `card_limit` is asked with the card's fingerprint before
/// anything is stored (the per-card rate limit: one card tried again and again is card testing).
pub async fn create<F, Fut>(
    env: &Env,
    caller: &Caller,
    body: &[u8],
    request_id: &str,
    card_limit: F,
) -> Result<Value, Refusal>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), Refusal>>,
{
    let now = crate::backend::now_seconds();
    let body = crate::body::object(body)?;
    if body.contains_key("apple_pay") {
        return super::apple_pay::create(env, caller, &body, request_id, now, card_limit).await;
    }
    let card = parse(&body, now)?;
    let fingerprint = fingerprint(env, caller, &card.number)?;
    card_limit(fingerprint.clone()).await?;
    let brands: Vec<&str> = card.number.brands().all().map(|b| b.as_str()).collect();
    let summary = json!({
        "brand": card.number.brand().as_str(),
        "brands": brands,
        "last4": card.number.last4(),
        "bin": card.number.bin6(),
        "exp_month": card.expiry.month(),
        "exp_year": card.expiry.year(),
        "fingerprint": fingerprint,
        "issuing_country": card.number.issuing_country(),
    });
    let plain = json!({
        "number": card.number.expose_digits(),
        "exp_month": card.expiry.month(),
        "exp_year": card.expiry.year(),
        "name": card.name,
        "postal_code": card.postal_code,
    });
    let cvc = card.cvc.as_ref().map(|c| c.expose().as_bytes());
    let stored = Stored { kind: "card", plain, cvc, summary, now };
    store_token(env, caller, stored, request_id).await
}

/// The keyed fingerprint of a card (or device) number, per merchant: the same number gives the same
/// fingerprint to one merchant and an unrelated one to another.
pub(super) fn fingerprint(env: &Env, caller: &Caller, number: &CardNumber) -> Result<String, Refusal> {
    let fingerprint_key = crate::config::fingerprint_key(env)?;
    let merchant_key = [fingerprint_key.as_slice(), b":", caller.merchant_id.as_bytes()].concat();
    Ok(paygate_core::signature::keyed_hash::card_fingerprint(&merchant_key, number.expose_digits()))
}

/// What a token keeps: its type, the card data to seal (JSON) and the CVC if any, and the safe summary.
pub(super) struct Stored<'a> {
    pub kind: &'static str,
    pub plain: Value,
    pub cvc: Option<&'a [u8]>,
    pub summary: Value,
    pub now: i64,
}

/// Seals `stored` in a new token's vault object; the token as the browser gets it.
pub(super) async fn store_token(
    env: &Env,
    caller: &Caller,
    stored: Stored<'_>,
    request_id: &str,
) -> Result<Value, Refusal> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let token = Id::<TokenKind>::new(worker::Date::now().as_millis(), random).to_string();
    let keys = crate::config::vault_data_keys(env)?;
    let context = format!("{token}:{}:{}", caller.merchant_id, caller.mode.as_str());
    let sealed_card = cipher::seal(&keys, stored.plain.to_string().as_bytes(), &context).map_err(sealing)?;
    let sealed_cvc = stored.cvc.map(|c| cipher::seal(&keys, c, &context)).transpose().map_err(sealing)?;
    let record = VaultRecord {
        merchant_id: caller.merchant_id.clone(),
        mode: caller.mode.as_str().to_owned(),
        sealed_card,
        sealed_cvc,
        summary: stored.summary.clone(),
        created: stored.now,
        ttl_seconds: env
            .var("VAULT_TOKEN_TTL_SECONDS")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .unwrap_or(store::TOKEN_TTL_SECONDS),
    };
    store::put(env, &token, &record).await.map_err(|e| {
        worker::console_error!("{request_id} vault write failed: {e}");
        Refusal::new(ErrorCode::ServiceUnavailable).retry_after(1)
    })?;
    let mut card_view = stored.summary;
    if let Some(view) = card_view.as_object_mut() {
        // The BIN stays in the vault's summary for the processor; the browser needs only brand and last 4.
        view.remove("bin");
    }
    Ok(json!({
        "id": token,
        "object": "token",
        "type": stored.kind,
        "livemode": caller.mode == paygate_core::Mode::Live,
        "card": card_view,
        "created": paygate_core::time::rfc3339(stored.now),
        "used": false,
    }))
}

fn sealing(error: cipher::CipherError) -> Refusal {
    worker::console_error!("vault sealing failed: {error}");
    Refusal::new(ErrorCode::InternalError)
}
