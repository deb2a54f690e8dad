//! `spawn_app()` and typed request helpers shared by every integration test.

use paygate_ledger::{Server, db};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::net::SocketAddr;

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: sqlx::PgPool,
    pub client: reqwest::Client,
    db_name: String,
    admin_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The server's maintenance database URL: `DATABASE_URL` with the database name left as given.
fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for the tests (the test command sets it)")
}

/// `admin` with its database name replaced by `name`.
fn url_for(admin: &str, name: &str) -> String {
    let (base, _) = admin.rsplit_once('/').expect("DATABASE_URL has a database name");
    let query = admin.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{base}/{name}{query}")
}

pub async fn spawn_app() -> TestApp {
    // Logs only when asked (TEST_LOG=1): the JSON lines would drown the test output otherwise.
    if std::env::var_os("TEST_LOG").is_some() {
        paygate_ledger::telemetry::init();
    }
    let admin_url = admin_url();
    let db_name = format!(
        "paygate_test_{}",
        paygate_ledger::ids::new_id::<paygate_core::id::RequestKind>().to_string().trim_start_matches("req_")
    );
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL server");
    // The name is ours (letters and digits), so building the statement from it is safe.
    admin.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{db_name}""#))).await.expect("create test database");
    let pool = db::connect(&url_for(&admin_url, &db_name), 8).await.expect("connect to the test database");
    db::migrate(&pool).await.expect("migrate the test database");
    db::partitions::ensure(&pool, paygate_ledger::ids::unix_seconds_now()).await.expect("create partitions");
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), pool.clone()).await.expect("bind");
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestApp { addr, pool, client: reqwest::Client::new(), db_name, admin_url, shutdown: Some(tx) }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET `path`, asserting the status; returns the JSON body.
    pub async fn get_json(&self, path: &str, expected_status: u16) -> serde_json::Value {
        let response = self.client.get(self.url(path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), expected_status, "GET {path}");
        response.json().await.expect("JSON body")
    }
}

impl Drop for TestApp {
    /// Stops the server and drops the database. Drop cannot be async, so the cleanup runs on a
    /// thread of its own with a small runtime; the test waits for it so no database is left behind.
    /// (The pool belongs to the test's runtime, which is blocked here: `WITH (FORCE)` ends its
    /// connections instead of a `pool.close()` that could never finish.)
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let (admin_url, db_name) = (self.admin_url.clone(), self.db_name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)"#)))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Inserts a merchant directly and returns its id.
pub async fn insert_merchant(pool: &sqlx::PgPool) -> String {
    let id = paygate_ledger::ids::new_id::<paygate_core::id::MerchantKind>().to_string();
    sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, 'Test shop')").bind(&id).execute(pool).await.unwrap();
    id
}
