//! `spawn_app()` and typed request helpers shared by every integration test.

use crate::vault_double::VaultDouble;
use paygate_core::signature::edge::{EdgeSecret, SignedRequest};
use paygate_ledger::config::Config;
use paygate_ledger::domain::api_keys::Pepper;
use paygate_ledger::ids::{new_id, unix_seconds_now};
use paygate_ledger::{Server, db, startup};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, Row};
use std::net::SocketAddr;

pub struct TestApp {
    pub addr: SocketAddr,
    /// The secret the edge would sign with; tests sign with it (or deliberately with another).
    pub edge_secret: EdgeSecret,
    /// The same secret in hex, as `PAYGATE_EDGE_SECRET` takes it (for a backend run as a process).
    pub edge_secret_hex: String,
    /// The API-key pepper the edge would hash keys with.
    pub pepper: Pepper,
    /// Where tests vault cards (the stand-in for the edge's vault-forward endpoint).
    pub vault: VaultDouble,
    /// The in-process sandbox acquirer.
    pub sandbox_url: String,
    /// The in-process fake of Stripe (accounts are registered per test, `register_stripe_account`).
    pub stripe_url: String,
    /// The in-process fake of Checkout.com (accounts registered per test, `route_to_checkout`).
    pub checkout_url: String,
    /// The app's configuration, for building what the jobs use (`processors`).
    pub config: Config,
    /// The keys webhook secrets are sealed under, and the same as `PAYGATE_SECRETS_KEYS` takes them.
    pub secrets_keys: paygate_core::sealed::DataKeys,
    pub secrets_keys_text: String,
    /// The schema owner's pool, for the tests' own setup and checks (row-level security does not apply).
    pub pool: sqlx::PgPool,
    /// The pool the app serves requests with (`paygate_api`, row-level security applies).
    pub api_pool: sqlx::PgPool,
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
    let template = migrated_template(&admin_url).await;
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL server");
    // The names are ours (letters, digits, underscores), so building the statement from them is safe.
    admin
        .execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{db_name}" TEMPLATE "{template}""#)))
        .await
        .expect("create test database");
    let database_url = url_for(&admin_url, &db_name);
    let pool = db::connect(&database_url, 8, db::Role::Owner).await.expect("connect to the test database");
    // The app's own pool acts as the API does in production: `paygate_api`, confined by row-level security.
    let api_pool = db::connect(&database_url, 8, db::Role::Api).await.expect("connect to the test database");
    db::partitions::ensure(&pool, paygate_ledger::ids::unix_seconds_now()).await.expect("create partitions");
    let edge_secret_bytes = random_bytes();
    let edge_secret = EdgeSecret::new(&edge_secret_bytes).unwrap();
    let pepper = Pepper::new(random_bytes().to_vec()).unwrap();
    let sandbox_url = spawn_sandbox().await;
    let stripe_url = spawn_fake_stripe().await;
    let checkout_url = spawn_fake_checkout().await;
    let destinations = [
        ("sandbox".to_owned(), sandbox_url.clone()),
        ("stripe".to_owned(), stripe_url.clone()),
        ("checkout".to_owned(), checkout_url.clone()),
    ];
    let vault = VaultDouble::spawn(edge_secret.clone(), destinations.into_iter().collect()).await;
    let secrets_keys_text = format!("1:{}", paygate_core::hex::encode(&random_bytes()));
    let secrets_keys = paygate_core::sealed::DataKeys::parse(&secrets_keys_text).unwrap();
    // The production wiring, with the tests' own secrets, sandbox and vault double.
    let config = Config {
        database_url,
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        db_connections_max: 8,
        edge_secrets: vec![edge_secret.clone()],
        pepper: pepper.clone(),
        edge_url: vault.url.clone(),
        public_url: vault.url.clone(),
        sandbox_url: sandbox_url.clone(),
        stripe_url: stripe_url.clone(),
        checkout_test_url: checkout_url.clone(),
        checkout_live_url: checkout_url.clone(),
        processor_timeout: PROCESSOR_TIMEOUT_IN_TESTS,
        operator_token: paygate_ledger::http::operator::OperatorToken::new(OPERATOR_TOKEN),
        secrets_keys: secrets_keys.clone(),
    };
    let state = startup::app_state(api_pool.clone(), &config);
    let server = Server::bind(config.listen_addr, state).await.expect("bind");
    let addr = server.local_addr().unwrap();
    vault.set_backend(&format!("http://{addr}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        edge_secret,
        edge_secret_hex: paygate_core::hex::encode(&edge_secret_bytes),
        pepper,
        vault,
        sandbox_url,
        stripe_url,
        checkout_url,
        config: config.clone(),
        secrets_keys,
        secrets_keys_text,
        pool,
        api_pool,
        client: reqwest::Client::new(),
        db_name,
        admin_url,
        shutdown: Some(tx),
    }
}

/// A database migrated once and then copied for every test (`CREATE DATABASE … TEMPLATE`), which
/// is several times faster than migrating each test's database. Its name carries a digest of the
/// migrations, so a changed migration builds a new template; it is built under a private name and
/// renamed, so concurrent test runs never see a half-migrated template.
async fn migrated_template(admin_url: &str) -> String {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use sha2::Digest;
            let mut digest = sha2::Sha256::new();
            for migration in db::MIGRATOR.iter() {
                digest.update(migration.version.to_be_bytes());
                digest.update(&migration.checksum);
            }
            let hex = paygate_core::hex::encode(&digest.finalize()[..8]);
            let name = format!("paygate_template_{hex}");
            let mut admin = PgConnection::connect(admin_url).await.expect("connect to the test PostgreSQL server");
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
            if exists {
                return name;
            }
            let building = format!("{name}_{}", paygate_core::hex::encode(&random_bytes()[..6]));
            admin.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{building}""#))).await.expect("create template");
            let mut conn = PgConnection::connect(&url_for(admin_url, &building)).await.expect("connect to template");
            db::MIGRATOR.run(&mut conn).await.expect("migrate the template");
            conn.close().await.unwrap();
            let renamed =
                admin.execute(AssertSqlSafe(format!(r#"ALTER DATABASE "{building}" RENAME TO "{name}""#))).await;
            if renamed.is_err() {
                // Another test run finished the same template first; use that one.
                let _ = admin.execute(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{building}""#))).await;
            }
            name
        })
        .await
        .clone()
}

/// The operator API's token in tests (`PAYGATE_OPERATOR_TOKEN` in production).
pub const OPERATOR_TOKEN: &str = "operator-token-used-only-by-the-tests-0123456789";

/// Shorter than the sandbox's slow card (3 s), so that card's answer is "unknown" in tests.
pub const PROCESSOR_TIMEOUT_IN_TESTS: std::time::Duration = std::time::Duration::from_millis(1_000);

/// Serves the fake Stripe on a free port (no accounts yet); returns its base URL.
pub async fn spawn_fake_stripe() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(paygate_fakes::stripe::serve(listener, vec![], std::future::pending()));
    url
}

/// Serves the fake Checkout.com on a free port (no accounts yet); returns its base URL.
pub async fn spawn_fake_checkout() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(paygate_fakes::checkout::serve(listener, vec![], std::future::pending()));
    url
}

/// Serves the sandbox acquirer on a free port; returns its base URL.
pub async fn spawn_sandbox() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(paygate_ledger::sandbox::serve(listener, std::future::pending()));
    url
}

pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

pub fn random_edge_secret() -> EdgeSecret {
    EdgeSecret::new(&random_bytes()).unwrap()
}

/// What the edge puts on a request it forwards, before signing.
pub struct EdgeHeaders<'a> {
    pub merchant_id: &'a str,
    pub mode: &'a str,
    pub request_id: String,
    pub timestamp: i64,
    /// The API key the edge authenticated; empty as for the edge's own calls.
    pub key_id: &'a str,
}

impl<'a> EdgeHeaders<'a> {
    pub fn for_merchant(merchant_id: &'a str, mode: &'a str) -> Self {
        let request_id = new_id::<paygate_core::id::RequestKind>().to_string();
        EdgeHeaders { merchant_id, mode, request_id, timestamp: unix_seconds_now(), key_id: "" }
    }
}

impl TestApp {
    /// Another instance of the API on this test's database, with its own pool, as a second process behind
    /// the edge would be; its base URL. It stops with the test's runtime.
    pub async fn another_instance(&self) -> String {
        let api_pool = db::connect(&self.database_url(), 8, db::Role::Api).await.expect("connect to the test database");
        let server =
            Server::bind(self.config.listen_addr, startup::app_state(api_pool, &self.config)).await.expect("bind");
        let base = format!("http://{}", server.local_addr().unwrap());
        tokio::spawn(server.run(std::future::pending()));
        base
    }

    /// The URL of this test's own database (for the CLI).
    pub fn database_url(&self) -> String {
        url_for(&self.admin_url, &self.db_name)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A request signed as the edge signs it, with `secret`, for `headers`.
    pub fn signed_with(
        &self,
        secret: &EdgeSecret,
        method: reqwest::Method,
        path: &str,
        body: &str,
        headers: &EdgeHeaders<'_>,
    ) -> reqwest::RequestBuilder {
        self.signed_to(&self.url(""), secret, method, path, body, headers)
    }

    /// Like `signed_with`, to the backend at `base` (one run as a process of its own).
    pub fn signed_to(
        &self,
        base: &str,
        secret: &EdgeSecret,
        method: reqwest::Method,
        path: &str,
        body: &str,
        headers: &EdgeHeaders<'_>,
    ) -> reqwest::RequestBuilder {
        let signed = SignedRequest {
            timestamp: headers.timestamp,
            method: method.as_str(),
            path,
            body: body.as_bytes(),
            merchant_id: headers.merchant_id,
            mode: headers.mode,
            request_id: &headers.request_id,
            key_id: headers.key_id,
        };
        let signature = signed.sign(&[secret]).unwrap();
        let mut request = self.client.request(method.clone(), format!("{base}{path}")).body(body.to_owned());
        for (name, value) in signed.headers(signature) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        request
    }

    /// A request signed with the app's own edge secret, on behalf of `merchant_id` in `mode`.
    pub fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        merchant_id: &str,
        mode: &str,
    ) -> reqwest::RequestBuilder {
        self.signed_with(&self.edge_secret, method, path, body, &EdgeHeaders::for_merchant(merchant_id, mode))
    }

    /// A request signed as the edge's own call (no merchant), as for key lookups.
    pub fn signed_as_edge(&self, method: reqwest::Method, path: &str, body: &str) -> reqwest::RequestBuilder {
        self.signed_with(&self.edge_secret, method, path, body, &EdgeHeaders::for_merchant("", ""))
    }

    /// POSTs `body` to `path` as `merchant` in test mode with an Idempotency-Key; returns the status and
    /// the JSON answer.
    pub async fn post_with_key(
        &self,
        merchant: &str,
        path: &str,
        body: &serde_json::Value,
        key: &str,
    ) -> (u16, serde_json::Value) {
        let response = self
            .signed(reqwest::Method::POST, path, &body.to_string(), merchant, "test")
            .header("idempotency-key", key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Vaults the test card `number` for `merchant` and charges it; asserts the charge was created
    /// (whatever its status) and returns it.
    pub async fn charge_card(
        &self,
        merchant: &str,
        number: &str,
        amount: i64,
        currency: &str,
        capture: bool,
    ) -> serde_json::Value {
        let token = self.vault.tokenize(number, merchant, "test");
        let body = serde_json::json!({ "amount": amount, "currency": currency, "source": token, "capture": capture });
        let (status, charge) = self.post_with_key(merchant, "/v1/charges", &body, &format!("charge-{token}")).await;
        assert_eq!(status, 201, "{charge}");
        charge
    }

    /// What the sandbox acquirer holds for the authorization `reference` (its own id): captured, refunded,
    /// voided, for comparing the processor's books with ours.
    pub async fn at_processor(&self, reference: &str) -> serde_json::Value {
        let url = format!("{}/authorizations/{reference}", self.sandbox_url);
        self.client.get(url).send().await.unwrap().json().await.unwrap()
    }

    /// GET `path`, asserting the status; returns the JSON body.
    pub async fn get_json(&self, path: &str, expected_status: u16) -> serde_json::Value {
        let response = self.client.get(self.url(path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), expected_status, "GET {path}");
        response.json().await.expect("JSON body")
    }
}

/// The typed test client: requests as one merchant in one mode, signed as the edge signs them, with an
/// Idempotency-Key added where core says the route needs one. `call` answers the status and the JSON;
/// `expect` also asserts the status, so a test names what it expects in the call itself.
pub struct Client<'a> {
    app: &'a TestApp,
    merchant: &'a str,
    mode: &'a str,
}

impl TestApp {
    pub fn client<'a>(&'a self, merchant: &'a str, mode: &'a str) -> Client<'a> {
        Client { app: self, merchant, mode }
    }
}

impl Client<'_> {
    /// `method path` with `body` (`Value::Null`: no body); the status and the JSON answer (`Null` if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let text = if body.is_null() { String::new() } else { body.to_string() };
        self.send(method, path, &text, None).await
    }

    /// `method path` with a raw `body` and the Idempotency-Key `key` (`None`: a fresh one where core says the
    /// route needs one). Every error answer must be a problem document with its code and the request id:
    /// checked here, for every test that calls through the client.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        key: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let public_path = path.split('?').next().unwrap_or(path);
        let mut request = self.app.signed(method.clone(), path, body, self.merchant, self.mode);
        let fresh = paygate_core::idempotency::requires_key(method.as_str(), public_path)
            .then(|| paygate_core::hex::encode(&random_bytes()[..16]));
        if let Some(key) = key.map(str::to_owned).or(fresh) {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let value: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        if status >= 400 {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{method} {path}: {value}");
            assert!(value["code"].is_string() && value["request_id"].is_string(), "{method} {path}: {value}");
        }
        (status, value)
    }

    /// Like `call`, asserting the answer's status; returns the JSON.
    pub async fn expect(
        &self,
        status: u16,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let (answered, value) = self.call(method.clone(), path, body).await;
        assert_eq!(answered, status, "{method} {path} as {}/{}: {value}", self.merchant, self.mode);
        value
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
    paygate_ledger::domain::merchants::create(pool, "Test shop").await.unwrap().to_string()
}

/// Seals the audit log and asserts `paygate-ledger audit` would find nothing.
pub async fn audit_is_clean(app: &TestApp) {
    paygate_ledger::jobs::audit_seal::seal_all(&app.pool).await.unwrap();
    let findings = paygate_ledger::domain::audit_check::run(&app.pool).await.unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

/// The types of the events recorded about one object, oldest first.
pub async fn event_types(app: &TestApp, object_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT type FROM events WHERE object_id = $1 ORDER BY id")
        .bind(object_id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// A child process of a test, killed (SIGKILL) and reaped when dropped, so a failing test leaves none behind.
pub struct Reaped(pub std::process::Child);

impl Reaped {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        self.kill();
    }
}

impl TestApp {
    /// Registers a new account with the fake Stripe (`raw_card_data`: whether it may send raw card
    /// numbers); returns its secret key (`sk_<mode>_…`).
    pub async fn register_stripe_account(&self, mode: &str, raw_card_data: bool) -> String {
        let key = format!("sk_{mode}_{}", paygate_core::hex::encode(&random_bytes()[..12]));
        let url = format!("{}/_fake/accounts", self.stripe_url);
        let body = serde_json::json!({ "secret_key": key, "raw_card_data": raw_card_data });
        let answer = self.client.post(url).json(&body).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 201);
        key
    }

    /// Gives `merchant` a Stripe account in `mode` (registered with the fake) and routes everything there;
    /// returns the processor account's id and its secret key.
    pub async fn route_to_stripe(&self, merchant: &str, mode: &str) -> (String, String) {
        let key = self.register_stripe_account(mode, true).await;
        let body = serde_json::json!({ "connector": "stripe", "display_name": "Stripe", "credentials": { "secret_key": key } });
        let account =
            self.client(merchant, mode).expect(201, reqwest::Method::POST, "/v1/processor_accounts", &body).await;
        let id = account["id"].as_str().unwrap().to_owned();
        let routing = serde_json::json!({ "rules": [], "default": id });
        self.client(merchant, mode).expect(200, reqwest::Method::PUT, "/v1/routing", &routing).await;
        (id, key)
    }

    /// Makes the fake processor behind our `account` (its secret `key`; `connector` is `stripe` or `checkout`)
    /// send its webhooks, signed with `secret`, to our route for that account, and has the account verify them
    /// with it. `fake` adds the fake account's settings: `webhook_copies`, `webhook_delay_ms`,
    /// `webhook_reorder_hold_ms`, Checkout.com's `action_delay_ms`.
    pub async fn webhooks_from_fake(
        &self,
        merchant: &str,
        connector: &str,
        (account, key): (&str, &str),
        secret: &str,
        fake: serde_json::Value,
    ) {
        let (mut credentials, fake_url) = match connector {
            "stripe" => (serde_json::json!({ "secret_key": key }), &self.stripe_url),
            _ => (
                serde_json::json!({ "secret_key": key, "processing_channel_id": PROCESSING_CHANNEL }),
                &self.checkout_url,
            ),
        };
        credentials["webhook_secret"] = secret.into();
        let path = format!("/v1/processor_accounts/{account}");
        let patch = serde_json::json!({ "credentials": credentials });
        self.client(merchant, "test").expect(200, reqwest::Method::PATCH, &path, &patch).await;
        let mut body = serde_json::json!({ "secret_key": key, "webhook_secret": secret,
                                           "webhook_url": self.vault.processor_events_url(connector, account) });
        for (name, value) in fake.as_object().into_iter().flatten() {
            body[name] = value.clone();
        }
        let registered = self.client.post(format!("{fake_url}/_fake/accounts")).json(&body).send().await.unwrap();
        assert_eq!(registered.status().as_u16(), 201);
    }

    /// Gives `merchant` a Checkout.com account in `mode` (registered with the fake, whose actions are processed
    /// `action_delay_ms` after they are asked for) and routes everything there; returns its id and secret key.
    pub async fn route_to_checkout(&self, merchant: &str, mode: &str, action_delay_ms: u64) -> (String, String) {
        self.route_to_checkout_with(merchant, mode, serde_json::json!({ "action_delay_ms": action_delay_ms })).await
    }

    /// `route_to_checkout` with the fake account's settings (`action_delay_ms`, `three_ds_session_ms`, ...).
    pub async fn route_to_checkout_with(
        &self,
        merchant: &str,
        mode: &str,
        fake: serde_json::Value,
    ) -> (String, String) {
        let prefix = if mode == "test" { "sk_sbox_" } else { "sk_" };
        let key = format!("{prefix}{}", paygate_core::hex::encode(&random_bytes()[..12]));
        let url = format!("{}/_fake/accounts", self.checkout_url);
        let mut body = fake;
        body["secret_key"] = serde_json::json!(key);
        assert_eq!(self.client.post(url).json(&body).send().await.unwrap().status().as_u16(), 201);
        let credentials = serde_json::json!({ "secret_key": key, "processing_channel_id": PROCESSING_CHANNEL });
        let body =
            serde_json::json!({ "connector": "checkout", "display_name": "Checkout.com", "credentials": credentials });
        let account =
            self.client(merchant, mode).expect(201, reqwest::Method::POST, "/v1/processor_accounts", &body).await;
        let id = account["id"].as_str().unwrap().to_owned();
        let routing = serde_json::json!({ "rules": [], "default": id });
        self.client(merchant, mode).expect(200, reqwest::Method::PUT, "/v1/routing", &routing).await;
        (id, key)
    }

    /// The processor's id of a charge (Stripe's PaymentIntent, the sandbox's authorization...).
    pub async fn processor_reference(&self, charge: &str) -> String {
        sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
            .bind(charge)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// The requests the fake Stripe received for the account with `secret_key` (`METHOD /path`).
    pub async fn stripe_requests(&self, secret_key: &str) -> Vec<String> {
        let url = format!("{}/_fake/accounts/{secret_key}/requests", self.stripe_url);
        let body: serde_json::Value = self.client.get(url).send().await.unwrap().json().await.unwrap();
        body["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect()
    }

    /// The requests the fake Checkout.com received for the account with `secret_key` (`METHOD /path`).
    pub async fn checkout_requests(&self, secret_key: &str) -> Vec<String> {
        let url = format!("{}/_fake/accounts/{secret_key}/requests", self.checkout_url);
        let body: serde_json::Value = self.client.get(url).send().await.unwrap().json().await.unwrap();
        body["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect()
    }

    /// Tells the fake Stripe to misbehave on the account's next request (`{"fault": "slow", "delay_ms": …}`, ...).
    pub async fn stripe_fault(&self, secret_key: &str, fault: serde_json::Value) {
        let url = format!("{}/_fake/accounts/{secret_key}/faults", self.stripe_url);
        assert_eq!(self.client.post(url).json(&fault).send().await.unwrap().status().as_u16(), 201);
    }

    /// The processors as the jobs build them from the app's configuration.
    pub fn processors(&self) -> std::sync::Arc<paygate_ledger::processors::Processors> {
        startup::processors(&self.config)
    }

    /// Processors whose every processor is unreachable (nothing listens on port 9): every answer is unknown.
    pub fn unreachable_processors(&self) -> std::sync::Arc<paygate_ledger::processors::Processors> {
        let mut config = self.config.clone();
        config.sandbox_url = "http://127.0.0.1:9".into();
        config.stripe_url = "http://127.0.0.1:9".into();
        config.checkout_test_url = "http://127.0.0.1:9".into();
        config.checkout_live_url = "http://127.0.0.1:9".into();
        startup::processors(&config)
    }
}

/// The processing channel of every Checkout.com account in the tests (the fake only checks its form).
pub const PROCESSING_CHANNEL: &str = "pc_abcdefghijklmnopqrstuvwxyz";

/// splitmix64: tiny, seedable, and good enough to pick operations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// What `work` answers, and the statements (normalized by `pg_stat_statements`, with their calls) it sent to this
/// test's database.
pub async fn statements_of<T>(app: &TestApp, work: impl Future<Output = T>) -> (T, Vec<(String, i64)>) {
    // One owner connection, held from here on, reads the counts: the owner's pool opens nothing meanwhile.
    let mut stats = app.pool.acquire().await.unwrap();
    let loaded: String =
        sqlx::query_scalar("SELECT current_setting('shared_preload_libraries')").fetch_one(&mut *stats).await.unwrap();
    assert!(
        loaded.contains("pg_stat_statements"),
        "the test cluster must load pg_stat_statements (scripts/test.sh starts it so; stop an older one with \
         `. scripts/pg.sh && pg_stop pg-test`)"
    );
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&mut *stats).await.unwrap();
    let this_database = "(SELECT oid FROM pg_database WHERE datname = current_database())";
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_stat_statements_reset(0, {this_database}, 0)")))
        .execute(&mut *stats)
        .await
        .unwrap();
    let answer = work.await;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT query, calls FROM pg_stat_statements
         WHERE dbid = {this_database} AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC, query"
    )))
    .fetch_all(&mut *stats)
    .await
    .unwrap();
    let statements = rows
        .iter()
        .map(|row| (row.get::<String, _>("query").split_whitespace().collect::<Vec<_>>().join(" "), row.get("calls")))
        .collect();
    (answer, statements)
}
