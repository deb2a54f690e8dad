//! Reconciliation against generated days: charges, partial captures, voids and refunds made through the API
//! at the sandbox, Stripe's fake and Checkout.com's fake; each processor's report written from what it was
//! asked to do (`paygate_fakes::reports`); faults of every category injected at random. A clean day matches
//! with no exception; a faulty one finds every fault, in the right category, and nothing else.
//! `RECON_SEED` replays a run (the seed is printed).

use crate::helpers::{Rng, TestApp, audit_is_clean, insert_merchant, spawn_app};
use futures::StreamExt;
use paygate_core::Mode;
use paygate_core::id::{ChargeId, MerchantId, ProcessorAccountId};
use paygate_core::processor::ConnectorKind;
use paygate_core::settlement::ReportFormat;
use paygate_fakes::reports::{self, Format, Kind, Movement};
use paygate_ledger::domain::settlement::import::{self, Request, Source};
use paygate_ledger::domain::settlement::matching::{self, RunSummary};
use paygate_ledger::domain::tenancy::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// One processor account of the day's merchant.
struct Account {
    connector: ConnectorKind,
    id: ProcessorAccountId,
}

impl Account {
    fn format(&self) -> Format {
        match self.connector {
            ConnectorKind::Sandbox => Format::SandboxDaily,
            ConnectorKind::Stripe => Format::StripeItemized3,
            ConnectorKind::Checkout => Format::CheckoutFinancialActions,
        }
    }
}

struct Day {
    scope: Scope,
    accounts: Vec<Account>,
    /// When the day's reports say their rows happened (before any of the day's captures).
    start: i64,
}

fn seed() -> u64 {
    std::env::var("RECON_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from_le_bytes(crate::helpers::random_bytes()[..8].try_into().unwrap()))
}

async fn post(app: &TestApp, merchant: &str, path: &str, body: Value) -> (u16, Value) {
    let key = format!("recon-{}", paygate_core::hex::encode(&crate::helpers::random_bytes()[..8]));
    app.post_with_key(merchant, path, &body, &key).await
}

/// A merchant with an account at each processor, and `per_account` charges at each: sales, partial captures,
/// voids, authorizations left open, and refunds of some of what was captured. Checkout.com's asynchronous
/// operations are settled by recovery before the day ends.
async fn make_day(app: &TestApp, rng: &mut Rng, per_account: usize) -> Day {
    let start = paygate_ledger::ids::unix_seconds_now() - 3_600;
    let merchant = insert_merchant(&app.pool).await;
    let scope = Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test };
    let sandbox: String = sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut accounts = Vec::new();
    for connector in [ConnectorKind::Sandbox, ConnectorKind::Stripe, ConnectorKind::Checkout] {
        let id = match connector {
            ConnectorKind::Sandbox => {
                let routing = json!({ "default": sandbox });
                app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &routing).await;
                sandbox.clone()
            }
            ConnectorKind::Stripe => app.route_to_stripe(&merchant, "test").await.0,
            ConnectorKind::Checkout => app.route_to_checkout(&merchant, "test", 0).await.0,
        };
        // Each charge's plan, drawn before the concurrent calls so a seed replays the same day.
        let plans: Vec<(i64, &str, u64, i64)> = (0..per_account)
            .map(|_| (rng.range(100, 50_000), rng.pick(&["EUR", "JPY"]), rng.next() % 100, rng.range(1, 99)))
            .collect();
        let refunds: Vec<(String, i64)> = futures::stream::iter(plans)
            .map(|(amount, currency, roll, share)| {
                let merchant = merchant.clone();
                async move {
                    let sale = roll < 55;
                    let charge = app.charge_card(&merchant, "4242424242424242", amount, currency, sale).await;
                    let id = charge["id"].as_str().unwrap().to_owned();
                    let captured = match roll {
                        0..=54 => amount,
                        55..=79 => {
                            let part = (amount * share / 100).max(1);
                            post(app, &merchant, &format!("/v1/charges/{id}/capture"), json!({ "amount": part })).await;
                            part
                        }
                        80..=91 => {
                            post(app, &merchant, &format!("/v1/charges/{id}/void"), Value::Null).await;
                            0
                        }
                        _ => 0,
                    };
                    (captured > 0 && share % 3 == 0).then(|| (id, (captured * share / 150).clamp(1, captured)))
                }
            })
            .buffer_unordered(6)
            .filter_map(|refund| async move { refund })
            .collect()
            .await;
        // Checkout.com confirms captures and refunds later: recovery asks it (the fake processes them at once).
        settle(app).await;
        futures::stream::iter(refunds)
            .for_each_concurrent(6, |(id, amount)| {
                let merchant = merchant.clone();
                async move {
                    post(app, &merchant, "/v1/refunds", json!({ "charge": id, "amount": amount })).await;
                }
            })
            .await;
        settle(app).await;
        // The processor's pricing as the merchant's contract says (the reports below charge 3 %, rounded down).
        let fees = json!({ "settings": { "fees": { "basis_points": 300, "tolerance": 1 } } });
        app.client(&merchant, "test").expect(200, Method::PATCH, &format!("/v1/processor_accounts/{id}"), &fees).await;
        accounts.push(Account { connector, id: ProcessorAccountId::parse(&id).unwrap() });
    }
    Day { scope, accounts, start }
}

/// Recovery until nothing is left to settle (it takes a bounded batch per pass, as the worker does).
async fn settle(app: &TestApp) {
    tokio::time::sleep(Duration::from_millis(5)).await;
    for _ in 0..100 {
        let found =
            paygate_ledger::jobs::recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
        if found.total() == 0 {
            return;
        }
    }
    panic!("recovery never settled everything");
}

/// A succeeded refund: id, charge, currency, amount, the processor's refund and payment.
type RefundRow = (String, String, String, i64, Option<String>, Option<String>);

/// What the account's processor would report for the day: every capture and succeeded refund, with its fee,
/// in one payout batch closed by its payout (where the format has one).
async fn movements(app: &TestApp, day: &Day, account: &Account) -> Vec<Movement> {
    let charges: Vec<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, currency, amount_authorized, amount_captured, processor_reference FROM charges
         WHERE processor_account_id = $1 AND amount_captured > 0 ORDER BY id",
    )
    .bind(account.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let refunds: Vec<RefundRow> = sqlx::query_as(
        "SELECT f.id, f.charge_id, f.currency, f.amount, f.processor_reference, c.processor_reference
         FROM refunds f JOIN charges c ON c.id = f.charge_id
         WHERE c.processor_account_id = $1 AND f.status = 'succeeded' ORDER BY f.id",
    )
    .bind(account.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    // One payout batch per currency, as processors pay out; Stripe has not paid out the yen yet.
    let stripe_unpaid = |currency: &str| account.connector == ConnectorKind::Stripe && currency == "JPY";
    let payout = |currency: &str| {
        (!stripe_unpaid(currency))
            .then(|| format!("po_{}_{}", &account.id.to_string()[3..], currency.to_ascii_lowercase()))
    };
    let stripe = account.connector == ConnectorKind::Stripe;
    let exponent = |currency: &str| paygate_core::money::Currency::parse(currency).unwrap().exponent();
    let mut list: Vec<Movement> = charges
        .into_iter()
        .map(|(id, currency, authorized, captured, payment)| Movement {
            key: format!("mv_c_{}", &id[3..]),
            // Stripe reports the authorization and gives back what was not captured; the others the capture.
            kind: Kind::Capture { authorized: if stripe { authorized } else { captured } },
            charge: Some(id),
            refund: None,
            payment,
            object: None,
            exponent: exponent(&currency),
            payout: payout(&currency),
            currency,
            amount: captured,
            fee: captured * 3 / 100,
            at: day.start,
        })
        .collect();
    list.extend(refunds.into_iter().map(|(id, charge, currency, amount, object, payment)| Movement {
        key: format!("mv_r_{}", &id[3..]),
        kind: Kind::Refund,
        charge: Some(charge),
        refund: Some(id),
        payment,
        object,
        exponent: exponent(&currency),
        payout: payout(&currency),
        currency,
        amount: -amount,
        fee: 0,
        at: day.start,
    }));
    list
}

/// Closes each batch with its payout, for the formats that report one; the first batch's payout differs from
/// its rows by `payout_amount_change` (a fault when not zero). The first batch's id and currency.
fn close_batches(format: Format, list: &mut Vec<Movement>, payout_amount_change: i64) -> Option<(String, String)> {
    if format == Format::StripeItemized3 {
        return None;
    }
    let batches: BTreeSet<String> = list.iter().filter_map(|m| m.payout.clone()).collect();
    let mut first = None;
    for (n, batch) in batches.iter().enumerate() {
        let mut payout = reports::payout_of(list, batch, list[0].at + 60)?;
        if n == 0 {
            payout.amount -= payout_amount_change;
            first = Some((batch.clone(), payout.currency.clone()));
        }
        list.push(payout);
    }
    first
}

/// Injects `count` faults of each category into the account's movements (distinct movements for each);
/// returns the (category, subject) each must be found as.
async fn inject(
    app: &TestApp,
    rng: &mut Rng,
    account: &Account,
    list: &mut Vec<Movement>,
    count: usize,
) -> (BTreeSet<(String, String)>, i64) {
    let format = account.format();
    let mut expected = BTreeSet::new();
    let subject = |key: &String| format!("row:{key}");
    // Full captures without refunds are the targets of capture faults, each used once.
    let refunded: BTreeSet<String> =
        list.iter().filter(|m| m.kind == Kind::Refund).filter_map(|m| m.charge.clone()).collect();
    let mut targets: Vec<usize> = (0..list.len())
        .filter(|&i| {
            matches!(list[i].kind, Kind::Capture { authorized } if authorized == list[i].amount)
                && !refunded.contains(list[i].charge.as_ref().unwrap())
        })
        .collect();
    // Five capture faults per round, each on a capture of its own: as many rounds as the day allows, at least one.
    assert!(targets.len() >= 5, "{:?}: only {} plain captures to put faults on", account.connector, targets.len());
    let count = count.min(targets.len() / 5);
    let mut take = |rng: &mut Rng| -> usize { targets.swap_remove(rng.range(0, targets.len() as i64 - 1) as usize) };
    let template = list[0].clone();
    let ghost = |key: String, kind: Kind, amount: i64| Movement {
        key,
        kind,
        charge: None,
        refund: None,
        payment: None,
        object: None,
        fee: 0,
        amount,
        ..template.clone()
    };
    let mut removed = Vec::new();
    for n in 0..count {
        // amount_mismatch: the processor captured a different amount.
        let i = take(rng);
        list[i].amount += rng.range(1, 500);
        list[i].kind = Kind::Capture { authorized: list[i].amount };
        expected.insert(("amount_mismatch".into(), format!("charge:{}", list[i].charge.as_ref().unwrap())));
        // fee_variance: the processor charged more than its pricing says.
        let i = take(rng);
        list[i].fee += rng.range(50, 500);
        expected.insert(("fee_variance".into(), format!("charge:{}", list[i].charge.as_ref().unwrap())));
        // currency_mismatch: settled in another currency.
        let i = take(rng);
        list[i].currency = if list[i].currency == "EUR" { "USD".into() } else { "EUR".into() };
        list[i].exponent = 2;
        expected.insert(("currency_mismatch".into(), subject(&reports::row_keys(format, &list[i])[0])));
        // missing_in_processor: a capture the processor never reports.
        let i = take(rng);
        removed.push(i);
        expected.insert(("missing_in_processor".into(), format!("charge:{}", list[i].charge.as_ref().unwrap())));
        // missing_in_ledger: a payment Paygate never made.
        let ghost_charge = ChargeId::new(1_700_000_000_000 + n as u64, [n as u8; 10]).to_string();
        let mut stray = ghost(format!("mv_ghost_{n}"), Kind::Capture { authorized: 1_000 }, 1_000);
        stray.charge = Some(ghost_charge);
        stray.payment = Some(format!("pay_ghost_{n}"));
        expected.insert(("missing_in_ledger".into(), subject(&reports::row_keys(format, &stray)[0])));
        list.push(stray);
        // status_mismatch: a refund made at the processor whose webhook never came (a charge we know).
        let i = take(rng);
        let mut lost = ghost(format!("mv_lost_{n}"), Kind::Refund, -1);
        lost.charge = list[i].charge.clone();
        lost.payment = list[i].payment.clone();
        lost.object = Some(format!("re_lost_{n}"));
        expected.insert(("status_mismatch".into(), subject(&reports::row_keys(format, &lost)[0])));
        list.push(lost);
        // unknown_row_type.
        let unknown = ghost(format!("mv_unknown_{n}"), Kind::Unknown("reserve_hold".into()), -5);
        expected.insert(("unknown_row_type".into(), subject(&reports::row_keys(format, &unknown)[0])));
        list.push(unknown);
        // duplicate: a row reported twice.
        let i = take(rng);
        let copy = list[i].clone();
        for key in reports::row_keys(format, &copy) {
            expected.insert(("duplicate".into(), subject(&key)));
        }
        list.push(copy);
    }
    // status_mismatch: settled at the processor, voided in Paygate.
    let voided: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, amount, processor_reference FROM charges WHERE processor_account_id = $1 AND status = 'voided'
         ORDER BY id LIMIT $2",
    )
    .bind(account.id)
    .bind(count as i64)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (id, amount, payment) in voided {
        let mut settled = ghost(format!("mv_void_{}", &id[3..]), Kind::Capture { authorized: amount }, amount);
        settled.charge = Some(id.clone());
        settled.payment = payment;
        settled.currency = sqlx::query_scalar("SELECT currency FROM charges WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        settled.exponent = paygate_core::money::Currency::parse(&settled.currency).unwrap().exponent();
        expected.insert(("status_mismatch".into(), subject(&reports::row_keys(format, &settled)[0])));
        list.push(settled);
    }
    removed.sort_unstable();
    for i in removed.into_iter().rev() {
        list.remove(i);
    }
    // payout_mismatch: the batch paid out a different amount than its rows add up to.
    let change = if format == Format::StripeItemized3 { 0 } else { rng.range(1, 900) };
    (expected, change)
}

async fn reconcile(app: &TestApp, day: &Day, account: &Account, csv: &str) -> RunSummary {
    let format = ReportFormat::of_connector(account.connector);
    let request = Request { account: account.id, format, source: Source::File, period: None };
    let imported = import::import(&app.pool, day.scope, request, || Ok(csv.as_bytes())).await.unwrap();
    assert_eq!(imported.rows_refused, 0, "{:?}", imported.refusals);
    let as_of = paygate_ledger::ids::unix_seconds_now() + matching::settlement_window_seconds(account.connector) + 60;
    matching::run(&app.pool, day.scope, account.id, Some(&imported.report), as_of).await.unwrap()
}

async fn open_exceptions(app: &TestApp, account: &Account) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT category, subject FROM reconciliation_exceptions WHERE processor_account_id = $1 AND state = 'open'",
    )
    .bind(account.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn a_clean_day_across_three_processors_matches_every_row_with_no_exception() {
    let seed = seed();
    eprintln!("reconciliation clean day: RECON_SEED={seed}");
    let mut rng = Rng(seed);
    let app = spawn_app().await;
    let per_account: usize = std::env::var("RECON_CHARGES").ok().and_then(|s| s.parse().ok()).unwrap_or(700);
    let day = make_day(&app, &mut rng, per_account).await;
    for account in &day.accounts {
        let mut list = movements(&app, &day, account).await;
        assert!(list.len() > per_account / 2, "{:?}: {} movements", account.connector, list.len());
        close_batches(account.format(), &mut list, 0);
        let csv = reports::render(account.format(), &list);
        let summary = reconcile(&app, &day, account, &csv).await;
        assert_eq!(summary.exceptions, vec![], "{:?} (seed {seed})", account.connector);
        assert_eq!(summary.matched, summary.rows, "{:?}", account.connector);
        assert_eq!(open_exceptions(&app, account).await, BTreeSet::new());
        let payout_rows: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM settlement_rows WHERE processor_account_id = $1 AND kind = 'payout'",
        )
        .bind(account.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(summary.booked.rows + payout_rows as u64, summary.rows, "{:?}: every row booked", account.connector);
        // The same day run again finds the same: nothing, and books nothing twice.
        let again = reconcile(&app, &day, account, &csv).await;
        assert_eq!((again.exceptions.len(), again.opened, again.booked.rows), (0, 0, 0));
    }
    // Everything captured was settled: nothing pending; what the merchant is owed is available or paid out.
    let merchant = day.scope.merchant_id.to_string();
    let balance = app.client(&merchant, "test").expect(200, Method::GET, "/v1/balance", &Value::Null).await;
    for line in balance["pending"].as_array().unwrap() {
        assert_eq!(line["amount"], 0, "{balance}");
    }
    let owed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.currency, -sum(e.amount)::bigint FROM ledger_entries e
         JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'merchant_pending'
         JOIN ledger_transactions t ON t.id = e.transaction_id AND t.kind IN ('capture', 'refund', 'refund_reversal')
         WHERE a.merchant_id = $1 GROUP BY a.currency ORDER BY a.currency",
    )
    .bind(&merchant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let payouts = app.client(&merchant, "test").expect(200, Method::GET, "/v1/payouts?limit=100", &Value::Null).await;
    let payouts = payouts["data"].as_array().unwrap();
    assert_eq!(payouts.len(), 5, "one per currency and processor, but Stripe's yen: {payouts:?}");
    for (currency, owed) in owed {
        let available = balance["available"].as_array().unwrap().iter().find(|l| l["currency"] == currency.as_str());
        let available = available.map_or(0, |l| l["amount"].as_i64().unwrap());
        let paid: i64 =
            payouts.iter().filter(|p| p["currency"] == currency.as_str()).map(|p| p["amount"].as_i64().unwrap()).sum();
        assert_eq!(available + paid, owed, "{currency}: available {available} + paid out {paid}");
        // Settled, not yet paid out: Stripe's yen.
        assert_eq!(available > 0, currency == "JPY", "{currency}: available {available}");
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn faults_of_every_category_are_each_found_in_their_category_and_nothing_else_is() {
    let seed = seed();
    eprintln!("reconciliation faults: RECON_SEED={seed}");
    let app = spawn_app().await;
    // Several seeds in one run: each a fresh merchant and day.
    for round in 0..2u64 {
        let mut rng = Rng(seed.wrapping_add(round));
        let day = make_day(&app, &mut rng, 80).await;
        for account in &day.accounts {
            let mut list = movements(&app, &day, account).await;
            let faults = rng.range(1, 3) as usize;
            let (mut expected, change) = inject(&app, &mut rng, account, &mut list, faults).await;
            if let Some((batch, currency)) = close_batches(account.format(), &mut list, change) {
                // A payout is one per currency: its subject names both.
                expected.insert(("payout_mismatch".into(), format!("payout:{batch}:{currency}")));
            }
            let csv = reports::render(account.format(), &list);
            let summary = reconcile(&app, &day, account, &csv).await;
            let found = open_exceptions(&app, account).await;
            let context = format!("{:?} (seed {seed}, round {round})", account.connector);
            let missed: Vec<_> = expected.difference(&found).collect();
            let extra: Vec<_> = found.difference(&expected).collect();
            assert!(missed.is_empty() && extra.is_empty(), "{context}: missed {missed:?}, extra {extra:?}");
            assert_eq!(summary.opened as usize, expected.len(), "{context}");
            // Run again: the same exceptions, none opened twice.
            let again = matching::run(
                &app.pool,
                day.scope,
                account.id,
                None,
                paygate_ledger::ids::unix_seconds_now() + matching::settlement_window_seconds(account.connector) + 60,
            )
            .await
            .unwrap();
            assert_eq!(again.opened, 0, "{context}");
            assert_eq!(open_exceptions(&app, account).await, expected, "{context}");
        }
    }
}

/// A sandbox report of `rows` (`row_id,type,charge_id,payment_reference,amount,fee`), in EUR, one batch.
fn sandbox_report(rows: &[(&str, &str, &str, &str, i64, i64)]) -> String {
    let mut csv = String::from(
        "row_id,created_utc,type,charge_id,refund_id,payment_reference,currency,amount,fee,net,payout_id\n",
    );
    for (key, kind, charge, payment, amount, fee) in rows {
        csv.push_str(&format!(
            "{key},2026-11-01 00:00:00,{kind},{charge},,{payment},EUR,{amount},{fee},{},\n",
            amount - fee
        ));
    }
    csv
}

#[tokio::test]
async fn exceptions_are_listed_worked_exported_and_reopened_only_when_their_inputs_change() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, "4242424242424242", 2_500, "eur", true).await;
    let (id, account) = (charge["id"].as_str().unwrap(), charge["processor"]["account"].as_str().unwrap());
    let payment = app.processor_reference(id).await;
    let client = app.client(&merchant, "test");
    // The processor captured 2,400 of our 2,500, and reports a payment we never made.
    let content =
        sandbox_report(&[("sr_1", "capture", id, &payment, 2_400, 72), ("sr_2", "capture", "", "sbx_ghost", 900, 27)]);
    let upload = json!({ "account": account, "content": content });
    let uploaded = client.expect(201, Method::POST, "/v1/settlement_reports", &upload).await;
    assert_eq!((&uploaded["new"], &uploaded["rows_read"]), (&json!(true), &json!(2)));
    assert_eq!(uploaded["run"]["exceptions"], json!({ "amount_mismatch": 1, "missing_in_ledger": 1 }));
    let again = client.expect(200, Method::POST, "/v1/settlement_reports", &upload).await;
    assert_eq!((&again["new"], &again["id"]), (&json!(false), &uploaded["id"]));
    let runs = client.expect(200, Method::GET, "/v1/reconciliation/runs", &Value::Null).await;
    assert_eq!(runs["data"].as_array().unwrap().len(), 2);
    // Listed by filter; each announced once to the merchant.
    let listed =
        client.expect(200, Method::GET, "/v1/reconciliation/exceptions?category=amount_mismatch", &Value::Null).await;
    let exception = &listed["data"][0];
    assert_eq!((listed["data"].as_array().unwrap().len(), &exception["subject"]), (1, &json!(format!("charge:{id}"))));
    assert_eq!((&exception["expected_amount"], &exception["actual_amount"]), (&json!(2_500), &json!(2_400)));
    let events = client.expect(200, Method::GET, "/v1/events?type=reconciliation.exception_opened", &Value::Null).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 2);
    for (query, param) in [("category=late", "category"), ("state=lost", "state"), ("color=red", "color")] {
        let refused =
            client.expect(400, Method::GET, &format!("/v1/reconciliation/exceptions?{query}"), &Value::Null).await;
        assert_eq!(refused["param"], param);
    }
    // Worked: acknowledged, then resolved with a note (a note is required), audited with who did it.
    let path = format!("/v1/reconciliation/exceptions/{}", exception["id"].as_str().unwrap());
    let seen = client.expect(200, Method::POST, &format!("{path}/acknowledge"), &Value::Null).await;
    assert_eq!(seen["state"], "acknowledged");
    let refused = client.expect(400, Method::POST, &format!("{path}/resolve"), &json!({})).await;
    assert_eq!(refused["param"], "note");
    let note = "the processor's partial capture; agreed with the shop";
    for (correction, param) in [
        (json!({ "debit": "cash", "credit": "cash", "amount": 100, "currency": "EUR" }), "correction"),
        (json!({ "debit": "petty_cash", "credit": "cash", "amount": 100, "currency": "EUR" }), "correction.debit"),
        (json!({ "debit": "processor_fees", "credit": "cash", "amount": 0, "currency": "EUR" }), "correction.amount"),
        (json!({ "debit": "authorization_payable", "credit": "cash", "amount": 5, "currency": "EUR" }), "correction"),
    ] {
        let body = json!({ "note": note, "correction": correction });
        let refused = client.expect(400, Method::POST, &format!("{path}/resolve"), &body).await;
        assert_eq!(refused["param"], param, "{refused}");
    }
    assert_eq!(client.expect(200, Method::GET, &path, &Value::Null).await["state"], "acknowledged", "nothing changed");
    // Resolved with a correcting entry: the 100 the processor kept is booked as its fee.
    let correction =
        json!({ "debit": "processor_fees", "credit": "processor_receivable", "amount": 100, "currency": "EUR" });
    let body = json!({ "note": note, "correction": correction });
    let resolved = client.expect(200, Method::POST, &format!("{path}/resolve"), &body).await;
    assert_eq!((&resolved["state"], &resolved["note"]), (&json!("resolved"), &json!(note)));
    let entries: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT t.kind, a.kind, e.amount FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE t.id = $1 ORDER BY e.line",
    )
    .bind(resolved["ledger_transaction"].as_str().unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        entries,
        [
            ("adjustment".to_owned(), "processor_fees".to_owned(), 100),
            ("adjustment".to_owned(), "processor_receivable".to_owned(), -100)
        ]
    );
    // Resolved is done: a retried resolve books nothing twice, and acknowledging does not reopen it.
    for (action, body) in [("resolve", body.clone()), ("acknowledge", json!({ "note": "again" }))] {
        let refused = client.expect(400, Method::POST, &format!("{path}/{action}"), &body).await;
        assert_eq!(refused["param"], "state", "{action}: {refused}");
    }
    let adjustments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_transactions WHERE merchant_id = $1 AND kind = 'adjustment'")
            .bind(&merchant)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(adjustments, 1);
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE action = 'reconciliation.exception_resolved' AND object_id = $1",
    )
    .bind(exception["id"].as_str().unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, [resolved["resolved_by"].as_str().unwrap()], "one audit row, naming who resolved it");
    // The same day again: it stays resolved. A report that changes what decided it reopens it.
    let scope = Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test };
    let account_id = ProcessorAccountId::parse(account).unwrap();
    let rerun = matching::run(&app.pool, scope, account_id, Some(uploaded["id"].as_str().unwrap()), 0).await.unwrap();
    assert_eq!(rerun.opened, 0);
    assert_eq!(client.expect(200, Method::GET, &path, &Value::Null).await["state"], "resolved");
    let changed = sandbox_report(&[("sr_3", "capture", id, &payment, 2_300, 69)]);
    let corrected = client
        .expect(201, Method::POST, "/v1/settlement_reports", &json!({ "account": account, "content": changed }))
        .await;
    assert_eq!(corrected["run"]["exceptions"], json!({ "amount_mismatch": 1 }));
    let reopened = client.expect(200, Method::GET, &path, &Value::Null).await;
    assert_eq!((&reopened["state"], &reopened["actual_amount"]), (&json!("open"), &json!(2_300)));
    // Exported as CSV: a header and one line per exception.
    let export = app
        .signed(Method::GET, "/v1/reconciliation/exceptions.csv?state=open", "", &merchant, "test")
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 200);
    assert!(export.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = export.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,processor_account,category,subject"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
    // Another merchant sees none of it.
    let stranger = insert_merchant(&app.pool).await;
    app.client(&stranger, "test").expect(404, Method::GET, &path, &Value::Null).await;
    let theirs =
        app.client(&stranger, "test").expect(200, Method::GET, "/v1/reconciliation/exceptions", &Value::Null).await;
    assert_eq!(theirs["data"], json!([]));
    let foreign = json!({ "account": account, "content": "row_id\n" });
    let refused = app.client(&stranger, "test").expect(400, Method::POST, "/v1/settlement_reports", &foreign).await;
    assert_eq!(refused["param"], "account");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_report_upload_may_be_megabytes_where_other_bodies_stop_at_64_kib() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let account: String = sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let fees: Vec<(String, &str, &str, &str, i64, i64)> =
        (0..2_500).map(|n| (format!("sr_fee_{n:06}"), "fee", "", "", -1, 0)).collect();
    let rows: Vec<(&str, &str, &str, &str, i64, i64)> =
        fees.iter().map(|(k, t, c, p, a, f)| (k.as_str(), *t, *c, *p, *a, *f)).collect();
    let content = sandbox_report(&rows);
    assert!(content.len() > paygate_core::limits::BODY_BYTES_MAX);
    let upload = json!({ "account": account, "content": content });
    let uploaded = app.client(&merchant, "test").expect(201, Method::POST, "/v1/settlement_reports", &upload).await;
    assert_eq!((&uploaded["rows_read"], &uploaded["run"]["rows_matched"]), (&json!(2_500), &json!(2_500)));
    let huge = json!({ "account": account, "content": "x".repeat(paygate_core::limits::REPORT_UPLOAD_BYTES_MAX) });
    let refused = app.client(&merchant, "test").expect(413, Method::POST, "/v1/settlement_reports", &huge).await;
    assert_eq!(refused["code"], "payload_too_large");
    // A report whose fees exceed what it captured is matched but left unbooked, never a 500; an empty period is
    // refused naming it.
    let charge = app.charge_card(&merchant, "4242424242424242", 500, "eur", true).await;
    let odd = sandbox_report(&[("sr_odd", "capture", charge["id"].as_str().unwrap(), "", 500, 900)]);
    let answer = app
        .client(&merchant, "test")
        .expect(201, Method::POST, "/v1/settlement_reports", &json!({ "account": account, "content": odd }))
        .await;
    assert_eq!((&answer["run"]["rows_matched"], &answer["run"]["exceptions"]), (&json!(1), &json!({})));
    let booked: i64 = sqlx::query_scalar("SELECT count(*) FROM settlement_postings WHERE row_key = 'sr_odd'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(booked, 0);
    let empty = json!({ "account": account, "content": odd, "period": " " });
    let refused = app.client(&merchant, "test").expect(400, Method::POST, "/v1/settlement_reports", &empty).await;
    assert_eq!(refused["param"], "period");
    // Any other route keeps the usual limit.
    let big_metadata = json!({ "metadata": { "note": "x".repeat(paygate_core::limits::BODY_BYTES_MAX) } });
    let refused = app.client(&merchant, "test").expect(413, Method::POST, "/v1/webhook_endpoints", &big_metadata).await;
    assert_eq!(refused["code"], "payload_too_large");
}

#[tokio::test]
async fn a_refund_made_at_stripe_whose_webhook_never_came_is_found_by_reconciliation() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    let charge = app.charge_card(&merchant, "4242424242424242", 3_000, "eur", true).await;
    let id = charge["id"].as_str().unwrap();
    let intent = app.processor_reference(id).await;
    // Refunded in Stripe's dashboard; the account has no webhook endpoint, so Paygate never hears of it.
    let refund = crate::processor_events::refund_at_stripe(&app, &key, &intent, 1_200).await;
    assert_eq!(
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await["amount_refunded"],
        0
    );
    // Stripe's report of the day has both: the charge and the refund.
    let day = Day {
        scope: Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test },
        accounts: vec![],
        start: paygate_ledger::ids::unix_seconds_now() - 3_600,
    };
    let account = Account { connector: ConnectorKind::Stripe, id: ProcessorAccountId::parse(&account).unwrap() };
    let mut list = movements(&app, &day, &account).await;
    let mut refunded = list[0].clone();
    (refunded.key, refunded.kind, refunded.amount, refunded.fee) =
        ("txn_dashboard_refund".into(), Kind::Refund, -1_200, 0);
    refunded.object = Some(refund.clone());
    list.push(refunded);
    let summary = reconcile(&app, &day, &account, &reports::render(Format::StripeItemized3, &list)).await;
    assert_eq!(summary.exceptions, vec![("status_mismatch".to_owned(), 1)]);
    let found = app
        .client(&merchant, "test")
        .expect(200, Method::GET, "/v1/reconciliation/exceptions?category=status_mismatch", &Value::Null)
        .await;
    let exception = &found["data"][0];
    assert_eq!((&exception["charge"], &exception["actual_amount"]), (&json!(id), &json!(-1_200)));
    assert_eq!(exception["detail"], "a refund at the processor that Paygate never recorded");
}

#[tokio::test]
async fn a_row_reported_again_in_a_later_report_is_a_duplicate_and_booked_once() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, "4242424242424242", 2_000, "eur", true).await;
    let (id, account) = (charge["id"].as_str().unwrap(), charge["processor"]["account"].as_str().unwrap());
    let client = app.client(&merchant, "test");
    let first = sandbox_report(&[("sr_1", "capture", id, "", 2_000, 60)]);
    let answer = client
        .expect(201, Method::POST, "/v1/settlement_reports", &json!({ "account": account, "content": first }))
        .await;
    assert_eq!(answer["run"]["exceptions"], json!({}));
    // The next day's report repeats yesterday's row beside a new fee.
    let second = sandbox_report(&[("sr_2", "fee", "", "", -5, 0), ("sr_1", "capture", id, "", 2_000, 60)]);
    let answer = client
        .expect(201, Method::POST, "/v1/settlement_reports", &json!({ "account": account, "content": second }))
        .await;
    assert_eq!(answer["run"]["exceptions"], json!({ "duplicate": 1 }));
    let postings: i64 = sqlx::query_scalar("SELECT count(*) FROM settlement_postings WHERE row_key = 'sr_1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(postings, 1);
    // Running the first report again does not call its own row a duplicate of the later one.
    let scope = Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test };
    let report: String =
        sqlx::query_scalar("SELECT id FROM settlement_reports WHERE processor_account_id = $1 ORDER BY id LIMIT 1")
            .bind(account)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let rerun =
        matching::run(&app.pool, scope, ProcessorAccountId::parse(account).unwrap(), Some(&report), 0).await.unwrap();
    assert_eq!((rerun.exceptions.len(), rerun.matched), (0, 1));
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_payout_the_bank_returned_is_booked_back_once_announced_and_checked_against_the_payout() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, "4242424242424242", 2_500, "eur", true).await;
    let (id, account) = (charge["id"].as_str().unwrap(), charge["processor"]["account"].as_str().unwrap());
    let payment = app.processor_reference(id).await;
    let client = app.client(&merchant, "test");
    let upload = |rows: &str| json!({ "account": account, "content": format!("{}\n{rows}", paygate_core::settlement::sandbox::COLUMNS.join(",")) });
    // Day one: the capture, paid out (the processor's fee of 25 is Paygate's; the merchant gets its 2,500).
    let day_one = format!(
        "sr_1,2026-11-01 10:00:00,capture,{id},,{payment},EUR,2500,25,2475,sbxpo_1\n\
         sbxpo_1,2026-11-01 23:59:59,payout,,,,EUR,-2475,0,-2475,sbxpo_1\n"
    );
    let uploaded = client.expect(201, Method::POST, "/v1/settlement_reports", &upload(&day_one)).await;
    assert_eq!(uploaded["run"]["exceptions"], json!({}), "{uploaded}");
    let payout = client.expect(200, Method::GET, "/v1/payouts", &Value::Null).await["data"][0].clone();
    assert_eq!((&payout["amount"], &payout["status"]), (&json!(2_500), &json!("paid")));
    // Day two: the bank returned it; another return of the same payout, one of a payout never made, one of the
    // wrong amount.
    let day_two = "sr_9,2026-11-02 09:00:00,payout_failure,,,,EUR,2475,0,2475,sbxpo_1\n\
                   sr_10,2026-11-02 09:00:00,payout_failure,,,,EUR,2475,0,2475,sbxpo_1\n\
                   sr_11,2026-11-02 09:00:00,payout_failure,,,,EUR,1000,0,1000,sbxpo_404\n";
    let uploaded = client.expect(201, Method::POST, "/v1/settlement_reports", &upload(day_two)).await;
    assert_eq!(
        uploaded["run"]["exceptions"],
        json!({ "status_mismatch": 1, "missing_in_ledger": 1 }),
        "the first return is matched, the second finds the payout failed: {uploaded}"
    );
    let failed =
        client.expect(200, Method::GET, &format!("/v1/payouts/{}", payout["id"].as_str().unwrap()), &Value::Null).await;
    assert_eq!(failed["status"], "failed");
    let events = client.expect(200, Method::GET, "/v1/events?type=payout.failed", &Value::Null).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    assert_eq!(events["data"][0]["data"]["object"]["id"], payout["id"]);
    let balance = client.expect(200, Method::GET, "/v1/balance", &Value::Null).await;
    assert_eq!(balance["available"], json!([{ "amount": 2_500, "currency": "EUR" }]), "the merchant's money is back");
    // Run again: nothing booked twice, the same exceptions.
    let again = matching::run(
        &app.pool,
        Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test },
        ProcessorAccountId::parse(account).unwrap(),
        Some(uploaded["id"].as_str().unwrap()),
        paygate_ledger::ids::unix_seconds_now(),
    )
    .await
    .unwrap();
    assert_eq!((again.booked.rows, again.booked.payouts_failed, again.opened), (0, 0, 0));
    assert_eq!(client.expect(200, Method::GET, "/v1/balance", &Value::Null).await, balance);
    // A return of another amount than the payout row paid is an amount mismatch.
    let other = app.charge_card(&merchant, "4242424242424242", 1_000, "eur", true).await;
    let other_id = other["id"].as_str().unwrap();
    let day_three = format!(
        "sr_20,2026-11-03 10:00:00,capture,{other_id},,,EUR,1000,10,990,sbxpo_2\n\
         sbxpo_2,2026-11-03 23:59:59,payout,,,,EUR,-990,0,-990,sbxpo_2\n\
         sr_21,2026-11-04 09:00:00,payout_failure,,,,EUR,900,0,900,sbxpo_2\n"
    );
    let uploaded = client.expect(201, Method::POST, "/v1/settlement_reports", &upload(&day_three)).await;
    assert_eq!(uploaded["run"]["exceptions"], json!({ "amount_mismatch": 1 }), "{uploaded}");
    let found =
        client.expect(200, Method::GET, "/v1/reconciliation/exceptions?category=amount_mismatch", &Value::Null).await;
    assert_eq!(found["data"][0]["detail"], "the processor returned 900 of payout sbxpo_2, which paid 990");
    audit_is_clean(&app).await;
}
