//! The merchant's journal as the API answers it: each ledger transaction with its lines.

use super::Timestamp;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct LedgerTransaction {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub kind: String,
    pub charge: Option<String>,
    pub refund: Option<String>,
    pub created: Timestamp,
    /// Debits positive, credits negative; the lines of a transaction sum to zero per currency.
    pub entries: Vec<LedgerEntry>,
}

#[derive(Debug, Serialize)]
pub struct LedgerEntry {
    pub account: String,
    pub currency: String,
    pub amount: i64,
}

impl LedgerTransaction {
    pub fn new(
        id: String,
        livemode: bool,
        kind: String,
        (charge, refund): (Option<String>, Option<String>),
        created: i64,
        entries: Vec<LedgerEntry>,
    ) -> Self {
        LedgerTransaction {
            id,
            object: "ledger_transaction",
            livemode,
            kind,
            charge,
            refund,
            created: Timestamp(created),
            entries,
        }
    }
}
