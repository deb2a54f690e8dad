//! Reading charges, always scoped by merchant and mode: another merchant's charge, or a live charge
//! seen with a test key, is simply not found.

use super::ChargeError;
use super::record::{CHARGE_COLUMNS, ChargeRecord};
use crate::domain::journal::Scope;
use sqlx::PgPool;

pub async fn get(pool: &PgPool, scope: Scope, id: &str) -> Result<ChargeRecord, ChargeError> {
    let select = format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = $1 AND merchant_id = $2 AND mode = $3");
    sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(id)
        .bind(scope.merchant_id.to_string())
        .bind(scope.mode.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or(ChargeError::NotFound)
}

/// A page of the merchant's charges, newest first. Cursors are charge ids: `starting_after` pages
/// towards older charges, `ending_before` towards newer ones.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub limit: i64,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
    pub status: Option<String>,
    /// Unix seconds, inclusive.
    pub created_gte: Option<i64>,
    pub created_lte: Option<i64>,
}

/// Returns up to `limit` charges and whether more exist in the paging direction.
pub async fn list(pool: &PgPool, scope: Scope, filter: &ListFilter) -> Result<(Vec<ChargeRecord>, bool), ChargeError> {
    let backwards = filter.ending_before.is_some();
    let select = format!(
        "SELECT {CHARGE_COLUMNS} FROM charges
         WHERE merchant_id = $1 AND mode = $2
           AND ($3::text IS NULL OR id < $3) AND ($4::text IS NULL OR id > $4)
           AND ($5::text IS NULL OR status = $5)
           AND ($6::bigint IS NULL OR created_at >= to_timestamp($6))
           AND ($7::bigint IS NULL OR created_at <= to_timestamp($7))
         ORDER BY id {} LIMIT $8",
        if backwards { "ASC" } else { "DESC" }
    );
    let mut rows: Vec<ChargeRecord> = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id.to_string())
        .bind(scope.mode.as_str())
        .bind(&filter.starting_after)
        .bind(&filter.ending_before)
        .bind(&filter.status)
        .bind(filter.created_gte)
        .bind(filter.created_lte)
        .bind(filter.limit + 1)
        .fetch_all(pool)
        .await?;
    let has_more = rows.len() as i64 > filter.limit;
    rows.truncate(filter.limit as usize);
    if backwards {
        rows.reverse();
    }
    Ok((rows, has_more))
}
