//! Liveness (`/health`: the process answers) and readiness (`/ready`: it can reach PostgreSQL and the
//! schema is migrated), for load balancers and the run command's health wait.

use super::api::{Answer, Endpoint};
use super::schemas::{constant, integer, object};
use super::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use serde_json::{Value, json};

pub fn endpoints() -> Vec<Endpoint> {
    let health_schema = || object(&[("status", constant("ok"))]);
    let ready_schema = || object(&[("status", constant("ready")), ("schema_version", integer())]);
    vec![
        Endpoint::new(
            Method::GET,
            "/health",
            "getHealth",
            "Liveness: the process answers",
            Answer::Inline(200, health_schema),
            get(health),
        )
        .tag("meta"),
        Endpoint::new(
            Method::GET,
            "/ready",
            "getReady",
            "Readiness: PostgreSQL answers and the schema is migrated",
            Answer::Inline(200, ready_schema),
            get(ready),
        )
        .tag("meta"),
    ]
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
