//! The scheduled pull of settlement reports: charges made through the API at Stripe's and Checkout.com's fakes,
//! whose reports are then what those fakes themselves say happened (their balance transactions, their payouts),
//! pulled over HTTP as the real APIs serve them, imported once, reconciled and booked.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use paygate_ledger::domain::settlement::pull::{self, Pulled};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn get(app: &TestApp, merchant: &str, path: &str) -> Value {
    app.client(merchant, "test").expect(200, Method::GET, path, &Value::Null).await
}

async fn refund(app: &TestApp, merchant: &str, charge: &Value, amount: i64) {
    let body = json!({ "charge": charge["id"], "amount": amount });
    let key = format!("refund-{}", charge["id"].as_str().unwrap());
    assert_eq!(app.post_with_key(merchant, "/v1/refunds", &body, &key).await.0, 201);
}

/// (pending, available) in `currency`, 0 where the balance has none.
async fn balance(app: &TestApp, merchant: &str, currency: &str) -> (i64, i64) {
    let balance = get(app, merchant, "/v1/balance").await;
    let amount = |side: &str| {
        balance[side]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["currency"] == currency)
            .map_or(0, |b| b["amount"].as_i64().unwrap())
    };
    (amount("pending"), amount("available"))
}

async fn count(app: &TestApp, sql: &str, account: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(account).fetch_one(&app.pool).await.unwrap()
}

/// What the processors charged Paygate, as booked in `processor_fees`.
async fn processor_fees(app: &TestApp, merchant: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(e.amount), 0)::bigint FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
         WHERE a.merchant_id = $1 AND a.kind = 'processor_fees'",
    )
    .bind(merchant)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn now() -> i64 {
    paygate_ledger::ids::unix_seconds_now()
}

/// Stripe's data reaches to the current second, exclusive: what happened in it is in the next report.
async fn let_the_second_pass() {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

#[tokio::test]
async fn stripe_reports_are_pulled_once_paid_out_by_report_run_once_by_two_workers_reconciled_and_booked() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    only_pulled(&app, &account).await;
    let sale = app.charge_card(&merchant, "4242424242424242", 3_000, "eur", true).await;
    let_the_second_pass().await;
    // By default a day is pulled only once Stripe has had time to pay it out (`report_delay_days`, 4): nothing yet.
    let processors = app.processors();
    let early = now() - 2 * pull::CAUGHT_UP_WAIT_SECONDS;
    assert_eq!(
        pull::run_once(&app.pool, &processors, early).await.unwrap(),
        Pulled { accounts: 1, ..Pulled::default() }
    );
    assert!(!app.stripe_requests(&key).await.iter().any(|r| r.contains("report_runs")));
    let path = format!("/v1/processor_accounts/{account}");
    for (delay, status) in [(json!(31), 400), (json!("2"), 400), (json!(0), 200)] {
        let body = json!({ "settings": { "report_delay_days": delay } });
        app.client(&merchant, "test").expect(status, Method::PATCH, &path, &body).await;
    }
    let held = app.charge_card(&merchant, "4242424242424242", 5_000, "eur", false).await;
    let path = format!("/v1/charges/{}/capture", held["id"].as_str().unwrap());
    app.client(&merchant, "test").expect(200, Method::POST, &path, &json!({ "amount": 4_000 })).await;
    refund(&app, &merchant, &sale, 1_000).await;
    assert_eq!(balance(&app, &merchant, "EUR").await, (6_000, 0));
    // Stripe pays the day out (the report run after it names the payout on each row).
    assert_eq!(pay_out(&app, &app.stripe_url, &key).await.len(), 1);
    let_the_second_pass().await;

    // Two workers at once: one leases the account, the other finds nothing due.
    let as_of = now();
    let (first, second) =
        tokio::join!(pull::run_once(&app.pool, &processors, as_of), pull::run_once(&app.pool, &processors, as_of));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.reports + second.reports, 1, "{first:?} {second:?}");
    assert_eq!(
        first.accounts + second.accounts,
        1,
        "only the Stripe account is pulled (the sandbox has no reports API)"
    );
    assert_eq!(first.failures + second.failures, 0);
    let runs: Vec<String> =
        app.stripe_requests(&key).await.into_iter().filter(|r| r.contains("/v1/reporting/report_runs")).collect();
    assert_eq!(runs.len(), 2, "one run created, then read: {runs:?}");
    assert_eq!(runs[0], "POST /v1/reporting/report_runs");
    let files = app.stripe_requests(&key).await.into_iter().filter(|r| r.starts_with("GET /v1/files/")).count();
    assert_eq!(files, 1);

    // The four rows (a sale, a partial capture with its reversal, a refund) matched with no exception, and booked:
    // nothing pending any more, the net of Stripe's fees available.
    let report = "SELECT count(*) FROM settlement_reports WHERE processor_account_id = $1 AND source = 'pull'";
    assert_eq!(count(&app, report, &account).await, 1);
    let rows = "SELECT count(*) FROM settlement_rows WHERE processor_account_id = $1";
    assert_eq!(count(&app, rows, &account).await, 4);
    let runs = get(&app, &merchant, "/v1/reconciliation/runs").await;
    assert_eq!(runs["data"][0]["exceptions"], json!({}), "{runs}");
    assert_eq!(get(&app, &merchant, "/v1/reconciliation/exceptions").await["data"], json!([]));
    // The merchant's share (all of it: no pricing here) settled and paid out; Stripe's fees are Paygate's cost.
    assert_eq!(balance(&app, &merchant, "EUR").await, (0, 0));
    let paid = get(&app, &merchant, "/v1/payouts").await;
    assert_eq!((&paid["data"][0]["amount"], &paid["data"][0]["status"]), (&json!(6_000), &json!("paid")), "{paid}");
    let fees = paygate_fakes::stripe::fee_of(3_000) + paygate_fakes::stripe::fee_of(4_000);
    assert_eq!(processor_fees(&app, &merchant).await, fees);

    // Caught up: nothing is due before the next look; then Stripe has nothing new (at most the seconds since,
    // without activity).
    assert_eq!(pull::run_once(&app.pool, &processors, as_of).await.unwrap(), Pulled::default());
    let later = as_of + pull::CAUGHT_UP_WAIT_SECONDS;
    let idle = pull::run_once(&app.pool, &processors, later).await.unwrap();
    assert_eq!((idle.accounts, idle.failures), (1, 0));
    assert_eq!(count(&app, rows, &account).await, 4);

    // A new sale: the next interval's run brings it, and only it.
    app.charge_card(&merchant, "4242424242424242", 2_000, "eur", true).await;
    let_the_second_pass().await;
    let later = later + pull::CAUGHT_UP_WAIT_SECONDS;
    assert_eq!(
        pull::run_once(&app.pool, &processors, later).await.unwrap(),
        Pulled { accounts: 1, reports: 1, failures: 0 }
    );
    assert_eq!(count(&app, rows, &account).await, 5);
    assert_eq!(balance(&app, &merchant, "EUR").await, (0, 2_000), "settled, not paid out yet");
    crate::helpers::audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_failed_pull_is_kept_with_its_reason_and_tried_again_later_from_where_it_stopped() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    only_pulled(&app, &account).await;
    let no_delay = json!({ "settings": { "report_delay_days": 0 } });
    app.client(&merchant, "test")
        .expect(200, Method::PATCH, &format!("/v1/processor_accounts/{account}"), &no_delay)
        .await;
    app.charge_card(&merchant, "4242424242424242", 3_000, "usd", true).await;
    let_the_second_pass().await;
    let processors = app.processors();
    // Stripe fails the report run's creation.
    app.stripe_fault(&key, json!({ "fault": "reset_before" })).await;
    let as_of = now();
    let pulled = pull::run_once(&app.pool, &processors, as_of).await.unwrap();
    assert_eq!(pulled, Pulled { accounts: 1, reports: 0, failures: 1 });
    let (failures, error, waits): (i32, String, f64) = sqlx::query_as(
        "SELECT failures, last_error, extract(epoch FROM due_at) - $2 FROM settlement_pulls WHERE processor_account_id = $1",
    )
    .bind(&account)
    .bind(as_of as f64)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(failures, 1);
    assert!(error.contains("no answer"), "{error}");
    assert_eq!(waits as i64, pull::FAILURE_WAIT_SECONDS);
    // The account's owner sees it on the account.
    let shown = get(&app, &merchant, &format!("/v1/processor_accounts/{account}")).await;
    let pull_state = &shown["settlement_pull"];
    assert_eq!((&pull_state["failures"], &pull_state["last_error"]), (&json!(1), &json!(error)), "{shown}");
    assert!(pull_state["last_pulled_at"].is_null());
    // Not before it is due; then it goes through.
    assert_eq!(pull::run_once(&app.pool, &processors, as_of + 1).await.unwrap(), Pulled::default());
    let retried = pull::run_once(&app.pool, &processors, as_of + pull::FAILURE_WAIT_SECONDS).await.unwrap();
    assert_eq!(retried, Pulled { accounts: 1, reports: 1, failures: 0 });
    let cleared: (i32, Option<String>) =
        sqlx::query_as("SELECT failures, last_error FROM settlement_pulls WHERE processor_account_id = $1")
            .bind(&account)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(cleared, (0, None));
    let shown = get(&app, &merchant, &format!("/v1/processor_accounts/{account}")).await;
    assert!(shown["settlement_pull"]["last_error"].is_null() && shown["settlement_pull"]["last_pulled_at"].is_string());
    assert_eq!(balance(&app, &merchant, "USD").await.0, 0);
}

#[tokio::test]
async fn checkout_payout_reports_are_listed_downloaded_once_each_and_pay_out_the_merchant() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_checkout(&merchant, "test", 0).await;
    only_pulled(&app, &account).await;
    let sale = app.charge_card(&merchant, "4242424242424242", 2_000, "eur", true).await;
    let held = app.charge_card(&merchant, "4242424242424242", 3_000, "eur", false).await;
    let path = format!("/v1/charges/{}/capture", held["id"].as_str().unwrap());
    app.client(&merchant, "test").expect(202, Method::POST, &path, &Value::Null).await;
    refund(&app, &merchant, &sale, 500).await;
    // Checkout.com's captures and refunds are pending until it says how they ended; recovery asks.
    settle(&app).await;
    assert_eq!(balance(&app, &merchant, "EUR").await, (4_500, 0));
    let payouts = pay_out(&app, &app.checkout_url, &key).await;
    assert_eq!(payouts.len(), 1);

    let processors = app.processors();
    let as_of = now();
    assert_eq!(
        pull::run_once(&app.pool, &processors, as_of).await.unwrap(),
        Pulled { accounts: 1, reports: 1, failures: 0 }
    );
    assert_eq!(get(&app, &merchant, "/v1/reconciliation/exceptions").await["data"], json!([]));
    let paid = get(&app, &merchant, "/v1/payouts").await;
    assert_eq!(paid["data"][0]["amount"], 4_500, "the merchant's share of the batch: {paid}");
    assert_eq!(paid["data"][0]["status"], "paid");
    assert_eq!(balance(&app, &merchant, "EUR").await, (0, 0), "everything settled was paid out");
    let fees = paygate_fakes::checkout::fee_of(2_000) + paygate_fakes::checkout::fee_of(3_000);
    assert_eq!(processor_fees(&app, &merchant).await, fees);

    // The next payout's report, and only it, at the next look.
    app.charge_card(&merchant, "4242424242424242", 1_000, "eur", true).await;
    settle(&app).await;
    assert_eq!(pay_out(&app, &app.checkout_url, &key).await.len(), 1);
    let later = as_of + pull::CAUGHT_UP_WAIT_SECONDS;
    assert_eq!(
        pull::run_once(&app.pool, &processors, later).await.unwrap(),
        Pulled { accounts: 1, reports: 1, failures: 0 }
    );
    let downloads = app.checkout_requests(&key).await.into_iter().filter(|r| r.contains("/files/")).count();
    assert_eq!(downloads, 2, "each report's file downloaded once");
    assert_eq!(get(&app, &merchant, "/v1/payouts").await["data"].as_array().unwrap().len(), 2);
    let reports = "SELECT count(*) FROM settlement_reports WHERE processor_account_id = $1 AND source = 'pull'";
    assert_eq!(count(&app, reports, &account).await, 2);
    crate::helpers::audit_is_clean(&app).await;
}

/// Disables the merchant's other processor accounts (its sandbox account), so that only `account` is pulled.
async fn only_pulled(app: &TestApp, account: &str) {
    sqlx::query(
        "UPDATE processor_accounts SET enabled = false
         WHERE merchant_id = (SELECT merchant_id FROM processor_accounts WHERE id = $1) AND id <> $1",
    )
    .bind(account)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_sandbox_acquirers_daily_report_is_pulled_per_account_and_pays_out_what_it_settles() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let other = insert_merchant(&app.pool).await;
    let account: String = sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let sale = app.charge_card(&merchant, "4242424242424242", 4_000, "gbp", true).await;
    let held = app.charge_card(&merchant, "5555555555554444", 2_500, "gbp", false).await;
    let path = format!("/v1/charges/{}/capture", held["id"].as_str().unwrap());
    app.client(&merchant, "test").expect(200, Method::POST, &path, &json!({ "amount": 2_000 })).await;
    refund(&app, &merchant, &sale, 1_500).await;
    // Another merchant's charge at the same acquirer is in its own report only.
    app.charge_card(&other, "4242424242424242", 9_900, "gbp", true).await;
    let_the_second_pass().await;
    let pulled = pull::run_once(&app.pool, &app.processors(), now()).await.unwrap();
    assert_eq!(pulled, Pulled { accounts: 2, reports: 2, failures: 0 });
    let rows = "SELECT count(*) FROM settlement_rows WHERE processor_account_id = $1";
    assert_eq!(count(&app, rows, &account).await, 4, "two captures, a refund, the payout");
    assert_eq!(get(&app, &merchant, "/v1/reconciliation/exceptions").await["data"], json!([]));
    let paid = get(&app, &merchant, "/v1/payouts").await;
    assert_eq!((&paid["data"][0]["amount"], &paid["data"][0]["currency"]), (&json!(4_500), &json!("GBP")), "{paid}");
    assert_eq!(balance(&app, &merchant, "GBP").await, (0, 0));
    assert_eq!(get(&app, &other, "/v1/payouts").await["data"][0]["amount"], 9_900);
    crate::helpers::audit_is_clean(&app).await;
}

async fn settle(app: &TestApp) {
    for _ in 0..50 {
        let found =
            paygate_ledger::jobs::recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
        if found.total() == 0 {
            return;
        }
    }
    panic!("recovery never settled everything");
}

/// Has a fake processor (its URL) pay out the account now; the payouts' ids.
async fn pay_out(app: &TestApp, fake: &str, key: &str) -> Vec<String> {
    let url = format!("{fake}/_fake/accounts/{key}/payouts");
    let answer: Value = app.client.post(url).send().await.unwrap().json().await.unwrap();
    answer["payouts"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect()
}
