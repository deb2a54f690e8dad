//! `/v1/webhook_endpoints` (create with the secret shown once, list, retrieve, update, delete, rotate the
//! secret with an overlap) and the delivery side of `/v1/events/{id}` (its deliveries, a redelivery).

use super::api::{Answer, Endpoint, PAGINATION};
use super::pagination;
use super::path_id::PathId;
use super::schemas::{boolean, integer, nullable, request, string};
use super::{ApiError, ApiJson, AppState, MerchantCaller};
use crate::domain::tenancy::Scope;
use crate::domain::webhooks::deliveries;
use crate::domain::webhooks::endpoints::{
    self, Changes, EndpointError, ROTATION_OVERLAP_SECONDS_DEFAULT, ROTATION_OVERLAP_SECONDS_MAX,
};
use crate::wire::{Deleted, List, WebhookDelivery, WebhookEndpoint, WithSecret};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use paygate_core::ErrorCode;
use serde_json::{Map, Value, json};

pub fn endpoints() -> Vec<Endpoint> {
    let tag = "webhooks";
    vec![
        Endpoint::new(
            Method::POST,
            "/webhook_endpoints",
            "createWebhookEndpoint",
            "Add an endpoint; the answer holds its signing secret, once",
            Answer::Object(201, "WebhookEndpointCreated"),
            post(create),
        )
        .body(create_schema)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/webhook_endpoints",
            "listWebhookEndpoints",
            "The caller's endpoints",
            Answer::List("WebhookEndpoint"),
            get(list),
        )
        .query(&PAGINATION)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/webhook_endpoints/{id}",
            "getWebhookEndpoint",
            "One endpoint",
            Answer::Object(200, "WebhookEndpoint"),
            get(retrieve),
        )
        .tag(tag),
        Endpoint::new(
            Method::PATCH,
            "/webhook_endpoints/{id}",
            "updateWebhookEndpoint",
            "Change the URL, the events, the description, or enable/disable",
            Answer::Object(200, "WebhookEndpoint"),
            axum::routing::patch(update),
        )
        .body(update_schema)
        .tag(tag),
        Endpoint::new(
            Method::DELETE,
            "/webhook_endpoints/{id}",
            "deleteWebhookEndpoint",
            "Remove an endpoint; pending deliveries to it are dropped",
            Answer::Object(200, "WebhookEndpoint"),
            axum::routing::delete(remove),
        )
        .tag(tag),
        Endpoint::new(
            Method::POST,
            "/webhook_endpoints/{id}/rotate_secret",
            "rotateWebhookSecret",
            "A new secret, shown once; the old one keeps signing too for the overlap",
            Answer::Object(200, "WebhookEndpointCreated"),
            post(rotate),
        )
        .optional_body(rotate_schema)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/events/{id}/deliveries",
            "listEventDeliveries",
            "Where an event went: each endpoint's delivery and every attempt",
            Answer::List("WebhookDelivery"),
            get(deliveries),
        )
        .tag("events"),
        Endpoint::new(
            Method::POST,
            "/events/{id}/redeliver",
            "redeliverEvent",
            "Send an event again now, to every subscribed endpoint or to one",
            Answer::List("WebhookDelivery"),
            post(redeliver),
        )
        .optional_body(redeliver_schema)
        .tag("events"),
    ]
}

impl From<EndpointError> for ApiError {
    fn from(error: EndpointError) -> Self {
        match error {
            EndpointError::Url(e) => ApiError::invalid("url", e.to_string()),
            EndpointError::UnknownEvent(e) => ApiError::invalid("enabled_events", format!("unknown event type {e}")),
            EndpointError::EventCount => ApiError::invalid("enabled_events", EndpointError::EventCount.to_string()),
            EndpointError::Description => ApiError::invalid("description", EndpointError::Description.to_string()),
            EndpointError::NotFound => ApiError::Code(ErrorCode::ResourceNotFound),
            EndpointError::Sealing(e) => ApiError::Internal(format!("webhook secret sealing: {e}")),
            EndpointError::Database(e) => ApiError::from(e),
        }
    }
}

fn events_schema() -> Value {
    json!({ "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 64,
            "description": "Event types (charge.captured, ...) or [\"*\"] for all" })
}

fn create_schema() -> Value {
    request(
        &[("url", string()), ("enabled_events", events_schema()), ("description", nullable(string()))],
        &["url", "enabled_events"],
    )
}

fn update_schema() -> Value {
    request(
        &[
            ("url", string()),
            ("enabled_events", events_schema()),
            ("description", nullable(string())),
            ("enabled", boolean()),
        ],
        &[],
    )
}

fn rotate_schema() -> Value {
    request(&[("overlap_seconds", integer())], &[])
}

fn redeliver_schema() -> Value {
    request(&[("endpoint", string())], &[])
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    enabled_events: Vec<String>,
    description: Option<String>,
}

fn with_secret(record: &endpoints::EndpointRecord, secret: String) -> WithSecret {
    WithSecret { endpoint: WebhookEndpoint::from(record), secret }
}

async fn create(
    State(state): State<AppState>,
    caller: MerchantCaller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<WithSecret>), ApiError> {
    let (record, secret) = endpoints::create(
        &state.pool,
        &state.secrets_keys,
        caller.scope(),
        &body.url,
        &body.enabled_events,
        body.description.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(with_secret(&record, secret))))
}

async fn list(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<WebhookEndpoint>>, ApiError> {
    let is_cursor = |c: &str| paygate_core::id::WebhookEndpointId::parse(c).is_ok();
    let page = pagination::page_only(query.as_deref(), is_cursor)?;
    let (rows, has_more) = endpoints::list(&state.pool, caller.scope(), &page).await?;
    Ok(Json(List::page((rows.iter().map(WebhookEndpoint::from).collect(), has_more))))
}

async fn retrieve(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::WebhookEndpointKind>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(WebhookEndpoint::from(&endpoints::get(&state.pool, caller.scope(), id).await?)))
}

async fn update(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::WebhookEndpointKind>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    // Parsed by hand: `description: null` (clear it) must differ from no `description` (keep it).
    let mut changes = Changes::default();
    for (name, value) in body {
        match (name.as_str(), value) {
            ("url", Value::String(url)) => changes.url = Some(url),
            ("enabled_events", Value::Array(items)) => {
                let events: Option<Vec<String>> = items.into_iter().map(|v| v.as_str().map(str::to_owned)).collect();
                changes.events =
                    Some(events.ok_or_else(|| ApiError::invalid("enabled_events", "enabled_events holds strings"))?);
            }
            ("description", Value::Null) => changes.description = Some(None),
            ("description", Value::String(d)) => changes.description = Some(Some(d)),
            ("enabled", Value::Bool(enabled)) => changes.enabled = Some(enabled),
            ("url" | "enabled_events" | "description" | "enabled", _) => {
                return Err(ApiError::invalid(&name, format!("{name} has the wrong type")));
            }
            _ => {
                return Err(ApiError::Param {
                    code: ErrorCode::ParameterUnknown,
                    param: name.clone(),
                    detail: format!("unknown parameter {name}"),
                });
            }
        }
    }
    Ok(Json(WebhookEndpoint::from(&endpoints::update(&state.pool, caller.scope(), id, changes).await?)))
}

async fn remove(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::WebhookEndpointKind>,
) -> Result<Json<Deleted<WebhookEndpoint>>, ApiError> {
    let deleted = endpoints::delete(&state.pool, caller.scope(), id).await?;
    Ok(Json(Deleted { object: WebhookEndpoint::from(&deleted), deleted: true }))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    overlap_seconds: Option<i64>,
}

async fn rotate(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::WebhookEndpointKind>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WithSecret>, ApiError> {
    let body: RotateBody = super::json::optional(&headers, &body)?;
    let overlap = body.overlap_seconds.unwrap_or(ROTATION_OVERLAP_SECONDS_DEFAULT);
    if !(0..=ROTATION_OVERLAP_SECONDS_MAX).contains(&overlap) {
        return Err(ApiError::invalid(
            "overlap_seconds",
            format!("overlap_seconds is 0 to {ROTATION_OVERLAP_SECONDS_MAX}"),
        ));
    }
    let (record, secret) =
        endpoints::rotate_secret(&state.pool, &state.secrets_keys, caller.scope(), id, overlap).await?;
    Ok(Json(with_secret(&record, secret)))
}

/// An event's deliveries: one per endpoint subscribed when it happened, so the list is whole.
async fn delivery_list(
    state: &AppState,
    scope: Scope,
    event_id: paygate_core::id::EventId,
) -> Result<List<WebhookDelivery>, ApiError> {
    Ok(List::whole(deliveries::of_event(&state.pool, scope, event_id).await?))
}

async fn deliveries(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::EventKind>,
) -> Result<Json<List<WebhookDelivery>>, ApiError> {
    let scope = caller.scope();
    crate::domain::events::get(&state.pool, scope, id).await?.ok_or(ApiError::Code(ErrorCode::ResourceNotFound))?;
    Ok(Json(delivery_list(&state, scope, id).await?))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RedeliverBody {
    endpoint: Option<String>,
}

async fn redeliver(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::EventKind>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<List<WebhookDelivery>>, ApiError> {
    let body: RedeliverBody = super::json::optional(&headers, &body)?;
    let scope = caller.scope();
    let event =
        crate::domain::events::get(&state.pool, scope, id).await?.ok_or(ApiError::Code(ErrorCode::ResourceNotFound))?;
    let due = deliveries::redeliver(&state.pool, scope, &event, body.endpoint.as_deref()).await?;
    if due == 0 && body.endpoint.is_some() {
        return Err(ApiError::Param {
            code: ErrorCode::ResourceNotFound,
            param: "endpoint".into(),
            detail: "no enabled endpoint of yours takes this event".into(),
        });
    }
    Ok(Json(delivery_list(&state, scope, id).await?))
}
