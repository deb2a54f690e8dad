//! Voids authorizations left uncaptured past `authorization_expires_at` (docs/design.md §3). Each charge goes
//! through the same claim as a capture or void, so a capture racing the expiry applies at most one of
//! them; `SKIP LOCKED` lets several workers share the batch.

use crate::domain::charges::{self, ChargeError, Operation};
use crate::domain::tenancy::Scope;
use crate::processors::Processors;
use paygate_core::Mode;
use paygate_core::id::{ChargeId, MerchantId};
use sqlx::PgPool;

/// Authorizations expired per run.
pub const BATCH_ROWS_MAX: i64 = 100;

/// Expires what is due; returns how many charges it expired.
pub async fn run_once(pool: &PgPool, processors: &Processors) -> Result<usize, sqlx::Error> {
    crate::domain::actor::scope("system:expiry".into(), expire_due(pool, processors)).await
}

async fn expire_due(pool: &PgPool, processors: &Processors) -> Result<usize, sqlx::Error> {
    let due: Vec<(ChargeId, MerchantId, Mode)> = sqlx::query_as(
        "SELECT id, merchant_id, mode FROM charges
         WHERE status = 'authorized' AND pending_operation IS NULL AND authorization_expires_at < now()
         ORDER BY authorization_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(BATCH_ROWS_MAX)
    .fetch_all(pool)
    .await?;
    let mut expired = 0;
    for (id, merchant_id, mode) in due {
        match charges::operate(pool, processors, Scope { merchant_id, mode }, id, Operation::Expire).await {
            Ok(_) => expired += 1,
            // Captured, voided or claimed meanwhile: not ours to expire any more.
            Err(ChargeError::Transition(_) | ChargeError::OperationInFlight) => {}
            Err(ChargeError::Database(e)) => return Err(e),
            Err(error) => tracing::warn!(charge_id = %id, %error, "expiry left for the next run"),
        }
    }
    Ok(expired)
}
