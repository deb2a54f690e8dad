//! Problem+json answers built from core's error catalogue: the same shape the backend sends, so a caller
//! sees one error format whether the edge or the backend refused.

use paygate_core::{ErrorCode, Problem};
use worker::{Headers, Response};

/// Why the edge refuses a request. Handlers return it; `into_response` renders it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: ErrorCode,
    pub param: Option<String>,
    pub detail: Option<String>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
    /// (limit, remaining, reset seconds) for the `RateLimit-*` headers of a 429.
    pub rate_limit: Option<(u32, u32, u64)>,
}

impl Refusal {
    pub fn new(code: ErrorCode) -> Self {
        Refusal { code, param: None, detail: None, retry_after: None, rate_limit: None }
    }

    pub fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn rate_limit(mut self, limit: u32, remaining: u32, reset_seconds: u64) -> Self {
        self.rate_limit = Some((limit, remaining, reset_seconds));
        self
    }

    pub fn into_response(self, request_id: &str) -> Response {
        let mut problem = Problem::new(self.code).request_id(request_id);
        if let Some(param) = self.param {
            problem = problem.param(param);
        }
        if let Some(detail) = self.detail {
            problem = problem.detail(detail);
        }
        let headers = Headers::new();
        // Static, valid header names and values on a fresh Headers object cannot fail.
        let _ = headers.set("content-type", paygate_core::problem::CONTENT_TYPE);
        if let Some(seconds) = self.retry_after {
            let _ = headers.set("retry-after", &seconds.to_string());
        }
        if let Some((limit, remaining, reset)) = self.rate_limit {
            let _ = headers.set("ratelimit-limit", &limit.to_string());
            let _ = headers.set("ratelimit-remaining", &remaining.to_string());
            let _ = headers.set("ratelimit-reset", &reset.to_string());
        }
        match Response::ok(problem.to_json()) {
            Ok(response) => response.with_status(problem.status).with_headers(headers),
            Err(_) => Response::empty().unwrap_or_else(|_| unreachable!("an empty response always builds")),
        }
    }
}

impl From<ErrorCode> for Refusal {
    fn from(code: ErrorCode) -> Self {
        Refusal::new(code)
    }
}

impl From<crate::config::ConfigError> for Refusal {
    fn from(error: crate::config::ConfigError) -> Self {
        // The operator's mistake, not the caller's: logged (names only, never values) and answered 503.
        worker::console_error!("configuration: {error}");
        Refusal::new(ErrorCode::ServiceUnavailable)
    }
}
