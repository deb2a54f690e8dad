//! The backend's one error type and its exhaustive mapping to problem+json. Unexpected failures become
//! an opaque 500 whose request id leads to the log line holding the cause.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paygate_core::{ErrorCode, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An error fully described by its code (not found, method not allowed...).
    #[error("{0:?}")]
    Code(ErrorCode),
    /// A bad request value, with the parameter at fault and what is wrong with it.
    #[error("{code:?} at {param}: {detail}")]
    Param { code: ErrorCode, param: String, detail: String },
    /// The database could not be reached in time: the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("unexpected database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    /// 400 `parameter_invalid` naming `param`.
    pub fn invalid(param: &str, detail: impl Into<String>) -> Self {
        ApiError::Param { code: ErrorCode::ParameterInvalid, param: param.to_owned(), detail: detail.into() }
    }

    fn problem(&self) -> Problem {
        match self {
            ApiError::Code(code) => Problem::new(*code),
            ApiError::Param { code, param, detail } => Problem::new(*code).param(param).detail(detail),
            ApiError::Unavailable(_) => Problem::new(ErrorCode::ServiceUnavailable),
            ApiError::Database(_) => Problem::new(ErrorCode::InternalError),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Unavailable(_) | ApiError::Database(_)) {
            // Logged once, here; the request id in the span ties it to the answer.
            tracing::error!(error = %self, "request failed");
        }
        let mut problem = self.problem();
        problem.request_id = super::request_id::current();
        let mut response =
            (StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), problem.to_json())
                .into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(paygate_core::problem::CONTENT_TYPE));
        response
    }
}
