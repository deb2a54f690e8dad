//! Deliveries: one row per (event, endpoint), created with the event (`fan_out`, inside the event's
//! transaction), then claimed, sent and rescheduled by the delivery worker (`jobs::webhook_delivery`).
//!
//! The retry schedule is Standard Webhooks' (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each
//! step with ±10 % jitter so retries to a recovering receiver do not arrive in a wave; a `Retry-After`
//! from the receiver (429, 503) is honoured when it is longer. After the last attempt the delivery is
//! failed; an endpoint that has failed without a single success for `DISABLE_AFTER` is disabled.

use crate::domain::journal::Scope;
use crate::ids::new_id;
use paygate_core::id::DeliveryKind;
use sqlx::PgConnection;
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

/// Creates the deliveries of event `event_id` (type `event_type`) for every enabled endpoint of the scope
/// subscribed to it, in the caller's transaction.
pub async fn fan_out(
    conn: &mut PgConnection,
    scope: Scope,
    event_id: &str,
    event_type: &str,
) -> Result<(), sqlx::Error> {
    let endpoints: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints
         WHERE merchant_id = $1 AND mode = $2 AND enabled AND ($3 = ANY(enabled_events) OR '*' = ANY(enabled_events))",
    )
    .bind(scope.merchant_id.to_string())
    .bind(scope.mode.as_str())
    .bind(event_type)
    .fetch_all(&mut *conn)
    .await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = endpoints.iter().map(|_| new_id::<DeliveryKind>().to_string()).collect();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
         SELECT id, $1, endpoint, $2, $3, 'pending' FROM unnest($4::text[], $5::text[]) AS t(id, endpoint)",
    )
    .bind(event_id)
    .bind(scope.merchant_id.to_string())
    .bind(scope.mode.as_str())
    .bind(&ids)
    .bind(&endpoints)
    .execute(conn)
    .await?;
    Ok(())
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
