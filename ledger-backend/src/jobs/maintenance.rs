//! Housekeeping: partitions ahead of time, and forgetting expired Idempotency-Key records.

use sqlx::PgPool;

/// Records deleted per run, to keep each delete short.
pub const EXPIRED_KEYS_BATCH_MAX: i64 = 10_000;

/// Forgets replay-guard digests older than the signature window (twice it, for clock skew).
pub async fn forget_seen_requests(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM seen_requests WHERE seen_at < now() - interval '2 minutes'").execute(pool).await?;
    Ok(())
}

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
