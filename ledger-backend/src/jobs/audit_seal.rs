//! Seals audit rows into the hash chain (see the audit migration for why sealing is asynchronous).
//! One sealer at a time, under an advisory lock; each batch extends the chain from `audit_chain_head`.
//!
//! A row's hash is SHA-256 over the previous hash and the row's fields, each length-prefixed so that
//! no choice of field contents can make two different rows hash alike.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Rows sealed per batch: large enough to keep up with thousands of writes a second, small enough to
/// keep the sealing transaction short.
pub const BATCH_ROWS_MAX: i64 = 1_000;
const ADVISORY_LOCK_KEY: i64 = 0x6175_6469; // "audi"

/// The fields of an audit row that the chain covers, as read back from the database.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub merchant_id: String,
    pub mode: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub request_id: String,
    /// `data::text`: jsonb's text form is canonical (keys sorted, whitespace fixed).
    pub data: String,
    pub created_at_micros: i64,
}

/// The SELECT list that reads an `AuditRow`.
pub const AUDIT_ROW_COLUMNS: &str = "id, merchant_id, mode, actor, action, object_type, object_id,
    coalesce(request_id, '') AS request_id, data::text AS data,
    (extract(epoch FROM created_at) * 1000000)::bigint AS created_at_micros";

pub fn chain_hash(prev_hash: &str, row: &AuditRow) -> String {
    let mut hasher = Sha256::new();
    let micros = row.created_at_micros.to_string();
    let fields = [
        prev_hash,
        &row.id,
        &row.merchant_id,
        &row.mode,
        &row.actor,
        &row.action,
        &row.object_type,
        &row.object_id,
        &row.request_id,
        &row.data,
        &micros,
    ];
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    paygate_core::hex::encode(&hasher.finalize())
}

/// Seals up to `BATCH_ROWS_MAX` unsealed rows. Returns how many; 0 when another sealer holds the lock.
pub async fn seal_batch(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(ADVISORY_LOCK_KEY).fetch_one(&mut *tx).await?;
    if !locked {
        return Ok(0);
    }
    let (mut seq, mut hash): (i64, String) =
        sqlx::query_as("SELECT last_seq, last_hash FROM audit_chain_head FOR UPDATE").fetch_one(&mut *tx).await?;
    let select = format!("SELECT {AUDIT_ROW_COLUMNS} FROM audit_log WHERE hash IS NULL ORDER BY id LIMIT $1");
    let rows: Vec<AuditRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(BATCH_ROWS_MAX).fetch_all(&mut *tx).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let (mut ids, mut seqs, mut prevs, mut hashes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        seq += 1;
        let next = chain_hash(&hash, row);
        ids.push(row.id.clone());
        seqs.push(seq);
        prevs.push(std::mem::replace(&mut hash, next.clone()));
        hashes.push(next);
    }
    sqlx::query(
        "UPDATE audit_log SET chain_seq = u.seq, prev_hash = u.prev, hash = u.hash
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS u(id, seq, prev, hash)
         WHERE audit_log.id = u.id",
    )
    .bind(&ids)
    .bind(&seqs)
    .bind(&prevs)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE audit_chain_head SET last_seq = $1, last_hash = $2")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Seals until nothing is left (used by tests and by `audit` before it verifies).
pub async fn seal_all(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut total = 0;
    loop {
        let sealed = seal_batch(pool).await?;
        total += sealed;
        if sealed < BATCH_ROWS_MAX as usize {
            return Ok(total);
        }
    }
}
