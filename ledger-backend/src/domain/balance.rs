//! A merchant's balance, per currency, recomputed from ledger entries on every read (there are no
//! balance columns to drift). The merchant's accounts are liabilities, so their credits (negative
//! entries) are what the merchant is owed.

use paygate_core::id::MerchantId;
use paygate_core::{Currency, Mode};
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BalanceAmount {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Balance {
    pub object: &'static str,
    pub livemode: bool,
    /// Captured, less fees and refunds, not yet settled by the processor.
    pub pending: Vec<BalanceAmount>,
    /// Settled and payable to the merchant.
    pub available: Vec<BalanceAmount>,
}

pub async fn of(pool: &PgPool, merchant: MerchantId, mode: Mode) -> Result<Balance, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.currency, a.kind, coalesce(-sum(e.amount), 0)::bigint
         FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id AND e.merchant_id = a.merchant_id
         WHERE a.merchant_id = $1 AND a.mode = $2 AND a.kind IN ('merchant_pending', 'merchant_available')
         GROUP BY a.currency, a.kind ORDER BY a.currency",
    )
    .bind(merchant)
    .bind(mode)
    .fetch_all(pool)
    .await?;
    let mut balance =
        Balance { object: "balance", livemode: mode.is_live(), pending: Vec::new(), available: Vec::new() };
    for (currency, kind, amount) in rows {
        // Stored codes were checked on the way in; re-parse to keep the wire format canonical.
        let currency = Currency::parse(&currency).map(|c| c.code().to_owned()).unwrap_or(currency);
        let line = BalanceAmount { amount, currency };
        if kind == "merchant_pending" { balance.pending.push(line) } else { balance.available.push(line) }
    }
    Ok(balance)
}
