//! The audit log: every change with who made it (an API key, a dashboard user, a job), newest first; one
//! object's history by its id.

use super::chrome::{Chrome, Nav, when};
use super::pages::{PageError, render};
use super::session::Signed;
use crate::domain::dashboard::audit_log;
use crate::domain::page::Page;
use crate::http::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use paygate_core::id::AuditId;

pub struct AuditItem {
    pub actor: String,
    pub action: String,
    pub object: String,
    pub object_link: Option<String>,
    pub request_id: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    chrome: Chrome,
    object: String,
    items: Vec<AuditItem>,
    older: Option<String>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Query {
    object: String,
    starting_after: String,
}

pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let query: Query = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let object = Some(query.object.trim().to_owned()).filter(|o| !o.is_empty() && o.len() <= 64 && !o.contains('\0'));
    let page = Page {
        limit: 50,
        starting_after: Some(query.starting_after.clone()).filter(|c| AuditId::parse(c).is_ok()),
        ending_before: None,
    };
    let listed = signed.act(audit_log::list(&state.pool, signed.session.scope(), object.as_deref(), &page)).await;
    let (rows, has_more) = match listed {
        Ok(listed) => listed,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let filter = serde_urlencoded::to_string([("object", object.clone().unwrap_or_default())]).unwrap_or_default();
    let older = match (rows.last(), has_more) {
        (Some(last), true) => Some(format!("/dashboard/audit?{filter}&starting_after={}", last.id)),
        _ => None,
    };
    let items = rows
        .iter()
        .map(|row| AuditItem {
            actor: row.actor.clone(),
            action: row.action.clone(),
            object_link: (row.object_type == "charge").then(|| format!("/dashboard/charges/{}", row.object_id)),
            object: row.object_id.clone(),
            request_id: row.request_id.clone().unwrap_or_default(),
            created: when(row.created),
        })
        .collect();
    let page = AuditPage { chrome: Chrome::new(&signed, Nav::Audit), object: object.unwrap_or_default(), items, older };
    render(StatusCode::OK, &page)
}
