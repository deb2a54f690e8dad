//! A charge's change written in one statement (`domain::charges::change`): it writes everything or nothing,
//! only on the charge as it was read, and hands the cases it does not take to the locked transaction, which
//! then does all of it.

use crate::helpers::{TestApp, audit_is_clean, insert_merchant, spawn_app, statements_of};
use paygate_core::Amount;
use paygate_core::ledger::LedgerEvent;
use paygate_ledger::domain::charges::change::{self, AttemptClose, Change, DELIVERY_IDS, Step};
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
    let posting = LedgerEvent::Captured { authorized: amount, captured: amount, fee: Amount::ZERO };
    Change {
        scope: before.scope(),
        before,
        steps: vec![Step { after, posting, event_type: "charge.captured" }],
        // No attempt of that id exists: closing it changes nothing, which keeps the checks below about the charge.
        attempt: AttemptClose { id: "att_01jd3x0000000000000000000a", outcome: "succeeded", reference: None },
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

/// What `work` answers, and the BEGINs it sent to the database (a change in one statement sends none).
async fn with_begins<T>(app: &TestApp, work: impl Future<Output = T>) -> (T, i64) {
    let (answer, statements) = statements_of(app, work).await;
    (answer, statements.iter().filter(|(words, _)| words == "BEGIN").map(|(_, calls)| calls).sum())
}

/// The endpoints a new charge's `charge.authorized` event is delivered to, and the BEGINs its create sent.
async fn authorized_with_deliveries(app: &TestApp, merchant: &str) -> (usize, i64) {
    let (charge_id, begins) = with_begins(app, authorized(app, merchant)).await;
    let endpoints: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.object_id = $1 AND e.type = 'charge.authorized' AND d.status = 'pending'",
    )
    .bind(&charge_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    (endpoints.len(), begins)
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

#[tokio::test]
async fn a_sale_is_one_statement_whose_two_events_carry_the_charge_as_each_step_left_it() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    sqlx::query(
        "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) VALUES ($1, '*', 290, 30)",
    )
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    // The merchant's first sale makes its ledger accounts (in the transaction); the second is one statement.
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    let (sale, begins) = with_begins(&app, app.charge_card(&merchant, "4242424242424242", 2_000, "EUR", true)).await;
    assert_eq!((sale["status"].as_str(), begins), (Some("captured"), 0), "{sale}");
    let charge_id = sale["id"].as_str().unwrap();
    let events: Vec<(String, Value)> = sqlx::query_as("SELECT type, data FROM events WHERE object_id = $1 ORDER BY id")
        .bind(charge_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["charge.authorized", "charge.captured"]);
    let authorized = &events[0].1["object"];
    assert_eq!((authorized["status"].as_str(), authorized["amount_captured"].as_i64()), (Some("authorized"), Some(0)));
    assert!(authorized["authorization_expires_at"].is_string(), "{authorized}");
    assert_eq!(authorized["payment_method_details"]["card"]["last4"], "4242");
    // The second event carries the charge exactly as the API shows it.
    let (status, shown) =
        app.client(&merchant, "test").call(Method::GET, &format!("/v1/charges/{charge_id}"), &Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(events[1].1["object"], shown);
    // Both postings, the capture's with its fee (2.9 % + 30 of 2,000 = 88).
    let postings: Vec<(String, i64)> = sqlx::query_as(
        "SELECT t.kind, coalesce(sum(-e.amount) FILTER (WHERE a.kind = 'fee_revenue'), 0)::bigint
         FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id AND e.merchant_id = t.merchant_id
         JOIN ledger_accounts a ON a.id = e.account_id AND a.merchant_id = e.merchant_id
         WHERE t.charge_id = $1 GROUP BY t.id, t.kind ORDER BY t.id",
    )
    .bind(charge_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(postings, [("authorization".to_owned(), 0), ("capture".to_owned(), 88)]);
    let audited: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE object_id = $1 ORDER BY id")
        .bind(charge_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(audited, ["charge.create", "charge.authorized", "charge.captured"]);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_refund_and_its_success_are_one_statement_each_whose_events_carry_the_refund_and_the_charge_as_stored() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // The merchant's first sale makes its ledger accounts; a refund needs no other.
    app.charge_card(&merchant, "4242424242424242", 1_000, "EUR", true).await;
    let sale = app.charge_card(&merchant, "4242424242424242", 3_000, "EUR", true).await;
    let charge_id = sale["id"].as_str().unwrap();
    let body = json!({ "charge": charge_id, "amount": 1_000 });
    let ((status, refund), begins) =
        with_begins(&app, app.post_with_key(&merchant, "/v1/refunds", &body, "refund-once")).await;
    assert_eq!((status, refund["status"].as_str()), (201, Some("succeeded")), "{refund}");
    // The reservation and the processor's answer are one statement each: no BEGIN.
    assert_eq!(begins, 0);
    let refund_id = refund["id"].as_str().unwrap();
    let event = |object_id: &str, event_type: &str| {
        sqlx::query_scalar::<_, Value>("SELECT data -> 'object' FROM events WHERE object_id = $1 AND type = $2")
            .bind(object_id.to_owned())
            .bind(event_type.to_owned())
            .fetch_one(&app.pool)
    };
    let created = event(refund_id, "refund.created").await.unwrap();
    assert_eq!((created["status"].as_str(), created["amount"].as_i64()), (Some("pending"), Some(1_000)));
    assert_eq!(
        (&created["id"], &created["created"], &created["charge"]),
        (&refund["id"], &refund["created"], &refund["charge"])
    );
    let (status, shown) =
        app.client(&merchant, "test").call(Method::GET, &format!("/v1/charges/{charge_id}"), &Value::Null).await;
    assert_eq!((status, shown["amount_refunded"].as_i64()), (200, Some(1_000)));
    assert_eq!(event(charge_id, "charge.refunded").await.unwrap(), shown);
    // Its posting names the refund, and its audit row the request.
    let (postings, requests): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM ledger_transactions WHERE refund_id = $1 AND kind = 'refund'),
                (SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = 'refund.created'
                     AND request_id IS NOT NULL)",
    )
    .bind(refund_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((postings, requests), (1, 1));
    // A retry answers the same refund and refunds nothing more.
    let (status, again) = app.post_with_key(&merchant, "/v1/refunds", &body, "refund-once").await;
    assert_eq!((status, &again), (200, &refund));
    audit_is_clean(&app).await;
}
