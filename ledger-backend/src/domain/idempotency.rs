//! The backend's own Idempotency-Key records (docs/design.md §5): whatever the edge remembers, a retried
//! request finds the object the first one created, and a different request under the same key is
//! refused. The claim is an insert into the same transaction that creates the object, so concurrent
//! requests with one key queue on it and exactly one creates.

use crate::domain::tenancy::Scope;
use sqlx::{PgConnection, PgPool};

/// How long the backend remembers a key (the edge keeps its own record for 24 hours).
pub const IDEMPOTENCY_TTL_DAYS: i32 = 30;

/// One Idempotency-Key as presented with a request.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    pub key: &'a str,
    /// SHA-256 (hex) of method, path and body.
    pub fingerprint: &'a str,
    /// `charge` or `refund`.
    pub object_type: &'static str,
}

/// The claim of a key, for a statement of its own or as a part of one that writes the object too
/// (`WITH claimed AS (… RETURNING …)`), written only where `condition` holds; its parameters, numbered from
/// `$first`: merchant, mode, key, fingerprint, object type, object id, days to keep it. It writes nothing when an
/// earlier request holds the key.
pub fn claim_sql(first: usize, condition: &str) -> String {
    let [merchant, mode, key, fingerprint, object_type, object_id, days] = std::array::from_fn(|i| first + i);
    format!(
        "INSERT INTO idempotency_records (merchant_id, mode, key, fingerprint, object_type, object_id, expires_at)
         SELECT ${merchant}, ${mode}, ${key}, ${fingerprint}, ${object_type}, ${object_id},
                now() + make_interval(days => ${days})
         WHERE {condition}
         ON CONFLICT (merchant_id, mode, key) DO NOTHING"
    )
}

/// Claims the key for `object_id` inside `conn`'s transaction. False when an earlier request holds it.
pub async fn claim(
    conn: &mut PgConnection,
    scope: Scope,
    key: KeyUse<'_>,
    object_id: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(sqlx::AssertSqlSafe(claim_sql(1, "true")))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(key.key)
        .bind(key.fingerprint)
        .bind(key.object_type)
        .bind(object_id)
        .bind(IDEMPOTENCY_TTL_DAYS)
        .execute(conn)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Whether an earlier request holds the key (for the same request or not).
pub async fn held(pool: &PgPool, scope: Scope, key: KeyUse<'_>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM idempotency_records WHERE merchant_id = $1 AND mode = $2 AND key = $3)",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(key.key)
    .fetch_one(pool)
    .await
}

/// The object an earlier request with this key created: `Ok(Some(id))` when it was the same request,
/// `Ok(None)` when the key was used for a different request (or a different kind of object).
pub async fn earlier(pool: &PgPool, scope: Scope, key: KeyUse<'_>) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT fingerprint, object_type, object_id FROM idempotency_records
         WHERE merchant_id = $1 AND mode = $2 AND key = $3",
    )
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(key.key)
    .fetch_optional(pool)
    .await?;
    Ok(row
        .filter(|(fingerprint, object_type, _)| fingerprint == key.fingerprint && object_type == key.object_type)
        .map(|r| r.2))
}
