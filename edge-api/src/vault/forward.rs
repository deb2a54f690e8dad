//! `POST /internal/vault/forward`, the one thing the backend may ask of the vault (its shapes are core's
//! `internal::VaultForwardRequest` and `VaultForwardAnswer`): "send this processor request, with the card fields of
//! token T filled in". The edge checks the backend's signature, spends the token (only for its own
//! merchant and mode), fills the placeholders, sends the request to the processor allow-listed for the
//! mode, removes the card number from the answer and returns it with the card's safe summary.

use super::cipher;
use super::store::{self, Taken};
use crate::fetch::Sent;
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::internal::{self, VaultForwardAnswer, VaultForwardRequest};
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
    let base = crate::config::processor_url(env, &ask.destination, &mode).ok_or_else(|| {
        Refusal::new(ErrorCode::PermissionDenied)
            .param("destination")
            .detail(format!("{} is not an allowed processor in {mode} mode", ask.destination))
    })?;
    // The path is appended to the allow-listed host: it may not name another host or climb out of it.
    if !ask.path.starts_with('/') || ask.path.contains("..") || ask.path.contains("//") || ask.path.contains('@') {
        return Err(Refusal::new(ErrorCode::ParameterInvalid)
            .param("path")
            .detail("path must be a plain absolute path"));
    }
    let method = match ask.method.as_str() {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        _ => {
            return Err(Refusal::new(ErrorCode::ParameterInvalid).param("method").detail("method must be POST or PUT"));
        }
    };
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
    // Digits only go in, so the placeholders are safe inside JSON strings and as JSON numbers.
    let filled = ask
        .body
        .replace(internal::PLACEHOLDER_NUMBER, &number)
        .replace(internal::PLACEHOLDER_EXP_MONTH, &card["exp_month"].to_string())
        .replace(internal::PLACEHOLDER_EXP_YEAR, &card["exp_year"].to_string())
        .replace(internal::PLACEHOLDER_CVC, &cvc);
    let (status, text) = send(method, &format!("{base}{}", ask.path), &filled, request_id).await?;
    let scrubbed = if number.is_empty() { text } else { text.replace(&number, "[scrubbed]") };
    // The stored summary holds the card's safe fields (and its co-badges, which the backend does not take).
    let card = serde_json::from_value(record.summary).ok();
    Ok(VaultForwardAnswer { status, body: scrubbed, card })
}

fn opening(error: cipher::CipherError) -> Refusal {
    worker::console_error!("vault opening failed: {error}");
    Refusal::new(ErrorCode::InternalError)
}

async fn send(method: Method, url: &str, body: &str, request_id: &str) -> Result<(u16, String), Refusal> {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set(HEADER_REQUEST_ID, request_id);
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers).with_body(Some(body.into()));
    let request = Request::new_with_init(url, &init).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let fetch = Fetch::Request(request);
    match crate::fetch::within(fetch.send(), PROCESSOR_TIMEOUT).await {
        Sent::Answered(mut response) => {
            let status = response.status_code();
            let text = response.text().await.map_err(|_| Refusal::new(ErrorCode::UpstreamError))?;
            Ok((status, text))
        }
        // Never the URL's query or the body in the message: the body holds the card.
        Sent::Unreachable(_) => {
            worker::console_error!("{request_id} processor unreachable");
            Err(Refusal::new(ErrorCode::UpstreamError).detail("the processor could not be reached"))
        }
        Sent::TimedOut => {
            worker::console_error!("{request_id} processor timed out");
            Err(Refusal::new(ErrorCode::UpstreamError).detail("the processor did not answer in time"))
        }
    }
}
