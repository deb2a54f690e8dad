//! Matching, set-based in PostgreSQL: the rows of the reports a run looks at are copied into a temporary table,
//! each is resolved to our charge or refund (by the ids we planted, then by the processor's), and a fixed list
//! of rules, first match wins, names what is wrong with it; what nothing is wrong with is matched. Our captures
//! and refunds past the processor's settlement window that no row reports are `missing_in_processor`. Memory is
//! the database's, not ours: a million rows is a handful of statements.
//!
//! Exceptions are upserted by (account, category, subject), so running a day again finds the same ones; each
//! keeps a digest of what decided it, and a resolved exception is reopened only when that digest changes. One
//! that a later run no longer finds is resolved by reconciliation itself.
//!
//! Runs of one account are serialized (a transaction-scoped advisory lock): several workers may ask at once.

use crate::domain::journal;
use crate::domain::processors::accounts::ExpectedFees;
use crate::domain::tenancy::{self, Scope};
use crate::ids::new_id;
use paygate_core::id::{ProcessorAccountId, ReconciliationExceptionKind, ReconciliationRunKind};
use paygate_core::processor::ConnectorKind;
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool};

/// The discrepancy categories, in the order the rules try them.
pub const CATEGORIES: [&str; 9] = [
    "duplicate",
    "unknown_row_type",
    "missing_in_ledger",
    "status_mismatch",
    "currency_mismatch",
    "amount_mismatch",
    "fee_variance",
    "payout_mismatch",
    "missing_in_processor",
];

/// How long after a capture or refund the processor's report is due to show it. Past that, its absence is
/// an exception; until then it is only expected.
pub fn settlement_window_seconds(connector: ConnectorKind) -> i64 {
    const DAY: i64 = 24 * 60 * 60;
    match connector {
        // The sandbox reports every day what it settled the day before.
        ConnectorKind::Sandbox => 2 * DAY,
        // Stripe's standard payout schedule is two business days (docs.stripe.com/payouts); a long weekend adds two.
        ConnectorKind::Stripe => 4 * DAY,
        // Checkout.com settles daily to weekly by contract **[unverified]**: a week.
        ConnectorKind::Checkout => 7 * DAY,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("no such processor account")]
    NotFound,
    #[error("no such report for this account")]
    NoSuchReport,
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error("settlement cannot be booked: {0}")]
    Booking(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub run: String,
    pub rows: u64,
    pub matched: u64,
    /// Exceptions found, per category (only those with any).
    pub exceptions: Vec<(String, u64)>,
    /// Exceptions this run opened (new, or reopened because their inputs changed).
    pub opened: u64,
    /// Open exceptions this run no longer found, resolved by it.
    pub cleared: u64,
    /// What it booked in the ledger.
    pub booked: super::booking::Booked,
}

/// Reconciles `account`: the rows of `report` (or of every report with rows no run has looked at yet), and our
/// captures and refunds due by `as_of` (Unix seconds) that no report shows.
pub async fn run(
    pool: &PgPool,
    scope: Scope,
    account: ProcessorAccountId,
    report: Option<&str>,
    as_of: i64,
) -> Result<RunSummary, MatchError> {
    tenancy::scope(scope, async {
        let mut tx = pool.begin().await?;
        let found: Option<(String, Value)> = sqlx::query_as(
            "SELECT connector, settings FROM processor_accounts WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        )
        .bind(account)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .fetch_optional(&mut *tx)
        .await?;
        let (connector, settings) = found.ok_or(MatchError::NotFound)?;
        let connector = ConnectorKind::parse(&connector).ok_or(MatchError::NotFound)?;
        // Checked when the settings were written; a setting this build cannot read checks nothing.
        let fees = ExpectedFees::from_settings(&settings).ok().flatten();
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('reconcile:' || $1, 0))")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        let reports: Vec<String> = match report {
            Some(report) => {
                let found: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM settlement_reports
                     WHERE id = $1 AND processor_account_id = $2 AND merchant_id = $3",
                )
                .bind(report)
                .bind(account)
                .bind(scope.merchant_id)
                .fetch_optional(&mut *tx)
                .await?;
                vec![found.ok_or(MatchError::NoSuchReport)?]
            }
            None => {
                sqlx::query_scalar(
                    "SELECT id FROM settlement_reports
                     WHERE processor_account_id = $1 AND last_run_id IS NULL AND merchant_id = $2 ORDER BY id",
                )
                .bind(account)
                .bind(scope.merchant_id)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let run_id = new_id::<ReconciliationRunKind>().to_string();
        sqlx::query(
            "INSERT INTO reconciliation_runs (id, merchant_id, mode, processor_account_id, report_id, as_of)
             VALUES ($1, $2, $3, $4, $5, to_timestamp($6))",
        )
        .bind(&run_id)
        .bind(scope.merchant_id)
        .bind(scope.mode)
        .bind(account)
        .bind(report)
        .bind(as_of as f64)
        .execute(&mut *tx)
        .await?;
        let context = Context { scope, account, reports: &reports, run: &run_id };
        let rows = super::classify::classify(&mut tx, scope, account, &reports, fees).await?;
        find_missing(&mut tx, &context, as_of - settlement_window_seconds(connector)).await?;
        let matched = record_reports(&mut tx, &context).await?;
        let booked = super::booking::book(&mut tx, scope, account, &run_id).await?;
        let (opened, cleared) = upsert_exceptions(&mut tx, &context).await?;
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT category, count(*) FROM recon_found GROUP BY category ORDER BY category")
                .fetch_all(&mut *tx)
                .await?;
        let by_category: Map<String, Value> = counts.iter().map(|(c, n)| (c.clone(), json!(n))).collect();
        sqlx::query(
            "UPDATE reconciliation_runs SET rows_matched = $2, exceptions = $3::jsonb, finished_at = now()
             WHERE id = $1 AND merchant_id = $4",
        )
        .bind(&run_id)
        .bind(i32::try_from(matched).unwrap_or(i32::MAX))
        .bind(Value::Object(by_category).to_string())
        .bind(scope.merchant_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(run = %run_id, %account, rows, matched, opened, cleared, "reconciliation run");
        Ok(RunSummary {
            run: run_id,
            rows,
            matched,
            exceptions: counts.into_iter().map(|(c, n)| (c, n as u64)).collect(),
            opened,
            cleared,
            booked,
        })
    })
    .await
}

struct Context<'a> {
    scope: Scope,
    account: ProcessorAccountId,
    reports: &'a [String],
    run: &'a str,
}

/// Our captures and refunds due in a report by `due` (Unix seconds) that no row of any report shows. Nothing
/// before the account's first reported row is expected (reconciliation starts where reports start).
async fn find_missing(conn: &mut PgConnection, context: &Context<'_>, due: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH start AS (SELECT min(occurred_at) AS at FROM settlement_rows
                        WHERE processor_account_id = $3 AND merchant_id = $1),
              captured AS (
                 SELECT c.id, c.currency, c.amount_captured, c.processor_reference FROM charges c
                 JOIN ledger_transactions t
                   ON t.charge_id = c.id AND t.merchant_id = c.merchant_id AND t.kind = 'capture'
                 CROSS JOIN start
                 WHERE c.merchant_id = $1 AND c.mode = $2 AND c.processor_account_id = $3 AND c.amount_captured > 0
                   AND t.created_at >= start.at AND t.created_at < to_timestamp($4))
         INSERT INTO recon_found (category, subject, charge_id, currency, expected_amount, detail, inputs)
         SELECT 'missing_in_processor', 'charge:' || k.id, k.id, k.currency, k.amount_captured,
                'captured in Paygate, in no report of the processor', md5(concat_ws('|', k.id, k.amount_captured))
         FROM captured k
         WHERE NOT EXISTS (SELECT 1 FROM settlement_rows s WHERE s.processor_account_id = $3 AND s.kind = 'capture'
                           AND s.merchant_id = $1 AND s.our_charge = k.id)
           AND NOT EXISTS (SELECT 1 FROM settlement_rows s WHERE s.processor_account_id = $3 AND s.kind = 'capture'
                           AND s.merchant_id = $1 AND s.processor_payment = k.processor_reference)",
    )
    .bind(context.scope.merchant_id)
    .bind(context.scope.mode)
    .bind(context.account)
    .bind(due as f64)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "WITH start AS (SELECT min(occurred_at) AS at FROM settlement_rows
                        WHERE processor_account_id = $3 AND merchant_id = $1)
         INSERT INTO recon_found (category, subject, charge_id, refund_id, currency, expected_amount, detail, inputs)
         SELECT 'missing_in_processor', 'refund:' || f.id, f.charge_id, f.id, f.currency, -f.amount,
                'refunded in Paygate, in no report of the processor', md5(concat_ws('|', f.id, f.amount))
         FROM refunds f JOIN charges c ON c.id = f.charge_id AND c.merchant_id = f.merchant_id CROSS JOIN start
         WHERE f.merchant_id = $1 AND f.mode = $2 AND c.processor_account_id = $3 AND f.status = 'succeeded'
           AND f.updated_at >= start.at AND f.updated_at < to_timestamp($4)
           AND NOT EXISTS (SELECT 1 FROM settlement_rows s WHERE s.processor_account_id = $3 AND s.kind = 'refund'
                           AND s.merchant_id = $1 AND s.our_refund = f.id)
           AND NOT EXISTS (SELECT 1 FROM settlement_rows s WHERE s.processor_account_id = $3 AND s.kind = 'refund'
                           AND s.merchant_id = $1 AND s.processor_object = f.processor_reference)",
    )
    .bind(context.scope.merchant_id)
    .bind(context.scope.mode)
    .bind(context.account)
    .bind(due as f64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the reports as reconciled by this run; the count of rows matched.
async fn record_reports(conn: &mut PgConnection, context: &Context<'_>) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE settlement_reports SET last_run_id = $1 WHERE id = ANY($2) AND merchant_id = $3")
        .bind(context.run)
        .bind(context.reports)
        .bind(context.scope.merchant_id)
        .execute(&mut *conn)
        .await?;
    let matched: i64 =
        sqlx::query_scalar("SELECT count(*) FROM recon WHERE category IS NULL").fetch_one(&mut *conn).await?;
    Ok(matched as u64)
}

/// Stores what the run found: new exceptions opened (and announced), known ones seen again (reopened only if
/// their inputs changed), and open ones in this run's reach that it no longer found resolved.
async fn upsert_exceptions(conn: &mut PgConnection, context: &Context<'_>) -> Result<(u64, u64), MatchError> {
    let found: Vec<(String, String)> =
        sqlx::query_as("SELECT category, subject FROM recon_found").fetch_all(&mut *conn).await?;
    let ids: Vec<String> = (0..found.len()).map(|_| new_id::<ReconciliationExceptionKind>().to_string()).collect();
    // `old` is read before the upsert (a statement's CTEs share one snapshot): an exception is opened by this run
    // when it is new, or when it was resolved or acknowledged and what decided it has changed.
    let opened: Vec<String> = sqlx::query_scalar(
        "WITH numbered AS (SELECT f.*, row_number() OVER (ORDER BY category, subject) AS n FROM recon_found f),
              ids AS (SELECT id, n FROM unnest($5::text[]) WITH ORDINALITY AS u(id, n)),
              old AS (SELECT category, subject, state, inputs FROM reconciliation_exceptions
                      WHERE processor_account_id = $3 AND merchant_id = $1),
              upserted AS (
                 INSERT INTO reconciliation_exceptions AS e
                     (id, merchant_id, mode, processor_account_id, category, subject, charge_id, refund_id, report_id,
                      line, currency, expected_amount, actual_amount, detail, inputs, first_run_id, last_run_id)
                 SELECT ids.id, $1, $2, $3, f.category, f.subject, f.charge_id, f.refund_id, f.report_id, f.line,
                        f.currency, f.expected_amount, f.actual_amount, left(f.detail, 500), f.inputs, $4, $4
                 FROM numbered f JOIN ids USING (n)
                 ON CONFLICT (processor_account_id, category, subject, merchant_id) DO UPDATE SET
                     last_run_id = $4, last_seen_at = now(), detail = EXCLUDED.detail,
                     expected_amount = EXCLUDED.expected_amount, actual_amount = EXCLUDED.actual_amount,
                     report_id = EXCLUDED.report_id, line = EXCLUDED.line, inputs = EXCLUDED.inputs,
                     state = CASE WHEN e.inputs <> EXCLUDED.inputs THEN 'open' ELSE e.state END,
                     resolved_at = CASE WHEN e.inputs <> EXCLUDED.inputs THEN NULL ELSE e.resolved_at END,
                     resolved_by = CASE WHEN e.inputs <> EXCLUDED.inputs THEN NULL ELSE e.resolved_by END
                 RETURNING e.id, e.category, e.subject, e.first_run_id, e.inputs)
         SELECT u.id FROM upserted u LEFT JOIN old o USING (category, subject)
         WHERE u.first_run_id = $4 OR (o.state <> 'open' AND o.inputs <> u.inputs)
         ORDER BY u.id",
    )
    .bind(context.scope.merchant_id)
    .bind(context.scope.mode)
    .bind(context.account)
    .bind(context.run)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let cleared = sqlx::query(
        "UPDATE reconciliation_exceptions SET state = 'resolved', resolved_at = now(), resolved_by = 'reconciliation',
             note = 'no longer found by run ' || $2
         WHERE processor_account_id = $1 AND state <> 'resolved' AND last_run_id <> $2
           AND (category = 'missing_in_processor' OR report_id = ANY($3)) AND merchant_id = $4",
    )
    .bind(context.account)
    .bind(context.run)
    .bind(context.reports)
    .bind(context.scope.merchant_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    for id in &opened {
        announce(conn, context.scope, id).await?;
    }
    Ok((opened.len() as u64, cleared))
}

/// `reconciliation.exception_opened`, with the exception as the merchant's API shows it.
async fn announce(conn: &mut PgConnection, scope: Scope, id: &str) -> Result<(), MatchError> {
    let exception = super::exceptions::get_in(conn, scope, id).await?;
    let object = crate::wire::to_value(&crate::wire::ReconciliationException::from(&exception));
    journal::emit(conn, scope, "reconciliation.exception_opened", id, object).await?;
    Ok(())
}
