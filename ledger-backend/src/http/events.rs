//! `GET /v1/events`, `GET /v1/events/{id}` and `GET /v1/ledger/transactions`: read-only logs.

use super::api::{Answer, Endpoint, PAGINATION, QueryParam};
use super::pagination::{self, unknown};
use super::path_id::PathId;
use super::{ApiError, AppState, MerchantCaller};
use crate::domain::{events, ledger_journal};
use crate::wire::{Event, LedgerTransaction, List};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use paygate_core::ErrorCode;
use paygate_core::id::{EventId, LedgerTransactionId};

const EVENTS_QUERY: [QueryParam; 4] =
    [PAGINATION[0], PAGINATION[1], PAGINATION[2], ("type", "Only events of this type (charge.captured...)")];

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::GET,
            "/events",
            "listEvents",
            "The caller's events, newest first",
            Answer::List("Event"),
            get(list_events),
        )
        .query(&EVENTS_QUERY)
        .tag("events"),
        Endpoint::new(
            Method::GET,
            "/events/{id}",
            "getEvent",
            "One event",
            Answer::Object(200, "Event"),
            get(get_event),
        )
        .tag("events"),
        Endpoint::new(
            Method::GET,
            "/ledger/transactions",
            "listLedgerTransactions",
            "The caller's journal: each ledger transaction with its entries, newest first",
            Answer::List("LedgerTransaction"),
            get(list_ledger_transactions),
        )
        .query(&PAGINATION)
        .tag("ledger"),
    ]
}

async fn list_events(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Event>>, ApiError> {
    let (page, filters) = pagination::parse(query.as_deref().unwrap_or(""), |c| EventId::parse(c).is_ok())?;
    let mut event_type = None;
    for (name, value) in filters {
        match name.as_str() {
            "type" => event_type = Some(value),
            _ => return Err(unknown(&name)),
        }
    }
    let (rows, has_more) = events::list(&state.pool, caller.scope(), &page, event_type.as_deref()).await?;
    Ok(Json(List::page((rows.iter().map(Event::from).collect(), has_more))))
}

async fn get_event(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::EventKind>,
) -> Result<Json<Event>, ApiError> {
    let event = events::get(&state.pool, caller.scope(), id).await?;
    event.map(|e| Json(Event::from(&e))).ok_or(ApiError::Code(ErrorCode::ResourceNotFound))
}

async fn list_ledger_transactions(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<LedgerTransaction>>, ApiError> {
    let page = pagination::page_only(query.as_deref(), |c| LedgerTransactionId::parse(c).is_ok())?;
    Ok(Json(List::page(ledger_journal::list(&state.pool, caller.scope(), &page).await?)))
}
