//! Housekeeping: partitions ahead of time, and forgetting expired Idempotency-Key records.

use sqlx::PgPool;

/// Records deleted per run, to keep each delete short.
pub const EXPIRED_KEYS_BATCH_MAX: i64 = 10_000;

pub async fn run_once(pool: &PgPool) -> Result<(), sqlx::Error> {
    crate::db::partitions::ensure(pool, crate::ids::unix_seconds_now()).await?;
    sqlx::query(
        "DELETE FROM idempotency_records WHERE ctid IN (
             SELECT ctid FROM idempotency_records WHERE expires_at < now() LIMIT $1)",
    )
    .bind(EXPIRED_KEYS_BATCH_MAX)
    .execute(pool)
    .await?;
    Ok(())
}
