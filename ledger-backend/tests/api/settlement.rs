//! Settlement reports in (`paygate-ledger reconcile`, `domain::settlement::import`): read by header name into
//! signed minor units, staged with COPY, the same file twice imported once (also when two workers race), a bad
//! line kept with its reason while the rest is imported.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use paygate_core::Mode;
use paygate_core::id::{MerchantId, ProcessorAccountId};
use paygate_core::settlement::{HeaderError, ReportFormat};
use paygate_ledger::domain::settlement::import::{self, ImportError, Imported, Request, Source};
use paygate_ledger::domain::tenancy::Scope;

const STRIPE: &str = include_str!("../../../core/testdata/stripe_balance_change_from_activity_itemized_3.sample.csv");
const ADYEN: &str = include_str!("../../../core/testdata/adyen_settlement_details_report.sample.csv");

/// A merchant with a Stripe account; its scope and the account.
async fn stripe_merchant(app: &TestApp) -> (Scope, ProcessorAccountId) {
    let merchant = insert_merchant(&app.pool).await;
    let (account, _) = app.route_to_stripe(&merchant, "test").await;
    let scope = Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test };
    (scope, ProcessorAccountId::parse(&account).unwrap())
}

async fn import_text(
    app: &TestApp,
    scope: Scope,
    account: ProcessorAccountId,
    format: ReportFormat,
    text: &str,
) -> Result<Imported, ImportError> {
    let request = Request { account, format, source: Source::File, period: None };
    import::import(&app.pool, scope, request, || Ok(text.as_bytes())).await
}

/// (rows, Σ gross, Σ fee, Σ net) of a report as stored.
async fn stored(app: &TestApp, report: &str) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*), coalesce(sum(gross), 0)::bigint, coalesce(sum(fee), 0)::bigint, coalesce(sum(net), 0)::bigint
         FROM settlement_rows WHERE report_id = $1",
    )
    .bind(report)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// How many rows of `table` the account has.
async fn count(app: &TestApp, table: &str, account: ProcessorAccountId) -> i64 {
    let select = format!("SELECT count(*) FROM {table} WHERE processor_account_id = $1");
    sqlx::query_scalar(sqlx::AssertSqlSafe(select)).bind(account).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn the_shared_samples_are_stored_to_their_totals_and_the_same_file_again_is_a_no_op() {
    let app = spawn_app().await;
    let (scope, account) = stripe_merchant(&app).await;
    let first = import_text(&app, scope, account, ReportFormat::StripeItemized3, STRIPE).await.unwrap();
    assert_eq!((first.new, first.rows_read, first.rows_refused), (true, 10, 0));
    // expected_totals.json: gross 461.56, fee 31.01, net 430.55 USD.
    assert_eq!(stored(&app, &first.report).await, (10, 46_156, 3_101, 43_055));
    let again = import_text(&app, scope, account, ReportFormat::StripeItemized3, STRIPE).await.unwrap();
    assert_eq!((again.new, again.report.as_str(), again.rows_read), (false, first.report.as_str(), 10));
    let reports = count(&app, "settlement_reports", account).await;
    assert_eq!(reports, 1);
    assert_eq!(stored(&app, &first.report).await.0, 10, "nothing read twice");
    // Adyen's batch, named explicitly: the payout row is the rest of the batch (516.24 EUR).
    let adyen = import_text(&app, scope, account, ReportFormat::AdyenSettlementDetails, ADYEN).await.unwrap();
    let (payout, others): (i64, i64) = sqlx::query_as(
        "SELECT sum(net) FILTER (WHERE kind = 'payout')::bigint, sum(net) FILTER (WHERE kind <> 'payout')::bigint
         FROM settlement_rows WHERE report_id = $1",
    )
    .bind(&adyen.report)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((payout, others), (-51_624, 51_624));
    let usd: (i64, String, i64) = sqlx::query_as(
        "SELECT presentment_amount, presentment_currency, net FROM settlement_rows
         WHERE report_id = $1 AND presentment_currency = 'USD'",
    )
    .bind(&adyen.report)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(usd, (12_000, "USD".into(), 10_962));
}

#[tokio::test]
async fn two_workers_importing_one_file_at_once_store_it_once() {
    let app = spawn_app().await;
    let (scope, account) = stripe_merchant(&app).await;
    let (a, b) = tokio::join!(
        import_text(&app, scope, account, ReportFormat::StripeItemized3, STRIPE),
        import_text(&app, scope, account, ReportFormat::StripeItemized3, STRIPE)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.report, b.report);
    assert_eq!([a.new, b.new].iter().filter(|n| **n).count(), 1, "one of them imported, the other found it");
    let rows = count(&app, "settlement_rows", account).await;
    assert_eq!(rows, 10);
}

#[tokio::test]
async fn a_bad_line_is_kept_with_its_reason_and_the_rest_imported_and_a_wrong_header_stores_nothing() {
    let app = spawn_app().await;
    let (scope, account) = stripe_merchant(&app).await;
    let mut lines: Vec<String> = STRIPE.lines().map(str::to_owned).collect();
    lines[3] = lines[3].replacen(",21.64,1.47,20.17,", ",21.64,1.47,20.71,", 1);
    lines[6] = lines[6].replacen(",usd,", ",usdx,", 1);
    let text = lines.join("\n");
    let imported = import_text(&app, scope, account, ReportFormat::StripeItemized3, &text).await.unwrap();
    assert_eq!((imported.rows_read, imported.rows_refused), (8, 2));
    let refused: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT line, field FROM settlement_row_errors WHERE report_id = $1 ORDER BY line")
            .bind(&imported.report)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(refused, [(4, Some("net".into())), (7, Some("currency".into()))]);
    // Another format's file: refused whole, naming what is missing; nothing stored.
    let wrong = import_text(&app, scope, account, ReportFormat::StripeItemized3, ADYEN).await.unwrap_err();
    assert!(
        matches!(wrong, ImportError::Header(HeaderError::Missing(ref m)) if m.contains(&"gross".to_owned())),
        "{wrong}"
    );
    let reports = count(&app, "settlement_reports", account).await;
    assert_eq!(reports, 1);
    // Another merchant's account is not found, whatever the file.
    let stranger =
        Scope { merchant_id: MerchantId::parse(&insert_merchant(&app.pool).await).unwrap(), mode: Mode::Test };
    assert!(matches!(
        import_text(&app, stranger, account, ReportFormat::StripeItemized3, STRIPE).await,
        Err(ImportError::Account(_))
    ));
}

#[tokio::test]
async fn the_reconcile_command_imports_a_file_matches_it_and_a_second_time_only_matches() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, "4242424242424242", 2_500, "eur", true).await;
    let (id, reference) = (charge["id"].as_str().unwrap(), charge["processor"]["account"].as_str().unwrap());
    let payment = app.processor_reference(id).await;
    let report = format!(
        "row_id,created_utc,type,charge_id,refund_id,payment_reference,currency,amount,fee,net,payout_id\n\
         sr_1,2026-11-01 00:00:00,capture,{id},,{payment},EUR,2500,75,2425,po_1\n\
         sr_2,2026-11-01 00:00:00,climate_order,,,,EUR,-10,0,-10,po_1\n\
         sr_3,2026-11-01 00:00:00,capture,,,,EUR,x,0,0,po_1\n"
    );
    let path = std::env::temp_dir().join(format!("paygate-sandbox-report-{id}.csv"));
    std::fs::write(&path, report).unwrap();
    let reconcile = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
            .args(["reconcile", "--account", reference, "--file", path.to_str().unwrap()])
            .env("DATABASE_URL", app.database_url())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = reconcile();
    assert!(first.contains("2 rows read, 1 refused"), "{first}");
    assert!(first.contains("line 4, amount"), "{first}");
    assert!(first.contains("1 of 2 rows matched; 1 exceptions opened"), "{first}");
    assert!(first.contains("unknown_row_type: 1"), "{first}");
    let second = reconcile();
    assert!(second.contains("imported before (2 rows); matching again"), "{second}");
    assert!(second.contains("0 exceptions opened"), "{second}");
    std::fs::remove_file(path).unwrap();
}
