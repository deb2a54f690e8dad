//! The merchant's journal (`GET /v1/ledger/transactions`): each journal transaction with its entries.

use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use paygate_core::time::rfc3339;
use serde_json::{Value, json};
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct JournalRow {
    id: String,
    kind: String,
    charge_id: Option<String>,
    refund_id: Option<String>,
    created: i64,
    entries: Value,
}

/// A page of the merchant's journal transactions, each with its lines, and whether more exist.
pub async fn list(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<Value>, bool), sqlx::Error> {
    let select = format!(
        "SELECT t.id, t.kind, t.charge_id, t.refund_id, extract(epoch FROM t.created_at)::bigint AS created,
                coalesce(json_agg(json_build_object('account', a.kind, 'currency', e.currency, 'amount', e.amount)
                         ORDER BY e.line), '[]') AS entries
         FROM ledger_transactions t
         JOIN ledger_entries e ON e.transaction_id = t.id
         JOIN ledger_accounts a ON a.id = e.account_id
         WHERE t.merchant_id = $1 AND t.mode = $2 AND ($3::text IS NULL OR t.id < $3) AND ($4::text IS NULL OR t.id > $4)
         GROUP BY t.id ORDER BY t.id {} LIMIT $5",
        page.order()
    );
    let rows: Vec<JournalRow> = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&page.starting_after)
        .bind(&page.ending_before)
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .await?;
    let objects = rows
        .into_iter()
        .map(|row| {
            json!({
                "id": row.id,
                "object": "ledger_transaction",
                "livemode": scope.mode.is_live(),
                "kind": row.kind,
                "charge": row.charge_id,
                "refund": row.refund_id,
                "created": rfc3339(row.created),
                // Debits positive, credits negative; the lines of a transaction sum to zero.
                "entries": row.entries,
            })
        })
        .collect();
    Ok(page.finish(objects))
}
