//! Reading the outbox as the merchant's event log (`GET /v1/events`). Delivery is issue 5's worker.

use crate::domain::journal::Scope;
use paygate_core::time::rfc3339;
use serde_json::{Value, json};
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

impl EventRecord {
    /// The Standard Webhooks-style envelope: `{id, type, created, livemode, data: {object}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "event",
            "type": self.event_type,
            "created": rfc3339(self.created),
            "livemode": self.mode == "live",
            "data": self.data,
        })
    }
}

pub async fn get(pool: &PgPool, scope: Scope, id: &str) -> Result<Option<EventRecord>, sqlx::Error> {
    let select = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1 AND merchant_id = $2 AND mode = $3");
    sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(id)
        .bind(scope.merchant_id.to_string())
        .bind(scope.mode.as_str())
        .fetch_optional(pool)
        .await
}

/// `limit + 1` events before/after the cursors, optionally of one type, in `order`.
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    starting_after: Option<&str>,
    ending_before: Option<&str>,
    event_type: Option<&str>,
    order: &str,
    limit: i64,
) -> Result<Vec<EventRecord>, sqlx::Error> {
    let select = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND mode = $2
           AND ($3::text IS NULL OR id < $3) AND ($4::text IS NULL OR id > $4) AND ($5::text IS NULL OR type = $5)
         ORDER BY id {order} LIMIT $6"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id.to_string())
        .bind(scope.mode.as_str())
        .bind(starting_after)
        .bind(ending_before)
        .bind(event_type)
        .bind(limit)
        .fetch_all(pool)
        .await
}
