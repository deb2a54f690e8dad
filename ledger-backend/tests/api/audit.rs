//! The journal (ledger + audit + outbox in one transaction), the sealing of the audit chain, the
//! balance computed from entries, and `paygate-ledger audit`: clean on an honest history, and non-zero
//! with a finding for each deliberate corruption (a changed audit row, a removed one, a changed ledger
//! entry). Corruption bypasses the append-only triggers the way only a superuser could.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use paygate_core::id::{ChargeId, ChargeKind, MerchantId};
use paygate_core::ledger::{LedgerEvent, Pricing};
use paygate_core::{Amount, Currency, Mode};
use paygate_ledger::domain::journal::{self, AuditEntry, Subject};
use paygate_ledger::domain::tenancy::Scope;
use paygate_ledger::ids::new_id;
use paygate_ledger::jobs::audit_seal;
use reqwest::Method;
use serde_json::json;

fn amt(minor: i64) -> Amount {
    Amount::new(minor).unwrap()
}

/// Books an authorized, captured and partly refunded charge the way the charge service does: each
/// step's status, ledger transaction, audit row and event in one database transaction.
async fn record_charge(
    app: &TestApp,
    merchant: &str,
    currency: &str,
    authorized: i64,
    captured: i64,
    refunded: i64,
) -> String {
    let scope = Scope { merchant_id: MerchantId::parse(merchant).unwrap(), mode: Mode::Test };
    let currency = Currency::parse(currency).unwrap();
    let id = new_id::<ChargeKind>().to_string();
    let fee = Pricing::new(290, amt(30)).unwrap().fee(amt(captured));
    let steps = [
        ("authorized", LedgerEvent::Authorized { amount: amt(authorized) }, "charge.authorized"),
        (
            "captured",
            LedgerEvent::Captured { authorized: amt(authorized), captured: amt(captured), fee },
            "charge.captured",
        ),
        ("partially_refunded", LedgerEvent::Refunded { amount: amt(refunded) }, "charge.refunded"),
    ];
    sqlx::query(
        "INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source)
         VALUES ($1, $2, 'test', 'pending', $3, $4, false, 'tok_test')",
    )
    .bind(&id)
    .bind(merchant)
    .bind(currency.code())
    .bind(authorized)
    .execute(&app.pool)
    .await
    .unwrap();
    for (status, event, event_type) in steps {
        let mut tx = app.pool.begin().await.unwrap();
        sqlx::query(
            "UPDATE charges SET status = $2, amount_authorized = $3, amount_captured = $4, amount_refunded = $5
             WHERE id = $1",
        )
        .bind(&id)
        .bind(status)
        .bind(authorized)
        .bind(if status == "authorized" { 0 } else { captured })
        .bind(if status == "partially_refunded" { refunded } else { 0 })
        .execute(&mut *tx)
        .await
        .unwrap();
        journal::post(
            &mut tx,
            scope,
            currency,
            event,
            Subject { charge_id: Some(ChargeId::parse(&id).unwrap()), refund_id: None },
        )
        .await
        .unwrap();
        let entry = AuditEntry {
            actor: "key_test",
            action: event_type,
            object_type: "charge",
            object_id: &id,
            request_id: None,
            data: json!({ "status": status }),
        };
        journal::audit(&mut tx, scope, entry).await.unwrap();
        journal::emit(&mut tx, scope, event_type, &id, json!({ "id": id, "status": status })).await.unwrap();
        tx.commit().await.unwrap();
    }
    id
}

fn audit_command(app: &TestApp) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
        .arg("audit")
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `sql` with triggers off for this transaction, as a superuser tampering with the database would.
async fn tamper(app: &TestApp, sql: &str) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_honest_history_audits_clean_and_the_balance_comes_from_entries() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    record_charge(&app, &merchant, "KWD", 10_000, 8_000, 3_000).await;
    record_charge(&app, &merchant, "KWD", 5_000, 5_000, 1).await;
    record_charge(&app, &merchant, "JPY", 700, 700, 100).await;
    assert_eq!(audit_seal::seal_all(&app.pool).await.unwrap(), 9);
    assert_eq!(audit_seal::seal_all(&app.pool).await.unwrap(), 0, "nothing is sealed twice");

    let (ok, out) = audit_command(&app);
    assert!(ok, "audit must pass: {out}");

    // KWD: (8000 − 262 − 3000) + (5000 − 175 − 1); JPY: 700 − 50 − 100. Fees: 2.9 % + 30, half up.
    let balance = app.signed(Method::GET, "/v1/balance", "", &merchant, "test").send().await.unwrap();
    let balance: serde_json::Value = balance.json().await.unwrap();
    assert_eq!(
        balance["pending"],
        json!([{ "amount": 550, "currency": "JPY" }, { "amount": 9_562, "currency": "KWD" }])
    );
    assert_eq!(balance["available"], json!([]), "nothing is settled yet");

    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&app.pool).await.unwrap();
    assert_eq!(events, 9, "one event per state change");
    // Another merchant, and the live mode, see nothing of it.
    let other = insert_merchant(&app.pool).await;
    for (who, mode) in [(other.as_str(), "test"), (merchant.as_str(), "live")] {
        let balance: serde_json::Value =
            app.signed(Method::GET, "/v1/balance", "", who, mode).send().await.unwrap().json().await.unwrap();
        assert_eq!((balance["pending"].clone(), balance["available"].clone()), (json!([]), json!([])), "{who} {mode}");
    }
}

#[tokio::test]
async fn the_audit_command_catches_a_changed_audit_row() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    record_charge(&app, &merchant, "USD", 1_000, 1_000, 500).await;
    audit_seal::seal_all(&app.pool).await.unwrap();
    tamper(&app, "UPDATE audit_log SET data = '{\"status\": \"voided\"}' WHERE chain_seq = 2").await;
    let (ok, out) = audit_command(&app);
    assert!(!ok, "a changed audit row must fail the audit");
    assert!(out.contains("audit_chain") && out.contains("was changed"), "{out}");
}

#[tokio::test]
async fn the_audit_command_catches_a_removed_audit_row() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    record_charge(&app, &merchant, "USD", 1_000, 1_000, 500).await;
    audit_seal::seal_all(&app.pool).await.unwrap();
    tamper(&app, "DELETE FROM audit_log WHERE chain_seq = 2").await;
    let (ok, out) = audit_command(&app);
    assert!(!ok, "a removed audit row must fail the audit");
    assert!(out.contains("rows are missing"), "{out}");
}

#[tokio::test]
async fn the_audit_command_catches_a_changed_ledger_entry() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = record_charge(&app, &merchant, "EUR", 2_000, 1_500, 0).await;
    tamper(&app, "UPDATE ledger_entries SET amount = amount + 1 WHERE line = 2").await;
    let (ok, out) = audit_command(&app);
    assert!(!ok, "a changed ledger entry must fail the audit");
    assert!(out.contains("ledger_balanced"), "{out}");
    assert!(out.contains("charge_ledger") && out.contains(&charge), "{out}");
}

#[tokio::test]
async fn audit_rows_name_the_key_that_acted_or_the_job() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let body = json!({ "amount": 900, "currency": "EUR", "source": token, "capture": false }).to_string();
    let mut headers = crate::helpers::EdgeHeaders::for_merchant(&merchant, "test");
    headers.key_id = "key_01m7yp00000000000000000000";
    let response = app
        .signed_with(&app.edge_secret, Method::POST, "/v1/charges", &body, &headers)
        .header("idempotency-key", "audited")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let charge: serde_json::Value = response.json().await.unwrap();
    let id = charge["id"].as_str().unwrap();
    sqlx::query("UPDATE charges SET authorization_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let processors = app.processors();
    assert_eq!(paygate_ledger::jobs::expiry::run_once(&app.pool, &processors).await.unwrap(), 1);
    let actors: Vec<(String, String)> =
        sqlx::query_as("SELECT action, actor FROM audit_log WHERE object_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let key = "key_01m7yp00000000000000000000".to_owned();
    assert_eq!(
        actors,
        [
            ("charge.create".to_owned(), key.clone()),
            ("charge.authorized".to_owned(), key),
            ("charge.expired".to_owned(), "system:expiry".to_owned())
        ]
    );
}
