//! `/v1/processor_accounts` (create with credentials that are never answered again, list, retrieve,
//! update, disable) and `/v1/routing` (read and replace the routing table).

use super::api::{Answer, Endpoint, PAGINATION, QueryParam};
use super::pagination;
use super::path_id::PathId;
use super::schemas::{array, boolean, integer, request, string};
use super::{ApiError, ApiJson, AppState, MerchantCaller};
use crate::domain::processors::accounts::{self, AccountError, Changes, NewAccount};
use crate::domain::processors::events::{self, EventError};
use crate::domain::processors::routing::{self, RoutingError};
use crate::processors::{Credentials, Secret};
use crate::wire::{List, ProcessorAccount, ReceivedProcessorEvent, Routing};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use paygate_core::ErrorCode;
use paygate_core::id::ProcessorAccountKind;
use paygate_core::processor::ConnectorKind;
use paygate_core::routing::RoutingTable;
use serde_json::{Map, Value, json};

const EVENTS_QUERY: [QueryParam; 4] = [
    PAGINATION[0],
    PAGINATION[1],
    PAGINATION[2],
    ("outcome", "Only events with this outcome: applying, applied, ignored, unmatched or deferred"),
];

pub fn endpoints() -> Vec<Endpoint> {
    let tag = "processors";
    vec![
        Endpoint::new(
            Method::POST,
            "/processor_accounts",
            "createProcessorAccount",
            "Add an account at a processor; its credentials are sealed and never answered again",
            Answer::Object(201, "ProcessorAccount"),
            post(create),
        )
        .body(create_schema)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/processor_accounts",
            "listProcessorAccounts",
            "The caller's processor accounts in this mode (the sandbox's included in test mode)",
            Answer::List("ProcessorAccount"),
            get(list),
        )
        .query(&PAGINATION)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/processor_accounts/{id}",
            "getProcessorAccount",
            "One processor account",
            Answer::Object(200, "ProcessorAccount"),
            get(retrieve),
        )
        .tag(tag),
        Endpoint::new(
            Method::PATCH,
            "/processor_accounts/{id}",
            "updateProcessorAccount",
            "Rename, replace the credentials, or enable/disable",
            Answer::Object(200, "ProcessorAccount"),
            axum::routing::patch(update),
        )
        .body(update_schema)
        .tag(tag),
        Endpoint::new(
            Method::POST,
            "/processor_accounts/{id}/disable",
            "disableProcessorAccount",
            "Stop routing new payments to the account; its charges keep using it for capture, void and refund",
            Answer::Object(200, "ProcessorAccount"),
            post(disable),
        )
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/processor_accounts/{id}/events",
            "listProcessorEvents",
            "The webhooks the account's processor sent, newest first, and what each did (outcome=unmatched: about payments Paygate does not know)",
            Answer::List("ProcessorEvent"),
            get(list_events),
        )
        .query(&EVENTS_QUERY)
        .tag(tag),
        Endpoint::new(
            Method::POST,
            paygate_core::internal::PROCESSOR_EVENTS_PATH.trim_start_matches("/v1"),
            "receiveProcessorEvent",
            "A processor's webhook, as the edge took it (edge-signed, no merchant): verified, stored once, applied",
            Answer::Inline(200, received_schema),
            post(receive_event),
        )
        .body(event_schema)
        .tag("internal"),
        Endpoint::new(
            Method::GET,
            "/routing",
            "getRouting",
            "The routing table: rules (first match wins) and the default account",
            Answer::Object(200, "Routing"),
            get(get_routing),
        )
        .tag(tag),
        Endpoint::new(
            Method::PUT,
            "/routing",
            "replaceRouting",
            "Replace the routing table; every account it names must be an enabled account of this mode",
            Answer::Object(200, "Routing"),
            put(replace_routing),
        )
        .body(routing_schema)
        .tag(tag),
    ]
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::NotFound => ApiError::Code(ErrorCode::ResourceNotFound),
            AccountError::Invalid(field, reason) => ApiError::invalid(field, reason),
            AccountError::Sealing(e) => ApiError::Internal(format!("processor credentials: {e}")),
            AccountError::Database(e) => ApiError::from(e),
        }
    }
}

impl From<EventError> for ApiError {
    fn from(error: EventError) -> Self {
        match error {
            EventError::NotFound => ApiError::Code(ErrorCode::ResourceNotFound),
            EventError::NoSecret | EventError::Signature(_) => ApiError::invalid("signature", error.to_string()),
            EventError::Malformed(detail) => {
                ApiError::Param { code: ErrorCode::BodyMalformed, param: "body".into(), detail }
            }
            EventError::Account(e) => ApiError::from(e),
            EventError::Database(e) => ApiError::from(e),
        }
    }
}

impl From<RoutingError> for ApiError {
    fn from(error: RoutingError) -> Self {
        match error {
            RoutingError::Invalid { field, reason } => ApiError::invalid(&field, format!("{field} {reason}")),
            RoutingError::Database(e) => ApiError::from(e),
        }
    }
}

fn credentials_schema() -> Value {
    json!({ "type": "object",
            "description": "The connector's credentials: for stripe {secret_key}; for checkout {secret_key, processing_channel_id}; for either, the webhook_secret the processor signs its webhooks with",
            "properties": { "secret_key": { "type": "string" }, "processing_channel_id": { "type": "string" },
                            "webhook_secret": { "type": "string" } },
            "additionalProperties": false })
}

fn received_schema() -> Value {
    json!({ "type": "object", "required": ["received"], "additionalProperties": false, "properties": {
        "received": { "type": "string", "enum": ["applied", "duplicate", "ignored", "unmatched", "deferred"] } } })
}

fn event_schema() -> Value {
    request(
        &[("connector", string()), ("account", string()), ("signature", string()), ("body", string())],
        &["connector", "account", "signature", "body"],
    )
}

/// The edge's forward of a processor webhook. The processor's own body is verified with the account's secret
/// before it is parsed; a bad or missing signature is a 400 and nothing is stored.
async fn receive_event(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<super::edge_auth::Caller>,
    ApiJson(forward): ApiJson<paygate_core::internal::ProcessorEventForward>,
) -> Result<Json<Value>, ApiError> {
    if caller != super::edge_auth::Caller::Edge {
        return Err(ApiError::Code(ErrorCode::PermissionDenied));
    }
    let not_found = || ApiError::Code(ErrorCode::ResourceNotFound);
    let connector = ConnectorKind::parse(&forward.connector).filter(|c| c.merchant_created()).ok_or_else(not_found)?;
    let account = paygate_core::id::ProcessorAccountId::parse(&forward.account).map_err(|_| not_found())?;
    let incoming = events::Incoming {
        connector,
        account,
        signature: &forward.signature,
        body: forward.body.as_bytes(),
        now: crate::ids::unix_seconds_now(),
    };
    let received = events::receive(&state.pool, &state.processors, incoming).await?;
    Ok(Json(json!({ "received": received.as_str() })))
}

/// `domain::processors::accounts::check_settings` decides which connector takes which; the schema lists them all.
fn settings_schema() -> Value {
    let minor = json!({ "type": "integer", "minimum": 0, "maximum": paygate_core::money::AMOUNT_MINOR_MAX });
    let fees = json!({ "type": "object", "additionalProperties": false,
        "description": "the processor's contracted fees: basis_points of each capture plus fixed minor units; \
                        a reported fee further than tolerance from them is a fee_variance in reconciliation",
        "properties": {
            "basis_points": { "type": "integer", "minimum": 0,
                              "maximum": paygate_core::ledger::BASIS_POINTS_MAX },
            "fixed": minor, "tolerance": minor } });
    json!({ "type": "object", "additionalProperties": false,
            "description": "checkout: mada (the account is on a Saudi acquirer's Mada setup); stripe: \
                            report_delay_days; every connector: fees",
            "properties": {
                "mada": { "type": "boolean" },
                "report_delay_days": { "type": "integer", "minimum": 0, "maximum": 30,
                    "description": "days Stripe's settlement report waits after its data is available (default 4)" },
                "fees": fees } })
}

fn create_schema() -> Value {
    request(
        &[
            ("connector", json!({ "type": "string", "enum": ["stripe", "checkout"] })),
            ("display_name", string()),
            ("credentials", credentials_schema()),
            ("settings", settings_schema()),
        ],
        &["connector", "display_name", "credentials"],
    )
}

fn update_schema() -> Value {
    request(
        &[
            ("display_name", string()),
            ("credentials", credentials_schema()),
            ("enabled", boolean()),
            ("settings", settings_schema()),
        ],
        &[],
    )
}

fn routing_schema() -> Value {
    let conditions = json!({ "type": "object", "additionalProperties": false, "properties": {
        "payment_methods": array(json!({ "type": "string", "enum": paygate_core::payment_method::PaymentMethod::ALL
            .iter().map(|m| m.as_str()).collect::<Vec<_>>() })),
        "currencies": array(json!({ "type": "string", "pattern": "^[A-Z]{3}$" })),
        "amount_min": integer(), "amount_max": integer(),
        "brands": array(json!({ "type": "string", "description": "visa, mastercard, amex, mada, ... (co-badges count)" })),
        "issuing_countries": array(json!({ "type": "string", "pattern": "^[A-Z]{2}$" })) } });
    let rule = json!({ "type": "object", "additionalProperties": false, "required": ["account"],
        "properties": { "conditions": conditions, "account": string() } });
    request(
        &[("rules", json!({ "type": "array", "items": rule, "maxItems": 50 })), ("default", string())],
        &["default"],
    )
}

/// The credentials of `connector` from the request's `credentials` object, naming the bad field.
fn credentials_of(connector: ConnectorKind, value: Value) -> Result<Credentials, ApiError> {
    let Value::Object(fields) = value else {
        return Err(ApiError::invalid("credentials", "credentials must be an object"));
    };
    let required: &[&str] = match connector {
        ConnectorKind::Stripe => &["secret_key"],
        ConnectorKind::Checkout => &["secret_key", "processing_channel_id"],
        ConnectorKind::Sandbox => return Err(ApiError::invalid("connector", "the sandbox account exists already")),
    };
    // Every connector may also carry the secret its webhooks are signed with.
    if let Some(other) = fields.keys().find(|k| !required.contains(&k.as_str()) && k.as_str() != "webhook_secret") {
        return Err(ApiError::Param {
            code: ErrorCode::ParameterUnknown,
            param: format!("credentials.{other}"),
            detail: format!(
                "{} credentials take {} and webhook_secret, not {other}",
                connector.as_str(),
                required.join(", ")
            ),
        });
    }
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => {
            Err(ApiError::invalid(&format!("credentials.{name}"), format!("credentials.{name} must be a string")))
        }
        None if required.contains(&name) => Err(ApiError::Param {
            code: ErrorCode::ParameterMissing,
            param: format!("credentials.{name}"),
            detail: format!("{} credentials need {name}", connector.as_str()),
        }),
        None => Ok(None),
    };
    let secret_key = Secret::new(text("secret_key")?.unwrap_or_default());
    let webhook_secret = text("webhook_secret")?.map(Secret::new);
    Ok(match connector {
        ConnectorKind::Checkout => Credentials::Checkout {
            secret_key,
            processing_channel_id: text("processing_channel_id")?.unwrap_or_default(),
            webhook_secret,
        },
        _ => Credentials::Stripe { secret_key, webhook_secret },
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    connector: String,
    display_name: String,
    credentials: Value,
    settings: Option<Value>,
}

async fn create(
    State(state): State<AppState>,
    caller: MerchantCaller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<ProcessorAccount>), ApiError> {
    let connector = ConnectorKind::parse(&body.connector).filter(|c| c.merchant_created()).ok_or_else(|| {
        ApiError::invalid("connector", format!("connector must be one of: {}", creatable().join(", ")))
    })?;
    if !connector.allowed_in(caller.scope().mode) {
        return Err(ApiError::invalid("connector", "this connector has no accounts in this mode"));
    }
    let credentials = credentials_of(connector, body.credentials)?;
    let new = NewAccount { display_name: body.display_name, credentials, settings: body.settings };
    let record = accounts::create(&state.pool, &state.processors.secrets_keys, caller.scope(), new).await?;
    Ok((StatusCode::CREATED, Json(ProcessorAccount::from(&record))))
}

fn creatable() -> Vec<&'static str> {
    ConnectorKind::ALL.iter().filter(|c| c.merchant_created()).map(|c| c.as_str()).collect()
}

async fn list(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<ProcessorAccount>>, ApiError> {
    let is_cursor = |c: &str| paygate_core::id::ProcessorAccountId::parse(c).is_ok();
    let page = pagination::page_only(query.as_deref(), is_cursor)?;
    let (rows, has_more) = accounts::list(&state.pool, caller.scope(), &page).await?;
    Ok(Json(List::page((rows.iter().map(ProcessorAccount::from).collect(), has_more))))
}

async fn list_events(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ProcessorAccountKind>,
    RawQuery(query): RawQuery,
) -> Result<Json<List<ReceivedProcessorEvent>>, ApiError> {
    let (page, filters) = pagination::parse(query.as_deref().unwrap_or(""), events::is_cursor)?;
    let mut outcome = None;
    for (name, value) in filters {
        match name.as_str() {
            "outcome" if events::OUTCOMES.contains(&value.as_str()) => outcome = Some(value),
            "outcome" => {
                return Err(ApiError::invalid(
                    "outcome",
                    format!("outcome must be one of: {}", events::OUTCOMES.join(", ")),
                ));
            }
            _ => return Err(pagination::unknown(&name)),
        }
    }
    let (rows, has_more) = events::list(&state.pool, caller.scope(), id, outcome.as_deref(), &page).await?;
    Ok(Json(List::page((rows.iter().map(ReceivedProcessorEvent::from).collect(), has_more))))
}

async fn retrieve(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ProcessorAccountKind>,
) -> Result<Json<ProcessorAccount>, ApiError> {
    Ok(Json(ProcessorAccount::from(&accounts::get(&state.pool, caller.scope(), id).await?)))
}

async fn update(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ProcessorAccountKind>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<ProcessorAccount>, ApiError> {
    // The body is checked before the account is read, so a malformed request is a 400 whatever the id.
    let mut changes = Changes::default();
    let mut credentials = None;
    for (name, value) in body {
        match (name.as_str(), value) {
            ("display_name", Value::String(text)) => changes.display_name = Some(text),
            ("enabled", Value::Bool(enabled)) => changes.enabled = Some(enabled),
            ("settings", value) => changes.settings = Some(value),
            ("credentials", value @ Value::Object(_)) => credentials = Some(value),
            ("credentials", _) => return Err(ApiError::invalid("credentials", "credentials must be an object")),
            ("display_name" | "enabled", _) => {
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
    if let Some(value) = credentials {
        let current = accounts::get(&state.pool, caller.scope(), id).await?;
        changes.credentials = Some(credentials_of(current.connector.0, value)?);
    }
    let record = accounts::update(&state.pool, &state.processors.secrets_keys, caller.scope(), id, changes).await?;
    Ok(Json(ProcessorAccount::from(&record)))
}

async fn disable(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ProcessorAccountKind>,
) -> Result<Json<ProcessorAccount>, ApiError> {
    let changes = Changes { enabled: Some(false), ..Changes::default() };
    let record = accounts::update(&state.pool, &state.processors.secrets_keys, caller.scope(), id, changes).await?;
    Ok(Json(ProcessorAccount::from(&record)))
}

async fn get_routing(State(state): State<AppState>, caller: MerchantCaller) -> Result<Json<Routing>, ApiError> {
    let scope = caller.scope();
    let mut conn = state.pool.acquire().await.map_err(ApiError::from)?;
    let table = routing::get(&mut conn, scope).await.map_err(ApiError::from)?;
    let implicit = match table {
        Some(_) => None,
        None => accounts::all(&mut conn, scope)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .find(|a| a.enabled && a.connector.0 == ConnectorKind::Sandbox)
            .map(|a| a.id.to_string()),
    };
    Ok(Json(Routing::new(scope.mode, table, implicit)))
}

async fn replace_routing(
    State(state): State<AppState>,
    caller: MerchantCaller,
    ApiJson(table): ApiJson<RoutingTable>,
) -> Result<Json<Routing>, ApiError> {
    let scope = caller.scope();
    let table = routing::replace(&state.pool, scope, table).await?;
    Ok(Json(Routing::new(scope.mode, Some(table), None)))
}
