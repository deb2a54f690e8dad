//! API keys of the session's mode: listed with when each was last used; created (the key shown on that answer
//! only), rolled (a new key of the same kind, the old one revoked) and revoked. Revoking tells the edge at once,
//! exactly as the API's revoke does.

use super::chrome::{Chrome, Nav, when};
use super::pages::{PageError, render};
use super::session::{Act, Signed};
use crate::domain::api_keys;
use crate::domain::dashboard::Permission;
use crate::domain::page::Page;
use crate::http::AppState;
use crate::http::path_id::PathId;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::api_key::KeyKind;
use paygate_core::id::{ApiKeyId, ApiKeyKind};

pub struct KeyRow {
    pub id: String,
    pub kind: &'static str,
    pub redacted: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    /// A key just made, shown this once.
    new_key: Option<String>,
    can_manage: bool,
}

async fn keys_page(state: &AppState, signed: &Signed, status: StatusCode, new_key: Option<String>) -> Response {
    let session = &signed.session;
    let page = Page { limit: 100, ..Page::default() };
    let listed = signed.act(api_keys::list(&state.pool, session.merchant_id, session.mode, &page)).await;
    let keys = match listed {
        Ok((keys, _)) => keys,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let t = signed.lang.labels();
    let keys = keys
        .iter()
        .map(|key| KeyRow {
            id: key.id.clone(),
            kind: if key.kind == KeyKind::Secret { t.secret_key } else { t.publishable_key },
            redacted: key.redacted.clone(),
            created: when(key.created.0),
            last_used: key.last_used.map(|t| when(t.0)).unwrap_or_else(|| t.never.to_owned()),
            revoked: key.revoked.map(|t| when(t.0)).unwrap_or_default(),
            active: key.revoked.is_none(),
        })
        .collect();
    let page = KeysPage {
        chrome: Chrome::new(signed, Nav::ApiKeys),
        keys,
        new_key,
        can_manage: session.role.allows(Permission::ManageIntegration),
    };
    render(status, &page)
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    keys_page(&state, &signed, StatusCode::OK, None).await
}

#[derive(serde::Deserialize)]
pub struct CreateForm {
    kind: String,
}

pub async fn create(State(state): State<AppState>, act: Act<CreateForm>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let Some(kind) = KeyKind::parse(&act.form.kind) else { return PageError::NotFound.page(signed.lang) };
    let session = &signed.session;
    match signed.act(api_keys::issue(&state.pool, &state.pepper, session.merchant_id, session.mode, kind)).await {
        Ok((_, key)) => keys_page(&state, signed, StatusCode::CREATED, Some(key.expose().to_owned())).await,
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

#[derive(serde::Deserialize)]
pub struct NoFields {}

/// Revokes key `id` of the session's merchant and mode and tells the edge; `false` when there is no such key.
async fn revoke_key(state: &AppState, signed: &Signed, id: ApiKeyId) -> Result<bool, sqlx::Error> {
    let session = &signed.session;
    let Some(hash) = signed.act(api_keys::revoke(&state.pool, session.merchant_id, session.mode, id)).await? else {
        return Ok(false);
    };
    let request_id = crate::http::request_id::current().unwrap_or_default();
    if let Err(error) = state.processors.vault.notify_key_revoked(&hash, &request_id).await {
        tracing::warn!(%error, key_id = %id, "could not tell the edge about a revoked key; its cache expires within 30 s");
    }
    Ok(true)
}

pub async fn revoke(State(state): State<AppState>, PathId(id): PathId<ApiKeyKind>, act: Act<NoFields>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    match revoke_key(&state, signed, id).await {
        Ok(true) => Redirect::to("/dashboard/keys").into_response(),
        Ok(false) => PageError::NotFound.page(signed.lang),
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

/// A new key of the same kind, then the old one revoked: the shop swaps keys with one page.
pub async fn roll(State(state): State<AppState>, PathId(id): PathId<ApiKeyKind>, act: Act<NoFields>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let session = &signed.session;
    let old = match signed.act(api_keys::get(&state.pool, session.merchant_id, session.mode, id)).await {
        Ok(Some(old)) if old.revoked.is_none() => old,
        Ok(_) => return PageError::NotFound.page(signed.lang),
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let created =
        signed.act(api_keys::issue(&state.pool, &state.pepper, session.merchant_id, session.mode, old.kind)).await;
    let key = match created {
        Ok((_, key)) => key,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    match revoke_key(&state, signed, id).await {
        Ok(_) => keys_page(&state, signed, StatusCode::CREATED, Some(key.expose().to_owned())).await,
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}
