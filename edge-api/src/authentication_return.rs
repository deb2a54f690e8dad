//! `GET|POST /v1/authentication_returns/{reference}`: where a processor sends the shopper's browser back after a
//! 3-D Secure authentication (processors redirect with a GET; some post a form). No API key: the reference in the
//! path (`paygate_core::authentication`) is the only handle, single use and unguessable. The edge tells the
//! backend, which asks the processor how the authentication ended: nothing the browser sends decides anything,
//! and nothing of the browser's request but the reference is forwarded.
//!
//! The answer is a small page for the shopper (this window or the dialog it runs in): what happened, in English
//! and Arabic, and the outcome in data attributes for `@paygate/js`'s dialog. A reference that finds nothing gets
//! the same page with `data-status="unknown"` (404), whatever the reason.

use crate::backend::{self, OnBehalf};
use crate::problem::Refusal;
use crate::rate_limit::Limit;
use paygate_core::ErrorCode;
use paygate_core::authentication::{AuthenticationReturn, RETURN_INTERNAL_PATH, is_reference};
use serde_json::Value;
use worker::{Env, Method, Response};

/// Returns per client address and minute, unless `RATE_LIMIT_AUTHENTICATION_RETURNS` says otherwise: a shopper
/// returns once; a flood of guesses is stopped before the backend.
const PER_IP_DEFAULT: Limit = Limit { capacity: 30, per_seconds: 60 };

/// The page runs no script and is never cached (it reports one outcome once). It is framed by our own dialog page,
/// itself framed by the shop's page, and every ancestor must be allowed: so any (it offers nothing to click).
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
    frame-ancestors *";

pub async fn handle(
    env: &Env,
    method: Method,
    ip: &str,
    reference: &str,
    request_id: &str,
) -> Result<Response, Refusal> {
    if !matches!(method, Method::Get | Method::Post) {
        return Err(ErrorCode::MethodNotAllowed.into());
    }
    let limit = Limit::from_env(env, "RATE_LIMIT_AUTHENTICATION_RETURNS", PER_IP_DEFAULT);
    crate::rate_limit::enforce(env, format!("authentication-returns:{ip}"), limit).await?;
    if !is_reference(reference) {
        return page(404, "unknown", None);
    }
    let body = serde_json::to_vec(&AuthenticationReturn { reference: reference.to_owned() })
        .map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let on_behalf = OnBehalf { merchant_id: "", mode: "", request_id, key_id: "" };
    // Whatever goes wrong behind us, the shopper gets the page (the dialog must be told something): `unknown`, and
    // the shop's server reads the charge.
    let answer = match backend::call(env, Method::Post, RETURN_INTERNAL_PATH, &body, on_behalf, &[]).await {
        Ok(answer) => answer,
        Err(_) => return page(503, "unknown", None),
    };
    match answer.status {
        200 => {
            let charge: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let status = charge["status"].as_str().unwrap_or("unknown");
            page(200, status, charge["failure_code"].as_str())
        }
        404 => page(404, "unknown", None),
        status => {
            worker::console_error!("{request_id} the backend answered {status} for an authentication return");
            page(502, "unknown", None)
        }
    }
}

/// What the shopper reads, by outcome.
fn texts(status: &str) -> (&'static str, &'static str) {
    match status {
        "authorized" | "captured" => {
            ("Payment authenticated. You can close this window.", "تم التحقق من الدفع. يمكنك إغلاق هذه النافذة.")
        }
        "failed" => ("The payment was not authenticated.", "لم يتم التحقق من الدفع."),
        "requires_action" => ("The authentication is not finished yet.", "لم يكتمل التحقق بعد."),
        _ => ("There is nothing to complete here.", "لا يوجد ما يلزم إكماله هنا."),
    }
}

fn page(http_status: u16, status: &str, failure_code: Option<&str>) -> Result<Response, Refusal> {
    let (en, ar) = texts(status);
    // Both values are from closed sets (a charge status, a decline code of letters and underscores): safe as is.
    let code = failure_code.filter(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).unwrap_or("");
    let status = if status.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') { status } else { "unknown" };
    let html = format!(
        "<!doctype html><html lang=\"en\" data-paygate-authentication=\"{status}\" data-failure-code=\"{code}\">\
         <head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Paygate</title><style>body{{font:16px/1.5 system-ui,\
         sans-serif;margin:2rem;color:#1d2330;text-align:center}}</style></head><body><p id=\"result\">{en}</p>\
         <p lang=\"ar\" dir=\"rtl\">{ar}</p></body></html>"
    );
    let headers = worker::Headers::new();
    for (name, value) in [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        ("content-security-policy", PAGE_POLICY),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        headers.set(name, value).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    }
    Ok(Response::ok(html)
        .map_err(|_| Refusal::new(ErrorCode::InternalError))?
        .with_status(http_status)
        .with_headers(headers))
}
