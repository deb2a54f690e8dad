//! The merchant's journal (`GET /v1/ledger/transactions`): each journal transaction with its entries.

use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use crate::wire::{LedgerEntry, LedgerTransaction};
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct JournalRow {
    id: String,
    kind: String,
    charge_id: Option<String>,
    refund_id: Option<String>,
    created: i64,
    /// The lines in order, as three parallel arrays (the JSON is ours to write, not the database's).
    accounts: Vec<String>,
    currencies: Vec<String>,
    amounts: Vec<i64>,
}

/// A page of the merchant's journal transactions, each with its lines, and whether more exist.
pub async fn list(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<LedgerTransaction>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("t.id", 3);
    // Grouped by the transaction's whole key (id, merchant_id), so its other columns may be selected.
    let select = format!(
        "SELECT t.id, t.kind, t.charge_id, t.refund_id, extract(epoch FROM t.created_at)::bigint AS created,
                array_agg(a.kind ORDER BY e.line) AS accounts, array_agg(e.currency ORDER BY e.line) AS currencies,
                array_agg(e.amount ORDER BY e.line) AS amounts
         FROM ledger_transactions t
         JOIN ledger_entries e ON e.transaction_id = t.id AND e.merchant_id = t.merchant_id
         JOIN ledger_accounts a ON a.id = e.account_id AND a.merchant_id = e.merchant_id
         WHERE t.merchant_id = $1 AND t.mode = $2 {cursor}
         GROUP BY t.id, t.merchant_id {tail}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode);
    let rows: Vec<JournalRow> = page.bind(query).fetch_all(pool).await?;
    let objects = rows
        .into_iter()
        .map(|row| {
            let entries = (row.accounts.into_iter().zip(row.currencies).zip(row.amounts))
                .map(|((account, currency), amount)| LedgerEntry { account, currency, amount })
                .collect();
            let subject = (row.charge_id, row.refund_id);
            LedgerTransaction::new(row.id, scope.mode.is_live(), row.kind, subject, row.created, entries)
        })
        .collect();
    Ok(page.finish(objects))
}
