//! `POST /internal/vault/forward`, the one thing the backend may ask of the vault (its shapes are core's
//! `internal::VaultForwardRequest` and `VaultForwardAnswer`): "send this processor call, with the card fields
//! of token T filled in". The edge checks the backend's signature and every call (allow-listed processor for
//! the mode, plain path, forwardable headers and content type), spends the token (only for its own merchant
//! and mode), fills the placeholders, sends the first call, and the next only when the one before certainly
//! never reached its processor (routing's failover); it removes the card number from each answer and
//! returns how each call ended with the card's safe summary.

use super::cipher;
use super::store::{self, Taken};
use crate::fetch::Sent;
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::internal::{self, CallResult, ProcessorCall, VaultForwardAnswer, VaultForwardRequest};
use paygate_core::signature::edge::HEADER_REQUEST_ID;
use serde_json::Value;
use std::time::Duration;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

pub use paygate_core::internal::VAULT_FORWARD_PATH as PATH;
/// The processor must answer within this; the backend waits as long (core's one number).
const PROCESSOR_TIMEOUT: Duration = Duration::from_secs(internal::VAULT_FORWARD_TIMEOUT_SECONDS);

pub async fn handle(req: &Request, env: &Env, body: &[u8], request_id: &str) -> Result<VaultForwardAnswer, Refusal> {
    let (merchant, mode, _) = crate::backend::verify_signed(req, env, PATH, body)?;
    let ask: VaultForwardRequest =
        serde_json::from_slice(body).map_err(|e| Refusal::new(ErrorCode::ParameterInvalid).detail(e.to_string()))?;
    if ask.calls.is_empty() || ask.calls.len() > CALLS_MAX {
        return Err(Refusal::new(ErrorCode::ParameterInvalid)
            .param("calls")
            .detail("calls holds 1 to 4 processor calls"));
    }
    // Every call is checked before the token is spent or anything is sent.
    let mut targets = Vec::with_capacity(ask.calls.len());
    for (i, call) in ask.calls.iter().enumerate() {
        let base = crate::config::processor_url(env, &call.destination, &mode).ok_or_else(|| {
            Refusal::new(ErrorCode::PermissionDenied)
                .param(&format!("calls[{i}].destination"))
                .detail(format!("{} is not an allowed processor in {mode} mode", call.destination))
        })?;
        if let Some((field, reason)) = call.refusal() {
            return Err(Refusal::new(ErrorCode::ParameterInvalid).param(&format!("calls[{i}].{field}")).detail(reason));
        }
        targets.push(format!("{base}{}", call.path));
    }
    let record = match store::take(env, &ask.token, &merchant, &mode).await {
        Ok(Taken::Card(record)) => record,
        Ok(Taken::Used) => return Err(Refusal::new(ErrorCode::TokenUsed).param("token")),
        Ok(Taken::NotFound) => return Err(Refusal::new(ErrorCode::ResourceNotFound).param("token")),
        Err(error) => {
            worker::console_error!("{request_id} vault read failed: {error}");
            return Err(Refusal::new(ErrorCode::ServiceUnavailable).retry_after(1));
        }
    };
    let keys = crate::config::vault_data_keys(env)?;
    let context = format!("{}:{merchant}:{mode}", ask.token);
    let opened = cipher::open(&keys, &record.sealed_card, &context).map_err(opening)?;
    let card: Value = serde_json::from_slice(&opened).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let number = card["number"].as_str().unwrap_or_default().to_owned();
    let cvc = match &record.sealed_cvc {
        Some(sealed) => String::from_utf8(cipher::open(&keys, sealed, &context).map_err(opening)?).unwrap_or_default(),
        None => String::new(),
    };
    // A wallet's device card: its one-time cryptogram and ECI (gone with the token once taken).
    let cryptogram = card["cryptogram"].as_str().unwrap_or_default().to_owned();
    let eci = card["eci"].as_str().unwrap_or_default().to_owned();
    let mut tried = Vec::with_capacity(ask.calls.len());
    let last = ask.calls.len() - 1;
    for (i, (call, url)) in ask.calls.iter().zip(&targets).enumerate() {
        // With a failover behind this call, first prove the processor can be reached: if it cannot, the
        // request is never sent, which is the one certainty that makes sending it elsewhere safe.
        if i < last
            && let Err(error) = crate::fetch::reachable(url, PROBE_TIMEOUT).await
        {
            worker::console_error!("{request_id} processor {} not reachable: {error}", call.destination);
            tried.push(CallResult::NotSent { reason: "the processor could not be reached".into() });
            continue;
        }
        // Digits only go in, so the placeholders are safe inside JSON strings, as JSON numbers and in forms; a
        // wallet's cryptogram is base64 (checked when it was vaulted), percent-encoded in a form.
        let form = call.content_type == "application/x-www-form-urlencoded";
        let cryptogram = match form {
            true => String::from(js_sys::encode_uri_component(&cryptogram)),
            false => cryptogram.clone(),
        };
        let filled = call
            .body
            .replace(internal::PLACEHOLDER_NUMBER, &number)
            .replace(internal::PLACEHOLDER_EXP_MONTH, &card["exp_month"].to_string())
            .replace(internal::PLACEHOLDER_EXP_YEAR, &card["exp_year"].to_string())
            .replace(internal::PLACEHOLDER_CVC, &cvc)
            .replace(internal::PLACEHOLDER_CRYPTOGRAM, &cryptogram)
            .replace(internal::PLACEHOLDER_ECI, &eci);
        let result = send(call, url, &filled, request_id).await?;
        let result = match result {
            CallResult::Answered { status, body } if !number.is_empty() => {
                let mut body = body.replace(&number, "[scrubbed]");
                if !cryptogram.is_empty() {
                    body = body.replace(&cryptogram, "[scrubbed]");
                }
                CallResult::Answered { status, body }
            }
            other => other,
        };
        // Failover: only a call that certainly never reached its processor, or that its processor documents as
        // not processed (a 429), lets the next one go.
        let go_on = result.lets_next_go(&call.destination);
        tried.push(result);
        if !go_on {
            break;
        }
    }
    // The stored summary holds the card's safe fields (and its co-badges, which the backend does not take).
    let card = serde_json::from_value(record.summary).ok();
    Ok(VaultForwardAnswer { tried, card })
}

/// How long a reachability probe may take before the processor counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// At most this many calls per forward: a primary and a few failovers.
const CALLS_MAX: usize = 4;

fn opening(error: cipher::CipherError) -> Refusal {
    worker::console_error!("vault opening failed: {error}");
    Refusal::new(ErrorCode::InternalError)
}

async fn send(call: &ProcessorCall, url: &str, body: &str, request_id: &str) -> Result<CallResult, Refusal> {
    let headers = Headers::new();
    let _ = headers.set("content-type", &call.content_type);
    let _ = headers.set(HEADER_REQUEST_ID, request_id);
    for (name, value) in &call.headers {
        let _ = headers.set(name, value);
    }
    let method = if call.method == "PUT" { Method::Put } else { Method::Post };
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers).with_body(Some(body.into()));
    let request = Request::new_with_init(url, &init).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let fetch = Fetch::Request(request);
    Ok(match crate::fetch::within(fetch.send(), PROCESSOR_TIMEOUT).await {
        Sent::Answered(response) => {
            let status = response.status_code();
            match crate::fetch::body(response).await.map(String::from_utf8) {
                Ok(Ok(text)) => CallResult::Answered { status, body: text },
                _ => CallResult::Unknown { reason: "the processor's answer broke off".into() },
            }
        }
        // Never the URL's query, the headers or the body in the log: they hold credentials and the card.
        // workerd words a refused connection and one lost mid-request alike: either may have been sent.
        Sent::Unreachable(_) => {
            worker::console_error!("{request_id} processor {} connection lost", call.destination);
            CallResult::Unknown { reason: "the connection to the processor was lost".into() }
        }
        Sent::TimedOut => {
            worker::console_error!("{request_id} processor {} timed out", call.destination);
            CallResult::Unknown { reason: "the processor did not answer in time".into() }
        }
    })
}
