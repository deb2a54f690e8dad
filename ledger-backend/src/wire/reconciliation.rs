//! Reconciliation runs and exceptions as the API answers them (and the CSV export writes them).

use super::{Timestamp, livemode};
use crate::domain::settlement::exceptions::{ExceptionRecord, RunRecord};
use crate::domain::settlement::payouts::PayoutRecord;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct ReconciliationException {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub processor_account: String,
    pub category: String,
    /// What it is about, the same in every run that finds it (`row:<processor row>`, `charge:ch_…`, ...).
    pub subject: String,
    pub charge: Option<String>,
    pub refund: Option<String>,
    pub settlement_report: Option<String>,
    /// The report line it was found on.
    pub line: Option<i64>,
    pub currency: Option<String>,
    /// Minor units: what Paygate's ledger says and what the processor reported (signed as the report: refunds
    /// negative), when the category compares amounts.
    pub expected_amount: Option<i64>,
    pub actual_amount: Option<i64>,
    pub detail: String,
    pub state: String,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    /// The correcting journal entry made when it was resolved, if any.
    pub ledger_transaction: Option<String>,
    pub first_run: String,
    pub last_run: String,
    pub opened: Timestamp,
    pub last_seen: Timestamp,
}

impl From<&ExceptionRecord> for ReconciliationException {
    fn from(e: &ExceptionRecord) -> Self {
        ReconciliationException {
            id: e.id.clone(),
            object: "reconciliation_exception",
            livemode: livemode(e.mode),
            processor_account: e.processor_account_id.clone(),
            category: e.category.clone(),
            subject: e.subject.clone(),
            charge: e.charge_id.clone(),
            refund: e.refund_id.clone(),
            settlement_report: e.report_id.clone(),
            line: e.line,
            currency: e.currency.clone(),
            expected_amount: e.expected_amount,
            actual_amount: e.actual_amount,
            detail: e.detail.clone(),
            state: e.state.clone(),
            note: e.note.clone(),
            resolved_by: e.resolved_by.clone(),
            resolved_at: e.resolved_at.map(Timestamp),
            ledger_transaction: e.ledger_transaction_id.clone(),
            first_run: e.first_run_id.clone(),
            last_run: e.last_run_id.clone(),
            opened: Timestamp(e.opened_at),
            last_seen: Timestamp(e.last_seen_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ReconciliationRun {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub processor_account: String,
    pub settlement_report: Option<String>,
    pub as_of: Timestamp,
    pub rows_matched: i64,
    /// Exceptions this run found, per category.
    pub exceptions: Value,
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
}

impl From<&RunRecord> for ReconciliationRun {
    fn from(r: &RunRecord) -> Self {
        ReconciliationRun {
            id: r.id.clone(),
            object: "reconciliation_run",
            livemode: livemode(r.mode),
            processor_account: r.processor_account_id.clone(),
            settlement_report: r.report_id.clone(),
            as_of: Timestamp(r.as_of),
            rows_matched: i64::from(r.rows_matched),
            exceptions: r.exceptions.clone(),
            started: Timestamp(r.started_at),
            finished: r.finished_at.map(Timestamp),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Payout {
    pub id: String,
    object: &'static str,
    pub livemode: bool,
    pub processor_account: String,
    /// The processor's id of the payout (Stripe `po_…`, a batch number).
    pub processor_payout: String,
    pub currency: String,
    /// Minor units paid to the merchant's bank.
    pub amount: i64,
    pub status: String,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl From<&PayoutRecord> for Payout {
    fn from(p: &PayoutRecord) -> Self {
        Payout {
            id: p.id.clone(),
            object: "payout",
            livemode: livemode(p.mode),
            processor_account: p.processor_account_id.clone(),
            processor_payout: p.processor_payout.clone(),
            currency: p.currency.clone(),
            amount: p.amount,
            status: p.status.clone(),
            created: Timestamp(p.created),
            updated: Timestamp(p.updated),
        }
    }
}
