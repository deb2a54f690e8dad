//! Operations whose answer was lost: a capture, void, expiry or refund is sent while the processor is
//! unreachable (its outcome is unknown), and the recovery job later settles it by asking the processor.
//! Both sides of each: the processor did act (the answer was lost on the way back) and it did not.
//! Also the refund the processor refuses outright, which reverts through the state machine and ledger.

use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use paygate_core::Amount;
use paygate_core::id::MerchantId;
use paygate_ledger::domain::charges::{self, ChargeError, Operation};
use paygate_ledger::domain::idempotency::KeyUse;
use paygate_ledger::domain::refunds::{self, NewRefund, RefundContext};
use paygate_ledger::domain::tenancy::Scope;
use paygate_ledger::jobs::recovery;
use paygate_ledger::processors::Processors;
use serde_json::{Value, json};
use std::time::Duration;

const SUCCESS: &str = "4242424242424242";
const REFUNDS_FAIL: &str = "4000000000005126";

fn sandbox(app: &TestApp) -> std::sync::Arc<Processors> {
    app.processors()
}

fn scope(merchant: &str) -> Scope {
    Scope { merchant_id: MerchantId::parse(merchant).unwrap(), mode: paygate_core::Mode::Test }
}

/// (status, amount_captured, amount_refunded, pending_operation)
async fn state(app: &TestApp, id: &str) -> (String, i64, i64, Option<String>) {
    sqlx::query_as("SELECT status, amount_captured, amount_refunded, pending_operation FROM charges WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn recover(app: &TestApp) -> recovery::Recovered {
    recovery::run_once(&app.pool, &sandbox(app), Duration::ZERO).await.unwrap()
}

/// Acts on the sandbox directly, as if our request had landed and only its answer was lost.
async fn act_at_processor(app: &TestApp, charge_id: &str, path: &str, body: Value) {
    let reference: String = sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
        .bind(charge_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let url = format!("{}/authorizations/{reference}/{path}", app.sandbox_url);
    let answer = app.client.post(url).json(&body).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// A charge id as the API answered it.
fn id(text: &str) -> paygate_core::id::ChargeId {
    paygate_core::id::ChargeId::parse(text).unwrap()
}

async fn authorized(app: &TestApp, merchant: &str) -> String {
    let charge = app.charge_card(merchant, SUCCESS, 4_000, "EUR", false).await;
    assert_eq!(charge["status"], "authorized");
    charge["id"].as_str().unwrap().to_owned()
}

async fn lost_answer(app: &TestApp, merchant: &str, charge_id: &str, operation: Operation) {
    let result =
        charges::operate(&app.pool, &app.unreachable_processors(), scope(merchant), id(charge_id), operation).await;
    assert!(matches!(result, Err(ChargeError::ProcessorUnknown(_))), "{result:?}");
    assert_eq!(state(app, charge_id).await.3.as_deref(), Some(operation.marker()), "the claim is kept");
}

#[tokio::test]
async fn a_capture_that_landed_is_applied_and_one_that_did_not_is_released() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let landed = authorized(&app, &merchant).await;
    let lost = authorized(&app, &merchant).await;
    let capture = Operation::Capture { amount: Some(Amount::new(3_000).unwrap()) };
    lost_answer(&app, &merchant, &landed, capture).await;
    lost_answer(&app, &merchant, &lost, capture).await;
    act_at_processor(&app, &landed, "capture", json!({ "amount": 3_000 })).await;

    // While claimed, nothing else moves the charge.
    let again = charges::operate(&app.pool, &sandbox(&app), scope(&merchant), id(&lost), Operation::Void).await;
    assert!(matches!(again, Err(ChargeError::OperationInFlight)), "{again:?}");

    assert_eq!(recover(&app).await.operations, 2);
    assert_eq!(state(&app, &landed).await, ("captured".into(), 3_000, 0, None));
    assert_eq!(state(&app, &lost).await, ("authorized".into(), 0, 0, None));
    assert_eq!(event_types(&app, &landed).await, ["charge.authorized", "charge.captured"]);
    // Released, the charge can be captured again for real.
    charges::operate(&app.pool, &sandbox(&app), scope(&merchant), id(&lost), capture).await.unwrap();
    assert_eq!(state(&app, &lost).await.0, "captured");
    assert_eq!(recover(&app).await.total(), 0, "nothing left");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn voids_and_expiries_whose_answer_was_lost_end_in_their_own_state() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let voided = authorized(&app, &merchant).await;
    let expired = authorized(&app, &merchant).await;
    let untouched = authorized(&app, &merchant).await;
    lost_answer(&app, &merchant, &voided, Operation::Void).await;
    lost_answer(&app, &merchant, &expired, Operation::Expire).await;
    lost_answer(&app, &merchant, &untouched, Operation::Expire).await;
    act_at_processor(&app, &voided, "void", json!({})).await;
    act_at_processor(&app, &expired, "void", json!({})).await;

    assert_eq!(recover(&app).await.operations, 3);
    assert_eq!(state(&app, &voided).await, ("voided".into(), 0, 0, None));
    assert_eq!(state(&app, &expired).await, ("expired".into(), 0, 0, None));
    assert_eq!(state(&app, &untouched).await, ("authorized".into(), 0, 0, None));
    assert_eq!(event_types(&app, &voided).await, ["charge.authorized", "charge.voided"]);
    assert_eq!(event_types(&app, &expired).await, ["charge.authorized", "charge.expired"]);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_young_claim_is_left_alone() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = authorized(&app, &merchant).await;
    lost_answer(&app, &merchant, &charge, Operation::Void).await;
    let found = recovery::run_once(&app.pool, &sandbox(&app), Duration::from_secs(600)).await.unwrap();
    assert_eq!(found.total(), 0);
    assert_eq!(state(&app, &charge).await.3.as_deref(), Some("void"));
}

async fn refund_with(app: &TestApp, processors: &Processors, merchant: &str, charge: &str, amount: i64) -> Value {
    let new = NewRefund {
        charge_id: id(charge),
        amount: Some(Amount::new(amount).unwrap()),
        reason: None,
        metadata: Default::default(),
    };
    let key = format!("refund-{charge}-{amount}");
    let ctx = RefundContext {
        pool: &app.pool,
        processors,
        scope: scope(merchant),
        request_id: "req_test",
        key: KeyUse { key: &key, fingerprint: &"0".repeat(64), object_type: "refund" },
    };
    paygate_ledger::wire::to_value(&paygate_ledger::wire::Refund::from(&refunds::create(&ctx, &new).await.unwrap().0))
}

async fn refund_status(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, failure_code FROM refunds WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn balance(app: &TestApp, merchant: &str) -> Value {
    let response = app.signed(reqwest::Method::GET, "/v1/balance", "", merchant, "test").send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["pending"].clone()
}

#[tokio::test]
async fn a_refund_the_processor_refuses_is_reverted_in_the_charge_and_the_ledger() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, REFUNDS_FAIL, 9_000, "JPY", true).await;
    assert_eq!(charge["status"], "captured");
    let id = charge["id"].as_str().unwrap();
    let before = balance(&app, &merchant).await;

    let (status, refund) =
        app.post_with_key(&merchant, "/v1/refunds", &json!({ "charge": id, "amount": 2_000 }), "refused").await;
    assert_eq!(
        (status, refund["status"].as_str(), refund["failure_code"].as_str()),
        (201, Some("failed"), Some("refund_declined")),
        "{refund}"
    );
    assert_eq!(state(&app, id).await, ("captured".into(), 9_000, 0, None), "the reservation is reverted");
    assert_eq!(balance(&app, &merchant).await, before, "the merchant's balance is as before the refund");
    let refund_id = refund["id"].as_str().unwrap();
    assert_eq!(event_types(&app, refund_id).await, ["refund.created", "refund.failed"]);
    assert_eq!(
        event_types(&app, id).await,
        ["charge.authorized", "charge.captured", "charge.refunded", "charge.refund_reverted"]
    );
    // The whole capture is still refundable (the processor keeps refusing, but the ledger allows it).
    let (status, again) = app.post_with_key(&merchant, "/v1/refunds", &json!({ "charge": id }), "refused-2").await;
    assert_eq!((status, again["amount"].as_i64(), again["status"].as_str()), (201, Some(9_000), Some("failed")));
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn pending_refunds_are_settled_by_sending_them_again() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let accepted = app.charge_card(&merchant, SUCCESS, 5_000, "USD", true).await["id"].as_str().unwrap().to_owned();
    let refused = app.charge_card(&merchant, REFUNDS_FAIL, 5_000, "USD", true).await["id"].as_str().unwrap().to_owned();
    let unreachable = app.unreachable_processors();
    let first = refund_with(&app, &unreachable, &merchant, &accepted, 1_000).await;
    let second = refund_with(&app, &unreachable, &merchant, &refused, 1_000).await;
    for refund in [&first, &second] {
        assert_eq!(refund["status"], "pending", "{refund}");
    }
    assert_eq!(state(&app, &accepted).await, ("partially_refunded".into(), 5_000, 1_000, None));

    assert_eq!(recover(&app).await.refunds, 2);
    assert_eq!(refund_status(&app, first["id"].as_str().unwrap()).await, ("succeeded".into(), None));
    assert_eq!(
        refund_status(&app, second["id"].as_str().unwrap()).await,
        ("failed".into(), Some("refund_declined".into()))
    );
    assert_eq!(state(&app, &accepted).await, ("partially_refunded".into(), 5_000, 1_000, None));
    assert_eq!(state(&app, &refused).await, ("captured".into(), 5_000, 0, None));
    // Sent again, the settled refund is not made twice at the processor: a second run finds nothing.
    assert_eq!(recover(&app).await.total(), 0);
    audit_is_clean(&app).await;
}
