//! `/dashboard/…`: the merchant dashboard, served by the backend and reached only through here, on the API's
//! own origin. No API key: the dashboard's session cookie says who calls, and only the backend can check it, so
//! the edge forwards the request signed as itself, with only the browser headers the dashboard reads
//! (`core::internal::DASHBOARD_REQUEST_HEADERS`), and relays the answer with only the headers it sets
//! (`DASHBOARD_RESPONSE_HEADERS`: cookies, redirects, its CSP and security headers). Redirects are the browser's
//! to follow. Each client address has its own request bucket, and a tighter one for the forms that take a
//! password or a code.

use crate::backend::{self, OnBehalf, Shape};
use crate::problem::Refusal;
use crate::rate_limit::Limit;
use paygate_core::ErrorCode;
use paygate_core::internal::{DASHBOARD_PREFIX, DASHBOARD_REQUEST_HEADERS, DASHBOARD_RESPONSE_HEADERS};
use worker::{Env, Headers, Request, Response};

/// Requests per client address and minute, unless `RATE_LIMIT_DASHBOARD` says otherwise.
const PER_CLIENT_DEFAULT: Limit = Limit { capacity: 300, per_seconds: 60 };
/// Password and code submissions (sign-in, its code, sign-up, joining a team) per client address and minute,
/// unless `RATE_LIMIT_DASHBOARD_SIGN_IN` says otherwise: each costs an argon2 hash, and each is a guess.
const SIGN_IN_PER_CLIENT_DEFAULT: Limit = Limit { capacity: 20, per_seconds: 60 };
/// The forms that take a password or a code.
const SIGN_IN_PATHS: [&str; 4] =
    ["/dashboard/sign-in", "/dashboard/sign-in/code", "/dashboard/sign-up", "/dashboard/join"];
/// Forms and pages are small; uploads go through the API.
const BODY_BYTES_MAX: usize = 64 * 1024;

pub async fn handle(req: &mut Request, env: &Env, request_id: &str) -> Result<Response, Refusal> {
    let ip = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".into());
    let limit = Limit::from_env(env, "RATE_LIMIT_DASHBOARD", PER_CLIENT_DEFAULT);
    crate::rate_limit::enforce(env, format!("dashboard:{ip}"), limit).await?;
    if req.method() == worker::Method::Post && SIGN_IN_PATHS.contains(&req.path().as_str()) {
        let limit = Limit::from_env(env, "RATE_LIMIT_DASHBOARD_SIGN_IN", SIGN_IN_PER_CLIENT_DEFAULT);
        crate::rate_limit::enforce(env, format!("dashboard-sign-in:{ip}"), limit).await?;
    }
    let url = req.url().map_err(|_| Refusal::new(ErrorCode::RouteNotFound))?;
    // `/dashboard/` is the dashboard's address too (the backend routes it as `/dashboard`).
    let path = if url.path() == "/dashboard/" { DASHBOARD_PREFIX } else { url.path() };
    let path_and_query = match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let declared: Option<usize> = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok());
    if declared.is_some_and(|length| length > BODY_BYTES_MAX) {
        return Err(Refusal::new(ErrorCode::PayloadTooLarge));
    }
    let body = req.bytes().await.map_err(|_| Refusal::new(ErrorCode::BodyMalformed))?;
    if body.len() > BODY_BYTES_MAX {
        return Err(Refusal::new(ErrorCode::PayloadTooLarge));
    }
    let content_type = req.headers().get("content-type").ok().flatten();
    let passed: Vec<(&str, String)> = DASHBOARD_REQUEST_HEADERS
        .iter()
        .filter(|name| **name != "content-type")
        .filter_map(|name| req.headers().get(name).ok().flatten().map(|value| (*name, value)))
        .collect();
    let on_behalf = OnBehalf { merchant_id: "", mode: "", request_id, key_id: "" };
    let shape = Shape { content_type: content_type.as_deref(), manual_redirect: true };
    let answer = backend::call_shaped(env, req.method(), &path_and_query, &body, on_behalf, &passed, shape).await?;
    let headers = Headers::new();
    for (name, value) in &answer.headers {
        if DASHBOARD_RESPONSE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            headers.append(name, value).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
        }
    }
    Response::from_bytes(answer.body)
        .map(|r| r.with_status(answer.status).with_headers(headers))
        .map_err(|_| Refusal::new(ErrorCode::InternalError))
}
