//! Benchmark (not a test) of webhook delivery to a local receiver: deliveries per second when a backlog
//! drains (two workers, as two `paygate-ledger work` processes would run), and the time from a state
//! change's commit to its delivery (p50/p99) at a steady rate with the worker idling between events.
//! Events are written through `journal::emit`, the outbox path every state change takes. Run by
//! `scripts/bench.sh webhooks` (`make bench WHAT=webhooks`). Knobs: `BENCH_EVENTS` (backlog, default 5,000).

use axum::extract::State;
use axum::http::HeaderMap;
use paygate_core::Mode;
use paygate_core::id::MerchantId;
use paygate_ledger::db;
use paygate_ledger::domain::journal;
use paygate_ledger::domain::tenancy::Scope;
use paygate_ledger::domain::webhooks::endpoints;
use paygate_ledger::ids::{new_id, unix_seconds_now};
use paygate_ledger::jobs::webhook_delivery::{self, Senders};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, headers: HeaderMap) -> &'static str {
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        arrivals.lock().unwrap().entry(id.to_owned()).or_insert_with(Instant::now);
    }
    "ok"
}

async fn emit(pool: &sqlx::PgPool, scope: Scope) -> String {
    let mut tx = pool.begin().await.unwrap();
    let object_id = new_id::<paygate_core::id::ChargeKind>().to_string();
    let object = serde_json::json!({ "id": object_id, "object": "charge", "status": "captured", "amount": 1000 });
    let id = journal::emit(&mut tx, scope, "charge.captured", &object_id, object).await.unwrap();
    tx.commit().await.unwrap();
    id
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1_000.0
}

#[tokio::main]
async fn main() {
    let admin_url =
        std::env::var("DATABASE_URL").expect("DATABASE_URL: a PostgreSQL server to create the bench database in");
    let backlog: usize = std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let db_name = format!("paygate_bench_webhooks_{}", unix_seconds_now());
    let (base_url, _) = admin_url.rsplit_once('/').expect("DATABASE_URL names a database");
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    admin.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{db_name}""#))).await.unwrap();
    let pool = db::connect(&format!("{base_url}/{db_name}"), 16, db::Role::Owner).await.unwrap();
    db::migrate(&pool).await.unwrap();
    db::partitions::ensure(&pool, unix_seconds_now()).await.unwrap();

    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new().route("/hooks", axum::routing::post(receive)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(paygate_ledger::no_delay(listener), app).await });

    let keys = paygate_core::sealed::DataKeys::from_keys(vec![(1, [5; 32])]);
    // Ten merchants with one endpoint each, so the per-endpoint bound does not decide the result alone.
    let mut scopes = Vec::new();
    for _ in 0..10 {
        let merchant = new_id::<paygate_core::id::MerchantKind>().to_string();
        sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, 'Bench shop')")
            .bind(&merchant)
            .execute(&pool)
            .await
            .unwrap();
        let scope = Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test };
        endpoints::create(&pool, &keys, scope, &url, &["*".to_owned()], None).await.unwrap();
        scopes.push(scope);
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!("webhook delivery benchmark: local receiver, 10 endpoints, {cores} cores");
    println!("| measure | result |");
    println!("|---|---|");

    // 1. Throughput: a backlog drained by two workers.
    for i in 0..backlog {
        emit(&pool, scopes[i % scopes.len()]).await;
    }
    let started = Instant::now();
    let senders = Senders::new(webhook_delivery::TIMEOUT, keys.clone());
    let drain = |pool: sqlx::PgPool, senders: Senders| async move {
        while webhook_delivery::run_once(&pool, &senders).await.unwrap() > 0 {}
    };
    tokio::join!(drain(pool.clone(), senders.clone()), drain(pool.clone(), senders.clone()));
    let elapsed = started.elapsed();
    let delivered = arrivals.lock().unwrap().len();
    println!(
        "| backlog of {backlog} drained by 2 workers | {:.0} deliveries/s ({delivered} delivered in {:.1} s) |",
        delivered as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );

    // 2. Latency: 50 events/s for 10 s, one worker woken by each event's notification, as `paygate-ledger work` is.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(webhook_delivery::run(pool.clone(), senders.clone(), async move {
        let _ = stop_rx.await;
    }));
    let mut committed = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for i in 0..500 {
        tick.tick().await;
        let id = emit(&pool, scopes[i % scopes.len()]).await;
        committed.push((id, Instant::now()));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop_tx.send(());
    let _ = worker.await;
    let arrived = arrivals.lock().unwrap().clone();
    let mut latencies: Vec<Duration> =
        committed.iter().filter_map(|(id, at)| arrived.get(id).map(|got| got.saturating_duration_since(*at))).collect();
    latencies.sort();
    println!(
        "| commit → delivered, 50 events/s, 1 idle worker woken by LISTEN/NOTIFY (looking anyway every {} ms) | p50 {:.1} ms, p99 {:.1} ms ({} of {} arrived) |",
        webhook_delivery::IDLE_POLL.as_millis(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len(),
        committed.len()
    );
    pool.close().await;
    let _ = admin.execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)"#))).await;
}
