//! The last line behind "every error is a problem document": an error answer that did not come from
//! `ApiError` (a framework extractor's plain-text rejection, a body-limit refusal, a panic caught by a
//! layer) is replaced by the problem of the same status, so no caller ever parses two error formats.

use super::ApiError;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use paygate_core::ErrorCode;

pub async fn enforce(request: Request, next: Next) -> Response {
    // The dashboard answers people with HTML pages, errors included.
    let dashboard = request.uri().path().starts_with(paygate_core::internal::DASHBOARD_PREFIX);
    let response = next.run(request).await;
    if dashboard {
        return response;
    }
    let status = response.status();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(paygate_core::problem::CONTENT_TYPE.as_bytes()));
    if status.as_u16() < 400 || is_problem {
        return response;
    }
    let code = code_for(status.as_u16());
    tracing::warn!(status = status.as_u16(), code = code.as_str(), "a non-problem error answer was replaced");
    ApiError::Code(code).into_response()
}

/// The catalogue code closest to a bare status.
fn code_for(status: u16) -> ErrorCode {
    match status {
        400 => ErrorCode::BodyMalformed,
        401 => ErrorCode::SignatureInvalid,
        404 => ErrorCode::RouteNotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::ServiceUnavailable,
        500..=599 => ErrorCode::InternalError,
        _ => ErrorCode::ParameterInvalid,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bare_status_maps_to_a_code_of_its_class() {
        for status in 400..600u16 {
            let code = super::code_for(status);
            assert_eq!(code.status() / 100, status / 100, "{status} → {code:?}");
        }
    }
}
