//! `/v1/api_keys`: create (the key is in the answer once), list, revoke; and the edge's lookup by
//! keyed hash. Every query is scoped by the caller's merchant and mode.

use super::edge_auth::Caller;
use super::{ApiError, ApiJson, AppState, MerchantCaller};
use crate::domain::api_keys;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Extension, Json, Router};
use paygate_core::ErrorCode;
use paygate_core::api_key::KeyKind;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api_keys", post(create_api_key).get(list_api_keys))
        .route("/api_keys/{id}", delete(revoke_api_key))
        .route("/internal/api_keys/lookup", post(lookup_api_key))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateApiKey {
    kind: KeyKind,
}

async fn create_api_key(
    State(state): State<AppState>,
    caller: MerchantCaller,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (id, key) = api_keys::create(&state.pool, &state.pepper, caller.merchant_id, caller.mode, body.kind).await?;
    let answer = json!({
        "id": id.to_string(),
        "object": "api_key",
        "kind": body.kind,
        "livemode": caller.mode.is_live(),
        // Shown once: only its keyed hash is stored.
        "key": key.expose(),
        "redacted": key.redacted(),
    });
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn list_api_keys(State(state): State<AppState>, caller: MerchantCaller) -> Result<Json<Value>, ApiError> {
    let keys = api_keys::list(&state.pool, caller.merchant_id, caller.mode).await?;
    Ok(Json(json!({ "object": "list", "data": keys, "has_more": false })))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    caller: MerchantCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !api_keys::revoke(&state.pool, caller.merchant_id, caller.mode, &id).await? {
        return Err(ApiError::Code(ErrorCode::ResourceNotFound));
    }
    Ok(Json(json!({ "id": id, "object": "api_key", "revoked": true })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupApiKey {
    key_hash: String,
}

/// For the edge only: which merchant, mode and kind an active key's hash belongs to.
async fn lookup_api_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<LookupApiKey>,
) -> Result<Json<api_keys::KeyIdentity>, ApiError> {
    if caller != Caller::Edge {
        return Err(ApiError::Code(ErrorCode::PermissionDenied));
    }
    let well_formed =
        body.key_hash.len() == 64 && body.key_hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return Err(ApiError::Param {
            code: ErrorCode::ParameterInvalid,
            param: "key_hash".into(),
            detail: "key_hash must be 64 lower-case hex characters".into(),
        });
    }
    let identity = api_keys::lookup(&state.pool, &body.key_hash).await?;
    identity.map(Json).ok_or(ApiError::Code(ErrorCode::ResourceNotFound))
}
