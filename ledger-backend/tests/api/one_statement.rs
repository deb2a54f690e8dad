//! A charge's change written in one statement (`domain::charges::change`): it writes everything or nothing,
//! only on the charge as it was read, and hands the cases it does not take to the locked transaction, which
//! then does all of it.

use crate::helpers::{TestApp, audit_is_clean, insert_merchant, spawn_app};
use paygate_core::Amount;
use paygate_core::ledger::LedgerEvent;
use paygate_ledger::domain::charges::change::{self, AttemptClose, Change, DELIVERY_IDS};
use paygate_ledger::domain::charges::{CHARGE_COLUMNS, ChargeRecord};
use reqwest::Method;
use serde_json::{Value, json};

async fn record(app: &TestApp, charge_id: &str) -> ChargeRecord {
    let select = format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(charge_id).fetch_one(&app.pool).await.unwrap()
}

/// The capture of all of `before` (no fee: the test merchant has no price), as the capture path decides it.
fn capture_of(before: &ChargeRecord) -> Change<'_> {
    let mut after = before.clone();
    after.status = "captured".into();
    after.amount_captured = before.amount_authorized;
    after.authorization_expires = None;
    let amount = Amount::new(before.amount_authorized).unwrap();
    Change {
        scope: before.scope(),
        before,
        after,
        // No attempt of that id exists: closing it changes nothing, which keeps the checks below about the charge.
        attempt: AttemptClose { id: "att_01jd3x0000000000000000000a", outcome: "succeeded", reference: None },
        posting: LedgerEvent::Captured { authorized: amount, captured: amount, fee: Amount::ZERO },
        event_type: "charge.captured",
    }
}

/// What the change wrote for `charge_id`: capture ledger transactions, `charge.captured` events, their audit rows.
async fn captures_written(app: &TestApp, charge_id: &str) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM ledger_transactions WHERE charge_id = $1 AND kind = 'capture'),
                (SELECT count(*) FROM events WHERE object_id = $1 AND type = 'charge.captured'),
                (SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = 'charge.captured')",
    )
    .bind(charge_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn authorized(app: &TestApp, merchant: &str) -> String {
    let charge = app.charge_card(merchant, "4242424242424242", 1_500, "EUR", false).await;
    assert_eq!(charge["status"], "authorized", "{charge}");
    charge["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_change_decided_on_a_charge_changed_since_writes_nothing_and_on_the_charge_as_it_is_writes_all() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // A first capture makes the merchant's ledger accounts, so only the version decides below.
    let first = authorized(&app, &merchant).await;
    let path = format!("/v1/charges/{first}/capture");
    let (status, _) = app.client(&merchant, "test").call(Method::POST, &path, &Value::Null).await;
    assert_eq!(status, 200);
    let charge_id = authorized(&app, &merchant).await;
    let read = record(&app, &charge_id).await;
    // Something changes the charge after it was read (here a write that changes no value: still a new version).
    sqlx::query("UPDATE charges SET metadata = metadata WHERE id = $1")
        .bind(&charge_id)
        .execute(&app.pool)
        .await
        .unwrap();

    let mut conn = app.pool.acquire().await.unwrap();
    let written = change::write(&mut conn, capture_of(&read)).await.unwrap();
    assert!(written.is_none(), "written on a stale charge: {written:?}");
    assert_eq!(record(&app, &charge_id).await.status, "authorized");
    assert_eq!(captures_written(&app, &charge_id).await, (0, 0, 0), "nothing of the change was written");

    let current = record(&app, &charge_id).await;
    assert_eq!(current.version, read.version + 1);
    let written =
        change::write(&mut conn, capture_of(&current)).await.unwrap().expect("written on the charge as it is");
    drop(conn);
    assert_eq!((written.status.as_str(), written.version), ("captured", current.version + 1));
    assert_eq!(captures_written(&app, &charge_id).await, (1, 1, 1));
    // The charge the statement answered is the charge as stored, and the one its event carries is what the API
    // shows.
    let stored = record(&app, &charge_id).await;
    assert_eq!(format!("{written:?}"), format!("{stored:?}"));
    let (status, shown) =
        app.client(&merchant, "test").call(Method::GET, &format!("/v1/charges/{charge_id}"), &Value::Null).await;
    assert_eq!(status, 200);
    let event: Value = sqlx::query_scalar("SELECT data FROM events WHERE object_id = $1 AND type = 'charge.captured'")
        .bind(&charge_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(event["object"], shown);
    assert_eq!(shown["status"], "captured");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_change_whose_posting_needs_ledger_accounts_not_made_yet_writes_nothing_and_the_capture_makes_them() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // The merchant's first authorization made the authorization accounts; a capture also needs the processor
    // receivable and the merchant's pending balance, which do not exist yet.
    let charge_id = authorized(&app, &merchant).await;
    let read = record(&app, &charge_id).await;
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(change::write(&mut conn, capture_of(&read)).await.unwrap().is_none());
    drop(conn);
    assert_eq!(captures_written(&app, &charge_id).await, (0, 0, 0));
    assert_eq!(record(&app, &charge_id).await.version, read.version, "the charge was not touched");

    let path = format!("/v1/charges/{charge_id}/capture");
    let (status, captured) = app.client(&merchant, "test").call(Method::POST, &path, &Value::Null).await;
    assert_eq!((status, captured["status"].as_str()), (200, Some("captured")), "{captured}");
    assert_eq!(captures_written(&app, &charge_id).await, (1, 1, 1));
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM ledger_accounts WHERE merchant_id = $1 ORDER BY kind")
            .bind(&merchant)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kinds,
        ["authorization_payable", "authorization_receivable", "merchant_pending", "processor_receivable"]
    );
    audit_is_clean(&app).await;
}

async fn endpoint(app: &TestApp, merchant: &str, n: usize) {
    let body = json!({ "url": format!("https://shop.example/hooks/{n}"), "enabled_events": ["charge.authorized"] });
    let response =
        app.signed(Method::POST, "/v1/webhook_endpoints", &body.to_string(), merchant, "test").send().await.unwrap();
    assert_eq!(response.status(), 201);
}

/// The endpoints `charge_id`'s `charge.authorized` event is delivered to, and the BEGINs sent to the database while
/// the charge was made (its approval in one statement sends none).
async fn authorized_with_deliveries(app: &TestApp, merchant: &str) -> (usize, i64) {
    let mut stats = app.pool.acquire().await.unwrap();
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&mut *stats).await.unwrap();
    let this_database = "(SELECT oid FROM pg_database WHERE datname = current_database())";
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_stat_statements_reset(0, {this_database}, 0)")))
        .execute(&mut *stats)
        .await
        .unwrap();
    let charge_id = authorized(app, merchant).await;
    let begins: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT sum(calls)::bigint FROM pg_stat_statements WHERE dbid = {this_database} AND query = 'BEGIN'"
    )))
    .fetch_one(&mut *stats)
    .await
    .unwrap();
    let endpoints: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.object_id = $1 AND e.type = 'charge.authorized' AND d.status = 'pending'",
    )
    .bind(&charge_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    (endpoints.len(), begins.unwrap_or(0))
}

#[tokio::test]
async fn every_listening_endpoint_gets_its_delivery_as_many_as_a_change_has_ids_for_and_one_more() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // The merchant's accounts first.
    authorized(&app, &merchant).await;
    for n in 0..DELIVERY_IDS {
        endpoint(&app, &merchant, n).await;
    }
    let mut woken = sqlx::postgres::PgListener::connect_with(&app.pool).await.unwrap();
    woken.listen(paygate_ledger::domain::webhooks::deliveries::DUE_CHANNEL).await.unwrap();
    // As many as it has ids for: the one statement makes them all, and wakes the delivery workers.
    assert_eq!(authorized_with_deliveries(&app, &merchant).await, (DELIVERY_IDS, 0));
    tokio::time::timeout(std::time::Duration::from_secs(10), woken.recv())
        .await
        .expect("the delivery workers were woken")
        .unwrap();
    // One more: the statement writes nothing and the transaction makes every delivery.
    endpoint(&app, &merchant, DELIVERY_IDS).await;
    assert_eq!(authorized_with_deliveries(&app, &merchant).await, (DELIVERY_IDS + 1, 1));
    audit_is_clean(&app).await;
}
