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

/// The filters of the charge list, besides the page. The API takes the first three; the dashboard all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Option<String>,
    /// Unix seconds, inclusive.
    pub created_gte: Option<i64>,
    pub created_lte: Option<i64>,
    pub currency: Option<String>,
    pub card_brand: Option<String>,
    pub payment_method: Option<String>,
    /// Minor units, inclusive.
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// The connector that took it.
    pub processor: Option<String>,
    pub card_last4: Option<String>,
    pub id: Option<String>,
    /// A value of any metadata key.
    pub metadata_value: Option<String>,
}

/// A page of the merchant's charges, newest first, and whether more exist.
pub async fn list(
    pool: &PgPool,
    scope: Scope,
    page: &Page,
    filter: &ListFilter,
) -> Result<(Vec<ChargeRecord>, bool), ChargeError> {
    let (cursor, tail) = page.sql("id", 15);
    let select = format!(
        "SELECT {CHARGE_COLUMNS} FROM charges
         WHERE merchant_id = $1 AND mode = $2
           AND ($3::text IS NULL OR status = $3)
           AND ($4::bigint IS NULL OR created_at >= to_timestamp($4))
           AND ($5::bigint IS NULL OR created_at <= to_timestamp($5))
           AND ($6::text IS NULL OR currency = $6)
           AND ($7::text IS NULL OR card_brand = $7)
           AND ($8::text IS NULL OR payment_method = $8)
           AND ($9::bigint IS NULL OR amount >= $9)
           AND ($10::bigint IS NULL OR amount <= $10)
           AND ($11::text IS NULL OR processor = $11)
           AND ($12::text IS NULL OR card_last4 = $12)
           AND ($13::text IS NULL OR id = $13)
           AND ($14::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_each_text(metadata) m WHERE m.value = $14))
           {cursor} {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&filter.status)
        .bind(filter.created_gte)
        .bind(filter.created_lte)
        .bind(&filter.currency)
        .bind(&filter.card_brand)
        .bind(&filter.payment_method)
        .bind(filter.amount_min)
        .bind(filter.amount_max)
        .bind(&filter.processor)
        .bind(&filter.card_last4)
        .bind(&filter.id)
        .bind(&filter.metadata_value);
    let rows: Vec<ChargeRecord> = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
