//! Webhook delivery against a scripted local receiver: events reach every subscribed endpoint signed per
//! Standard Webhooks (checked with core and with the reference Python library, also during a secret
//! rotation); a receiver that is down, answers 500, times out, answers 429 with Retry-After, redirects or
//! answers 410 gets the right retry or stop; the `webhook-id` is stable across retries; a worker that dies
//! mid-delivery loses nothing; two workers never send the same attempt; an idle worker is woken by the
//! transaction that made a delivery due.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use paygate_core::signature::webhook::{WebhookHeaders, WebhookSecret, verify};
use paygate_ledger::jobs::webhook_delivery::{self, Senders};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver answers next: (status, extra header, delay).
type Reply = (u16, Option<(&'static str, &'static str)>, Duration);

#[derive(Clone, Default)]
struct Receiver {
    /// Scripted replies, used in order; after them, 200.
    script: Arc<Mutex<Vec<Reply>>>,
    /// Every message received: (headers, body).
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let app = axum::Router::new().route("/hooks", axum::routing::post(receive)).with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn script(&self, replies: Vec<Reply>) {
        *self.script.lock().unwrap() = replies;
    }

    fn messages(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, String) {
    receiver.received.lock().unwrap().push((headers, body));
    let reply = {
        let mut script = receiver.script.lock().unwrap();
        if script.is_empty() { (200, None, Duration::ZERO) } else { script.remove(0) }
    };
    tokio::time::sleep(reply.2).await;
    let mut headers = HeaderMap::new();
    if let Some((name, value)) = reply.1 {
        headers.insert(name, value.parse().unwrap());
    }
    (StatusCode::from_u16(reply.0).unwrap(), headers, "ok".into())
}

async fn create_endpoint(app: &TestApp, merchant: &str, url: &str, events: Value) -> Value {
    let body = json!({ "url": url, "enabled_events": events }).to_string();
    let response = app.signed(Method::POST, "/v1/webhook_endpoints", &body, merchant, "test").send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn senders(app: &TestApp) -> Senders {
    Senders::new(Duration::from_millis(800), app.secrets_keys.clone())
}

/// Runs the worker until nothing is due (makes every pending delivery due first, as if time had passed).
async fn deliver_all(app: &TestApp, hurry: bool) {
    for _ in 0..20 {
        if hurry {
            sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'")
                .execute(&app.pool)
                .await
                .unwrap();
        }
        if webhook_delivery::run_once(&app.pool, &senders(app)).await.unwrap() == 0 {
            return;
        }
    }
}

async fn delivery_state(app: &TestApp, endpoint: &str) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT status, attempts FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id")
        .bind(endpoint)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

fn check_signature(secret: &str, headers: &HeaderMap, body: &str) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let parsed = WebhookHeaders::from_lookup(get).unwrap();
    verify(&WebhookSecret::parse(secret).unwrap(), &parsed, body.as_bytes(), paygate_ledger::ids::unix_seconds_now())
        .unwrap();
}

/// Verifies every message with the reference `standardwebhooks` library (the project venv's Python).
fn python_verifies(secret: &str, messages: &[(HeaderMap, String)]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: scripts/install.sh creates it", python.display());
    let cases: Vec<Value> = messages
        .iter()
        .map(|(headers, body)| {
            let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
            json!({ "id": h("webhook-id"), "timestamp": h("webhook-timestamp"), "signature": h("webhook-signature"), "body": body })
        })
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
data = json.load(sys.stdin)
hook = Webhook(data["secret"])
for m in data["messages"]:
    hook.verify(m["body"], {"webhook-id": m["id"], "webhook-timestamp": m["timestamp"], "webhook-signature": m["signature"]})
print(len(data["messages"]))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!({ "secret": secret, "messages": cases }).to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the reference library refused a delivery");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), messages.len().to_string());
}

#[tokio::test]
async fn events_reach_every_subscribed_endpoint_signed_and_verifiable_by_the_reference_library() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (all, captures) = (Receiver::default(), Receiver::default());
    let all_endpoint = create_endpoint(&app, &merchant, &all.start().await, json!(["*"])).await;
    let capture_endpoint = create_endpoint(&app, &merchant, &captures.start().await, json!(["charge.captured"])).await;
    let secret = all_endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // Shown once: not in the list, not on retrieval.
    let listed = app
        .signed(Method::GET, "/v1/webhook_endpoints", "", &merchant, "test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&secret));

    let charge = app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    deliver_all(&app, false).await;
    let messages = all.messages();
    let mut types: Vec<String> = messages
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    // Deliveries go out concurrently, so in no promised order (ids and `created` order the events).
    types.sort();
    assert_eq!(types, ["charge.authorized", "charge.captured"]);
    for (headers, body) in &messages {
        check_signature(&secret, headers, body);
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(headers["webhook-id"], event["id"].as_str().unwrap());
        assert_eq!(event["data"]["object"]["id"], charge["id"]);
    }
    python_verifies(&secret, &messages);
    assert_eq!(captures.messages().len(), 1, "only what it subscribed to");
    assert_eq!(delivery_state(&app, capture_endpoint["id"].as_str().unwrap()).await, [("succeeded".to_owned(), 1)]);

    // During a rotation both secrets sign; a receiver holding either one verifies.
    let path = format!("/v1/webhook_endpoints/{}/rotate_secret", all_endpoint["id"].as_str().unwrap());
    let rotated: Value =
        app.signed(Method::POST, &path, "", &merchant, "test").send().await.unwrap().json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    app.charge_card(&merchant, "4242424242424242", 2_000, "EUR", false).await;
    deliver_all(&app, false).await;
    let after = all.messages()[2..].to_vec();
    assert_eq!(after.len(), 1);
    check_signature(&secret, &after[0].0, &after[0].1);
    check_signature(&new_secret, &after[0].0, &after[0].1);
    python_verifies(&secret, &after);
    python_verifies(&new_secret, &after);
}

#[tokio::test]
async fn failures_are_retried_on_schedule_with_a_stable_webhook_id_until_the_receiver_recovers() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let endpoint = create_endpoint(&app, &merchant, &url, json!(["charge.captured"])).await;
    let id = endpoint["id"].as_str().unwrap();
    // 500, a timeout (the sender gives up after 0.8 s), a redirect (never followed), then 200.
    receiver.script(vec![
        (500, None, Duration::ZERO),
        (200, None, Duration::from_millis(1_500)),
        (302, Some(("location", "http://169.254.169.254/")), Duration::ZERO),
    ]);
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    webhook_delivery::run_once(&app.pool, &senders(&app)).await.unwrap();
    let (status, attempts, delay): (String, i32, f64) = sqlx::query_as(
        "SELECT status, attempts, extract(epoch FROM next_attempt_at - now())::float8 FROM webhook_deliveries WHERE endpoint_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!((3.0..=6.0).contains(&delay), "the second attempt waits ~5 s: {delay}");
    deliver_all(&app, true).await;
    assert_eq!(delivery_state(&app, id).await, [("succeeded".to_owned(), 4)]);
    let ids: Vec<String> =
        receiver.messages().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|i| *i == ids[0]), "one webhook-id across retries: {ids:?}");
    let log: Vec<(Option<i32>, Option<String>)> =
        sqlx::query_as("SELECT a.status_code, a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1 ORDER BY a.attempt")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(log[0].0, Some(500));
    assert!(log[1].0.is_none() && log[1].1.as_deref().unwrap_or("").contains("timed out"), "{log:?}");
    assert_eq!(log[2].0, Some(302));
    assert_eq!(log[3].0, Some(200));
}

#[tokio::test]
async fn deleting_an_endpoint_takes_its_pending_deliveries_and_their_attempts_and_keeps_what_was_delivered() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let endpoint = create_endpoint(&app, &merchant, &url, json!(["charge.captured"])).await;
    let id = endpoint["id"].as_str().unwrap();
    // One delivered, then one that failed once and waits for its retry.
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    deliver_all(&app, false).await;
    receiver.script(vec![(500, None, Duration::ZERO)]);
    app.charge_card(&merchant, "4242424242424242", 2_000, "EUR", true).await;
    webhook_delivery::run_once(&app.pool, &senders(&app)).await.unwrap();
    let mut states = delivery_state(&app, id).await;
    states.sort();
    assert_eq!(states, [("pending".to_owned(), 1), ("succeeded".to_owned(), 1)]);
    // Attempts of this merchant, and those whose delivery is gone.
    let attempts = || {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS
                 (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id AND d.merchant_id = a.merchant_id))
             FROM webhook_attempts a WHERE a.merchant_id = $1",
        )
        .bind(&merchant)
        .fetch_one(&app.pool)
    };
    assert_eq!(attempts().await.unwrap(), (2, 0));
    let path = format!("/v1/webhook_endpoints/{id}");
    let deleted = app.signed(Method::DELETE, &path, "", &merchant, "test").send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(delivery_state(&app, id).await, [("succeeded".to_owned(), 1)]);
    // The delivered attempt stays with its delivery; the pending one's went with it: none is left orphaned.
    assert_eq!(attempts().await.unwrap(), (1, 0));
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_everything_once_it_is_back() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // A port bound but not listening (connections are refused), then the same socket serving: the port stays ours
    // throughout, so no test running alongside can take it in between.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let endpoint = create_endpoint(&app, &merchant, &format!("http://{addr}/hooks"), json!(["*"])).await;
    for _ in 0..3 {
        app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", false).await;
    }
    deliver_all(&app, true).await;
    let states = delivery_state(&app, endpoint["id"].as_str().unwrap()).await;
    assert_eq!(states.len(), 3);
    assert!(states.iter().all(|(s, a)| s == "failed" && *a == 8), "eight attempts, then failed: {states:?}");
    // The merchant redelivers once the receiver is back.
    let receiver = Receiver::default();
    let app_router = axum::Router::new().route("/hooks", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = socket.listen(64).unwrap();
    tokio::spawn(async move { axum::serve(listener, app_router).await });
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM webhook_deliveries ORDER BY id").fetch_all(&app.pool).await.unwrap();
    for event in &events {
        let path = format!("/v1/events/{event}/redeliver");
        let response = app.signed(Method::POST, &path, "", &merchant, "test").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    deliver_all(&app, false).await;
    let mut got: Vec<String> =
        receiver.messages().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    let mut expected = events.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "every event arrived, under its own id (sent concurrently, in any order)");
    let listed: Value = app
        .signed(Method::GET, &format!("/v1/events/{}/deliveries", events[0]), "", &merchant, "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["status"], "succeeded");
    assert_eq!(listed["data"][0]["attempt_log"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn retry_after_is_honoured_and_410_disables_the_endpoint_with_an_event() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (limited, gone, watcher) = (Receiver::default(), Receiver::default(), Receiver::default());
    let limited_endpoint = create_endpoint(&app, &merchant, &limited.start().await, json!(["charge.captured"])).await;
    let gone_endpoint = create_endpoint(&app, &merchant, &gone.start().await, json!(["charge.captured"])).await;
    create_endpoint(&app, &merchant, &watcher.start().await, json!(["webhook_endpoint.disabled"])).await;
    limited.script(vec![(429, Some(("retry-after", "120")), Duration::ZERO)]);
    gone.script(vec![(410, None, Duration::ZERO)]);
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    deliver_all(&app, false).await;
    let delay: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM webhook_deliveries WHERE endpoint_id = $1",
    )
    .bind(limited_endpoint["id"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((110.0..=121.0).contains(&delay), "waits what Retry-After asks: {delay}");
    let gone_id = gone_endpoint["id"].as_str().unwrap();
    let disabled: (bool, Option<String>) =
        sqlx::query_as("SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1")
            .bind(gone_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(disabled, (false, Some("gone".into())));
    let told = watcher.messages();
    assert_eq!(told.len(), 1);
    let event: Value = serde_json::from_str(&told[0].1).unwrap();
    assert_eq!(
        (event["type"].as_str(), event["data"]["object"]["id"].as_str()),
        (Some("webhook_endpoint.disabled"), Some(gone_id))
    );
    // A disabled endpoint gets nothing more.
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    deliver_all(&app, false).await;
    assert_eq!(gone.messages().len(), 1);
}

#[tokio::test]
async fn two_workers_never_send_the_same_attempt_and_a_dead_workers_claims_come_back() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    create_endpoint(&app, &merchant, &url, json!(["charge.authorized"])).await;
    for _ in 0..40 {
        app.charge_card(&merchant, "4242424242424242", 500, "EUR", false).await;
    }
    let (a, b) = (senders(&app), senders(&app));
    let (first, second) =
        tokio::join!(webhook_delivery::run_once(&app.pool, &a), webhook_delivery::run_once(&app.pool, &b));
    deliver_all(&app, false).await;
    let ids: Vec<String> =
        receiver.messages().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(
        (ids.len(), unique.len()),
        (40, 40),
        "each sent once ({} + {} claimed)",
        first.unwrap(),
        second.unwrap()
    );

    // A worker dies mid-delivery: its claim stays `delivering` until the lease ends, then another worker
    // delivers it. (The receiver is slow so the worker is killed while the request is out.)
    receiver.script(vec![(200, None, Duration::from_secs(5))]);
    app.charge_card(&merchant, "4242424242424242", 500, "EUR", false).await;
    let (pool, keys) = (app.pool.clone(), app.secrets_keys.clone());
    let dying =
        tokio::spawn(
            async move { webhook_delivery::run_once(&pool, &Senders::new(Duration::from_secs(10), keys)).await },
        );
    tokio::time::sleep(Duration::from_millis(500)).await;
    dying.abort();
    let leased: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivering'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(leased, 1, "the dead worker's claim is still held");
    assert_eq!(
        webhook_delivery::run_once(&app.pool, &senders(&app)).await.unwrap(),
        0,
        "a live lease is not taken over"
    );
    sqlx::query("UPDATE webhook_deliveries SET locked_until = now() - interval '1 second' WHERE status = 'delivering'")
        .execute(&app.pool)
        .await
        .unwrap();
    deliver_all(&app, false).await;
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "nothing lost");
}

#[tokio::test]
async fn endpoint_api_validates_and_scopes() {
    let app = spawn_app().await;
    let (merchant, other) = (insert_merchant(&app.pool).await, insert_merchant(&app.pool).await);
    let post = |merchant: &str, mode: &str, body: Value| {
        app.signed(Method::POST, "/v1/webhook_endpoints", &body.to_string(), merchant, mode).send()
    };
    for (mode, body, param) in [
        ("live", json!({ "url": "http://shop.example.com/h", "enabled_events": ["*"] }), "url"),
        ("live", json!({ "url": "https://10.1.2.3/h", "enabled_events": ["*"] }), "url"),
        (
            "test",
            json!({ "url": "https://shop.example.com/h", "enabled_events": ["charge.teleported"] }),
            "enabled_events",
        ),
        ("test", json!({ "url": "https://shop.example.com/h", "enabled_events": ["*"], "x": 1 }), "x"),
        ("test", json!({ "enabled_events": ["*"] }), "url"),
    ] {
        let response = post(&merchant, mode, body.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["param"], param, "{body}: {problem}");
    }
    let created: Value = post(&merchant, "test", json!({ "url": "http://127.0.0.1:9/h", "enabled_events": ["*"] }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/v1/webhook_endpoints/{}", created["id"].as_str().unwrap());
    for (who, mode) in [(other.as_str(), "test"), (merchant.as_str(), "live")] {
        let response = app.signed(Method::GET, &path, "", who, mode).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
    let patched: Value = app
        .signed(
            Method::PATCH,
            &path,
            &json!({ "enabled": false, "description": "paused" }).to_string(),
            &merchant,
            "test",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (patched["enabled"].as_bool(), patched["disabled_reason"].as_str(), patched["description"].as_str()),
        (Some(false), Some("merchant"), Some("paused"))
    );
    let deleted = app.signed(Method::DELETE, &path, "", &merchant, "test").send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(app.signed(Method::GET, &path, "", &merchant, "test").send().await.unwrap().status(), 404);
}

/// `paygate-ledger work` as a process of its own on this test's database, with a 2 s claim lease.
fn start_worker(app: &TestApp) -> crate::helpers::Reaped {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
        .arg("work")
        .env("DATABASE_URL", app.database_url())
        .env("PAYGATE_EDGE_SECRET", &app.edge_secret_hex)
        .env("PAYGATE_SECRETS_KEYS", &app.secrets_keys_text)
        .env("PAYGATE_API_KEY_PEPPER", "ab".repeat(32))
        .env("PAYGATE_SANDBOX_URL", &app.sandbox_url)
        .env("PAYGATE_WEBHOOK_LEASE_SECONDS", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start paygate-ledger work");
    crate::helpers::Reaped(child)
}

#[tokio::test]
async fn kill_9_of_the_worker_mid_delivery_loses_nothing() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    create_endpoint(&app, &merchant, &url, json!(["*"])).await;
    // The first answers are slow, so the worker is killed with requests out.
    receiver.script((0..4).map(|_| (200, None, Duration::from_secs(3))).collect());
    for _ in 0..10 {
        app.charge_card(&merchant, "4242424242424242", 700, "EUR", true).await;
    }
    let events: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT event_id FROM webhook_deliveries").fetch_all(&app.pool).await.unwrap();
    assert_eq!(events.len(), 20);
    let mut worker = start_worker(&app);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while receiver.messages().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the worker never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.kill(); // SIGKILL
    let leased: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivering'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(leased > 0, "killed mid-delivery");

    let mut worker = start_worker(&app);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{open} deliveries never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.kill();
    let received: std::collections::HashSet<String> =
        receiver.messages().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    for event in &events {
        assert!(received.contains(event), "{event} never arrived");
    }
}

#[tokio::test]
async fn an_endpoint_failing_for_days_is_disabled_with_an_event_and_a_success_ends_a_streak() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (failing, healthy, watcher) = (Receiver::default(), Receiver::default(), Receiver::default());
    let failing_endpoint = create_endpoint(&app, &merchant, &failing.start().await, json!(["charge.captured"])).await;
    let healthy_endpoint = create_endpoint(&app, &merchant, &healthy.start().await, json!(["charge.captured"])).await;
    create_endpoint(&app, &merchant, &watcher.start().await, json!(["webhook_endpoint.disabled"])).await;
    failing.script(vec![(500, None, Duration::ZERO)]);
    // Both have been failing for six days; one fails again, the other succeeds.
    sqlx::query("UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = ANY($1)")
        .bind(vec![failing_endpoint["id"].as_str().unwrap(), healthy_endpoint["id"].as_str().unwrap()])
        .execute(&app.pool)
        .await
        .unwrap();
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    deliver_all(&app, false).await;
    let state = |id: &str| {
        let id = id.to_owned();
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (bool, Option<String>, bool)>(
                "SELECT enabled, disabled_reason, failing_since IS NOT NULL FROM webhook_endpoints WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(state(failing_endpoint["id"].as_str().unwrap()).await, (false, Some("failing".into()), true));
    assert_eq!(state(healthy_endpoint["id"].as_str().unwrap()).await, (true, None, false));
    let told: Vec<Value> = watcher.messages().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["data"]["object"]["disabled_reason"], "failing");
}

#[tokio::test]
async fn signing_secrets_are_sealed_at_rest_and_older_plaintext_ones_are_sealed_at_start_up() {
    use paygate_ledger::domain::webhooks::endpoints::{seal_plaintext_secrets, secret_context};
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let endpoint = create_endpoint(&app, &merchant, "http://127.0.0.1:9/hooks", json!(["*"])).await;
    let (id, secret) = (endpoint["id"].as_str().unwrap(), endpoint["secret"].as_str().unwrap());
    let rotated = app
        .signed(Method::POST, &format!("/v1/webhook_endpoints/{id}/rotate_secret"), "", &merchant, "test")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    // Nothing of either secret is stored in clear: not in the row, not anywhere in the table.
    let table: String = sqlx::query_scalar("SELECT string_agg(t::text, '|') FROM webhook_endpoints t")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let body = |s: &str| s.trim_start_matches("whsec_").to_owned();
    for stored in [secret, new_secret] {
        assert!(!table.contains(&body(stored)), "a secret is stored in clear: {table}");
    }
    // What is stored opens, with the key and for this endpoint only, to the secrets the merchant was shown.
    let scope = paygate_ledger::domain::tenancy::Scope {
        merchant_id: paygate_core::id::MerchantId::parse(&merchant).unwrap(),
        mode: paygate_core::Mode::Test,
    };
    let (current, previous): (Value, Value) =
        sqlx::query_as("SELECT secret_sealed, previous_secret_sealed FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let open = |sealed: &Value, context: &str| {
        let sealed: paygate_core::sealed::Sealed = serde_json::from_value(sealed.clone()).unwrap();
        paygate_core::sealed::open(&app.secrets_keys, &sealed, context).map(|b| String::from_utf8(b).unwrap())
    };
    assert_eq!(open(&current, &secret_context(id, scope)).unwrap(), new_secret);
    assert_eq!(open(&previous, &secret_context(id, scope)).unwrap(), secret);
    assert!(open(&current, &secret_context("we_01jd3x0000000000000000000a", scope)).is_err(), "bound to its endpoint");

    // An endpoint written before secrets were sealed holds its secret in clear until start-up seals it.
    sqlx::query("UPDATE webhook_endpoints SET secret = $2, secret_sealed = NULL WHERE id = $1")
        .bind(id)
        .bind(new_secret)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(seal_plaintext_secrets(&app.pool, &app.secrets_keys).await.unwrap(), 1);
    let (plain, sealed): (Option<String>, Value) =
        sqlx::query_as("SELECT secret, secret_sealed FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(plain, None);
    assert_eq!(open(&sealed, &secret_context(id, scope)).unwrap(), new_secret);
    assert_eq!(seal_plaintext_secrets(&app.pool, &app.secrets_keys).await.unwrap(), 0, "nothing left to seal");
}

/// Waits (at most 15 s) until `receiver` holds `count` messages.
async fn until_received(receiver: &Receiver, count: usize, what: &str) {
    for _ in 0..300 {
        if receiver.messages().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {} of {count} messages arrived", receiver.messages().len());
}

#[tokio::test]
async fn an_idle_worker_is_woken_by_new_deliveries_and_by_a_redelivery_without_polling() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let receiver = Receiver::default();
    create_endpoint(&app, &merchant, &receiver.start().await, json!(["charge.captured"])).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // It looks without a wake-up once an hour: whatever arrives during this test came by a wake-up.
    let worker = tokio::spawn(webhook_delivery::run_polling_every(
        app.pool.clone(),
        senders(&app),
        Duration::from_secs(3_600),
        async move {
            let _ = stopped.await;
        },
    ));
    // Let the worker find nothing and go idle first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.messages().is_empty());

    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    until_received(&receiver, 1, "the captured charge's event, by its transaction's notification").await;
    let event: String =
        sqlx::query_scalar("SELECT event_id FROM webhook_deliveries").fetch_one(&app.pool).await.unwrap();
    let path = format!("/v1/events/{event}/redeliver");
    let response = app.signed(Method::POST, &path, "", &merchant, "test").send().await.unwrap();
    assert_eq!(response.status(), 200);
    until_received(&receiver, 2, "the redelivery, by its notification").await;
    let ids: Vec<String> =
        receiver.messages().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [event.clone(), event], "the same event twice, under its own id");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), worker).await.expect("the worker stops when told").unwrap();
}
