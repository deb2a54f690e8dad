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
    Database(#[source] sqlx::Error),
    /// A broken rule of our own (not the caller's fault): an opaque 500, logged with its cause.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Database failures, sorted by whose they are: the pool could not give a connection in time (503, retry);
/// a constraint on a column that holds the caller's input refused its value (the caller's fault, which the
/// handler should have caught first: a 4xx naming the field); anything else is ours (500), including a
/// constraint on a value we computed, which means a bug and must not read as the caller's mistake.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) {
            return ApiError::Unavailable(error);
        }
        match constraint_problem(&error) {
            Some(problem) => {
                // A check the handler should have made first: visible in the logs, harmless to the caller.
                tracing::warn!(%error, "a database constraint refused a request's value");
                problem
            }
            None => ApiError::Database(error),
        }
    }
}

/// The named constraints on columns that take a caller's value as given, and the parameter each names.
const INPUT_CONSTRAINTS: &[(&str, &str)] = &[
    ("charges_description_check", "description"),
    ("charges_statement_descriptor_check", "statement_descriptor"),
    ("refunds_reason_check", "reason"),
    ("webhook_endpoints_url_check", "url"),
    ("webhook_endpoints_description_check", "description"),
    ("webhook_endpoints_enabled_events_check", "enabled_events"),
    ("merchants_name_check", "name"),
];

fn constraint_problem(error: &sqlx::Error) -> Option<ApiError> {
    let sqlx::Error::Database(db) = error else { return None };
    let constraint = db.constraint()?;
    let (_, param) = INPUT_CONSTRAINTS.iter().find(|(name, _)| *name == constraint)?;
    Some(ApiError::Param {
        code: ErrorCode::ParameterInvalid,
        param: (*param).to_owned(),
        detail: format!("{param} is not allowed"),
    })
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
            ApiError::Database(_) | ApiError::Internal(_) => Problem::new(ErrorCode::InternalError),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Unavailable(_) | ApiError::Database(_) | ApiError::Internal(_)) {
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
