//! Reading the outbox as the merchant's event log (`GET /v1/events`). Delivery is issue 5's worker.

use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use serde_json::Value;
use sqlx::PgPool;

const EVENT_COLUMNS: &str = "id, type, mode, data, extract(epoch FROM created_at)::bigint AS created";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: String,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub mode: String,
    pub data: Value,
    pub created: i64,
}

pub async fn get(
    pool: &PgPool,
    scope: Scope,
    id: paygate_core::id::EventId,
) -> Result<Option<EventRecord>, sqlx::Error> {
    crate::domain::scoped::find(pool, scope, "events", EVENT_COLUMNS, id).await
}

/// A page of the merchant's events, optionally of one type, and whether more exist.
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    page: &Page,
    event_type: Option<&str>,
) -> Result<(Vec<EventRecord>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("id", 4);
    let select = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND mode = $2 AND ($3::text IS NULL OR type = $3)
           {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode).bind(event_type);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
