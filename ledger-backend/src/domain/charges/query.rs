//! Reading charges, always scoped by merchant and mode: another merchant's charge, or a live charge
//! seen with a test key, is simply not found.

use super::ChargeError;
use super::record::{CHARGE_COLUMNS, ChargeRecord};
use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use sqlx::PgPool;

pub async fn get(pool: &PgPool, scope: Scope, id: paygate_core::id::ChargeId) -> Result<ChargeRecord, ChargeError> {
    crate::domain::scoped::find(pool, scope, "charges", CHARGE_COLUMNS, id).await?.ok_or(ChargeError::NotFound)
}

/// The filters of the charge list, besides the page.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    /// Unix seconds, inclusive.
    pub created_gte: Option<i64>,
    pub created_lte: Option<i64>,
}

/// A page of the merchant's charges, newest first, and whether more exist.
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    page: &Page,
    filter: &ListFilter,
) -> Result<(Vec<ChargeRecord>, bool), ChargeError> {
    let (cursor, tail) = page.sql("id", 6);
    let select = format!(
        "SELECT {CHARGE_COLUMNS} FROM charges
         WHERE merchant_id = $1 AND mode = $2
           AND ($3::text IS NULL OR status = $3)
           AND ($4::bigint IS NULL OR created_at >= to_timestamp($4))
           AND ($5::bigint IS NULL OR created_at <= to_timestamp($5))
           {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&filter.status)
        .bind(filter.created_gte)
        .bind(filter.created_lte);
    let rows: Vec<ChargeRecord> = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
