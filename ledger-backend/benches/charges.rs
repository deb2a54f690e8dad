//! Benchmark (not a test) of charges through the backend's HTTP API: each operation creates a charge
//! (`capture: false`, so it is authorized through the vault-forward contract and the sandbox acquirer)
//! and then captures it, as a shop that captures on shipping does. Reports operations per second and
//! the latency of create, capture and both together, for 1,000 merchants and for one hot merchant.
//!
//! Everything runs in this one process on the machine's cores: the backend, the sandbox acquirer, the
//! vault-forward stand-in (the test double from `tests/api/`, until the edge's vault exists) and the load
//! generator; PostgreSQL runs beside it. Run by `scripts/bench.sh ledger` (see BENCHMARKS.md), which
//! starts a durable PostgreSQL cluster and points `DATABASE_URL` at it.
//!
//! The same operations also run for merchants routed to Stripe (the fake Stripe, in this process too), as
//! production runs them (`paygate_api`), to show what the connector itself costs beside the sandbox's.
//!
//! Knobs: `BENCH_CHARGES` (per scenario, default 4,000), `BENCH_CONCURRENCY` (default 32).

#[path = "../tests/api/vault_double.rs"]
#[allow(dead_code)]
mod vault_double;

use futures::StreamExt;
use paygate_core::id::RequestKind;
use paygate_core::signature::edge::{self, EdgeSecret, SignedRequest};
use paygate_ledger::config::Config;
use paygate_ledger::domain::api_keys::Pepper;
use paygate_ledger::ids::{new_id, unix_seconds_now};
use paygate_ledger::{Server, db, startup};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::time::{Duration, Instant};
use vault_double::VaultDouble;

struct Scenario {
    name: &'static str,
    merchants: usize,
    /// Routed to Stripe (on its fake) instead of the sandbox acquirer.
    stripe: bool,
}

struct Target {
    base: String,
    secret: EdgeSecret,
    client: reqwest::Client,
}

impl Target {
    async fn post(&self, merchant: &str, path: &str, body: &str, key: Option<&str>) -> Result<Value, String> {
        let request_id = new_id::<RequestKind>().to_string();
        let timestamp = unix_seconds_now();
        let signature = SignedRequest {
            timestamp,
            method: "POST",
            path,
            body: body.as_bytes(),
            merchant_id: merchant,
            mode: "test",
            request_id: &request_id,
            key_id: "",
        }
        .sign(&[&self.secret])
        .map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(edge::HEADER_SIGNATURE, signature)
            .header(edge::HEADER_TIMESTAMP, timestamp.to_string())
            .header(edge::HEADER_REQUEST_ID, &request_id)
            .header(edge::HEADER_MERCHANT, merchant)
            .header(edge::HEADER_MODE, "test")
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.map_err(|e| e.to_string())?;
        if status >= 300 {
            return Err(format!("{status} {answer}"));
        }
        Ok(answer)
    }
}

/// (create, capture) latencies of one operation, or why it failed.
async fn create_and_capture(target: &Target, merchant: &str, token: String) -> Result<(Duration, Duration), String> {
    let started = Instant::now();
    let body = json!({ "amount": 2_500, "currency": "EUR", "source": token, "capture": false }).to_string();
    let charge = target.post(merchant, "/v1/charges", &body, Some(&token)).await?;
    let created = started.elapsed();
    if charge["status"] != "authorized" {
        return Err(format!("charge not authorized: {charge}"));
    }
    let path = format!("/v1/charges/{}/capture", charge["id"].as_str().unwrap_or_default());
    let captured = target.post(merchant, &path, "", None).await?;
    if captured["status"] != "captured" {
        return Err(format!("capture failed: {captured}"));
    }
    Ok((created, started.elapsed() - created))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1_000.0
}

async fn run(
    target: &Target,
    vault: &VaultDouble,
    merchants: &[String],
    operations: usize,
    concurrency: usize,
) -> (Duration, Vec<(Duration, Duration)>, usize) {
    let work: Vec<(String, String)> = (0..operations)
        .map(|i| {
            let merchant = merchants[i % merchants.len()].clone();
            let token = vault.tokenize("4242424242424242", &merchant, "test");
            (merchant, token)
        })
        .collect();
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(work)
        .map(|(merchant, token)| async move { create_and_capture(target, &merchant, token).await })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut errors = 0;
    let mut latencies = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(latency) => latencies.push(latency),
            Err(error) => {
                if errors < 3 {
                    eprintln!("error: {error}");
                }
                errors += 1;
            }
        }
    }
    (elapsed, latencies, errors)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let admin_url =
        std::env::var("DATABASE_URL").expect("DATABASE_URL: a PostgreSQL server to create the bench database in");
    let operations = env_number("BENCH_CHARGES", 4_000);
    let concurrency = env_number("BENCH_CONCURRENCY", 32);
    let db_name = format!("paygate_bench_{}", unix_seconds_now());
    let (base_url, _) = admin_url.rsplit_once('/').expect("DATABASE_URL names a database");
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
    admin.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{db_name}""#))).await.expect("create bench database");
    let url = format!("{base_url}/{db_name}");
    let pool = db::connect(&url, paygate_ledger::config::DB_CONNECTIONS_MAX, db::Role::Owner).await.unwrap();
    db::migrate(&pool).await.unwrap();
    db::partitions::ensure(&pool, unix_seconds_now()).await.unwrap();

    let mut merchants = Vec::new();
    for i in 0..1_000 {
        let id = paygate_ledger::domain::merchants::create(&pool, &format!("Shop {i}")).await.unwrap().to_string();
        // A typical card price, so every capture books a fee line too.
        sqlx::query(
            "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) VALUES ($1, '*', 290, 30)",
        )
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
        merchants.push(id);
    }

    let secret_bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let secret = EdgeSecret::new(&secret_bytes).unwrap();
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr().unwrap());
    tokio::spawn(paygate_ledger::sandbox::serve(sandbox_listener, std::future::pending()));
    let stripe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe_url = format!("http://{}", stripe_listener.local_addr().unwrap());
    let stripe_key = "sk_test_bench0000000000000000".to_owned();
    tokio::spawn(paygate_fakes::stripe::serve(
        stripe_listener,
        vec![(stripe_key.clone(), true)],
        std::future::pending(),
    ));
    let secrets_keys = paygate_core::sealed::DataKeys::from_keys(vec![(1, [5; 32])]);
    // As many merchants again, each with a Stripe account that routing sends everything to.
    let mut stripe_merchants = Vec::new();
    for i in 0..1_000 {
        let id = paygate_ledger::domain::merchants::create(&pool, &format!("Stripe shop {i}")).await.unwrap();
        let scope = paygate_ledger::domain::tenancy::Scope { merchant_id: id, mode: paygate_core::Mode::Test };
        let credentials = paygate_ledger::processors::Credentials::Stripe {
            secret_key: paygate_ledger::processors::Secret::new(stripe_key.clone()),
            webhook_secret: None,
        };
        let new = paygate_ledger::domain::processors::accounts::NewAccount {
            display_name: "Stripe".into(),
            credentials,
            settings: None,
        };
        let account =
            paygate_ledger::domain::processors::accounts::create(&pool, &secrets_keys, scope, new).await.unwrap();
        let table = paygate_core::routing::RoutingTable { rules: vec![], default: account.id.to_string() };
        paygate_ledger::domain::processors::routing::replace(&pool, scope, table).await.unwrap();
        stripe_merchants.push(id.to_string());
    }
    let destinations = [("sandbox".to_owned(), sandbox_url.clone()), ("stripe".to_owned(), stripe_url.clone())];
    let vault = VaultDouble::spawn(secret.clone(), destinations.into_iter().collect()).await;
    let timeout = Duration::from_millis(paygate_ledger::processors::PROCESSOR_TIMEOUT_MS);
    // The same backend twice, side by side: as production runs it (requests as `paygate_api`, confined by
    // row-level security) and as the schema owner (which row-level security does not apply to), so the
    // table shows what the database's own tenancy check costs.
    let mut targets = Vec::new();
    for (label, role) in [("paygate_api (RLS)", db::Role::Api), ("owner (no RLS)", db::Role::Owner)] {
        let config = Config {
            database_url: url.clone(),
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            db_connections_max: paygate_ledger::config::DB_CONNECTIONS_MAX,
            edge_secrets: vec![secret.clone()],
            pepper: Pepper::new(vec![7; 32]).unwrap(),
            edge_url: vault.url.clone(),
            public_url: vault.url.clone(),
            sandbox_url: sandbox_url.clone(),
            stripe_url: stripe_url.clone(),
            checkout_test_url: "http://127.0.0.1:9".into(),
            checkout_live_url: "http://127.0.0.1:9".into(),
            processor_timeout: timeout,
            operator_token: None,
            secrets_keys: secrets_keys.clone(),
        };
        let served = db::connect(&url, config.db_connections_max, role).await.unwrap();
        let server = Server::bind(config.listen_addr, startup::app_state(served, &config)).await.unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        tokio::spawn(server.run(std::future::pending()));
        let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
        targets.push((label, Target { base, secret: secret.clone(), client }));
    }

    println!(
        "charges benchmark: create (authorize) + capture through HTTP; {operations} operations per scenario, {concurrency} in flight; {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!(
        "| scenario | database role | ops/s | create+capture p50 | p99 | create p50 | p99 | capture p50 | p99 | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let scenarios = [
        Scenario { name: "1,000 merchants, sandbox", merchants: 1_000, stripe: false },
        Scenario { name: "1,000 merchants, Stripe (fake)", merchants: 1_000, stripe: true },
        Scenario { name: "one hot merchant, sandbox", merchants: 1, stripe: false },
        Scenario { name: "one hot merchant, Stripe (fake)", merchants: 1, stripe: true },
    ];
    // The Stripe rows run as production does only (`paygate_api`): the role's cost is shown by the sandbox's.
    let runs = scenarios
        .iter()
        .flat_map(|s| targets.iter().map(move |t| (s, t)))
        .filter(|(s, (label, _))| !s.stripe || label.starts_with("paygate_api"));
    for (scenario, (label, target)) in runs {
        let pool = if scenario.stripe { &stripe_merchants } else { &merchants };
        let merchants = &pool[..scenario.merchants];
        // Warm the pools, the caches and the accounts this scenario's merchants use.
        run(target, &vault, merchants, scenario.merchants.clamp(300, 1_000), concurrency).await;
        let (elapsed, latencies, errors) = run(target, &vault, merchants, operations, concurrency).await;
        let mut total: Vec<Duration> = latencies.iter().map(|(a, b)| *a + *b).collect();
        let mut create: Vec<Duration> = latencies.iter().map(|(a, _)| *a).collect();
        let mut capture: Vec<Duration> = latencies.iter().map(|(_, b)| *b).collect();
        for list in [&mut total, &mut create, &mut capture] {
            list.sort();
        }
        println!(
            "| {} | {label} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {errors} |",
            scenario.name,
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(&total, 0.50),
            percentile(&total, 0.99),
            percentile(&create, 0.50),
            percentile(&create, 0.99),
            percentile(&capture, 0.50),
            percentile(&capture, 0.99),
        );
    }
    pool.close().await;
    let _ = admin.execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)"#))).await;
}
