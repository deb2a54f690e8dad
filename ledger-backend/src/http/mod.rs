//! The HTTP surface. Each resource module owns its routes; this root only merges them and adds the
//! layers every request passes through: request id and log span, body limit, and problem+json for the
//! requests no route takes.

mod error;
mod health;
mod request_id;

pub use error::ApiError;

use axum::Router;
use paygate_core::ErrorCode;
use sqlx::PgPool;

/// The largest request body any endpoint takes. Payment objects are small; anything bigger is abuse.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .fallback(|| async { ApiError::Code(ErrorCode::RouteNotFound) })
        .method_not_allowed_fallback(|| async { ApiError::Code(ErrorCode::MethodNotAllowed) })
        .with_state(state)
        // Extractors refuse larger bodies; our JSON extractor answers that as a 413 problem.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(request_id::propagate))
}
