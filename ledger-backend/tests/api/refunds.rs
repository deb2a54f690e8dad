//! Refunds: several partial refunds up to the captured amount and never beyond, also when fifty race
//! for one charge; what the lifecycle forbids; idempotent retries; tenant isolation; the events, the
//! ledger and the audit after each.

use crate::helpers::{TestApp, audit_is_clean, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn captured_charge(app: &TestApp, merchant: &str, amount: i64, capture: bool) -> String {
    app.charge_card(merchant, "4242424242424242", amount, "BHD", capture).await["id"].as_str().unwrap().to_owned()
}

async fn refund(app: &TestApp, merchant: &str, body: Value, key: &str) -> (u16, Value) {
    app.post_with_key(merchant, "/v1/refunds", &body, key).await
}

async fn charge_state(app: &TestApp, id: &str) -> (String, i64) {
    sqlx::query_as("SELECT status, amount_refunded FROM charges WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_capture_and_no_further() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = captured_charge(&app, &merchant, 10_000, true).await;
    let (status, first) =
        refund(&app, &merchant, json!({ "charge": charge, "amount": 2_500, "reason": "requested_by_customer" }), "r1")
            .await;
    assert_eq!(
        (status, first["status"].as_str(), first["amount"].as_i64()),
        (201, Some("succeeded"), Some(2_500)),
        "{first}"
    );
    assert_eq!(charge_state(&app, &charge).await, ("partially_refunded".into(), 2_500));
    let (status, problem) = refund(&app, &merchant, json!({ "charge": charge, "amount": 7_501 }), "r2").await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["param"].as_str()),
        (400, Some("amount_too_large"), Some("amount"))
    );
    // Without an amount: the whole remainder.
    let (status, rest) = refund(&app, &merchant, json!({ "charge": charge }), "r3").await;
    assert_eq!((status, rest["amount"].as_i64()), (201, Some(7_500)));
    assert_eq!(charge_state(&app, &charge).await, ("refunded".into(), 10_000));
    let (status, problem) = refund(&app, &merchant, json!({ "charge": charge, "amount": 1 }), "r4").await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_state")));

    let listed: Value = app
        .signed(Method::GET, &format!("/v1/refunds?charge={charge}"), "", &merchant, "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    let types: Vec<String> =
        sqlx::query_scalar("SELECT type FROM events ORDER BY id").fetch_all(&app.pool).await.unwrap();
    let refund_events = types.iter().filter(|t| t.starts_with("refund.")).count();
    let charge_refunded = types.iter().filter(|t| *t == "charge.refunded").count();
    assert_eq!((refund_events, charge_refunded), (4, 2), "{types:?}");
    audit_is_clean(&app).await;
    let balance: Value =
        app.signed(Method::GET, "/v1/balance", "", &merchant, "test").send().await.unwrap().json().await.unwrap();
    assert_eq!(balance["pending"], json!([{ "amount": 0, "currency": "BHD" }]));
}

#[tokio::test]
async fn fifty_racing_refunds_never_exceed_the_capture() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = captured_charge(&app, &merchant, 1_000, true).await;
    let keys: Vec<String> = (0..50).map(|i| format!("race-{i}")).collect();
    let requests = keys.iter().map(|key| refund(&app, &merchant, json!({ "charge": charge, "amount": 100 }), key));
    let answers = futures::future::join_all(requests).await;
    let succeeded = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(succeeded, 10, "exactly the captured amount is refundable");
    for (status, body) in &answers {
        assert!(*status == 201 || *status == 400 || *status == 409, "{status} {body}");
    }
    assert_eq!(charge_state(&app, &charge).await, ("refunded".into(), 1_000));
    let refunded: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(amount), 0)::bigint FROM refunds WHERE status = 'succeeded'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(refunded, 1_000);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn refunds_are_idempotent_and_refuse_what_the_lifecycle_forbids() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = captured_charge(&app, &merchant, 3_000, true).await;
    let body = json!({ "charge": charge, "amount": 1_000 });
    let (s1, first) = refund(&app, &merchant, body.clone(), "same").await;
    let (s2, again) = refund(&app, &merchant, body, "same").await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(first, again);
    let (status, problem) = refund(&app, &merchant, json!({ "charge": charge, "amount": 999 }), "same").await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
    assert_eq!(charge_state(&app, &charge).await.1, 1_000, "the retry refunded nothing more");
    // A key that created a charge cannot create a refund.
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let charge_body = json!({ "amount": 100, "currency": "BHD", "source": token }).to_string();
    let response = app
        .signed(Method::POST, "/v1/charges", &charge_body, &merchant, "test")
        .header("idempotency-key", "shared-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let (status, problem) = refund(&app, &merchant, json!({ "charge": charge, "amount": 1 }), "shared-key").await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));

    let authorized = captured_charge(&app, &merchant, 500, false).await;
    let (status, problem) = refund(&app, &merchant, json!({ "charge": authorized }), "auth").await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_state")));

    let other = insert_merchant(&app.pool).await;
    let (status, problem) = refund(&app, &other, json!({ "charge": charge, "amount": 1 }), "theirs").await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["param"].as_str()),
        (404, Some("resource_not_found"), Some("charge"))
    );
    let id = first["id"].as_str().unwrap();
    let seen = app.signed(Method::GET, &format!("/v1/refunds/{id}"), "", &other, "test").send().await.unwrap();
    assert_eq!(seen.status().as_u16(), 404);

    for (body, param) in [
        (json!({ "charge": "ch_nope", "amount": 1 }), "charge"),
        (json!({ "charge": charge, "amount": -1 }), "amount"),
        (json!({ "charge": charge, "reason": "bored" }), "reason"),
        (json!({ "charge": charge, "amount": 1, "currency": "USD" }), "currency"),
    ] {
        let (status, problem) = refund(&app, &merchant, body.clone(), &format!("bad-{param}")).await;
        assert_eq!((status, problem["param"].as_str()), (400, Some(param)), "{body}: {problem}");
    }
    assert_eq!(charge_state(&app, &charge).await.1, 1_000, "no bad request changed the charge");
    audit_is_clean(&app).await;
}
