//! Capture (full and partial) and void of authorized charges, what the state machine forbids, and the
//! race: fifty captures and voids fired together at one charge apply exactly one, ask the processor
//! once, and leave a ledger that audits clean.

use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn authorize(app: &TestApp, merchant: &str, amount: i64) -> String {
    let charge = app.charge_card(merchant, "4242424242424242", amount, "KWD", false).await;
    assert_eq!(charge["status"], "authorized", "{charge}");
    charge["id"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, merchant: &str, path: &str, body: &str) -> (u16, Value) {
    let body = if body.is_empty() { Value::Null } else { serde_json::from_str(body).unwrap() };
    app.client(merchant, "test").call(Method::POST, path, &body).await
}

#[tokio::test]
async fn full_and_partial_captures_book_what_was_captured() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let full = authorize(&app, &merchant, 12_345).await;
    let (status, charge) = post(&app, &merchant, &format!("/v1/charges/{full}/capture"), "").await;
    assert_eq!(
        (status, charge["status"].as_str(), charge["amount_captured"].as_i64()),
        (200, Some("captured"), Some(12_345))
    );
    assert!(charge["authorization_expires_at"].is_null());

    let partial = authorize(&app, &merchant, 10_000).await;
    let (status, charge) = post(&app, &merchant, &format!("/v1/charges/{partial}/capture"), r#"{"amount":7500}"#).await;
    assert_eq!((status, charge["amount_captured"].as_i64()), (200, Some(7_500)));
    assert_eq!(charge["amount_authorized"], 10_000);
    audit_is_clean(&app).await;
    let balance: Value =
        app.signed(Method::GET, "/v1/balance", "", &merchant, "test").send().await.unwrap().json().await.unwrap();
    assert_eq!(balance["pending"], json!([{ "amount": 12_345 + 7_500, "currency": "KWD" }]), "no pricing: no fees");
}

#[tokio::test]
async fn void_releases_the_authorization() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let id = authorize(&app, &merchant, 500).await;
    let (status, charge) = post(&app, &merchant, &format!("/v1/charges/{id}/void"), "").await;
    assert_eq!((status, charge["status"].as_str()), (200, Some("voided")));
    let types = event_types(&app, &id).await;
    assert_eq!(types, ["charge.authorized", "charge.voided"]);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn what_the_lifecycle_forbids_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let id = authorize(&app, &merchant, 1_000).await;
    let capture = format!("/v1/charges/{id}/capture");
    let (status, problem) = post(&app, &merchant, &capture, r#"{"amount":1001}"#).await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["param"].as_str()),
        (400, Some("amount_too_large"), Some("amount"))
    );
    let (status, problem) = post(&app, &merchant, &capture, r#"{"amount":0}"#).await;
    assert_eq!((status, problem["param"].as_str()), (400, Some("amount")));
    let (status, problem) = post(&app, &merchant, &capture, r#"{"amount":5,"currency":"USD"}"#).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("parameter_unknown")));
    assert_eq!(post(&app, &merchant, &capture, "").await.0, 200);
    for path in [capture.clone(), format!("/v1/charges/{id}/void")] {
        let (status, problem) = post(&app, &merchant, &path, "").await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_state")), "{path}");
    }
    // Another merchant cannot touch it, and neither can the live mode.
    let other = insert_merchant(&app.pool).await;
    assert_eq!(post(&app, &other, &format!("/v1/charges/{id}/void"), "").await.0, 404);
    let live = app.signed(Method::POST, &format!("/v1/charges/{id}/void"), "", &merchant, "live").send().await.unwrap();
    assert_eq!(live.status().as_u16(), 404);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn fifty_racing_captures_and_voids_apply_exactly_one() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let id = authorize(&app, &merchant, 4_000).await;
    let requests = (0..50).map(|i| {
        let path = if i % 2 == 0 { format!("/v1/charges/{id}/capture") } else { format!("/v1/charges/{id}/void") };
        let (app, merchant) = (&app, merchant.clone());
        async move { post(app, &merchant, &path, "").await }
    });
    let answers = futures::future::join_all(requests).await;
    let won: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(won.len(), 1, "exactly one operation applies: {answers:?}");
    for (status, body) in &answers {
        assert!(*status == 200 || *status == 409, "{status} {body}");
    }
    let operations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM charge_attempts WHERE charge_id = $1 AND operation <> 'authorize'")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(operations, 1, "the processor was asked once");
    let final_status: String =
        sqlx::query_scalar("SELECT status FROM charges WHERE id = $1").bind(&id).fetch_one(&app.pool).await.unwrap();
    assert_eq!(won[0]["status"], final_status.as_str());
    audit_is_clean(&app).await;
}
