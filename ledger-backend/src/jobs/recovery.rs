//! Resolves charges whose authorization outcome is not known: the processor answered neither yes nor
//! no (timeout, 5xx), or this process died between recording the attempt and applying the answer.
//! It asks the processor what it knows under the attempt id, and applies that through the same code
//! path as a live answer. Attempts younger than `SETTLE_AFTER` are left alone: they may still be in
//! flight in another process, or still being processed by the processor, whose "not found" is only
//! final once no request of ours can still arrive. `SETTLE_AFTER` must therefore exceed the longest a
//! request can take to land; should a processor ever approve later than that, the settlement report
//! shows a capture the ledger lacks, and reconciliation raises it.

use crate::domain::charges::{self, ChargeError};
use crate::domain::journal::Scope;
use crate::processors::{AuthorizationLookup, AuthorizeOutcome, Connector};
use paygate_core::Mode;
use paygate_core::id::MerchantId;
use sqlx::PgPool;
use std::time::Duration;

pub const BATCH_ROWS_MAX: i64 = 100;
/// Longer than any processor timeout, so an attempt this old is not still in flight.
pub const SETTLE_AFTER: Duration = Duration::from_secs(30);

/// Resolves what it can; returns how many charges it resolved.
pub async fn run_once(pool: &PgPool, connector: &Connector, settle_after: Duration) -> Result<usize, sqlx::Error> {
    let stuck: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT a.id, c.id, c.merchant_id, c.mode FROM charge_attempts a
         JOIN charges c ON c.id = a.charge_id
         WHERE a.operation = 'authorize' AND a.outcome IN ('started', 'unknown') AND c.status = 'pending'
           AND a.created_at < now() - make_interval(secs => $1)
         ORDER BY a.id LIMIT $2",
    )
    .bind(settle_after.as_secs_f64())
    .bind(BATCH_ROWS_MAX)
    .fetch_all(pool)
    .await?;
    let mut resolved = 0;
    for (attempt_id, charge_id, merchant, mode) in stuck {
        let (Ok(merchant_id), Some(mode)) = (MerchantId::parse(&merchant), Mode::parse(&mode)) else { continue };
        let outcome = match connector.find_authorization(&attempt_id).await {
            AuthorizationLookup::Approved { processor_reference, amount_captured, .. } => {
                AuthorizeOutcome::Approved { processor_reference, captured: amount_captured > 0, card: None }
            }
            AuthorizationLookup::Declined { code } => AuthorizeOutcome::Declined { code, card: None },
            // The processor never saw it: nothing was authorized, so the charge fails.
            AuthorizationLookup::NotFound => AuthorizeOutcome::Declined { code: "processing_error".into(), card: None },
            AuthorizationLookup::Unknown { detail } => {
                tracing::warn!(%charge_id, %detail, "processor still unreachable; retrying next run");
                continue;
            }
        };
        match charges::apply_authorization(pool, Scope { merchant_id, mode }, &charge_id, &attempt_id, outcome).await {
            Ok(_) => resolved += 1,
            Err(ChargeError::Database(e)) => return Err(e),
            Err(error) => tracing::warn!(%charge_id, %error, "recovery left for the next run"),
        }
    }
    Ok(resolved)
}
