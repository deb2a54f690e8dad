//! The background jobs against real charges: authorization expiry (also racing captures and a second
//! expiry worker: each charge ends captured or expired, never both, and the processor is asked once),
//! and recovery of unknown authorization outcomes by asking the processor.

use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use paygate_ledger::jobs::{expiry, recovery};
use paygate_ledger::processors::Processors;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

async fn create(app: &TestApp, merchant: &str, number: &str, capture: bool) -> Value {
    app.charge_card(merchant, number, 1_500, "OMR", capture).await
}

fn connector(app: &TestApp) -> std::sync::Arc<Processors> {
    app.processors()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM charges WHERE id = $1").bind(id).fetch_one(&app.pool).await.unwrap()
}

async fn make_due(app: &TestApp) {
    sqlx::query(
        "UPDATE charges SET authorization_expires_at = now() - interval '1 second' WHERE status = 'authorized'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn due_authorizations_expire_once_with_their_event() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let due = create(&app, &merchant, "4242424242424242", false).await["id"].as_str().unwrap().to_owned();
    make_due(&app).await;
    let fresh = create(&app, &merchant, "4242424242424242", false).await["id"].as_str().unwrap().to_owned();
    assert_eq!(expiry::run_once(&app.pool, &connector(&app)).await.unwrap(), 1);
    assert_eq!(status_of(&app, &due).await, "expired");
    assert_eq!(status_of(&app, &fresh).await, "authorized");
    assert_eq!(expiry::run_once(&app.pool, &connector(&app)).await.unwrap(), 0, "nothing expires twice");
    let types = event_types(&app, &due).await;
    assert_eq!(types, ["charge.authorized", "charge.expired"]);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn expiry_racing_captures_and_another_worker_applies_one_outcome_per_charge() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(create(&app, &merchant, "4242424242424242", false).await["id"].as_str().unwrap().to_owned());
    }
    make_due(&app).await;
    let captures = ids.iter().map(|id| {
        let path = format!("/v1/charges/{id}/capture");
        let request = app.signed(Method::POST, &path, "", &merchant, "test");
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let (a, b) = (connector(&app), connector(&app));
    let (codes, first, second) = tokio::join!(
        futures::future::join_all(captures),
        expiry::run_once(&app.pool, &a),
        expiry::run_once(&app.pool, &b),
    );
    let expired = first.unwrap() + second.unwrap();
    let captured = codes.iter().filter(|c| **c == 200).count();
    assert_eq!(captured + expired, 20, "each charge is captured or expired: {codes:?}");
    for id in &ids {
        let status = status_of(&app, id).await;
        assert!(status == "captured" || status == "expired", "{id}: {status}");
        let operations: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM charge_attempts WHERE charge_id = $1 AND operation <> 'authorize'",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(operations, 1, "{id}: the processor was asked once");
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_request_the_processor_never_saw_fails_on_recovery() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // The processing-error card makes the sandbox answer 500 without recording anything. (A settle delay
    // of zero is safe here only because that answer has already come back.)
    let charge = create(&app, &merchant, "4000000000000119", true).await;
    assert_eq!(charge["status"], "pending");
    let id = charge["id"].as_str().unwrap();
    assert_eq!(recovery::run_once(&app.pool, &connector(&app), Duration::ZERO).await.unwrap().authorizations, 1);
    assert_eq!(status_of(&app, id).await, "failed");
    assert_eq!(recovery::run_once(&app.pool, &connector(&app), Duration::ZERO).await.unwrap().total(), 0);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn an_answer_that_came_too_late_is_found_and_applied_by_recovery() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // The slow card's approval arrives after the connector gave up: the processor did capture it.
    let charge = create(&app, &merchant, "4000000000006975", true).await;
    assert_eq!(charge["status"], "pending");
    let id = charge["id"].as_str().unwrap();
    // Young attempts are left alone: they may still be in flight elsewhere.
    assert_eq!(recovery::run_once(&app.pool, &connector(&app), Duration::from_secs(600)).await.unwrap().total(), 0);
    // Recovery trusts "not found" only for attempts older than the longest a request can take to reach
    // the processor (SETTLE_AFTER in production); here that is the sandbox's slow answer plus a margin.
    // Asked any earlier it would fail a charge the processor is about to approve.
    let settle_after = Duration::from_millis(paygate_ledger::sandbox::SLOW_ANSWER_MS + 1_000);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let resolved = recovery::run_once(&app.pool, &connector(&app), settle_after).await.unwrap().authorizations;
        if resolved == 1 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status_of(&app, id).await, "captured");
    audit_is_clean(&app).await;
}
