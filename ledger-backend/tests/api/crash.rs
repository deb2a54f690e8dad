//! kill -9 of the backend in the middle of a burst of charges, then again in the middle of a burst of captures
//! and refunds on them. The backend runs as its own process (the real binary, `paygate-ledger serve`) against the
//! test's database, its fake processors (the sandbox, Stripe, and Checkout.com, which confirms what it accepted a
//! little later) and the vault double; it is killed with SIGKILL while requests are in flight, then started again.
//! Afterwards: every charge that was acknowledged is there as acknowledged; every request that was not is
//! answered on retry with exactly one charge (the Idempotency-Key), and every operation retried is done at most
//! once; the recovery job leaves nothing pending; each processor's books agree with ours; the ledger balances and
//! the audit finds nothing.

use crate::helpers::{EdgeHeaders, Reaped, TestApp, audit_is_clean, insert_merchant, spawn_app};
use futures::StreamExt;
use paygate_ledger::jobs::recovery;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BURST: usize = 240;
const CONCURRENCY: usize = 16;
/// Killed once this many charges have been acknowledged: well inside the burst.
const KILL_AFTER: usize = 60;
/// How long the fake Checkout.com takes to confirm what it accepted (a sale's capture, captures, refunds).
const CHECKOUT_DELAY_MS: u64 = 40;

/// The backend binary serving `app`'s database on `port`; its logs go to a file in the target directory.
fn start_backend(app: &TestApp, port: u16) -> Reaped {
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-test-backend-{port}.log"));
    let log = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
        .arg("serve")
        .env("DATABASE_URL", app.database_url())
        .env("PAYGATE_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("PAYGATE_EDGE_SECRET", &app.edge_secret_hex)
        .env("PAYGATE_SECRETS_KEYS", &app.secrets_keys_text)
        .env("PAYGATE_API_KEY_PEPPER", "ab".repeat(32))
        .env("PAYGATE_EDGE_URL", &app.vault.url)
        .env("PAYGATE_SANDBOX_URL", &app.sandbox_url)
        .env("PAYGATE_STRIPE_URL", &app.stripe_url)
        .env("PAYGATE_CHECKOUT_TEST_URL", &app.checkout_url)
        .env("PAYGATE_DB_CONNECTIONS_MAX", "8")
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .map(Reaped)
        .expect("start paygate-ledger serve")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(answer) = client.get(format!("{base}/health")).send().await
            && answer.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the backend did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The burst's currencies in turn: USD, GBP, EUR.
fn currency(i: usize) -> &'static str {
    ["USD", "GBP", "EUR"][i % 3]
}

/// The burst's USD charges go to Stripe, its GBP ones to Checkout.com (each on its fake), its EUR ones to the
/// sandbox.
fn connector(currency: &str) -> &'static str {
    match currency {
        "USD" => "stripe",
        "GBP" => "checkout",
        _ => "sandbox",
    }
}

/// One charge request of the burst: (Idempotency-Key, body).
fn request(app: &TestApp, merchant: &str, i: usize) -> (String, String) {
    let token = app.vault.tokenize("4242424242424242", merchant, "test");
    let body =
        json!({ "amount": 1_000 + i as i64, "currency": currency(i), "source": token, "capture": i.is_multiple_of(2) });
    (format!("burst-{i}"), body.to_string())
}

async fn send(app: &TestApp, base: &str, merchant: &str, key: &str, body: &str) -> Result<(u16, Value), String> {
    send_to(app, base, merchant, "/v1/charges", key, body).await
}

async fn send_to(
    app: &TestApp,
    base: &str,
    merchant: &str,
    path: &str,
    key: &str,
    body: &str,
) -> Result<(u16, Value), String> {
    let headers = EdgeHeaders::for_merchant(merchant, "test");
    let answer = app
        .signed_to(base, &app.edge_secret, Method::POST, path, body, &headers)
        .header("idempotency-key", key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.map_err(|e| e.to_string())?))
}

#[tokio::test]
async fn a_backend_killed_mid_burst_loses_no_acknowledged_charge_and_leaves_nothing_stuck() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (checkout, checkout_key) = app.route_to_checkout(&merchant, "test", CHECKOUT_DELAY_MS).await;
    let (stripe, stripe_key) = app.route_to_stripe(&merchant, "test").await;
    let sandbox: String =
        sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1 AND connector = 'sandbox'")
            .bind(&merchant)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let table = json!({ "rules": [
        { "conditions": { "currencies": ["USD"] }, "account": stripe },
        { "conditions": { "currencies": ["GBP"] }, "account": checkout },
    ], "default": sandbox });
    app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &table).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut backend = start_backend(&app, port);
    wait_healthy(&app.client, &base).await;

    let requests: Vec<(String, String)> = (0..BURST).map(|i| request(&app, &merchant, i)).collect();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let burst = futures::stream::iter(requests.iter().cloned().enumerate())
        .map(|(i, (key, body))| {
            let (app, base, merchant, acknowledged) = (&app, &base, &merchant, acknowledged.clone());
            async move {
                let result = send(app, base, merchant, &key, &body).await;
                if matches!(result, Ok((201, _))) {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                (i, result)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>();
    let killer = {
        let acknowledged = acknowledged.clone();
        let backend = &mut backend;
        async move {
            while acknowledged.load(Ordering::SeqCst) < KILL_AFTER {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            backend.kill(); // SIGKILL
        }
    };
    let (results, ()) = tokio::join!(burst, killer);

    let mut answered = std::collections::HashMap::new();
    for (i, result) in &results {
        if let Ok((201, charge)) = result {
            answered.insert(*i, charge.clone());
        }
    }
    let lost = BURST - answered.len();
    assert!(answered.len() >= KILL_AFTER && lost > 0, "the kill landed mid-burst: {} answered", answered.len());

    // Restart. Every acknowledged charge is there, as it was acknowledged.
    let mut backend = start_backend(&app, port);
    wait_healthy(&app.client, &base).await;
    for (i, charge) in &answered {
        let id = charge["id"].as_str().unwrap();
        assert_eq!(charge["processor"]["connector"], connector(currency(*i)), "request {i}");
        let stored: (String, i64) = sqlx::query_as("SELECT status, amount FROM charges WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap_or_else(|e| panic!("acknowledged charge {id} (request {i}) is missing: {e}"));
        assert_eq!(
            (stored.0.as_str(), stored.1),
            (charge["status"].as_str().unwrap(), charge["amount"].as_i64().unwrap())
        );
    }

    // Whatever the crash left in flight is recovered (nothing of the old process can still arrive: it is
    // dead, and the sandbox finishes what it received at once, so a zero settle delay is safe here).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sandbox = app.processors();
    let recovered = recovery::run_once(&app.pool, &sandbox, Duration::ZERO).await.unwrap();
    let stuck: i64 =
        sqlx::query_scalar("SELECT count(*) FROM charges WHERE status = 'pending' OR pending_operation IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stuck, 0, "no charge is left stuck ({recovered:?} recovered)");
    let in_flight: i64 = sqlx::query_scalar("SELECT count(*) FROM charges").fetch_one(&app.pool).await.unwrap();
    eprintln!(
        "crash test: {} acknowledged before the kill, {} charges stored, {recovered:?} recovered",
        answered.len(),
        in_flight
    );

    // Clients retry what was never acknowledged: each key yields exactly one charge.
    for (i, (key, body)) in requests.iter().enumerate() {
        if answered.contains_key(&i) {
            continue;
        }
        let (status, charge) = send(&app, &base, &merchant, key, body).await.unwrap();
        assert!(status == 200 || status == 201, "retry of request {i}: {status} {charge}");
        let expected = if i.is_multiple_of(2) { "captured" } else { "authorized" };
        // A charge the crash interrupted before the processor answered may have been failed by recovery
        // (the processor never saw it); otherwise it is approved as asked (a Checkout.com sale: authorized, its
        // capture accepted and not yet confirmed).
        let pending_sale = charge["status"] == "authorized" && charge["pending_operation"] == "capture";
        assert!(
            charge["status"] == expected || charge["status"] == "failed" || (expected == "captured" && pending_sale),
            "request {i}: {charge}"
        );
    }
    let per_key: Vec<(String, i64)> = sqlx::query_as(
        "SELECT idempotency_key, count(*) FROM charges WHERE merchant_id = $1 GROUP BY idempotency_key HAVING count(*) <> 1",
    )
    .bind(&merchant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(per_key.is_empty(), "keys with other than one charge: {per_key:?}");
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM charges").fetch_one(&app.pool).await.unwrap();
    assert_eq!(total as usize, BURST);

    // What the retries' sales left for Checkout.com to confirm is confirmed.
    settle(&app).await;
    books_agree(&app, &stripe_key, &checkout_key).await;

    // Second burst: a capture of half of every authorized charge and a refund of 100 of every captured one, with
    // a kill -9 in the middle of it.
    let open: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, status, amount FROM charges WHERE merchant_id = $1 AND status IN ('authorized', 'captured')
         ORDER BY id",
    )
    .bind(&merchant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let operations: Vec<(String, String, String)> = open
        .iter()
        .map(|(id, status, amount)| match status.as_str() {
            "authorized" => (format!("op-{id}"), format!("/v1/charges/{id}/capture"), json!({ "amount": amount / 2 })),
            _ => (format!("op-{id}"), "/v1/refunds".to_owned(), json!({ "charge": id, "amount": 100 })),
        })
        .map(|(key, path, body)| (key, path, body.to_string()))
        .collect();
    assert!(operations.len() > 100, "{} operations", operations.len());
    let done = Arc::new(AtomicUsize::new(0));
    let burst = futures::stream::iter(operations.iter().cloned().enumerate())
        .map(|(i, (key, path, body))| {
            let (app, base, merchant, done) = (&app, &base, &merchant, done.clone());
            async move {
                let result = send_to(app, base, merchant, &path, &key, &body).await;
                if matches!(result, Ok((200..=202, _))) {
                    done.fetch_add(1, Ordering::SeqCst);
                }
                (i, result)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>();
    let kill_after = operations.len() / 4;
    let killer = {
        let done = done.clone();
        let backend = &mut backend;
        async move {
            while done.load(Ordering::SeqCst) < kill_after {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            backend.kill(); // SIGKILL
        }
    };
    let (results, ()) = tokio::join!(burst, killer);
    let acknowledged: std::collections::HashSet<usize> =
        results.iter().filter(|(_, r)| matches!(r, Ok((200..=202, _)))).map(|(i, _)| *i).collect();
    assert!(acknowledged.len() >= kill_after && acknowledged.len() < operations.len(), "the kill landed mid-burst");
    eprintln!("crash test, operations: {} of {} acknowledged before the kill", acknowledged.len(), operations.len());
    let mut backend = start_backend(&app, port);
    wait_healthy(&app.client, &base).await;
    settle(&app).await;
    // The client retries what was not acknowledged, with the same key: a refund's key answers its one refund; a
    // capture that was applied before the crash is simply no longer possible (409), never a second capture.
    for (i, (key, path, body)) in operations.iter().enumerate() {
        if acknowledged.contains(&i) {
            continue;
        }
        let (status, answer) = send_to(&app, &base, &merchant, path, key, body).await.unwrap();
        assert!(matches!(status, 200..=202 | 409), "retry of {path}: {status} {answer}");
    }
    settle(&app).await;
    let refunds_per_charge: Vec<(String, i64)> = sqlx::query_as(
        "SELECT charge_id, count(*) FROM refunds WHERE merchant_id = $1 GROUP BY charge_id HAVING count(*) <> 1",
    )
    .bind(&merchant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(refunds_per_charge.is_empty(), "charges refunded other than once: {refunds_per_charge:?}");
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM charges WHERE merchant_id = $1 AND status = 'captured' AND amount_refunded = 0
           AND amount_captured <> amount AND amount_captured <> amount / 2",
    )
    .bind(&merchant)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(twice, 0, "every capture took half, once");
    let stuck: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM charges WHERE status = 'pending' OR pending_operation IS NOT NULL)
              + (SELECT count(*) FROM refunds WHERE status = 'pending')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stuck, 0, "nothing is left pending after the second crash");
    books_agree(&app, &stripe_key, &checkout_key).await;
    audit_is_clean(&app).await;
    backend.kill();
}

/// Runs recovery once Checkout.com has had time to confirm what it accepted (nothing of a killed process can still
/// arrive: it is dead).
async fn settle(app: &TestApp) {
    tokio::time::sleep(Duration::from_millis(CHECKOUT_DELAY_MS * 3 + 200)).await;
    recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
}

/// Each processor's books agree with ours: captured and refunded there exactly as here.
async fn books_agree(app: &TestApp, stripe_key: &str, checkout_key: &str) {
    let approved: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, processor, processor_reference, amount_captured, amount_refunded FROM charges
         WHERE processor_reference IS NOT NULL",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (id, processor, reference, captured, refunded) in approved {
        let at_processor = match processor.as_str() {
            "stripe" => {
                let url = format!("{}/v1/payment_intents/{reference}", app.stripe_url);
                let intent: Value =
                    app.client.get(url).bearer_auth(stripe_key).send().await.unwrap().json().await.unwrap();
                let url = format!("{}/v1/refunds?payment_intent={reference}", app.stripe_url);
                let refunds: Value =
                    app.client.get(url).bearer_auth(stripe_key).send().await.unwrap().json().await.unwrap();
                let refunded: i64 = refunds["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["status"] == "succeeded")
                    .map(|r| r["amount"].as_i64().unwrap())
                    .sum();
                (intent["amount_received"].clone(), json!(refunded))
            }
            "checkout" => {
                let url = format!("{}/payments/{reference}", app.checkout_url);
                let payment: Value =
                    app.client.get(url).bearer_auth(checkout_key).send().await.unwrap().json().await.unwrap();
                (payment["balances"]["total_captured"].clone(), payment["balances"]["total_refunded"].clone())
            }
            _ => {
                let authorization = app.at_processor(&reference).await;
                (authorization["captured"].clone(), authorization["refunded"].clone())
            }
        };
        assert_eq!(at_processor, (json!(captured), json!(refunded)), "{id} at {processor}");
    }
}
