//! `POST /v1/internal/authentication_returns` (edge-signed, no merchant): the shopper's browser came back from a
//! 3-D Secure authentication to the edge's return URL. The domain asks the processor how it ended
//! (`domain::charges::authentication`); this answers the charge as it now is, or 404 for a reference that finds
//! no charge waiting (malformed, unknown, used), the same answer whatever the reason.

use super::api::{Answer, Endpoint};
use super::schemas::{request, string};
use super::{ApiError, ApiJson, AppState};
use crate::domain::charges::authentication;
use crate::wire::Charge;
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::post;
use paygate_core::ErrorCode;
use paygate_core::authentication::{AuthenticationReturn, RETURN_INTERNAL_PATH};
use serde_json::Value;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::POST,
            RETURN_INTERNAL_PATH.trim_start_matches("/v1"),
            "returnFromAuthentication",
            "A shopper's browser came back from a 3-D Secure authentication (edge-signed, no merchant): the processor is \
             asked how it ended and the charge moves accordingly; answered as it now is",
            Answer::Object(200, "Charge"),
            post(returned),
        )
        .body(body_schema)
        .tag("internal"),
    ]
}

fn body_schema() -> Value {
    request(&[("reference", string())], &["reference"])
}

async fn returned(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<super::edge_auth::Caller>,
    ApiJson(body): ApiJson<AuthenticationReturn>,
) -> Result<Json<Charge>, ApiError> {
    if caller != super::edge_auth::Caller::Edge {
        return Err(ApiError::Code(ErrorCode::PermissionDenied));
    }
    match authentication::returned(&state.pool, &state.processors, &body.reference).await? {
        Some(charge) => Ok(Json(Charge::from(&charge))),
        None => Err(ApiError::Code(ErrorCode::ResourceNotFound)),
    }
}
