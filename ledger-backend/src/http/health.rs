//! Liveness (`/health`: the process answers) and readiness (`/ready`: it can reach PostgreSQL and the
//! schema is migrated), for load balancers and the run command's health wait.

use super::{ApiError, AppState};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let migrated: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&state.pool)
        .await
        .map_err(ApiError::Unavailable)?;
    let expected = crate::db::MIGRATOR.iter().map(|m| m.version).max();
    if migrated < expected {
        return Err(ApiError::Code(paygate_core::ErrorCode::ServiceUnavailable));
    }
    Ok(Json(json!({ "status": "ready", "schema_version": migrated })))
}
