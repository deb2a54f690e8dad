//! `POST /v1/processor_events/{connector}/{processor account}`: where processors deliver their webhooks. No API
//! key: the processor proves itself with its signature, which only the backend can check (the account's
//! webhook secret is sealed there). The edge forwards the request untouched (body as received, the signature
//! header), signed as itself, and relays the backend's answer: 200 once stored (or already stored), 400 for a
//! bad or missing signature, 404 for an account it does not know.

use crate::backend::{self, OnBehalf};
use crate::problem::Refusal;
use crate::rate_limit::Limit;
use paygate_core::ErrorCode;
use paygate_core::internal::{PROCESSOR_EVENTS_PATH, ProcessorEventForward};
use worker::{Env, Method, Request};

/// Webhooks per processor account and second, unless `RATE_LIMIT_PROCESSOR_EVENTS` says otherwise.
const PER_ACCOUNT_DEFAULT: Limit = Limit { capacity: 100, per_seconds: 1 };

pub async fn handle(
    req: &mut Request,
    env: &Env,
    request_id: &str,
    connector: &str,
    account: &str,
) -> Result<(u16, String, Vec<u8>), Refusal> {
    let well_formed = matches!(connector, "stripe" | "checkout")
        && account
            .strip_prefix("pa_")
            .is_some_and(|id| id.len() == 26 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !well_formed {
        return Err(Refusal::new(ErrorCode::ResourceNotFound));
    }
    if req.method() != Method::Post {
        return Err(ErrorCode::MethodNotAllowed.into());
    }
    // Anyone can call this route: a bucket per account keeps a flood from reaching the backend, generous
    // enough for a processor's own bursts (429 with Retry-After, which processors honour by redelivering).
    let limit = Limit::from_env(env, "RATE_LIMIT_PROCESSOR_EVENTS", PER_ACCOUNT_DEFAULT);
    crate::rate_limit::enforce(env, format!("processor-events:{account}"), limit).await?;
    let body = crate::body::read(req).await?;
    let body = String::from_utf8(body)
        .map_err(|_| Refusal::new(ErrorCode::BodyMalformed).detail("a processor event is UTF-8 JSON"))?;
    let header = if connector == "stripe" { "stripe-signature" } else { "cko-signature" };
    let signature = req.headers().get(header).ok().flatten().unwrap_or_default();
    let forward =
        ProcessorEventForward { connector: connector.to_owned(), account: account.to_owned(), signature, body };
    let payload = serde_json::to_vec(&forward).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let on_behalf = OnBehalf { merchant_id: "", mode: "", request_id, key_id: "" };
    let answer = backend::call(env, Method::Post, PROCESSOR_EVENTS_PATH, &payload, on_behalf, &[]).await?;
    Ok((answer.status, answer.content_type, answer.body))
}
