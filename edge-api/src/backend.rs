//! Calls to the ledger backend, signed with the edge↔backend signature (core::signature::edge) over
//! timestamp, method, path, body, merchant, mode and request id, with a timeout. The backend rejects
//! anything unsigned, forged or stale, so it cannot be reached around the edge.

use crate::config;
use crate::fetch::Sent;
use crate::problem::Refusal;
use paygate_core::ErrorCode;
use paygate_core::signature::edge::{
    HEADER_KEY_ID, HEADER_MERCHANT, HEADER_MODE, HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignedRequest,
};
use std::time::Duration;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

/// Longer than the backend's own processor timeout (10 s), so a slow processor is the backend's to report.
pub const BACKEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Who a call is on behalf of: a merchant in a mode, or (both empty) the edge itself.
#[derive(Debug, Clone, Copy)]
pub struct OnBehalf<'a> {
    pub merchant_id: &'a str,
    pub mode: &'a str,
    pub request_id: &'a str,
    /// The API key that authenticated the request (the backend's audit actor); empty for our own calls.
    pub key_id: &'a str,
}

/// The backend's answer, to relay or to read.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Every header of the answer (`Set-Cookie` once per cookie), for the callers that relay some of them.
    pub headers: Vec<(String, String)>,
}

/// How a call's body is typed and whether its redirects are the caller's to relay.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// The body's content type (none: JSON when there is a body).
    pub content_type: Option<&'a str>,
    /// Hand a 3xx back as it came (the dashboard's redirects are the browser's to follow).
    pub manual_redirect: bool,
}

pub fn now_seconds() -> i64 {
    (worker::Date::now().as_millis() / 1_000) as i64
}

/// Sends `method path_and_query` with `body` to the backend, signed, and waits at most `BACKEND_TIMEOUT`.
/// `extra` headers (Idempotency-Key) travel along. A backend that cannot be reached or does not answer in
/// time is a 503 / 502 refusal: nothing about the outcome is known, so nothing may be stored.
pub async fn call(
    env: &Env,
    method: Method,
    path_and_query: &str,
    body: &[u8],
    on_behalf: OnBehalf<'_>,
    extra: &[(&str, String)],
) -> Result<Answer, Refusal> {
    let json = Shape { content_type: None, manual_redirect: false };
    call_shaped(env, method, path_and_query, body, on_behalf, extra, json).await
}

/// `call` with the body's content type and redirect handling chosen by the caller.
pub async fn call_shaped(
    env: &Env,
    method: Method,
    path_and_query: &str,
    body: &[u8],
    on_behalf: OnBehalf<'_>,
    extra: &[(&str, String)],
    shape: Shape<'_>,
) -> Result<Answer, Refusal> {
    let base = config::backend_url(env)?;
    let secrets = config::edge_secrets(env)?;
    let timestamp = now_seconds();
    let signed = SignedRequest {
        timestamp,
        method: method.as_ref(),
        path: path_and_query,
        body,
        merchant_id: on_behalf.merchant_id,
        mode: on_behalf.mode,
        request_id: on_behalf.request_id,
        key_id: on_behalf.key_id,
    };
    let signature = signed
        .sign(&[&secrets[0]])
        .map_err(|_| Refusal::new(ErrorCode::ParameterInvalid).detail("the request has a malformed field"))?;
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|_| Refusal::new(ErrorCode::InternalError));
    for (name, value) in signed.headers(signature) {
        set(name, &value)?;
    }
    if !body.is_empty() {
        set("content-type", shape.content_type.unwrap_or("application/json"))?;
    }
    for (name, value) in extra {
        headers.append(name, value).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if shape.manual_redirect {
        init.with_redirect(worker::RequestRedirect::Manual);
    }
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(body).into()));
    }
    let request = Request::new_with_init(&format!("{base}{path_and_query}"), &init)
        .map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let fetch = Fetch::Request(request);
    let response = match crate::fetch::within(fetch.send(), BACKEND_TIMEOUT).await {
        Sent::Answered(response) => response,
        Sent::Unreachable(error) => {
            worker::console_error!("{} backend unreachable: {error}", on_behalf.request_id);
            return Err(Refusal::new(ErrorCode::ServiceUnavailable)
                .detail("the backend is unreachable")
                .retry_after(1));
        }
        Sent::TimedOut => {
            worker::console_error!("{} backend timed out", on_behalf.request_id);
            return Err(Refusal::new(ErrorCode::UpstreamError).detail("the backend did not answer in time"));
        }
    };
    let status = response.status_code();
    let content_type = response.headers().get("content-type").ok().flatten().unwrap_or_default();
    let headers = response.headers().entries().collect();
    let body = crate::fetch::body(response).await.map_err(|_| Refusal::new(ErrorCode::UpstreamError))?;
    Ok(Answer { status, content_type, body, headers })
}

/// The (merchant, mode, request id) of a request the backend signed to us (vault-forward, revocation
/// notices), or why it is refused: the other direction of `call`'s signature.
pub fn verify_signed(req: &Request, env: &Env, path: &str, body: &[u8]) -> Result<(String, String, String), Refusal> {
    let header = |name: &str| req.headers().get(name).ok().flatten().unwrap_or_default();
    let (merchant, mode, request_id) = (header(HEADER_MERCHANT), header(HEADER_MODE), header(HEADER_REQUEST_ID));
    let key_id = header(HEADER_KEY_ID);
    let secrets = config::edge_secrets(env)?;
    let secrets: Vec<_> = secrets.iter().collect();
    let signed = SignedRequest {
        timestamp: header(HEADER_TIMESTAMP).parse().unwrap_or(0),
        method: "POST",
        path,
        body,
        merchant_id: &merchant,
        mode: &mode,
        request_id: &request_id,
        key_id: &key_id,
    };
    signed
        .verify(&secrets, &header(HEADER_SIGNATURE), now_seconds())
        .map_err(|_| Refusal::new(ErrorCode::SignatureInvalid))?;
    Ok((merchant, mode, request_id))
}
