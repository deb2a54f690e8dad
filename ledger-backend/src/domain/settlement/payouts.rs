//! Payouts: what reached the merchant's bank, as reconciliation booked it from the processors' reports.

use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use paygate_core::id::PayoutId;
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutRecord {
    pub id: String,
    pub mode: paygate_core::Mode,
    pub processor_account_id: String,
    pub processor_payout: String,
    pub currency: String,
    pub amount: i64,
    pub status: String,
    pub created: i64,
    pub updated: i64,
}

const COLUMNS: &str = "id, mode, processor_account_id, processor_payout, currency, amount, status,
    extract(epoch FROM created_at)::bigint AS created, extract(epoch FROM updated_at)::bigint AS updated";

pub async fn get_in(conn: &mut PgConnection, scope: Scope, id: &str) -> Result<PayoutRecord, sqlx::Error> {
    let select = format!("SELECT {COLUMNS} FROM payouts WHERE id = $1 AND merchant_id = $2 AND mode = $3");
    sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(id).bind(scope.merchant_id).bind(scope.mode).fetch_one(conn).await
}

pub async fn get(pool: &PgPool, scope: Scope, id: PayoutId) -> Result<Option<PayoutRecord>, sqlx::Error> {
    crate::domain::scoped::find(pool, scope, "payouts", COLUMNS, id).await
}

pub async fn list(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<PayoutRecord>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("id", 3);
    let select = format!("SELECT {COLUMNS} FROM payouts WHERE merchant_id = $1 AND mode = $2 {cursor} {tail}");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}
