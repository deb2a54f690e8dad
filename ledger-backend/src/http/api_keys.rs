//! `/v1/api_keys`: create (the key is in the answer once), list, revoke; and the edge's lookup by
//! keyed hash. Every query is scoped by the caller's merchant and mode.

use super::api::{Answer, Endpoint, PAGINATION};
use super::edge_auth::Caller;
use super::pagination;
use super::path_id::PathId;
use super::schemas::{one_of_strings, request};
use super::{ApiError, ApiJson, AppState, MerchantCaller};
use crate::domain::api_keys;
use crate::wire::{ApiKey, List, WithKey};
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Extension, Json};
use paygate_core::ErrorCode;
use paygate_core::api_key::KeyKind;
use serde_json::{Value, json};

pub fn endpoints() -> Vec<Endpoint> {
    let lookup_schema =
        || request(&[("key_hash", json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }))], &["key_hash"]);
    vec![
        Endpoint::new(
            Method::POST,
            "/api_keys",
            "createApiKey",
            "Issue a key; the answer holds the key itself, once",
            Answer::Object(201, "ApiKeyCreated"),
            post(create_api_key),
        )
        .body(create_schema)
        .tag("api_keys"),
        Endpoint::new(
            Method::GET,
            "/api_keys",
            "listApiKeys",
            "The caller's keys, redacted",
            Answer::List("ApiKey"),
            get(list_api_keys),
        )
        .query(&PAGINATION)
        .tag("api_keys"),
        Endpoint::new(
            Method::DELETE,
            "/api_keys/{id}",
            "revokeApiKey",
            "Revoke a key at once",
            Answer::Object(200, "ApiKey"),
            delete(revoke_api_key),
        )
        .tag("api_keys"),
        Endpoint::new(
            Method::POST,
            paygate_core::internal::KEY_LOOKUP_PATH.trim_start_matches("/v1"),
            "lookupApiKey",
            "The edge's lookup of an active key by its keyed hash (edge-signed, no merchant)",
            Answer::Object(200, "KeyIdentity"),
            post(lookup_api_key),
        )
        .body(lookup_schema)
        .tag("internal"),
    ]
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateApiKey {
    kind: KeyKind,
}

fn create_schema() -> Value {
    request(&[("kind", one_of_strings(&paygate_core::api_key::KeyKind::names()))], &["kind"])
}

async fn create_api_key(
    State(state): State<AppState>,
    caller: MerchantCaller,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<WithKey>), ApiError> {
    let (id, key) = api_keys::issue(&state.pool, &state.pepper, caller.merchant_id, caller.mode, body.kind).await?;
    // The key as stored, with the key itself this once (only its keyed hash is kept).
    let api_key = api_keys::get(&state.pool, caller.merchant_id, caller.mode, id)
        .await?
        .ok_or(ApiError::Internal("a key just created is not found".into()))?;
    Ok((StatusCode::CREATED, Json(WithKey { api_key, key: key.expose().to_owned() })))
}

async fn list_api_keys(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<ApiKey>>, ApiError> {
    let is_cursor = |c: &str| paygate_core::id::ApiKeyId::parse(c).is_ok();
    let page = pagination::page_only(query.as_deref(), is_cursor)?;
    Ok(Json(List::page(api_keys::list(&state.pool, caller.merchant_id, caller.mode, &page).await?)))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::ApiKeyKind>,
) -> Result<Json<ApiKey>, ApiError> {
    let Some(key_hash) = api_keys::revoke(&state.pool, caller.merchant_id, caller.mode, id).await? else {
        return Err(ApiError::Code(ErrorCode::ResourceNotFound));
    };
    // The edge caches keys for up to 30 s; told now, it forgets this one at once. Best effort: if the
    // edge cannot be told, its cache expires on its own.
    let request_id = super::request_id::current().unwrap_or_default();
    if let Err(error) = state.processors.vault.notify_key_revoked(&key_hash, &request_id).await {
        tracing::warn!(%error, key_id = %id, "could not tell the edge about a revoked key; its cache expires within 30 s");
    }
    // The key as it now is, with its revocation time.
    let revoked = api_keys::get(&state.pool, caller.merchant_id, caller.mode, id).await?;
    revoked.map(Json).ok_or(ApiError::Code(ErrorCode::ResourceNotFound))
}

/// For the edge only: which merchant, mode and kind an active key's hash belongs to.
async fn lookup_api_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<paygate_core::internal::KeyHash>,
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
