//! API keys. The key itself is shown once, at creation; only its keyed hash is stored (docs/design.md §5),
//! and the edge looks keys up by that hash. Revocation is a timestamp, never a deletion, so the audit
//! trail of who used which key survives.

use crate::domain::journal::{self, AuditEntry};
use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use crate::ids::new_id;
use crate::wire;
use paygate_core::Mode;
use paygate_core::api_key::{API_KEY_RANDOM_CHARS, ApiKey, KeyKind};
use paygate_core::id::{ApiKeyId, ApiKeyKind, MerchantId};
use paygate_core::signature::keyed_hash::api_key_hash;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

/// The server pepper for API-key hashes, shared by the edge and the backend. `Debug` never shows it.
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    /// At least 32 bytes, like every HMAC key here.
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= 32).then_some(Pepper(bytes))
    }

    pub fn hash(&self, key: &str) -> String {
        api_key_hash(&self.0, key)
    }
}

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(***)")
    }
}

/// What the edge learns from a lookup: enough to authorise and forward, nothing more (core's shape).
pub use paygate_core::internal::KeyIdentity;

/// Issues a key for `merchant` and returns it with its id, audited. The caller shows `ApiKey::expose()` once.
pub async fn issue(
    pool: &PgPool,
    pepper: &Pepper,
    merchant: MerchantId,
    mode: Mode,
    kind: KeyKind,
) -> Result<(ApiKeyId, ApiKey), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let issued = create(&mut tx, pepper, merchant, mode, kind).await?;
    tx.commit().await?;
    Ok(issued)
}

/// `issue` in the caller's transaction (sign-up makes the merchant and its keys in one).
pub async fn create(
    conn: &mut PgConnection,
    pepper: &Pepper,
    merchant: MerchantId,
    mode: Mode,
    kind: KeyKind,
) -> Result<(ApiKeyId, ApiKey), sqlx::Error> {
    let mut random = [0u8; API_KEY_RANDOM_CHARS];
    getrandom::fill(&mut random).expect("the operating system's random source is unavailable");
    let key = ApiKey::generate(kind, mode, random);
    let id: ApiKeyId = new_id::<ApiKeyKind>();
    sqlx::query(
        "INSERT INTO api_keys (id, merchant_id, mode, kind, key_hash, redacted) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(merchant)
    .bind(mode)
    .bind(kind.as_str())
    .bind(pepper.hash(key.expose()))
    .bind(key.redacted())
    .execute(&mut *conn)
    .await?;
    let data = json!({ "kind": kind.as_str(), "redacted": key.redacted() });
    audit(conn, merchant, mode, "api_key.created", id, data).await?;
    Ok((id, key))
}

async fn audit(
    conn: &mut PgConnection,
    merchant: MerchantId,
    mode: Mode,
    action: &str,
    id: ApiKeyId,
    data: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let actor = crate::domain::actor::current();
    let entry = AuditEntry {
        actor: &actor,
        action,
        object_type: "api_key",
        object_id: &id.to_string(),
        request_id: None,
        data,
    };
    journal::audit(conn, Scope { merchant_id: merchant, mode }, entry).await
}

/// Revokes a key of `merchant` in `mode` (once; audited) and returns its hash, for telling the edge to forget it.
/// `None` when there is no such key for them, which the API answers as 404, never revealing another's key.
pub async fn revoke(
    pool: &PgPool,
    merchant: MerchantId,
    mode: Mode,
    id: ApiKeyId,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let active: Option<bool> = sqlx::query_scalar(
        "SELECT revoked_at IS NULL FROM api_keys WHERE id = $1 AND merchant_id = $2 AND mode = $3 FOR UPDATE",
    )
    .bind(id.to_string())
    .bind(merchant)
    .bind(mode)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(active) = active else { return Ok(None) };
    let hash: String = sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
         WHERE id = $1 AND merchant_id = $2 AND mode = $3 RETURNING key_hash",
    )
    .bind(id.to_string())
    .bind(merchant)
    .bind(mode)
    .fetch_one(&mut *tx)
    .await?;
    if active {
        audit(&mut tx, merchant, mode, "api_key.revoked", id, json!({})).await?;
    }
    tx.commit().await?;
    Ok(Some(hash))
}

/// Active (unrevoked) key by its hash, for the edge.
pub async fn lookup(pool: &PgPool, key_hash: &str) -> Result<Option<KeyIdentity>, sqlx::Error> {
    let row: Option<(String, String, String, String)> =
        // Before a merchant is known: the one cross-merchant read the API may make (migration 0010).
        sqlx::query_as("SELECT id, merchant_id, mode, kind FROM api_key_identity($1)")
            .bind(key_hash)
            .fetch_optional(pool)
            .await?;
    if row.is_some() {
        // "Last used" for the merchant's key list: the edge asks on a cache miss, so this is at most a write a
        // minute per key (migration 0022).
        sqlx::query("SELECT api_key_used($1)").bind(key_hash).execute(pool).await?;
    }
    Ok(row.and_then(|(key_id, merchant_id, mode, kind)| {
        Some(KeyIdentity { key_id, merchant_id, mode: Mode::parse(&mode)?, kind: KeyKind::parse(&kind)? })
    }))
}

/// A page of the merchant's keys in `mode`, newest first, and whether more exist.
pub async fn list(
    pool: &PgPool,
    merchant: MerchantId,
    mode: Mode,
    page: &Page,
) -> Result<(Vec<wire::ApiKey>, bool), sqlx::Error> {
    let (rows, has_more) = page.finish(views(pool, merchant, mode, None, page).await?);
    Ok((rows, has_more))
}

/// One of the merchant's keys in `mode`.
pub async fn get(
    pool: &PgPool,
    merchant: MerchantId,
    mode: Mode,
    id: ApiKeyId,
) -> Result<Option<wire::ApiKey>, sqlx::Error> {
    let one = Page { limit: 1, ..Page::default() };
    Ok(views(pool, merchant, mode, Some(&id.to_string()), &one).await?.pop())
}

async fn views(
    pool: &PgPool,
    merchant: MerchantId,
    mode: Mode,
    id: Option<&str>,
    page: &Page,
) -> Result<Vec<wire::ApiKey>, sqlx::Error> {
    let (cursor, tail) = page.sql("id", 4);
    let select = format!(
        "SELECT id, kind, redacted, extract(epoch FROM created_at)::bigint, extract(epoch FROM revoked_at)::bigint,
                extract(epoch FROM last_used_at)::bigint
         FROM api_keys WHERE merchant_id = $1 AND mode = $2 AND ($3::text IS NULL OR id = $3) {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(merchant).bind(mode).bind(id);
    // id, kind, redacted, created, revoked, last used.
    type Row = (String, String, String, i64, Option<i64>, Option<i64>);
    let rows: Vec<Row> = page.bind(query).fetch_all(pool).await?;
    rows.into_iter()
        .map(|(id, kind, redacted, created, revoked, last_used)| {
            // A stored kind we cannot read is a broken row: loud, never silently left out of the list.
            let kind = KeyKind::parse(&kind)
                .ok_or_else(|| sqlx::Error::Decode(format!("api key {id}: kind {kind:?}").into()))?;
            Ok(wire::ApiKey::new(id, kind, mode, redacted, created, revoked, last_used))
        })
        .collect()
}
