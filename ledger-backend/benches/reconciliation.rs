//! Benchmark (not a test) of reconciliation at scale: a Stripe `balance_change_from_activity.itemized.3` report
//! of `BENCH_ROWS` rows (default 1,000,000), written by the fakes' report writer to a file, imported by
//! `domain::settlement::import` (hash, stream, COPY) and reconciled by `domain::settlement::matching` (resolve,
//! classify, book) against as many captured charges inserted beforehand. Reports rows/s for each step and the
//! peak resident memory of this process while it works (the file is never held in memory; PostgreSQL's own
//! memory is not counted). Run by `scripts/bench.sh reconciliation`.

use paygate_core::Mode;
use paygate_core::id::ProcessorAccountId;
use paygate_core::settlement::ReportFormat;
use paygate_fakes::reports::{self, Format, Kind, Movement};
use paygate_ledger::db;
use paygate_ledger::domain::settlement::import::{self, Request, Source};
use paygate_ledger::domain::settlement::matching;
use paygate_ledger::domain::tenancy::Scope;
use paygate_ledger::ids::unix_seconds_now;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::io::Write;
use std::time::Instant;

/// This process's peak resident set since the last reset, in MiB (Linux: `VmHWM`).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Resets the peak resident set to the current one (Linux: writing 5 to `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[tokio::main]
async fn main() {
    let admin_url =
        std::env::var("DATABASE_URL").expect("DATABASE_URL: a PostgreSQL server to create the bench database in");
    let rows: usize = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let db_name = format!("paygate_bench_reconciliation_{}", unix_seconds_now());
    let (base_url, _) = admin_url.rsplit_once('/').expect("DATABASE_URL names a database");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    admin.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{db_name}""#))).await.unwrap();
    let pool = db::connect(&format!("{base_url}/{db_name}"), 8, db::Role::Owner).await.unwrap();
    db::migrate(&pool).await.unwrap();
    db::partitions::ensure(&pool, unix_seconds_now()).await.unwrap();

    let merchant = paygate_ledger::domain::merchants::create(&pool, "Bench shop").await.unwrap();
    let scope = Scope { merchant_id: merchant, mode: Mode::Test };
    let account: String = sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1")
        .bind(merchant)
        .fetch_one(&pool)
        .await
        .unwrap();
    let account = ProcessorAccountId::parse(&account).unwrap();

    // The charges the report settles, captured (inserted directly: creating a million through the API is
    // the charges benchmark's business, not this one's).
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO charges (id, merchant_id, mode, status, currency, amount, amount_authorized, amount_captured,
                              capture, source, processor, processor_reference, processor_account_id)
         SELECT 'ch_' || lpad(g::text, 26, '0'), $1, 'test', 'captured', 'USD', 1000 + g % 5000, 1000 + g % 5000,
                1000 + g % 5000, true, 'tok_bench', 'sandbox', 'pi_bench_' || g, $2
         FROM generate_series(1, $3) AS g",
    )
    .bind(merchant)
    .bind(account)
    .bind(rows as i64)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE charges").execute(&pool).await.unwrap();
    let setup = started.elapsed();

    // The report, written in chunks so it is never whole in memory.
    let path = std::env::temp_dir().join(format!("{db_name}.csv"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let now = unix_seconds_now();
    for (n, chunk) in (1..=rows).collect::<Vec<_>>().chunks(10_000).enumerate() {
        let movements: Vec<Movement> = chunk
            .iter()
            .map(|&g| {
                let amount = 1000 + (g % 5000) as i64;
                Movement {
                    key: format!("txn_bench_{g:08}"),
                    kind: Kind::Capture { authorized: amount },
                    charge: Some(format!("ch_{g:026}")),
                    refund: None,
                    payment: Some(format!("pi_bench_{g}")),
                    object: None,
                    currency: "USD".into(),
                    exponent: 2,
                    amount,
                    fee: amount * 3 / 100,
                    payout: Some("po_bench".into()),
                    at: now - 3_600,
                }
            })
            .collect();
        let text = reports::render(Format::StripeItemized3, &movements);
        let body = if n == 0 { text.as_str() } else { text.split_once('\n').map_or("", |(_, rows)| rows) };
        file.write_all(body.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let bytes = std::fs::metadata(&path).unwrap().len();

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!("reconciliation benchmark: {rows} report rows ({:.0} MiB), {cores} cores", bytes as f64 / 1048576.0);
    println!("(setup: {rows} captured charges inserted in {:.1} s)", setup.as_secs_f64());
    println!();
    println!("| step | time | rows/s | peak resident (this process) |");
    println!("|---|---|---|---|");
    reset_peak();
    let started = Instant::now();
    let request = Request { account, format: ReportFormat::StripeItemized3, source: Source::File, period: None };
    let open = || std::fs::File::open(&path).map(|f| std::io::BufReader::with_capacity(256 * 1024, f));
    let imported = import::import(&pool, scope, request, open).await.unwrap();
    let import_time = started.elapsed();
    assert_eq!(imported.rows_read as usize, rows, "{:?}", imported.refusals);
    println!(
        "| import (hash, read, COPY, insert) | {:.1} s | {:.0} | {:.0} MiB |",
        import_time.as_secs_f64(),
        rows as f64 / import_time.as_secs_f64(),
        peak_mib()
    );
    reset_peak();
    let started = Instant::now();
    let summary = matching::run(&pool, scope, account, Some(&imported.report), now).await.unwrap();
    let match_time = started.elapsed();
    assert_eq!(summary.matched as usize, rows, "{:?}", summary.exceptions);
    println!(
        "| match and book (resolve, classify, settle, pay out) | {:.1} s | {:.0} | {:.0} MiB |",
        match_time.as_secs_f64(),
        rows as f64 / match_time.as_secs_f64(),
        peak_mib()
    );
    let total = import_time + match_time;
    println!(
        "| **import + match** | **{:.1} s** | **{:.0}** | |",
        total.as_secs_f64(),
        rows as f64 / total.as_secs_f64()
    );
    std::fs::remove_file(&path).unwrap();
    pool.close().await;
    admin.execute(AssertSqlSafe(format!(r#"DROP DATABASE "{db_name}""#))).await.unwrap();
}
