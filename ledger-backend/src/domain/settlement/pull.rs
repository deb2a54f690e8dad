//! The scheduled pull of settlement reports from each processor account (`paygate-ledger work` runs it):
//! Stripe's report runs over intervals of at most a day, Checkout.com's financial-actions reports as they
//! are created, the sandbox acquirer's daily report over intervals of at most a day. Each file is downloaded to a temporary file (memory stays flat), imported like any other
//! (`import`, source `pull`: the same file twice is a no-op) and reconciled (`matching`).
//!
//! Safe with several workers: an account's pull state (`settlement_pulls`) is leased before any call, so
//! one worker pulls an account at a time; a worker that dies loses its lease when it runs out, and the
//! next one repeats at most the last download, whose import is then a no-op. Progress is saved after each
//! report, so a failure resumes where it stopped; failures wait twice as long each time, up to an hour, and
//! the last one's reason stays on the pull state for the operator.

use super::import::{self, Request, Source};
use super::matching;
use crate::domain::processors::accounts;
use crate::domain::tenancy::Scope;
use crate::processors::call::{HttpAnswer, HttpCall, Sent};
use crate::processors::{Connector, Processors, Secret, checkout_reports, stripe_reports};
use paygate_core::Mode;
use paygate_core::id::{MerchantId, ProcessorAccountId};
use paygate_core::settlement::ReportFormat;
use sqlx::PgPool;

/// The end of the UTC day `instant` is in: intervals are whole days (the first from the account's creation),
/// so each report is a day's, as the processors write theirs.
fn day_end(instant: i64) -> i64 {
    (instant.div_euclid(INTERVAL_MAX_SECONDS) + 1) * INTERVAL_MAX_SECONDS
}

/// Accounts pulled per run.
pub const BATCH_MAX: i64 = 10;
/// A report covers at most this much: a UTC day.
pub const INTERVAL_MAX_SECONDS: i64 = 86_400;
/// Caught up: the next look is this much later (Stripe prepares its data twice a day; Checkout.com writes
/// its reports daily).
pub const CAUGHT_UP_WAIT_SECONDS: i64 = 3_600;
/// A Stripe run still pending is asked again this much later.
pub const PENDING_WAIT_SECONDS: i64 = 30;
/// The first failure waits this long, each next one twice as long, up to `CAUGHT_UP_WAIT_SECONDS`.
pub const FAILURE_WAIT_SECONDS: i64 = 60;
/// A worker holds an account's pull this long at most (longer than a download may take).
pub const LEASE_SECONDS: i64 = 900;
/// The largest report file taken (a million rows of Stripe's report is about 300 MB).
pub const FILE_BYTES_MAX: u64 = 2 << 30;
/// Pages of Checkout.com's report list read per pull.
const PAGES_MAX: usize = 20;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    pub accounts: usize,
    /// Files imported for the first time.
    pub reports: usize,
    pub failures: usize,
}

/// One leased account's pull state.
struct Lease {
    account: ProcessorAccountId,
    scope: Scope,
    /// Unix seconds, and as ISO 8601 with milliseconds (Checkout.com's form).
    pulled_until: i64,
    pulled_until_iso: String,
    last_report: Option<String>,
    pending: Option<(String, i64)>,
    failures: i32,
}

/// Where a pull got to: saved on the state with the lease released.
#[derive(Debug, Default)]
struct Progress {
    reports: usize,
    next_due: i64,
}

/// Pulls every account that is due at `as_of` (Unix seconds), a batch at a time.
pub async fn run_once(pool: &PgPool, processors: &Processors, as_of: i64) -> Result<Pulled, sqlx::Error> {
    crate::domain::actor::scope("system:settlement-pull".into(), async {
        sqlx::query(
            "INSERT INTO settlement_pulls (processor_account_id, merchant_id, mode, pulled_until, due_at)
             SELECT a.id, a.merchant_id, a.mode, a.created_at, to_timestamp($1) FROM processor_accounts a
             WHERE a.enabled AND NOT EXISTS (SELECT 1 FROM settlement_pulls p WHERE p.processor_account_id = a.id)
             ON CONFLICT (processor_account_id) DO NOTHING",
        )
        .bind(as_of as f64)
        .execute(pool)
        .await?;
        let leased = lease(pool, as_of).await?;
        let mut pulled = Pulled { accounts: leased.len(), ..Pulled::default() };
        for lease in leased {
            let mut progress = Progress::default();
            match pull(pool, processors, &lease, as_of, &mut progress).await {
                Ok(()) => {
                    pulled.reports += progress.reports;
                    sqlx::query(
                        "UPDATE settlement_pulls SET leased_until = NULL, failures = 0, last_error = NULL,
                                last_pulled_at = to_timestamp($2), due_at = to_timestamp($3)
                         WHERE processor_account_id = $1",
                    )
                    .bind(lease.account)
                    .bind(as_of as f64)
                    .bind(progress.next_due as f64)
                    .execute(pool)
                    .await?;
                }
                Err(reason) => {
                    pulled.reports += progress.reports;
                    pulled.failures += 1;
                    tracing::warn!(account = %lease.account, %reason, "settlement report pull failed");
                    let wait = FAILURE_WAIT_SECONDS
                        .saturating_mul(1 << lease.failures.clamp(0, 10))
                        .min(CAUGHT_UP_WAIT_SECONDS);
                    let reason: String = reason.chars().take(500).collect();
                    sqlx::query(
                        "UPDATE settlement_pulls SET leased_until = NULL, failures = failures + 1, last_error = $2,
                                due_at = to_timestamp($3)
                         WHERE processor_account_id = $1",
                    )
                    .bind(lease.account)
                    .bind(reason)
                    .bind((as_of + wait) as f64)
                    .execute(pool)
                    .await?;
                }
            }
        }
        Ok(pulled)
    })
    .await
}

/// Leases the accounts due at `as_of`: each taken by one worker only (`SKIP LOCKED`, then the lease).
async fn lease(pool: &PgPool, as_of: i64) -> Result<Vec<Lease>, sqlx::Error> {
    type Row = (String, String, String, i64, String, Option<String>, Option<String>, Option<i64>, i32);
    let rows: Vec<Row> = sqlx::query_as(
        "UPDATE settlement_pulls p SET leased_until = to_timestamp($1) + make_interval(secs => $3)
         WHERE p.processor_account_id IN (
             SELECT q.processor_account_id FROM settlement_pulls q
             JOIN processor_accounts a ON a.id = q.processor_account_id
             WHERE a.enabled AND q.due_at <= to_timestamp($1)
               AND (q.leased_until IS NULL OR q.leased_until <= to_timestamp($1))
             ORDER BY q.due_at LIMIT $2 FOR UPDATE OF q SKIP LOCKED)
         RETURNING p.processor_account_id, p.merchant_id, p.mode, floor(extract(epoch FROM p.pulled_until))::bigint,
                   to_char(p.pulled_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                   p.last_report, p.pending_run, extract(epoch FROM p.pending_until)::bigint, p.failures",
    )
    .bind(as_of as f64)
    .bind(BATCH_MAX)
    .bind(LEASE_SECONDS as f64)
    .fetch_all(pool)
    .await?;
    let mut leases = Vec::new();
    for (account, merchant, mode, pulled_until, pulled_until_iso, last_report, pending_run, pending_until, failures) in
        rows
    {
        // Ids and modes are checked when they are written; a row this build cannot read is skipped.
        let (Ok(account), Ok(merchant_id), Some(mode)) =
            (ProcessorAccountId::parse(&account), MerchantId::parse(&merchant), Mode::parse(&mode))
        else {
            continue;
        };
        leases.push(Lease {
            account,
            scope: Scope { merchant_id, mode },
            pulled_until,
            pulled_until_iso,
            last_report,
            pending: pending_run.zip(pending_until),
            failures,
        });
    }
    Ok(leases)
}

async fn pull(
    pool: &PgPool,
    processors: &Processors,
    lease: &Lease,
    as_of: i64,
    progress: &mut Progress,
) -> Result<(), String> {
    let connector = {
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        accounts::connector(&mut conn, &processors.secrets_keys, lease.scope, lease.account)
            .await
            .map_err(|e| format!("the account's credentials: {e}"))?
    };
    let pulling = Pulling { pool, processors, connector: &connector, lease, as_of };
    match &connector {
        Connector::Stripe { secret_key } => pull_stripe(&pulling, secret_key, progress).await,
        Connector::Checkout { .. } => pull_checkout(&pulling, progress).await,
        Connector::Sandbox { merchant } => pull_sandbox(&pulling, merchant, progress).await,
    }
}

/// One leased account's pull: where it reads and writes, whom it calls, and when.
struct Pulling<'a> {
    pool: &'a PgPool,
    processors: &'a Processors,
    connector: &'a Connector,
    lease: &'a Lease,
    as_of: i64,
}

impl Pulling<'_> {
    /// The processor's answer to a report call; no answer is a failure of this pull.
    async fn answer(&self, call: &HttpCall) -> Result<HttpAnswer, String> {
        match self.processors.send(self.connector, call).await {
            Sent::Answered(answer) => Ok(answer),
            Sent::NotSent(reason) | Sent::Unknown(reason) => Err(format!("no answer: {reason}")),
        }
    }

    fn base_url(&self) -> &str {
        self.processors.base_url(self.connector)
    }

    /// Downloads one report file, imports it and reconciles it; whether it was new.
    async fn fetch_and_import(
        &self,
        (origin, call): (&str, &HttpCall),
        format: ReportFormat,
        period: String,
    ) -> Result<bool, String> {
        let name = format!("paygate-report-{}.csv", crate::ids::new_id::<paygate_core::id::SettlementReportKind>());
        let temp = TempFile(std::env::temp_dir().join(name));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp.0)
            .map_err(|e| format!("cannot keep the report file: {e}"))?;
        self.processors.download(self.connector, origin, call, &mut file, FILE_BYTES_MAX).await?;
        drop(file);
        let (lease, pool) = (self.lease, self.pool);
        let request = Request { account: lease.account, format, source: Source::Pull, period: Some(period) };
        let path = temp.0.clone();
        let imported =
            import::import(pool, lease.scope, request, || std::fs::File::open(&path).map(std::io::BufReader::new))
                .await
                .map_err(|e| format!("import: {e}"))?;
        // Reconciled again when it had been imported before: a pull that failed after its import left it so.
        matching::run(pool, lease.scope, lease.account, Some(&imported.report), self.as_of)
            .await
            .map_err(|e| format!("reconciling {}: {e}", imported.report))?;
        Ok(imported.new)
    }
}

/// Stripe: the pending run, if any, to its end; then runs for the next intervals while data is available.
async fn pull_stripe(pulling: &Pulling<'_>, secret_key: &Secret, progress: &mut Progress) -> Result<(), String> {
    let Pulling { pool, lease, as_of, .. } = *pulling;
    let settings: serde_json::Value = sqlx::query_scalar("SELECT settings FROM processor_accounts WHERE id = $1")
        .bind(lease.account)
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    let delay = accounts::report_delay_days(&settings).map_err(|e| e.to_string())? * INTERVAL_MAX_SECONDS;
    let mut pulled_until = lease.pulled_until;
    let mut pending = lease.pending.clone();
    // A few intervals per pull: a long-idle account catches up over several runs, never in one long lease.
    for _ in 0..7 {
        let (run, until) = match pending.take() {
            Some(pending) => pending,
            None => {
                let available =
                    stripe_reports::read_report_type(&pulling.answer(&stripe_reports::report_type(secret_key)).await?)?;
                // Only days Stripe has had time to pay out, so their rows name their payout.
                let until = (available - delay).min(day_end(pulled_until));
                if until <= pulled_until {
                    progress.next_due = as_of + CAUGHT_UP_WAIT_SECONDS;
                    return Ok(());
                }
                let call = stripe_reports::create_run(secret_key, &lease.account.to_string(), pulled_until, until);
                let state = stripe_reports::read_run(&pulling.answer(&call).await?)?;
                let run = match state {
                    stripe_reports::RunState::Pending { run } | stripe_reports::RunState::Succeeded { run, .. } => run,
                    stripe_reports::RunState::Failed { run, reason } => {
                        return Err(format!("report run {run} failed: {reason}"));
                    }
                };
                save_pending(pool, lease.account, Some((&run, until))).await?;
                (run, until)
            }
        };
        let call = stripe_reports::retrieve_run(secret_key, &run);
        match stripe_reports::read_run(&pulling.answer(&call).await?)? {
            stripe_reports::RunState::Pending { .. } => {
                progress.next_due = as_of + PENDING_WAIT_SECONDS;
                return Ok(());
            }
            stripe_reports::RunState::Failed { reason, .. } => {
                // Asked again from the same start at the next try.
                save_pending(pool, lease.account, None).await?;
                return Err(format!("report run {run} failed: {reason}"));
            }
            stripe_reports::RunState::Succeeded { file_url, .. } => {
                let (origin, call) = stripe_reports::download(secret_key, &file_url, pulling.base_url())?;
                let period = format!("{} interval {pulled_until}..{until}", stripe_reports::REPORT_TYPE);
                let format = ReportFormat::StripeItemized3;
                progress.reports += pulling.fetch_and_import((&origin, &call), format, period).await? as usize;
                sqlx::query(
                    "UPDATE settlement_pulls SET pulled_until = to_timestamp($2), pending_run = NULL,
                            pending_until = NULL
                     WHERE processor_account_id = $1",
                )
                .bind(lease.account)
                .bind(until as f64)
                .execute(pool)
                .await
                .map_err(|e| e.to_string())?;
                // An interval cut short by the data available is the last until the next look.
                if until < day_end(pulled_until) {
                    progress.next_due = as_of + CAUGHT_UP_WAIT_SECONDS;
                    return Ok(());
                }
                pulled_until = until;
            }
        }
    }
    progress.next_due = as_of;
    Ok(())
}

/// The sandbox acquirer: its report of each interval since the last one, up to the present (its data ends
/// there; `as_of` only says what is due).
async fn pull_sandbox(pulling: &Pulling<'_>, merchant: &str, progress: &mut Progress) -> Result<(), String> {
    let Pulling { pool, lease, as_of, .. } = *pulling;
    let mut from = lease.pulled_until;
    for _ in 0..7 {
        let to = day_end(from).min(crate::ids::unix_seconds_now());
        if to <= from {
            break;
        }
        let call = crate::processors::sandbox::daily_report(merchant, from, to);
        let period = format!("daily {from}..{to}");
        let format = ReportFormat::SandboxDaily;
        progress.reports += pulling.fetch_and_import((pulling.base_url(), &call), format, period).await? as usize;
        sqlx::query("UPDATE settlement_pulls SET pulled_until = to_timestamp($2) WHERE processor_account_id = $1")
            .bind(lease.account)
            .bind(to as f64)
            .execute(pool)
            .await
            .map_err(|e| e.to_string())?;
        if to < day_end(from) {
            break;
        }
        from = to;
    }
    progress.next_due = as_of + CAUGHT_UP_WAIT_SECONDS;
    Ok(())
}

async fn save_pending(pool: &PgPool, account: ProcessorAccountId, pending: Option<(&str, i64)>) -> Result<(), String> {
    sqlx::query(
        "UPDATE settlement_pulls SET pending_run = $2, pending_until = to_timestamp($3) WHERE processor_account_id = $1",
    )
    .bind(account)
    .bind(pending.map(|(run, _)| run))
    .bind(pending.map(|(_, until)| until as f64))
    .execute(pool)
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Checkout.com: every financial-actions report created since the last one imported, oldest first.
async fn pull_checkout(pulling: &Pulling<'_>, progress: &mut Progress) -> Result<(), String> {
    let Pulling { pool, lease, as_of, .. } = *pulling;
    let account = pulling.connector.checkout().ok_or("not a Checkout.com account")?;
    let mut token: Option<String> = None;
    for _ in 0..PAGES_MAX {
        let call = checkout_reports::list_reports(&account, &lease.pulled_until_iso, token.as_deref());
        let page = checkout_reports::read_reports(&pulling.answer(&call).await?)?;
        for report in page.reports.iter().filter(|r| lease.last_report.as_deref() != Some(r.id.as_str())) {
            for href in &report.files {
                let (origin, call) = checkout_reports::download(&account, href, pulling.base_url())?;
                let period = format!("payout {}", report.payout.as_deref().unwrap_or(&report.id));
                let format = ReportFormat::CheckoutFinancialActions;
                progress.reports += pulling.fetch_and_import((&origin, &call), format, period).await? as usize;
            }
            sqlx::query(
                "UPDATE settlement_pulls SET pulled_until = $2::timestamptz, last_report = $3
                 WHERE processor_account_id = $1",
            )
            .bind(lease.account)
            .bind(&report.created_on)
            .bind(&report.id)
            .execute(pool)
            .await
            .map_err(|e| format!("report {} created_on {:?}: {e}", report.id, report.created_on))?;
        }
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    progress.next_due = if token.is_some() { as_of } else { as_of + CAUGHT_UP_WAIT_SECONDS };
    Ok(())
}

/// A temporary file removed when dropped.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
