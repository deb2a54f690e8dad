//! `POST /v1/apple_pay/sessions` (publishable key, from the browser): Apple Pay on the web's merchant
//! validation. The browser's `ApplePaySession` hands the page a `validationURL` on Apple's servers; Paygate,
//! as the payment platform, asks that URL for a merchant session with its own Apple Pay merchant identity
//! (`APPLE_PAY_MERCHANT_ID`, and the identity certificate through the `APPLE_PAY_MTLS` mTLS binding), naming
//! the shop's domain, and returns Apple's opaque session object for `completeMerchantValidation`.
//!
//! The domain must be one the merchant registered (`/v1/apple_pay/domains`): a session for any other is refused.
//! The validation URL comes from the browser, so it is checked against Apple's published gateway hosts
//! before anything is sent (otherwise the edge would post to any URL a page names). Test mode may also use
//! the hosts of `APPLE_PAY_TEST_VALIDATION_HOSTS`, a local stand-in for Apple; it is never used in live mode.

use crate::auth::Caller;
use crate::fetch::Sent;
use crate::problem::Refusal;
use futures_util::future::Either;
use paygate_core::ErrorCode;
use serde_json::{Value, json};
use std::time::Duration;
use worker::{Env, Headers, Method, RequestInit};

/// Apple's merchant validation hosts (Apple Pay on the web documentation, "Setting up your server").
const APPLE_HOSTS: &[&str] = &[
    "apple-pay-gateway.apple.com",
    "cn-apple-pay-gateway.apple.com",
    "apple-pay-gateway-nc-pod1.apple.com",
    "apple-pay-gateway-nc-pod2.apple.com",
    "apple-pay-gateway-nc-pod3.apple.com",
    "apple-pay-gateway-nc-pod4.apple.com",
    "apple-pay-gateway-nc-pod5.apple.com",
    "apple-pay-gateway-pr-pod1.apple.com",
    "apple-pay-gateway-pr-pod2.apple.com",
    "apple-pay-gateway-pr-pod3.apple.com",
    "apple-pay-gateway-pr-pod4.apple.com",
    "apple-pay-gateway-pr-pod5.apple.com",
    "cn-apple-pay-gateway-sh-pod1.apple.com",
    "cn-apple-pay-gateway-sh-pod2.apple.com",
    "cn-apple-pay-gateway-sh-pod3.apple.com",
    "cn-apple-pay-gateway-tj-pod1.apple.com",
    "cn-apple-pay-gateway-tj-pod2.apple.com",
    "cn-apple-pay-gateway-tj-pod3.apple.com",
];
const TIMEOUT: Duration = Duration::from_secs(10);
const DISPLAY_NAME_CHARS_MAX: usize = 64;

fn invalid(param: &str, detail: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::ParameterInvalid).param(param).detail(detail)
}

/// Paygate's domain-association file (`APPLE_PAY_DOMAIN_ASSOCIATION`, the text Apple issues for Paygate's
/// merchant id), for shops to copy or proxy to the same path on their domains; 404 when not configured.
pub fn domain_association(env: &Env) -> Result<worker::Response, Refusal> {
    let text = env.var("APPLE_PAY_DOMAIN_ASSOCIATION").map(|v| v.to_string()).unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ErrorCode::RouteNotFound.into());
    }
    let response = worker::Response::ok(text).map_err(|_| Refusal::new(ErrorCode::InternalError))?;
    let _ = response.headers().set("content-type", "text/plain; charset=utf-8");
    let _ = response.headers().set("cache-control", "public, max-age=3600");
    Ok(response)
}

/// The merchant id Paygate validates with, when Apple Pay is configured for this deployment.
pub fn merchant_id(env: &Env) -> Option<String> {
    env.var("APPLE_PAY_MERCHANT_ID").ok().map(|v| v.to_string()).filter(|v| !v.trim().is_empty())
}

/// Whether `url` may receive a validation request in `mode`: https, on an Apple gateway host (or, in test
/// mode, on a configured local stand-in, which may be http).
fn allowed(env: &Env, url: &worker::Url, mode: &str) -> bool {
    let Some(host) = url.host_str() else { return false };
    if url.scheme() == "https" && APPLE_HOSTS.contains(&host) && url.port().is_none() {
        return true;
    }
    let test_hosts = env.var("APPLE_PAY_TEST_VALIDATION_HOSTS").map(|v| v.to_string()).unwrap_or_default();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    mode == "test" && test_hosts.split(',').map(str::trim).any(|h| !h.is_empty() && h == authority)
}

/// Whether the merchant registered `domain` for Apple Pay (`/v1/apple_pay/domains`, in the caller's mode):
/// Apple is asked for a session only for those.
async fn registered(env: &Env, caller: &Caller, domain: &str, request_id: &str) -> Result<(), Refusal> {
    // A host name is letters, digits, hyphens and dots: safe in a query as it is.
    let path = format!("/v1/apple_pay/domains?domain_name={domain}");
    let on_behalf = crate::backend::OnBehalf {
        merchant_id: &caller.merchant_id,
        mode: caller.mode.as_str(),
        request_id,
        key_id: &caller.key_id,
    };
    let answer = crate::backend::call(env, Method::Get, &path, &[], on_behalf, &[]).await?;
    let list: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    match (answer.status, list["data"].as_array()) {
        (200, Some(found)) if !found.is_empty() => Ok(()),
        (200, Some(_)) => Err(invalid(
            "domain",
            format!("{domain} is not registered for Apple Pay: register it with POST /v1/apple_pay/domains first"),
        )),
        (status, _) => {
            worker::console_error!("{request_id} the backend answered {status} for the Apple Pay domains");
            Err(Refusal::new(ErrorCode::UpstreamError))
        }
    }
}

pub async fn create_session(env: &Env, caller: &Caller, body: &[u8], request_id: &str) -> Result<Value, Refusal> {
    let body = crate::body::object(body)?;
    if let Some(unknown) = body.keys().find(|k| !["validation_url", "domain", "display_name"].contains(&k.as_str())) {
        return Err(Refusal::new(ErrorCode::ParameterUnknown)
            .param(unknown)
            .detail(format!("unknown parameter {unknown}")));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let url_text = text("validation_url").ok_or_else(|| {
        Refusal::new(ErrorCode::ParameterMissing).param("validation_url").detail("validation_url is required")
    })?;
    let url = worker::Url::parse(&url_text).map_err(|_| invalid("validation_url", "validation_url is not a URL"))?;
    if !allowed(env, &url, caller.mode.as_str()) {
        return Err(invalid("validation_url", "validation_url must be on one of Apple Pay's validation hosts"));
    }
    let domain = text("domain")
        .ok_or_else(|| Refusal::new(ErrorCode::ParameterMissing).param("domain").detail("domain is required"))?;
    if !paygate_core::text::host_name(&domain) {
        return Err(invalid("domain", "domain must be the shop's host name, like shop.example.com"));
    }
    let domain = domain.to_ascii_lowercase();
    registered(env, caller, &domain, request_id).await?;
    let display_name = text("display_name").unwrap_or_else(|| "Paygate".to_owned());
    if display_name.chars().count() > DISPLAY_NAME_CHARS_MAX || display_name.chars().any(char::is_control) {
        return Err(invalid(
            "display_name",
            format!("display_name is at most {DISPLAY_NAME_CHARS_MAX} printable characters"),
        ));
    }
    let merchant_identifier = merchant_id(env).ok_or_else(|| {
        Refusal::new(ErrorCode::ServiceUnavailable).detail("Apple Pay is not configured for this deployment")
    })?;
    let request = json!({
        "merchantIdentifier": merchant_identifier,
        "displayName": display_name,
        "initiative": "web",
        "initiativeContext": domain,
    })
    .to_string();
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(request.into()));
    // Apple requires the merchant identity certificate (mutual TLS): production binds it as a Fetcher.
    // The local stand-in of test mode is reached without it.
    let mtls = env.service("APPLE_PAY_MTLS").ok();
    let sent = match &mtls {
        Some(mtls) => Either::Left(mtls.fetch(url.to_string(), Some(init))),
        None if caller.mode == paygate_core::Mode::Test => {
            let request = worker::Request::new_with_init(url.as_str(), &init)
                .map_err(|_| Refusal::new(ErrorCode::InternalError))?;
            Either::Right(async move { worker::Fetch::Request(request).send().await })
        }
        None => {
            worker::console_error!("{request_id} APPLE_PAY_MTLS binding missing in live mode");
            return Err(
                Refusal::new(ErrorCode::ServiceUnavailable).detail("Apple Pay is not configured for this deployment")
            );
        }
    };
    let mut answer = match crate::fetch::within(sent, TIMEOUT).await {
        Sent::Answered(answer) => answer,
        Sent::Unreachable(_) | Sent::TimedOut => {
            worker::console_error!("{request_id} Apple Pay validation unreachable");
            return Err(Refusal::new(ErrorCode::UpstreamError).detail("Apple Pay's validation server did not answer"));
        }
    };
    let status = answer.status_code();
    let session: Value = answer.json().await.map_err(|_| Refusal::new(ErrorCode::UpstreamError))?;
    if status != 200 {
        worker::console_error!("{request_id} Apple Pay validation answered {status}");
        return Err(Refusal::new(ErrorCode::UpstreamError)
            .detail(format!("Apple Pay refused the merchant validation ({status})")));
    }
    Ok(session)
}
