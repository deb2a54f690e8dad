//! Deliveries: one row per (event, endpoint), created with the event (`fan_out`, inside the event's
//! transaction), then claimed, sent and rescheduled by the delivery worker (`jobs::webhook_delivery`).
//!
//! The retry schedule is Standard Webhooks' (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each
//! step with ±10 % jitter so retries to a recovering receiver do not arrive in a wave; a `Retry-After`
//! from the receiver (429, 503) is honoured when it is longer. After the last attempt the delivery is
//! failed; an endpoint that has failed without a single success for `DISABLE_AFTER` is disabled.

use crate::domain::events::EventRecord;
use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::wire::{DeliveryAttempt, Timestamp, WebhookDelivery};
use paygate_core::id::{DeliveryKind, EventId, EventKind, WebhookEndpointId};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

/// Delay before attempt n+1 after attempt n failed (n = 1, 2, ...); the first attempt is immediate.
pub const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(5 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
];
/// An endpoint failing without success for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 60 * 60);
/// The longest `Retry-After` honoured: beyond it the schedule applies.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether the endpoint `e` (a row of `webhook_endpoints`) belongs to merchant `$1` in mode `$2`, is enabled and
/// listens to the event type `event_type` (an SQL expression): the one condition an event's first fan-out (inside
/// the statement that writes the event: `journal`, `charges::change`) and a redelivery use.
pub(crate) fn listens(event_type: &str) -> String {
    format!(
        "e.merchant_id = $1 AND e.mode = $2 AND e.enabled
         AND ({event_type} = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))"
    )
}

/// The enabled endpoints of the scope subscribed to `event_type`: only `endpoint` when given, and only those
/// without a delivery of `lacking` when given.
async fn subscribed(
    conn: &mut PgConnection,
    scope: Scope,
    event_type: &str,
    endpoint: Option<&str>,
    lacking: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let select = format!(
        "SELECT e.id FROM webhook_endpoints e WHERE {}
           AND ($4::text IS NULL OR e.id = $4)
           AND ($5::text IS NULL OR NOT EXISTS (
               SELECT 1 FROM webhook_deliveries d
               WHERE d.event_id = $5 AND d.endpoint_id = e.id AND d.merchant_id = e.merchant_id))",
        listens("$3")
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(event_type)
        .bind(endpoint)
        .bind(lacking)
        .fetch_all(conn)
        .await
}

/// The channel a transaction that made deliveries due notifies. PostgreSQL delivers a notification when its
/// transaction commits, so a worker woken by it always finds the rows; idle workers wait on it
/// (`jobs::webhook_delivery::run`) instead of polling. Only transactions that make deliveries notify: a
/// notification takes a lock at commit, so a state change without endpoints never pays for it.
pub const DUE_CHANNEL: &str = "paygate_webhook_deliveries_due";

/// Creates the deliveries of event `event_id` to `endpoints` (those of the scope subscribed to it), in the
/// caller's transaction; nothing when there are none.
pub(crate) async fn create(
    conn: &mut PgConnection,
    scope: Scope,
    event_id: &str,
    endpoints: &[String],
) -> Result<(), sqlx::Error> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = endpoints.iter().map(|_| new_id::<DeliveryKind>().to_string()).collect();
    // The deliveries and the wake-up in one statement.
    sqlx::query(
        "WITH created AS (
             INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
             SELECT id, $1, endpoint, $2, $3, 'pending' FROM unnest($4::text[], $5::text[]) AS t(id, endpoint)
             RETURNING 1)
         SELECT pg_notify($6, '') WHERE EXISTS (SELECT 1 FROM created)",
    )
    .bind(event_id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(&ids)
    .bind(endpoints)
    .bind(DUE_CHANNEL)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends `event` again now, to every enabled endpoint subscribed to it or only to `endpoint`: its
/// deliveries are due again (except one being sent right now), and an endpoint subscribed since the event
/// gets a first delivery. Returns how many deliveries are due.
pub async fn redeliver(
    pool: &PgPool,
    scope: Scope,
    event: &EventRecord,
    endpoint: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let missing = subscribed(&mut tx, scope, &event.event_type, endpoint, Some(&event.id)).await?;
    create(&mut tx, scope, &event.id, &missing).await?;
    let due = sqlx::query(
        "UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), updated_at = now()
         FROM webhook_endpoints e
         WHERE d.endpoint_id = e.id AND e.merchant_id = d.merchant_id
           AND e.enabled AND d.event_id = $1 AND d.merchant_id = $2 AND d.mode = $3
           AND d.status <> 'delivering' AND ($4::text IS NULL OR d.endpoint_id = $4)",
    )
    .bind(&event.id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(endpoint)
    .execute(&mut *tx)
    .await?;
    if due.rows_affected() > 0 {
        sqlx::query("SELECT pg_notify($1, '')").bind(DUE_CHANNEL).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(due.rows_affected())
}

/// A `webhook_endpoint.test` event sent to `endpoint` only, whatever it subscribes to: the merchant checks that
/// its receiver takes and verifies Paygate's webhooks. `None` when there is no such enabled endpoint in the scope.
pub async fn send_test(
    pool: &PgPool,
    scope: Scope,
    endpoint: WebhookEndpointId,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let url: Option<String> = sqlx::query_scalar(
        "SELECT url FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND enabled",
    )
    .bind(endpoint)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(url) = url else { return Ok(None) };
    let id = new_id::<EventKind>().to_string();
    let object =
        serde_json::json!({ "object": { "id": endpoint.to_string(), "object": "webhook_endpoint", "url": url } });
    // Not through the journal's fan-out: no other endpoint gets another's test.
    sqlx::query("INSERT INTO events (id, merchant_id, mode, type, object_id, data) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind("webhook_endpoint.test")
        .bind(endpoint.to_string())
        .bind(object)
        .execute(&mut *tx)
        .await?;
    create(&mut tx, scope, &id, &[endpoint.to_string()]).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// One delivery of an endpoint's log: the event it carries and how it went.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointDelivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created: i64,
}

/// A page of `endpoint`'s deliveries, newest first (the dashboard's delivery log).
pub async fn of_endpoint(
    pool: &PgPool,
    scope: Scope,
    endpoint: WebhookEndpointId,
    page: &Page,
) -> Result<(Vec<EndpointDelivery>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("d.id", 4);
    let select = format!(
        "SELECT d.id, d.event_id, e.type AS event_type, d.status, d.attempts, d.last_status_code, d.last_error,
                extract(epoch FROM d.created_at)::bigint AS created
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id AND e.merchant_id = d.merchant_id
         WHERE d.endpoint_id = $1 AND d.merchant_id = $2 AND d.mode = $3 {cursor} {tail}"
    );
    let query =
        sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(endpoint.to_string()).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    endpoint_id: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    last_status_code: Option<i32>,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    delivery_id: String,
    attempt: i32,
    attempted_at: i64,
    status_code: Option<i32>,
    latency_ms: i32,
    error: Option<String>,
    response_excerpt: Option<String>,
}

/// An event's deliveries, each with every attempt, as the API shows them: two queries (the deliveries,
/// then all their attempts), put together here rather than as JSON built by the database.
pub async fn of_event(pool: &PgPool, scope: Scope, event_id: EventId) -> Result<Vec<WebhookDelivery>, sqlx::Error> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT id, endpoint_id, status, attempts, extract(epoch FROM next_attempt_at)::bigint AS next_attempt_at,
                last_status_code
         FROM webhook_deliveries WHERE event_id = $1 AND merchant_id = $2 AND mode = $3 ORDER BY id",
    )
    .bind(event_id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_all(pool)
    .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT delivery_id, attempt, extract(epoch FROM attempted_at)::bigint AS attempted_at, status_code, latency_ms,
                error, response_excerpt
         FROM webhook_attempts WHERE delivery_id = ANY($1) AND merchant_id = $2 ORDER BY delivery_id, attempt",
    )
    .bind(&ids)
    .bind(scope.merchant_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let attempt_log = attempts
                .iter()
                .filter(|a| a.delivery_id == r.id)
                .map(|a| DeliveryAttempt {
                    attempt: a.attempt,
                    at: Timestamp(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                })
                .collect();
            WebhookDelivery {
                next_attempt_at: (r.status == "pending").then_some(Timestamp(r.next_attempt_at)),
                id: r.id,
                object: "webhook_delivery",
                event: event_id.to_string(),
                endpoint: r.endpoint_id,
                status: r.status,
                attempts: r.attempts,
                last_status_code: r.last_status_code,
                attempt_log,
            }
        })
        .collect())
}

/// When to try again after failed attempt `attempts` (1-based), or `None` when the schedule is spent.
/// `jitter` is in [-1, 1] (the caller's randomness); `retry_after` is the receiver's wish, if any.
pub fn next_delay(attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
    let base = *SCHEDULE.get(attempts.checked_sub(1)? as usize)?;
    let jittered = base.mul_f64(1.0 + 0.1 * jitter.clamp(-1.0, 1.0));
    Some(match retry_after {
        Some(wish) if wish > jittered => wish.min(RETRY_AFTER_MAX),
        _ => jittered,
    })
}

/// Reads `Retry-After` as seconds (the HTTP-date form is rare for webhooks and treated as absent).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_standard_webhooks_with_bounded_jitter() {
        assert_eq!(next_delay(1, 0.0, None), Some(Duration::from_secs(5)));
        assert_eq!(next_delay(2, 0.0, None), Some(Duration::from_secs(300)));
        assert_eq!(next_delay(7, 0.0, None), Some(Duration::from_secs(36_000)));
        assert_eq!(next_delay(8, 0.0, None), None, "the schedule is spent after eight attempts");
        assert_eq!(next_delay(0, 0.0, None), None);
        assert_eq!(next_delay(3, 1.0, None), Some(Duration::from_secs(1_980)));
        assert_eq!(next_delay(3, -5.0, None), Some(Duration::from_secs(1_620)), "jitter is clamped to ±10 %");
    }

    #[test]
    fn a_longer_retry_after_wins_and_is_capped() {
        assert_eq!(next_delay(1, 0.0, Some(Duration::from_secs(60))), Some(Duration::from_secs(60)));
        assert_eq!(next_delay(2, 0.0, Some(Duration::from_secs(60))), Some(Duration::from_secs(300)));
        assert_eq!(next_delay(1, 0.0, Some(Duration::from_secs(1 << 40))), Some(RETRY_AFTER_MAX));
        assert_eq!(parse_retry_after(Some(" 120 ")), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
