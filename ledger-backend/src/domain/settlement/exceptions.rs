//! Reconciliation exceptions as data an operator works: listed with filters, read, acknowledged (seen, being
//! looked at) or resolved with a note. Every change is audited with the actor that made it. Runs are listed here
//! too. A resolved exception stays resolved until a run finds its inputs changed (`matching`).

use crate::domain::journal::{self, AuditEntry};
use crate::domain::page::Page;
use crate::domain::tenancy::Scope;
use paygate_core::id::{ReconciliationExceptionId, ReconciliationRunId};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

pub const STATES: [&str; 3] = ["open", "acknowledged", "resolved"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExceptionRecord {
    pub id: String,
    pub mode: paygate_core::Mode,
    pub processor_account_id: String,
    pub category: String,
    pub subject: String,
    pub charge_id: Option<String>,
    pub refund_id: Option<String>,
    pub report_id: Option<String>,
    pub line: Option<i64>,
    pub currency: Option<String>,
    pub expected_amount: Option<i64>,
    pub actual_amount: Option<i64>,
    pub detail: String,
    pub state: String,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub ledger_transaction_id: Option<String>,
    pub first_run_id: String,
    pub last_run_id: String,
    pub opened_at: i64,
    pub last_seen_at: i64,
}

const COLUMNS: &str = "id, mode, processor_account_id, category, subject, charge_id, refund_id, report_id, line,
    currency, expected_amount, actual_amount, detail, state, note, resolved_by,
    extract(epoch FROM resolved_at)::bigint AS resolved_at, ledger_transaction_id, first_run_id, last_run_id,
    extract(epoch FROM opened_at)::bigint AS opened_at, extract(epoch FROM last_seen_at)::bigint AS last_seen_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRecord {
    pub id: String,
    pub mode: paygate_core::Mode,
    pub processor_account_id: String,
    pub report_id: Option<String>,
    pub as_of: i64,
    pub rows_matched: i32,
    pub exceptions: Value,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

const RUN_COLUMNS: &str = "id, mode, processor_account_id, report_id, extract(epoch FROM as_of)::bigint AS as_of,
    rows_matched, exceptions, extract(epoch FROM started_at)::bigint AS started_at,
    extract(epoch FROM finished_at)::bigint AS finished_at";

#[derive(Debug, thiserror::Error)]
pub enum ExceptionError {
    #[error("no such exception")]
    NotFound,
    #[error("{0}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A correcting journal entry made when an exception is resolved: `amount` of `currency` from `credit` to
/// `debit` in the merchant's ledger (core's `LedgerEvent::Adjustment` decides which pairs are allowed).
#[derive(Debug, Clone, Copy)]
pub struct Correction {
    pub debit: paygate_core::ledger::AccountKind,
    pub credit: paygate_core::ledger::AccountKind,
    pub amount: paygate_core::money::Amount,
    pub currency: paygate_core::Currency,
}

/// The filters of a list or export, over its parameters $1 to $6 (merchant, mode, then `Filters` in order).
const FILTERED: &str = "merchant_id = $1 AND mode = $2 AND ($3::text IS NULL OR category = $3)
    AND ($4::text IS NULL OR state = $4) AND ($5::text IS NULL OR processor_account_id = $5)
    AND ($6::text IS NULL OR charge_id = $6)";

/// What a list asks for.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub category: Option<String>,
    pub state: Option<String>,
    pub account: Option<String>,
    pub charge: Option<String>,
}

pub async fn get_in(conn: &mut PgConnection, scope: Scope, id: &str) -> Result<ExceptionRecord, sqlx::Error> {
    let select =
        format!("SELECT {COLUMNS} FROM reconciliation_exceptions WHERE id = $1 AND merchant_id = $2 AND mode = $3");
    sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(id).bind(scope.merchant_id).bind(scope.mode).fetch_one(conn).await
}

pub async fn get(
    pool: &PgPool,
    scope: Scope,
    id: ReconciliationExceptionId,
) -> Result<ExceptionRecord, ExceptionError> {
    crate::domain::scoped::find(pool, scope, "reconciliation_exceptions", COLUMNS, id)
        .await?
        .ok_or(ExceptionError::NotFound)
}

pub async fn list(
    pool: &PgPool,
    scope: Scope,
    filters: &Filters,
    page: &Page,
) -> Result<(Vec<ExceptionRecord>, bool), ExceptionError> {
    let (cursor, tail) = page.sql("id", 7);
    let select = format!("SELECT {COLUMNS} FROM reconciliation_exceptions WHERE {FILTERED} {cursor} {tail}");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&filters.category)
        .bind(&filters.state)
        .bind(&filters.account)
        .bind(&filters.charge);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

/// Every exception matching `filters`, oldest first, for an export (bounded: an export is for a person).
pub async fn export(pool: &PgPool, scope: Scope, filters: &Filters) -> Result<Vec<ExceptionRecord>, ExceptionError> {
    const EXPORT_MAX: i64 = 100_000;
    let select = format!("SELECT {COLUMNS} FROM reconciliation_exceptions WHERE {FILTERED} ORDER BY id LIMIT $7");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(select))
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(&filters.category)
        .bind(&filters.state)
        .bind(&filters.account)
        .bind(&filters.charge)
        .bind(EXPORT_MAX)
        .fetch_all(pool)
        .await?)
}

/// Moves an exception to `state` (`acknowledged` or `resolved`) with the operator's note and, when resolving, an
/// optional correcting journal entry; all of it audited with the actor.
pub async fn work(
    pool: &PgPool,
    scope: Scope,
    id: ReconciliationExceptionId,
    state: &'static str,
    note: Option<String>,
    correction: Option<Correction>,
) -> Result<ExceptionRecord, ExceptionError> {
    if let Some(note) = &note {
        paygate_core::text::storable(note, 1_000).map_err(|e| ExceptionError::Invalid("note", format!("note {e}")))?;
    }
    if state == "resolved" && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(ExceptionError::Invalid("note", "resolving an exception needs a note saying why".into()));
    }
    let actor = crate::domain::actor::current();
    let mut tx = pool.begin().await?;
    // A resolved exception is done: resolving it again (a retried request) must not book its correction twice,
    // and acknowledging it must not reopen it; a run reopens it when its inputs change.
    let current: Option<String> = sqlx::query_scalar(
        "SELECT state FROM reconciliation_exceptions WHERE id = $1 AND merchant_id = $2 AND mode = $3 FOR UPDATE",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .fetch_optional(&mut *tx)
    .await?;
    match current.as_deref() {
        None => return Err(ExceptionError::NotFound),
        Some("resolved") => {
            return Err(ExceptionError::Invalid("state", "the exception is resolved already".into()));
        }
        Some(_) => {}
    }
    let updated = sqlx::query(
        "UPDATE reconciliation_exceptions SET state = $4, note = coalesce($5, note),
             resolved_by = CASE WHEN $4 = 'resolved' THEN $6 ELSE resolved_by END,
             resolved_at = CASE WHEN $4 = 'resolved' THEN now() ELSE resolved_at END
         WHERE id = $1 AND merchant_id = $2 AND mode = $3",
    )
    .bind(id)
    .bind(scope.merchant_id)
    .bind(scope.mode)
    .bind(state)
    .bind(&note)
    .bind(&actor)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ExceptionError::NotFound);
    }
    let transaction = match correction {
        Some(c) => {
            let event =
                paygate_core::ledger::LedgerEvent::Adjustment { debit: c.debit, credit: c.credit, amount: c.amount };
            let posted = journal::post(&mut tx, scope, c.currency, event, journal::Subject::default()).await;
            let transaction = posted.map_err(|e| match e {
                journal::JournalError::Posting(e) => ExceptionError::Invalid("correction", format!("correction: {e}")),
                journal::JournalError::Database(e) => ExceptionError::Database(e),
            })?;
            sqlx::query(
                "UPDATE reconciliation_exceptions SET ledger_transaction_id = $2 WHERE id = $1 AND merchant_id = $3",
            )
            .bind(id)
            .bind(&transaction)
            .bind(scope.merchant_id)
            .execute(&mut *tx)
            .await?;
            Some(transaction)
        }
        None => None,
    };
    let correction = correction.map(|c| {
        json!({ "debit": c.debit.as_str(), "credit": c.credit.as_str(), "amount": c.amount.minor(),
                "currency": c.currency.code(), "ledger_transaction": transaction })
    });
    let entry = AuditEntry {
        actor: &actor,
        action: if state == "resolved" {
            "reconciliation.exception_resolved"
        } else {
            "reconciliation.exception_acknowledged"
        },
        object_type: "reconciliation_exception",
        object_id: &id.to_string(),
        request_id: None,
        data: json!({ "state": state, "note": note, "correction": correction }),
    };
    journal::audit(&mut tx, scope, entry).await?;
    let record = get_in(&mut tx, scope, &id.to_string()).await?;
    tx.commit().await?;
    Ok(record)
}

pub async fn list_runs(pool: &PgPool, scope: Scope, page: &Page) -> Result<(Vec<RunRecord>, bool), sqlx::Error> {
    let (cursor, tail) = page.sql("id", 3);
    let select =
        format!("SELECT {RUN_COLUMNS} FROM reconciliation_runs WHERE merchant_id = $1 AND mode = $2 {cursor} {tail}");
    let query = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(scope.merchant_id).bind(scope.mode);
    let rows = page.bind(query).fetch_all(pool).await?;
    Ok(page.finish(rows))
}

pub async fn get_run(pool: &PgPool, scope: Scope, id: ReconciliationRunId) -> Result<Option<RunRecord>, sqlx::Error> {
    crate::domain::scoped::find(pool, scope, "reconciliation_runs", RUN_COLUMNS, id).await
}
