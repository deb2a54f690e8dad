//! Problem+json answers built from core's error catalogue, the same shape the backend sends.

use paygate_core::{ErrorCode, Problem};
use worker::{Headers, Response};

pub fn respond(code: ErrorCode, request_id: &str) -> Response {
    let problem = Problem::new(code).request_id(request_id);
    let headers = Headers::new();
    // Setting a static, valid header on a fresh Headers object cannot fail.
    let _ = headers.set("content-type", paygate_core::problem::CONTENT_TYPE);
    match Response::ok(problem.to_json()) {
        Ok(response) => response.with_status(problem.status).with_headers(headers),
        Err(_) => Response::empty().unwrap_or_else(|_| unreachable!("an empty response always builds")),
    }
}
