//! Webhook endpoints: listed, created (the signing secret shown on that answer only), edited, disabled and
//! enabled, their secret rotated (the old one keeps signing for a day), deleted; each with its delivery log,
//! every delivery redeliverable, and a test event on demand. The API's own domain functions throughout.

use super::chrome::{Chrome, Nav, when};
use super::pages::{PageError, render};
use super::session::{Act, Signed};
use crate::domain::dashboard::Permission;
use crate::domain::events;
use crate::domain::page::Page;
use crate::domain::webhooks::deliveries::{self, EndpointDelivery};
use crate::domain::webhooks::endpoints::{self, Changes, EVENT_TYPES, EndpointError, EndpointRecord};
use crate::http::AppState;
use crate::http::path_id::PathId;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::id::{DeliveryId, EventId, WebhookEndpointId, WebhookEndpointKind};

const DELIVERIES_PER_PAGE: i64 = 25;

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub rotating: bool,
    pub created: String,
}

impl EndpointRow {
    fn of(endpoint: &EndpointRecord) -> EndpointRow {
        EndpointRow {
            id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone().unwrap_or_default(),
            events: endpoint.enabled_events.join(", "),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.clone().unwrap_or_default(),
            rotating: endpoint.rotating,
            created: when(endpoint.created),
        }
    }
}

/// The event types a form offers (the test event is sent on demand, not subscribed to).
fn subscribable() -> Vec<&'static str> {
    EVENT_TYPES.iter().map(|(name, _)| *name).filter(|t| *t != "webhook_endpoint.test").collect()
}

#[derive(Template)]
#[template(path = "dashboard/webhooks.html")]
struct ListPage {
    chrome: Chrome,
    endpoints: Vec<EndpointRow>,
    event_types: Vec<&'static str>,
    can_manage: bool,
    /// A secret just made, shown this once, with its endpoint.
    new_secret: Option<(String, String)>,
    error: Option<String>,
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    new_secret: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    let scope = signed.session.scope();
    let page = Page { limit: 100, ..Page::default() };
    let endpoints = match signed.act(endpoints::list(&state.pool, scope, &page)).await {
        Ok((endpoints, _)) => endpoints,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let page = ListPage {
        chrome: Chrome::new(signed, Nav::Webhooks),
        endpoints: endpoints.iter().map(EndpointRow::of).collect(),
        event_types: subscribable(),
        can_manage: signed.session.role.allows(Permission::ManageIntegration),
        new_secret,
        error,
    };
    render(status, &page)
}

pub async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    list_page(&state, &signed, StatusCode::OK, None, None).await
}

/// The endpoint form: every field a list of `name=value` pairs, since event types repeat.
struct EndpointForm {
    url: String,
    description: String,
    events: Vec<String>,
}

impl EndpointForm {
    fn of(fields: &[(String, String)]) -> EndpointForm {
        let value =
            |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        let mut events: Vec<String> = fields.iter().filter(|(n, _)| n == "events").map(|(_, v)| v.clone()).collect();
        if events.iter().any(|e| e == "*") {
            events = vec!["*".to_owned()];
        }
        EndpointForm { url: value("url"), description: value("description"), events }
    }

    fn description(&self) -> Option<&str> {
        Some(self.description.as_str()).filter(|d| !d.is_empty())
    }
}

/// What the person should be told about a refused endpoint form.
fn refusal(error: &EndpointError) -> Option<String> {
    match error {
        EndpointError::Url(_)
        | EndpointError::UnknownEvent(_)
        | EndpointError::EventCount
        | EndpointError::Description => Some(error.to_string()),
        _ => None,
    }
}

pub async fn create(State(state): State<AppState>, act: Act<Vec<(String, String)>>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let form = EndpointForm::of(&act.form);
    let scope = signed.session.scope();
    let created = signed
        .act(endpoints::create(&state.pool, &state.secrets_keys, scope, &form.url, &form.events, form.description()))
        .await;
    match created {
        Ok((endpoint, secret)) => {
            list_page(&state, signed, StatusCode::CREATED, Some((endpoint.id, secret)), None).await
        }
        Err(error) => match refusal(&error) {
            Some(message) => list_page(&state, signed, StatusCode::BAD_REQUEST, None, Some(message)).await,
            None => PageError::internal(error).page(signed.lang),
        },
    }
}

pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub last: String,
    pub created: String,
}

impl DeliveryRow {
    fn of(delivery: &EndpointDelivery) -> DeliveryRow {
        let last = match (&delivery.last_status_code, &delivery.last_error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        DeliveryRow {
            id: delivery.id.clone(),
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            status: delivery.status.clone(),
            attempts: delivery.attempts,
            last,
            created: when(delivery.created),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/webhook.html")]
struct EndpointPage {
    chrome: Chrome,
    endpoint: EndpointRow,
    subscribed: Vec<String>,
    event_types: Vec<&'static str>,
    deliveries: Vec<DeliveryRow>,
    older: Option<String>,
    can_manage: bool,
    new_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Default)]
struct Shown {
    new_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn endpoint_page(
    state: &AppState,
    signed: &Signed,
    id: WebhookEndpointId,
    status: StatusCode,
    starting_after: Option<String>,
    shown: Shown,
) -> Response {
    let scope = signed.session.scope();
    let page = Page { limit: DELIVERIES_PER_PAGE, starting_after, ending_before: None };
    let loaded = signed
        .act(async {
            let endpoint = endpoints::get(&state.pool, scope, id).await?;
            let deliveries = deliveries::of_endpoint(&state.pool, scope, id, &page).await?;
            Ok::<_, EndpointError>((endpoint, deliveries))
        })
        .await;
    let (endpoint, (deliveries, has_more)) = match loaded {
        Ok(loaded) => loaded,
        Err(EndpointError::NotFound) => return PageError::NotFound.page(signed.lang),
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let older = match (deliveries.last(), has_more) {
        (Some(last), true) => Some(format!("/dashboard/webhooks/{id}?starting_after={}", last.id)),
        _ => None,
    };
    let page = EndpointPage {
        chrome: Chrome::new(signed, Nav::Webhooks),
        subscribed: endpoint.enabled_events.clone(),
        endpoint: EndpointRow::of(&endpoint),
        event_types: subscribable(),
        deliveries: deliveries.iter().map(DeliveryRow::of).collect(),
        older,
        can_manage: signed.session.role.allows(Permission::ManageIntegration),
        new_secret: shown.new_secret,
        notice: shown.notice,
        error: shown.error,
    };
    render(status, &page)
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    PathId(id): PathId<WebhookEndpointKind>,
    RawQuery(query): RawQuery,
) -> Response {
    let cursor = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|fields| fields.into_iter().find(|(n, _)| n == "starting_after").map(|(_, v)| v))
        .filter(|c| DeliveryId::parse(c).is_ok());
    endpoint_page(&state, &signed, id, StatusCode::OK, cursor, Shown::default()).await
}

/// Runs a change of endpoint `id` for a user who may make it; then back to its page.
async fn change<F, Fut>(state: &AppState, act: &Act<Vec<(String, String)>>, id: WebhookEndpointId, work: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Shown, EndpointError>>,
{
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    match signed.act(work()).await {
        Ok(Shown { new_secret: None, notice: None, error: None }) => {
            Redirect::to(&format!("/dashboard/webhooks/{id}")).into_response()
        }
        Ok(shown) => endpoint_page(state, signed, id, StatusCode::OK, None, shown).await,
        Err(EndpointError::NotFound) => PageError::NotFound.page(signed.lang),
        Err(error) => match refusal(&error) {
            Some(message) => {
                let shown = Shown { error: Some(message), ..Shown::default() };
                endpoint_page(state, signed, id, StatusCode::BAD_REQUEST, None, shown).await
            }
            None => PageError::internal(error).page(signed.lang),
        },
    }
}

pub async fn update(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let form = EndpointForm::of(&act.form);
    let scope = act.signed.session.scope();
    let changes = Changes {
        url: Some(form.url.clone()),
        events: Some(form.events.clone()),
        description: Some(form.description().map(str::to_owned)),
        enabled: None,
    };
    change(&state, &act, id, || async {
        endpoints::update(&state.pool, scope, id, changes).await?;
        Ok(Shown::default())
    })
    .await
}

pub async fn enable(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    set_enabled(&state, &act, id, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    set_enabled(&state, &act, id, false).await
}

async fn set_enabled(
    state: &AppState,
    act: &Act<Vec<(String, String)>>,
    id: WebhookEndpointId,
    enabled: bool,
) -> Response {
    let scope = act.signed.session.scope();
    change(state, act, id, || async {
        endpoints::update(&state.pool, scope, id, Changes { enabled: Some(enabled), ..Changes::default() }).await?;
        Ok(Shown::default())
    })
    .await
}

pub async fn rotate(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let scope = act.signed.session.scope();
    let overlap = endpoints::ROTATION_OVERLAP_SECONDS_DEFAULT;
    change(&state, &act, id, || async {
        let (_, secret) = endpoints::rotate_secret(&state.pool, &state.secrets_keys, scope, id, overlap).await?;
        Ok(Shown { new_secret: Some(secret), ..Shown::default() })
    })
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    match signed.act(endpoints::delete(&state.pool, signed.session.scope(), id)).await {
        Ok(_) => Redirect::to("/dashboard/webhooks").into_response(),
        Err(EndpointError::NotFound) => PageError::NotFound.page(signed.lang),
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

pub async fn send_test(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let scope = act.signed.session.scope();
    let sent = act.signed.lang.labels().test_event_sent;
    change(&state, &act, id, || async {
        match deliveries::send_test(&state.pool, scope, id).await? {
            Some(event) => Ok(Shown { notice: Some(format!("{sent} {event}")), ..Shown::default() }),
            None => Err(EndpointError::NotFound),
        }
    })
    .await
}

/// Sends the event of one delivery (the form's `event`) to this endpoint again, now.
pub async fn redeliver(
    State(state): State<AppState>,
    PathId(id): PathId<WebhookEndpointKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let scope = act.signed.session.scope();
    let event = act.form.iter().find(|(n, _)| n == "event").and_then(|(_, v)| EventId::parse(v).ok());
    let again = act.signed.lang.labels().redelivery_due;
    change(&state, &act, id, || async {
        let event = match event {
            Some(event) => events::get(&state.pool, scope, event).await?.ok_or(EndpointError::NotFound)?,
            None => return Err(EndpointError::NotFound),
        };
        // The endpoint must be the scope's own (another merchant's id is not found, like an unknown one).
        endpoints::get(&state.pool, scope, id).await?;
        let due = deliveries::redeliver(&state.pool, scope, &event, Some(&id.to_string())).await?;
        Ok(Shown { notice: Some(format!("{again} ({due})")), ..Shown::default() })
    })
    .await
}
