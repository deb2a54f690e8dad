//! Processor accounts and routing: the accounts of the mode (connector, the credentials' hint, a reported
//! problem, the settlement pull, the webhook URL to register at the processor), a new account (the credentials
//! sealed at once and never shown again), enabling and disabling, and the routing table, edited as the JSON
//! the API takes and checked by the same rules (every target an enabled account of this merchant and mode).

use super::chrome::{Chrome, Nav, when};
use super::pages::{PageError, render};
use super::session::{Act, Signed};
use crate::domain::dashboard::Permission;
use crate::domain::page::Page;
use crate::domain::processors::accounts::{self, AccountError, AccountRecord, Changes, NewAccount};
use crate::domain::processors::routing::{self, RoutingError};
use crate::http::AppState;
use crate::http::path_id::PathId;
use crate::processors::Credentials;
use crate::processors::credentials::Secret;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::id::{ProcessorAccountId, ProcessorAccountKind};
use paygate_core::internal::PROCESSOR_EVENTS_PUBLIC_PREFIX;
use paygate_core::processor::ConnectorKind;
use paygate_core::routing::RoutingTable;

pub struct AccountRow {
    pub id: String,
    pub connector: &'static str,
    pub name: String,
    pub hint: String,
    pub enabled: bool,
    pub problem: String,
    pub pull: String,
    pub webhook_url: String,
}

impl AccountRow {
    fn of(account: &AccountRecord, base: &str) -> AccountRow {
        let connector = account.connector.0;
        AccountRow {
            id: account.id.to_string(),
            connector: connector.as_str(),
            name: account.display_name.clone(),
            hint: account.credentials_hint.clone().unwrap_or_default(),
            enabled: account.enabled,
            problem: account.problem.clone().unwrap_or_default(),
            pull: account
                .settlement_pull
                .as_ref()
                .map(|p| p.last_error.clone().unwrap_or_else(|| when(p.pulled_until)))
                .unwrap_or_default(),
            webhook_url: match connector {
                ConnectorKind::Sandbox => String::new(),
                _ => format!("{base}{PROCESSOR_EVENTS_PUBLIC_PREFIX}/{}/{}", connector.as_str(), account.id),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/processors.html")]
struct ProcessorsPage {
    chrome: Chrome,
    accounts: Vec<AccountRow>,
    routing: String,
    can_manage: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn processors_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    routing_text: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let scope = signed.session.scope();
    let page = Page { limit: 100, ..Page::default() };
    let loaded = signed
        .act(async {
            let (accounts, _) = accounts::list(&state.pool, scope, &page).await?;
            let mut conn = state.pool.acquire().await?;
            let table = routing::get(&mut conn, scope).await?;
            Ok::<_, AccountError>((accounts, table))
        })
        .await;
    let (accounts, table) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let base = state.processors.public_url.trim_end_matches('/').to_owned();
    let routing = routing_text
        .unwrap_or_else(|| table.map(|t| serde_json::to_string_pretty(&t).unwrap_or_default()).unwrap_or_default());
    let page = ProcessorsPage {
        chrome: Chrome::new(signed, Nav::Processors),
        accounts: accounts.iter().map(|a| AccountRow::of(a, &base)).collect(),
        routing,
        can_manage: signed.session.role.allows(Permission::ManageIntegration),
        notice,
        error,
    };
    render(status, &page)
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    processors_page(&state, &signed, StatusCode::OK, None, None, None).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    connector: String,
    display_name: String,
    secret_key: String,
    processing_channel_id: String,
    webhook_secret: String,
    mada: Option<String>,
}

/// The form's credentials for its connector.
fn credentials(form: &AccountForm) -> Result<Credentials, String> {
    let secret = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(|s| Secret::new(s.to_owned()));
    let secret_key = secret(&form.secret_key).ok_or("credentials.secret_key: enter the account's secret key")?;
    let webhook_secret = secret(&form.webhook_secret);
    match ConnectorKind::parse(&form.connector) {
        Some(ConnectorKind::Stripe) => Ok(Credentials::Stripe { secret_key, webhook_secret }),
        Some(ConnectorKind::Checkout) => Ok(Credentials::Checkout {
            secret_key,
            processing_channel_id: form.processing_channel_id.trim().to_owned(),
            webhook_secret,
        }),
        _ => Err("connector: stripe or checkout".into()),
    }
}

pub async fn create(State(state): State<AppState>, act: Act<AccountForm>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let credentials = match credentials(&act.form) {
        Ok(credentials) => credentials,
        Err(message) => {
            return processors_page(&state, signed, StatusCode::BAD_REQUEST, None, None, Some(message)).await;
        }
    };
    let settings = act.form.mada.as_ref().map(|_| serde_json::json!({ "mada": true }));
    let new = NewAccount { display_name: act.form.display_name.trim().to_owned(), credentials, settings };
    match signed.act(accounts::create(&state.pool, &state.secrets_keys, signed.session.scope(), new)).await {
        Ok(_) => Redirect::to("/dashboard/processors").into_response(),
        Err(AccountError::Invalid(field, reason)) => {
            let message = format!("{field}: {reason}");
            processors_page(&state, signed, StatusCode::BAD_REQUEST, None, None, Some(message)).await
        }
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

async fn set_enabled(
    state: &AppState,
    act: &Act<Vec<(String, String)>>,
    id: ProcessorAccountId,
    enabled: bool,
) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let changes = Changes { enabled: Some(enabled), ..Changes::default() };
    match signed.act(accounts::update(&state.pool, &state.secrets_keys, signed.session.scope(), id, changes)).await {
        Ok(_) => Redirect::to("/dashboard/processors").into_response(),
        Err(AccountError::NotFound) => PageError::NotFound.page(signed.lang),
        Err(AccountError::Invalid(field, reason)) => {
            let message = format!("{field}: {reason}");
            processors_page(state, signed, StatusCode::BAD_REQUEST, None, None, Some(message)).await
        }
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

pub async fn enable(
    State(state): State<AppState>,
    PathId(id): PathId<ProcessorAccountKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    set_enabled(&state, &act, id, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    PathId(id): PathId<ProcessorAccountKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    set_enabled(&state, &act, id, false).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RoutingForm {
    table: String,
}

pub async fn replace_routing(State(state): State<AppState>, act: Act<RoutingForm>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let text = act.form.table.clone();
    let refuse = |message: String| {
        processors_page(&state, signed, StatusCode::BAD_REQUEST, Some(text.clone()), None, Some(message))
    };
    let mut reader = serde_json::Deserializer::from_str(&act.form.table);
    let table: RoutingTable = match serde_path_to_error::deserialize(&mut reader) {
        Ok(table) => table,
        Err(error) => return refuse(format!("{}: {}", error.path(), error.inner())).await,
    };
    match signed.act(routing::replace(&state.pool, signed.session.scope(), table)).await {
        Ok(_) => {
            let done = signed.lang.labels().done.to_owned();
            processors_page(&state, signed, StatusCode::OK, None, Some(done), None).await
        }
        Err(RoutingError::Invalid { field, reason }) => refuse(format!("{field} {reason}")).await,
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}
