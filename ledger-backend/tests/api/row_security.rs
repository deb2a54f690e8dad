//! The database's own tenancy (row-level security, migration 0010): queries run on the API's pool with their
//! `WHERE merchant_id` deliberately left out still see and change only the request's merchant and mode, and
//! outside any request nothing at all. So a query that forgets its scope leaks nothing and writes nothing.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use paygate_core::Mode;
use paygate_core::id::MerchantId;
use paygate_core::settlement::ReportFormat;
use paygate_ledger::domain::settlement::{import, matching};
use paygate_ledger::domain::tenancy::{self, Scope};
use reqwest::Method;
use serde_json::json;

/// Every table that holds merchants' rows.
const TENANT_TABLES: [&str; 30] = [
    "merchants",
    "merchant_pricing",
    "api_keys",
    "charges",
    "charge_attempts",
    "refunds",
    "idempotency_records",
    "ledger_accounts",
    "ledger_transactions",
    "ledger_entries",
    "audit_log",
    "events",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "processor_accounts",
    "routing_tables",
    "processor_events",
    "settlement_reports",
    "settlement_rows",
    "settlement_row_errors",
    "reconciliation_runs",
    "reconciliation_exceptions",
    "settlement_postings",
    "payouts",
    "settlement_pulls",
    "apple_pay_domains",
    "memberships",
    "invitations",
    "saved_views",
];

/// Tables the API role may not read at all: only the SECURITY DEFINER functions of migration 0022 reach them,
/// each by something only the caller holds (a session token's hash, an address being signed in).
const FUNCTION_ONLY_TABLES: [&str; 2] = ["dashboard_sessions", "sign_in_failures"];

/// A merchant with something in every table, in test mode.
async fn busy_merchant(app: &TestApp) -> String {
    let merchant = insert_merchant(&app.pool).await;
    sqlx::query(
        "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) VALUES ($1, '*', 100, 0)",
    )
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    let hook = json!({ "url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"] }).to_string();
    let response = app.signed(Method::POST, "/v1/webhook_endpoints", &hook, &merchant, "test").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let response =
        app.signed(Method::POST, "/v1/api_keys", r#"{"kind":"secret"}"#, &merchant, "test").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let sandbox: String = sqlx::query_scalar("SELECT id FROM processor_accounts WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let routing = json!({ "default": sandbox }).to_string();
    let response = app.signed(Method::PUT, "/v1/routing", &routing, &merchant, "test").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let charge = app.charge_card(&merchant, "4242424242424242", 1_000, "eur", true).await;
    let refund = json!({ "charge": charge["id"], "amount": 100 });
    assert_eq!(app.post_with_key(&merchant, "/v1/refunds", &refund, "refund-1").await.0, 201);
    // A processor event, as a webhook stores it.
    sqlx::query(
        "INSERT INTO processor_events (processor_account_id, merchant_id, mode, connector, event_id, event_type, outcome)
         SELECT id, merchant_id, mode, connector, 'evt_' || id, 'payment_captured', 'ignored'
         FROM processor_accounts WHERE merchant_id = $1",
    )
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    // A settlement report with a row and a refused line, as `reconcile` imports it.
    let sandbox = paygate_core::id::ProcessorAccountId::parse(&sandbox).unwrap();
    let report = format!(
        "{}\nsr_1,2026-11-02 10:00:00,capture,{},,sbx_1,EUR,1000,30,970,po_1\nsr_2,2026-11-02,capture,,,,EUR,x,0,0,\n\
         sr_3,2026-11-02 10:00:00,climate_order,,,,EUR,-1,0,-1,\n",
        paygate_core::settlement::sandbox::COLUMNS.join(","),
        charge["id"].as_str().unwrap()
    );
    let request = import::Request {
        account: sandbox,
        format: ReportFormat::SandboxDaily,
        source: import::Source::File,
        period: None,
    };
    let scope = Scope { merchant_id: MerchantId::parse(&merchant).unwrap(), mode: Mode::Test };
    let imported = import::import(&app.pool, scope, request, || Ok(report.as_bytes())).await.unwrap();
    assert_eq!((imported.rows_read, imported.rows_refused), (2, 1));
    // Reconciled: a run, and an exception for the row type nobody knows.
    let run = matching::run(&app.pool, scope, sandbox, Some(&imported.report), 0).await.unwrap();
    assert_eq!((run.opened, run.booked.rows, run.booked.payouts), (1, 1, 1));
    // An Apple Pay domain.
    let response = app
        .signed(Method::POST, "/v1/apple_pay/domains", r#"{"domain_name":"shop.example.com"}"#, &merchant, "test")
        .header("idempotency-key", "apple-pay-domain")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    // A pull's state, as the scheduled pull keeps it.
    sqlx::query(
        "INSERT INTO settlement_pulls (processor_account_id, merchant_id, mode, pulled_until)
         SELECT id, merchant_id, mode, created_at FROM processor_accounts WHERE merchant_id = $1",
    )
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    // A dashboard user of its team, a session of theirs, an invitation and a saved view.
    let user = paygate_ledger::ids::new_id::<paygate_core::id::UserKind>().to_string();
    sqlx::query("SELECT dashboard_user_create($1, $2, 'x')")
        .bind(&user)
        .bind(format!("{}@example.com", user.to_lowercase()))
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO memberships (merchant_id, user_id, role) VALUES ($1, $2, 'owner')")
        .bind(&merchant)
        .bind(&user)
        .execute(&app.pool)
        .await
        .unwrap();
    let session = paygate_ledger::domain::dashboard::sessions::open(
        &app.pool,
        user.parse().unwrap(),
        merchant.parse().unwrap(),
        true,
    )
    .await
    .unwrap();
    assert!(!session.expose().is_empty());
    sqlx::query(
        "INSERT INTO invitations (id, merchant_id, email, role, token_hash, invited_by, expires_at)
         VALUES ($1, $2, 'new@example.com', 'analyst', sha256($1::bytea), $3, now() + interval '1 day')",
    )
    .bind(paygate_ledger::ids::new_id::<paygate_core::id::InvitationKind>().to_string())
    .bind(&merchant)
    .bind(&user)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO saved_views (id, merchant_id, mode, user_id, name, query) VALUES ($1, $2, 'test', $3, 'Failed', 'status=failed')")
        .bind(paygate_ledger::ids::new_id::<paygate_core::id::SavedViewKind>().to_string())
        .bind(&merchant)
        .bind(&user)
        .execute(&app.pool)
        .await
        .unwrap();
    // A delivery attempt, as the worker records it.
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, merchant_id, mode)
         SELECT id, 1, 200, 5, merchant_id, mode FROM webhook_deliveries WHERE merchant_id = $1 LIMIT 1",
    )
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    merchant
}

/// Rows of `table` that belong to `merchant`, as the schema owner counts them.
async fn owned_rows(app: &TestApp, table: &str, merchant: &str) -> i64 {
    let filter = match table {
        "merchants" => "id = $1",
        "ledger_entries" => "account_id IN (SELECT id FROM ledger_accounts WHERE merchant_id = $1)",
        "webhook_attempts" => "delivery_id IN (SELECT id FROM webhook_deliveries WHERE merchant_id = $1)",
        _ => "merchant_id = $1",
    };
    let sql = format!("SELECT count(*) FROM {table} WHERE {filter}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(merchant).fetch_one(&app.pool).await.unwrap()
}

/// `SELECT count(*)` with no WHERE at all, on the API's pool, inside `scope` (or outside any).
async fn unscoped_count(app: &TestApp, table: &str, scope: Option<Scope>) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    let query =
        async { sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&app.api_pool).await.unwrap() };
    match scope {
        Some(scope) => tenancy::scope(scope, query).await,
        None => query.await,
    }
}

#[tokio::test]
async fn the_api_role_cannot_bypass_row_security_and_the_jobs_role_is_separate() {
    let app = spawn_app().await;
    let roles: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname IN ('paygate_api', 'paygate_jobs') ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(roles, [("paygate_api".into(), false, false), ("paygate_jobs".into(), false, true)]);
    let acting: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&app.api_pool).await.unwrap();
    assert_eq!(acting, "paygate_api", "the app's connections act as the API role");
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT relname::text, relrowsecurity FROM pg_class WHERE relname = ANY($1) AND relkind IN ('r', 'p') ORDER BY 1",
    )
    .bind(TENANT_TABLES.as_slice())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(tables.len(), TENANT_TABLES.len());
    // A new table with a merchant column must join the list (and get its policy), or this fails.
    let with_merchant: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.table_name::text FROM information_schema.columns c
         JOIN pg_class t ON t.relname = c.table_name AND NOT t.relispartition
         WHERE c.table_schema = 'public' AND c.column_name = 'merchant_id' ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let unlisted: Vec<&String> = with_merchant
        .iter()
        .filter(|t| !TENANT_TABLES.contains(&t.as_str()) && !FUNCTION_ONLY_TABLES.contains(&t.as_str()))
        .collect();
    assert!(unlisted.is_empty(), "tables holding merchants' rows without row-level security checks: {unlisted:?}");
    assert!(tables.iter().all(|(_, secured)| *secured), "{tables:?}");
    // A partition named directly has no policy of its own, so the API role may not read it at all; it
    // reaches rows only through the parent, where the policy applies.
    let direct = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM charges_default").fetch_one(&app.api_pool).await;
    let refused = direct.unwrap_err().to_string();
    assert!(refused.contains("permission denied"), "{refused}");
    for table in FUNCTION_ONLY_TABLES.into_iter().chain(["users"]) {
        let secured: bool = sqlx::query_scalar("SELECT relrowsecurity FROM pg_class WHERE relname = $1")
            .bind(table)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert!(secured, "{table} has row-level security");
    }
    for table in FUNCTION_ONLY_TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        let read = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&app.api_pool).await;
        assert!(read.unwrap_err().to_string().contains("permission denied"), "{table} is for its functions only");
    }
}

#[tokio::test]
async fn a_query_without_its_scope_sees_only_the_requests_merchant_and_mode_and_outside_a_request_nothing() {
    let app = spawn_app().await;
    let (a, b) = (busy_merchant(&app).await, busy_merchant(&app).await);
    let scope_of = |merchant: &str, mode| Scope { merchant_id: MerchantId::parse(merchant).unwrap(), mode };
    for table in TENANT_TABLES {
        let (a_rows, b_rows) = (owned_rows(&app, table, &a).await, owned_rows(&app, table, &b).await);
        assert!(a_rows > 0 && b_rows > 0, "{table} has rows of both merchants: {a_rows}, {b_rows}");
        assert_eq!(unscoped_count(&app, table, Some(scope_of(&a, Mode::Test))).await, a_rows, "{table} as A");
        assert_eq!(unscoped_count(&app, table, Some(scope_of(&b, Mode::Test))).await, b_rows, "{table} as B");
        assert_eq!(unscoped_count(&app, table, None).await, 0, "{table} outside any request");
        // The same merchant in live mode has none of its test rows (merchants and prices are mode-free).
        let live = unscoped_count(&app, table, Some(scope_of(&a, Mode::Live))).await;
        let mode_free = matches!(table, "merchants" | "merchant_pricing" | "memberships" | "invitations");
        let expected_live = if mode_free { a_rows } else { 0 };
        assert_eq!(live, expected_live, "{table} as A in live mode");
    }
    // People: a merchant's request sees its own team's users, nobody else's; outside a request, nobody.
    assert_eq!(unscoped_count(&app, "users", Some(scope_of(&a, Mode::Test))).await, 1);
    assert_eq!(unscoped_count(&app, "users", None).await, 0);
}

#[tokio::test]
async fn a_write_without_its_scope_changes_nothing_of_another_merchant() {
    let app = spawn_app().await;
    let (a, b) = (busy_merchant(&app).await, busy_merchant(&app).await);
    let snapshot = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT concat_ws('|',
                (SELECT string_agg(concat_ws(',', id, description, status), ';' ORDER BY id) FROM charges WHERE merchant_id = $1),
                (SELECT string_agg(concat_ws(',', id, url, enabled), ';' ORDER BY id) FROM webhook_endpoints WHERE merchant_id = $1),
                (SELECT string_agg(concat_ws(',', id, revoked_at), ';' ORDER BY id) FROM api_keys WHERE merchant_id = $1),
                (SELECT count(*) FROM merchant_pricing WHERE merchant_id = $1))",
        )
        .bind(&b)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = snapshot().await;
    let as_a = Scope { merchant_id: MerchantId::parse(&a).unwrap(), mode: Mode::Test };
    let (updated, deleted, revoked, inserted) = tenancy::scope(as_a, async {
        let pool = &app.api_pool;
        // Each statement names B's rows, or no rows at all, and forgets to add the scope.
        let updated = sqlx::query("UPDATE charges SET description = 'taken' WHERE merchant_id = $1")
            .bind(&b)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected();
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE merchant_id = $1")
            .bind(&b)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected();
        let revoked =
            sqlx::query("UPDATE api_keys SET revoked_at = now()").execute(pool).await.unwrap().rows_affected();
        // Writing a row into B's books from A's request is refused outright.
        let inserted = sqlx::query(
            "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) VALUES ($1, 'EUR', 0, 0)",
        )
        .bind(&b)
        .execute(pool)
        .await;
        (updated, deleted, revoked, inserted)
    })
    .await;
    assert_eq!((updated, deleted), (0, 0), "B's rows are invisible to A's request");
    assert_eq!(revoked, 1, "the unscoped UPDATE reached A's own key only");
    let refused = inserted.unwrap_err().to_string();
    assert!(refused.contains("row-level security"), "{refused}");
    assert_eq!(snapshot().await, before, "nothing of B's changed");
}
