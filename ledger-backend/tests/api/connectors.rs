//! The connector contract: one suite of scenarios run against every connector (the sandbox acquirer, and
//! Stripe on its fake), through the API, with the processor's own books checked where it matters. A new
//! connector joins by adding a `Target`.

use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use paygate_ledger::jobs::recovery;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Sandbox,
    Stripe,
    Checkout,
}

pub(crate) const TARGETS: [Target; 3] = [Target::Sandbox, Target::Stripe, Target::Checkout];
const SUCCESS: &str = "4242424242424242";
const INSUFFICIENT_FUNDS: &str = "4000000000009995";

impl Target {
    fn connector(self) -> &'static str {
        match self {
            Target::Sandbox => "sandbox",
            Target::Stripe => "stripe",
            Target::Checkout => "checkout",
        }
    }

    /// Whether captures, voids and refunds are accepted first and confirmed later (Checkout.com's 202).
    fn confirms_later(self) -> bool {
        self == Target::Checkout
    }

    /// Where the processor's fake lives (its control API, its log of requests, its 3-D Secure page).
    pub(crate) fn fake_url(self, app: &TestApp) -> Option<&str> {
        match self {
            Target::Sandbox => None,
            Target::Stripe => Some(&app.stripe_url),
            Target::Checkout => Some(&app.checkout_url),
        }
    }
}

/// A test-mode merchant whose payments go to `target`; with the processor account's secret key.
async fn merchant_on(app: &TestApp, target: Target) -> (String, Option<String>) {
    let merchant = insert_merchant(&app.pool).await;
    match target {
        Target::Sandbox => (merchant, None),
        Target::Stripe => {
            let (_, key) = app.route_to_stripe(&merchant, "test").await;
            (merchant, Some(key))
        }
        Target::Checkout => {
            // Actions processed a millisecond after they are asked for: every answer shows them pending.
            let (_, key) = app.route_to_checkout(&merchant, "test", 1).await;
            (merchant, Some(key))
        }
    }
}

/// Lets the processors confirm what they accepted: recovery asks them now (their webhooks will do it sooner).
async fn settle(app: &TestApp) {
    // The fake processes an action a millisecond after it is asked for: let that millisecond pass.
    tokio::time::sleep(Duration::from_millis(20)).await;
    recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
}

async fn pay(app: &TestApp, merchant: &str, number: &str, amount: i64, capture: bool) -> Value {
    let token = app.vault.tokenize(number, merchant, "test");
    let body = json!({ "amount": amount, "currency": "USD", "source": token, "capture": capture });
    app.client(merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await
}

async fn post(app: &TestApp, merchant: &str, path: &str, body: Value) -> (u16, Value) {
    app.client(merchant, "test").call(Method::POST, path, &body).await
}

async fn charge(app: &TestApp, merchant: &str, id: &str) -> Value {
    app.client(merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await
}

/// The requests the account with `key` made to `target`'s fake, `METHOD /path`.
async fn fake_requests(app: &TestApp, target: Target, key: &str) -> Vec<String> {
    let Some(base) = target.fake_url(app) else { return vec![] };
    let body: Value =
        app.client.get(format!("{base}/_fake/accounts/{key}/requests")).send().await.unwrap().json().await.unwrap();
    body["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn authorize_capture_partially_and_release_the_rest() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        let authorized = pay(&app, &merchant, SUCCESS, 1_000, false).await;
        assert_eq!(authorized["status"], "authorized", "{target:?}: {authorized}");
        assert_eq!(authorized["processor"]["connector"], target.connector());
        assert_eq!(authorized["payment_method_details"]["card"]["last4"], "4242", "{target:?}");
        let id = authorized["id"].as_str().unwrap();
        let (status, answered) =
            post(&app, &merchant, &format!("/v1/charges/{id}/capture"), json!({ "amount": 600 })).await;
        if target.confirms_later() {
            // Accepted, not confirmed: still authorized, with the capture pending, until the processor says.
            assert_eq!(
                (status, &answered["status"], &answered["pending_operation"]),
                (202, &json!("authorized"), &json!("capture")),
                "{answered}"
            );
            let (status, meanwhile) = post(&app, &merchant, &format!("/v1/charges/{id}/void"), Value::Null).await;
            assert_eq!(status, 409, "nothing else moves a charge with a pending capture: {meanwhile}");
            settle(&app).await;
        } else {
            assert_eq!(status, 200, "{target:?}: {answered}");
        }
        let captured = charge(&app, &merchant, id).await;
        assert_eq!(
            (&captured["status"], &captured["amount_captured"], &captured["pending_operation"]),
            (&json!("captured"), &json!(600), &Value::Null),
            "{target:?}: {captured}"
        );
        // Captured once: a second capture is refused by our state machine before any processor call.
        let (status, again) = post(&app, &merchant, &format!("/v1/charges/{id}/capture"), Value::Null).await;
        assert_eq!(status, 409, "{target:?}: {again}");
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_sale_captures_in_the_same_call_and_refunds_add_up_to_the_capture_only() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        let sold = pay(&app, &merchant, SUCCESS, 1_000, true).await;
        let id = sold["id"].as_str().unwrap();
        if target.confirms_later() {
            assert_eq!(
                (&sold["status"], &sold["pending_operation"]),
                (&json!("authorized"), &json!("capture")),
                "{sold}"
            );
            settle(&app).await;
        }
        let sold = charge(&app, &merchant, id).await;
        assert_eq!((&sold["status"], &sold["amount_captured"]), (&json!("captured"), &json!(1_000)), "{target:?}");
        let expected = if target.confirms_later() { "pending" } else { "succeeded" };
        for amount in [300, 200] {
            let (status, refund) =
                post(&app, &merchant, "/v1/refunds", json!({ "charge": id, "amount": amount })).await;
            assert_eq!((status, &refund["status"]), (201, &json!(expected)), "{target:?}: {refund}");
        }
        // A pending refund's amount stays reserved: more than what is left is refused even before it settles.
        let (status, over) = post(&app, &merchant, "/v1/refunds", json!({ "charge": id, "amount": 600 })).await;
        assert_eq!((status, over["code"].as_str()), (400, Some("amount_too_large")), "{target:?}: {over}");
        let (status, rest) = post(&app, &merchant, "/v1/refunds", json!({ "charge": id })).await;
        assert_eq!(
            (status, &rest["amount"], &rest["status"]),
            (201, &json!(500), &json!(expected)),
            "{target:?}: {rest}"
        );
        let rest_id = rest["id"].as_str().unwrap();
        if target.confirms_later() {
            // Asked for, reserved, not done: the refund says so, and no event claims it succeeded.
            let types = event_types(&app, rest_id).await;
            assert!(types.contains(&"refund.created".to_owned()), "{target:?}: {types:?}");
            assert!(!types.contains(&"refund.succeeded".to_owned()), "{target:?}: {types:?}");
        }
        settle(&app).await;
        assert!(event_types(&app, rest_id).await.contains(&"refund.succeeded".to_owned()), "{target:?}");
        let refunds: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT status, processor_reference FROM refunds WHERE charge_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&app.pool)
                .await
                .unwrap();
        assert!(
            refunds.iter().all(|(status, reference)| status == "succeeded" && reference.is_some()),
            "{target:?}: every refund confirmed, with the processor's id kept: {refunds:?}"
        );
        let refunded = charge(&app, &merchant, id).await;
        assert_eq!((&refunded["status"], &refunded["amount_refunded"]), (&json!("refunded"), &json!(1_000)));
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_void_releases_the_authorization() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        let id = pay(&app, &merchant, SUCCESS, 700, false).await["id"].as_str().unwrap().to_owned();
        let (status, answered) = post(&app, &merchant, &format!("/v1/charges/{id}/void"), Value::Null).await;
        assert_eq!(status, if target.confirms_later() { 202 } else { 200 }, "{target:?}: {answered}");
        settle(&app).await;
        assert_eq!(charge(&app, &merchant, &id).await["status"], "voided", "{target:?}");
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn declines_carry_our_code_and_the_processors() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, _) = merchant_on(&app, target).await;
        let declined = pay(&app, &merchant, INSUFFICIENT_FUNDS, 1_000, true).await;
        assert_eq!(declined["status"], "failed", "{target:?}");
        assert_eq!(declined["failure_code"], "insufficient_funds", "{target:?}: {declined}");
        let raw = if target == Target::Checkout { "20051" } else { "insufficient_funds" };
        assert_eq!(declined["failure_processor_code"], raw, "{target:?}: {declined}");
        assert_eq!(declined["payment_method_details"]["card"]["last4"], "9995", "the declined card is shown");
    }
}

#[tokio::test]
async fn a_lost_authorization_answer_is_found_by_recovery() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, key) = merchant_on(&app, target).await;
        // The processor authorizes, but its answer never arrives (slower than our timeout on the sandbox's
        // slow card; a connection broken after processing on the others).
        let number = match (target, target.fake_url(&app)) {
            (Target::Sandbox, _) | (_, None) => "4000000000006975",
            (_, Some(base)) => {
                let url = format!("{base}/_fake/accounts/{}/faults", key.as_deref().unwrap());
                let answer = app.client.post(url).json(&json!({ "fault": "reset_after" })).send().await.unwrap();
                assert_eq!(answer.status().as_u16(), 201);
                SUCCESS
            }
        };
        let lost = pay(&app, &merchant, number, 1_000, true).await;
        assert_eq!(lost["status"], "pending", "{target:?}: {lost}");
        if target == Target::Sandbox {
            tokio::time::sleep(Duration::from_millis(3_200)).await;
        }
        let found = recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
        assert_eq!(found.authorizations, 1, "{target:?}");
        let id = lost["id"].as_str().unwrap();
        let recovered = charge(&app, &merchant, id).await;
        assert_eq!(
            (&recovered["status"], &recovered["amount_captured"]),
            (&json!("captured"), &json!(1_000)),
            "{target:?}: {recovered}"
        );
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_replayed_request_reaches_the_processor_once() {
    let app = spawn_app().await;
    for target in TARGETS {
        let (merchant, key) = merchant_on(&app, target).await;
        let token = app.vault.tokenize(SUCCESS, &merchant, "test");
        let body = json!({ "amount": 900, "currency": "USD", "source": token }).to_string();
        let client = app.client(&merchant, "test");
        let (first_status, first) = client.send(Method::POST, "/v1/charges", &body, Some("same-key")).await;
        let (again_status, again) = client.send(Method::POST, "/v1/charges", &body, Some("same-key")).await;
        assert_eq!((first_status, again_status), (201, 200), "{target:?}");
        assert_eq!(first["id"], again["id"]);
        if let Some(key) = key {
            let creates = fake_requests(&app, target, &key).await;
            let creates = creates.iter().filter(|r| *r == "POST /v1/payment_intents" || *r == "POST /payments").count();
            assert_eq!(creates, 1, "{target:?}");
        }
    }
}

#[tokio::test]
async fn later_operations_go_to_the_account_that_authorized_even_after_routing_changes() {
    let app = spawn_app().await;
    let (merchant, key) = merchant_on(&app, Target::Stripe).await;
    let key = key.unwrap();
    let authorized = pay(&app, &merchant, SUCCESS, 1_000, false).await;
    let sold = pay(&app, &merchant, SUCCESS, 1_000, true).await;
    // Everything new now goes to the sandbox.
    let accounts = app.client(&merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    let sandbox =
        accounts["data"].as_array().unwrap().iter().find(|a| a["connector"] == "sandbox").unwrap()["id"].clone();
    app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &json!({ "default": sandbox })).await;
    assert_eq!(pay(&app, &merchant, SUCCESS, 500, false).await["processor"]["connector"], "sandbox");

    let (authorized_id, sold_id) = (authorized["id"].as_str().unwrap(), sold["id"].as_str().unwrap());
    let (status, _) = post(&app, &merchant, &format!("/v1/charges/{authorized_id}/capture"), Value::Null).await;
    assert_eq!(status, 200);
    let (status, _) = post(&app, &merchant, "/v1/refunds", json!({ "charge": sold_id, "amount": 100 })).await;
    assert_eq!(status, 201);
    let seen = app.stripe_requests(&key).await;
    assert!(seen.iter().any(|r| r.starts_with("POST /v1/payment_intents/") && r.ends_with("/capture")), "{seen:?}");
    assert!(seen.iter().any(|r| r == "POST /v1/refunds"), "{seen:?}");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn the_expiry_job_voids_at_the_account_that_authorized() {
    let app = spawn_app().await;
    let (merchant, key) = merchant_on(&app, Target::Stripe).await;
    let key = key.unwrap();
    let id = pay(&app, &merchant, SUCCESS, 1_000, false).await["id"].as_str().unwrap().to_owned();
    let accounts = app.client(&merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    let sandbox =
        accounts["data"].as_array().unwrap().iter().find(|a| a["connector"] == "sandbox").unwrap()["id"].clone();
    app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &json!({ "default": sandbox })).await;
    sqlx::query("UPDATE charges SET authorization_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(paygate_ledger::jobs::expiry::run_once(&app.pool, &app.processors()).await.unwrap(), 1);
    let seen = app.stripe_requests(&key).await;
    assert!(seen.iter().any(|r| r.ends_with("/cancel")), "the void went to Stripe: {seen:?}");
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!(charge["status"], "expired");
}

/// Routes `merchant`'s test payments to its Stripe account first and the sandbox after it.
async fn stripe_then_sandbox(app: &TestApp, merchant: &str) -> (String, String) {
    let (stripe, key) = app.route_to_stripe(merchant, "test").await;
    let accounts = app.client(merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    let sandbox =
        accounts["data"].as_array().unwrap().iter().find(|a| a["connector"] == "sandbox").unwrap()["id"].clone();
    let table =
        json!({ "rules": [{ "conditions": { "payment_methods": ["card"] }, "account": stripe }], "default": sandbox });
    app.client(merchant, "test").expect(200, Method::PUT, "/v1/routing", &table).await;
    (stripe, key)
}

async fn attempts(app: &TestApp, charge: &str) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT processor, outcome, response_code FROM charge_attempts WHERE charge_id = $1 AND operation = 'authorize' ORDER BY id",
    )
    .bind(charge)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_refused_connection_fails_over_to_the_next_account() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (_, key) = stripe_then_sandbox(&app, &merchant).await;
    // Stripe's host refuses connections: the request certainly never reached it.
    app.vault.set_destination("stripe", "http://127.0.0.1:9");
    let charge = pay(&app, &merchant, SUCCESS, 1_000, false).await;
    assert_eq!(
        (&charge["status"], &charge["processor"]["connector"]),
        (&json!("authorized"), &json!("sandbox")),
        "{charge}"
    );
    assert_eq!(charge["processor"]["routing_rule"], Value::Null, "the default served it");
    let id = charge["id"].as_str().unwrap();
    assert_eq!(
        attempts(&app, id).await,
        vec![
            ("stripe".into(), "failed".into(), Some("not_processed".into())),
            ("sandbox".into(), "succeeded".into(), None),
        ]
    );
    // The capture goes where the authorization is: the sandbox.
    let (status, captured) = post(&app, &merchant, &format!("/v1/charges/{id}/capture"), Value::Null).await;
    assert_eq!((status, &captured["status"]), (200, &json!("captured")));
    assert!(app.stripe_requests(&key).await.is_empty(), "Stripe never heard of it");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn an_answer_documented_as_not_processed_fails_over_to_the_next_account() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (_, key) = stripe_then_sandbox(&app, &merchant).await;
    // Stripe answers 429 before processing (its documented rate limit): the same payment may go elsewhere.
    app.stripe_fault(&key, json!({ "fault": "rate_limited" })).await;
    let charge = pay(&app, &merchant, SUCCESS, 1_000, false).await;
    assert_eq!(
        (&charge["status"], &charge["processor"]["connector"]),
        (&json!("authorized"), &json!("sandbox")),
        "{charge}"
    );
    let id = charge["id"].as_str().unwrap();
    assert_eq!(
        attempts(&app, id).await,
        vec![
            ("stripe".into(), "failed".into(), Some("not_processed".into())),
            ("sandbox".into(), "succeeded".into(), None),
        ]
    );
    assert_eq!(app.stripe_requests(&key).await, ["POST /v1/payment_intents"], "Stripe was asked once, and refused");
    // Nothing exists at Stripe: recovery, asking it about the first attempt, finds nothing to book.
    let found = recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
    assert_eq!(found.authorizations, 0);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn an_unknown_outcome_is_never_sent_elsewhere_and_recovery_finds_it() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (_, key) = stripe_then_sandbox(&app, &merchant).await;
    // Stripe receives the request and authorizes, but answers after every timeout.
    app.stripe_fault(&key, json!({ "fault": "slow", "delay_ms": 3_000 })).await;
    let charge = pay(&app, &merchant, SUCCESS, 1_000, false).await;
    assert_eq!(charge["status"], "pending", "{charge}");
    let id = charge["id"].as_str().unwrap();
    let second: String = sqlx::query_scalar(
        "SELECT id FROM charge_attempts WHERE charge_id = $1 AND processor = 'sandbox' AND operation = 'authorize'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let at_sandbox =
        app.client.get(format!("{}/authorizations?reference={second}", app.sandbox_url)).send().await.unwrap();
    assert_eq!(at_sandbox.status(), 404, "the second account saw nothing");
    let found = recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
    assert_eq!(found.authorizations, 1);
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!(
        (&charge["status"], &charge["processor"]["connector"]),
        (&json!("authorized"), &json!("stripe")),
        "{charge}"
    );
    let outcomes: Vec<String> = attempts(&app, id).await.into_iter().map(|(_, outcome, _)| outcome).collect();
    assert_eq!(outcomes, ["succeeded", "failed"]);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_refund_whose_answer_was_lost_is_found_by_our_id() {
    let app = spawn_app().await;
    let (merchant, key) = merchant_on(&app, Target::Stripe).await;
    let key = key.unwrap();
    let id = pay(&app, &merchant, SUCCESS, 1_000, true).await["id"].as_str().unwrap().to_owned();
    // Stripe makes the refund, but the connection breaks before its answer arrives.
    app.stripe_fault(&key, json!({ "fault": "reset_after" })).await;
    let (status, refund) = post(&app, &merchant, "/v1/refunds", json!({ "charge": id, "amount": 400 })).await;
    assert_eq!((status, &refund["status"]), (201, &json!("pending")), "{refund}");
    let found = recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
    assert_eq!(found.refunds, 1);
    let refund_id = refund["id"].as_str().unwrap();
    let (status, reference): (String, Option<String>) =
        sqlx::query_as("SELECT status, processor_reference FROM refunds WHERE id = $1")
            .bind(refund_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "succeeded");
    assert!(reference.is_some_and(|r| r.starts_with("re_")), "Stripe's refund id is kept");
    // Found, not sent again: Stripe holds one refund.
    let refunds = app.stripe_requests(&key).await.iter().filter(|r| *r == "POST /v1/refunds").count();
    assert_eq!(refunds, 1);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_5xx_or_a_broken_connection_before_processing_ends_failed_once_recovery_finds_nothing() {
    let app = spawn_app().await;
    let (merchant, key) = merchant_on(&app, Target::Stripe).await;
    let key = key.unwrap();
    for fault in [json!({ "fault": "server_error" }), json!({ "fault": "reset_before" })] {
        app.stripe_fault(&key, fault.clone()).await;
        let charge = pay(&app, &merchant, SUCCESS, 1_000, true).await;
        // Neither a yes nor a no: the charge waits; Stripe never made it, so recovery finds nothing.
        assert_eq!(charge["status"], "pending", "{fault}: {charge}");
        let found = recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
        assert_eq!(found.authorizations, 1, "{fault}");
        let id = charge["id"].as_str().unwrap();
        let charge =
            app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
        assert_eq!(
            (&charge["status"], &charge["failure_code"]),
            (&json!("failed"), &json!("processing_error")),
            "{fault}"
        );
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_capture_the_processor_accepts_and_then_declines_leaves_the_charge_authorized_and_says_so() {
    let app = spawn_app().await;
    let (merchant, _) = merchant_on(&app, Target::Checkout).await;
    let card = paygate_fakes::checkout::CAPTURE_DECLINED_CARD;
    let id = pay(&app, &merchant, card, 1_000, false).await["id"].as_str().unwrap().to_owned();
    let (status, accepted) = post(&app, &merchant, &format!("/v1/charges/{id}/capture"), Value::Null).await;
    assert_eq!((status, &accepted["pending_operation"]), (202, &json!("capture")), "{accepted}");
    settle(&app).await;
    let after = charge(&app, &merchant, &id).await;
    assert_eq!(
        (&after["status"], &after["amount_captured"], &after["pending_operation"]),
        (&json!("authorized"), &json!(0), &Value::Null),
        "{after}"
    );
    let events = crate::helpers::event_types(&app, &id).await;
    assert_eq!(events.last().map(String::as_str), Some("charge.capture_failed"), "{events:?}");
    // Nothing was booked as captured: the ledger holds the authorization only, and a void now works.
    let (status, _) = post(&app, &merchant, &format!("/v1/charges/{id}/void"), Value::Null).await;
    assert_eq!(status, 202);
    settle(&app).await;
    assert_eq!(charge(&app, &merchant, &id).await["status"], "voided");
    audit_is_clean(&app).await;
}

/// A Checkout.com merchant whose fake account sends its webhooks (signed, each `copies` times) to the edge's
/// route for our account, after processing each action a moment after it is asked for.
async fn checkout_with_webhooks(app: &TestApp, copies: u32) -> String {
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_checkout(&merchant, "test", 20).await;
    let fake = json!({ "action_delay_ms": 20, "webhook_copies": copies, "webhook_delay_ms": 10 });
    app.webhooks_from_fake(&merchant, "checkout", (&account, &key), "cko-webhooks-in-the-contract-suite", fake).await;
    merchant
}

/// Waits (bounded) until the charge's status is `status` with nothing pending.
async fn becomes(app: &TestApp, merchant: &str, id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let now = charge(app, merchant, id).await;
        if now["status"] == status && now["pending_operation"].is_null() {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{id} never became {status}: {}", charge(app, merchant, id).await);
}

#[tokio::test]
async fn checkouts_webhooks_settle_what_it_accepted_each_applied_once_without_recovery() {
    let app = spawn_app().await;
    let merchant = checkout_with_webhooks(&app, 3).await;
    // A partial capture, confirmed by Checkout.com's own webhook (sent three times).
    let id = pay(&app, &merchant, SUCCESS, 1_000, false).await["id"].as_str().unwrap().to_owned();
    let (status, _) = post(&app, &merchant, &format!("/v1/charges/{id}/capture"), json!({ "amount": 700 })).await;
    assert_eq!(status, 202);
    let captured = becomes(&app, &merchant, &id, "captured").await;
    assert_eq!(captured["amount_captured"], 700);
    // A sale, then two refunds, each confirmed by webhook.
    let sold = pay(&app, &merchant, SUCCESS, 1_000, true).await["id"].as_str().unwrap().to_owned();
    becomes(&app, &merchant, &sold, "captured").await;
    for amount in [300, 700] {
        let (status, refund) = post(&app, &merchant, "/v1/refunds", json!({ "charge": sold, "amount": amount })).await;
        assert_eq!((status, &refund["status"]), (201, &json!("pending")));
    }
    becomes(&app, &merchant, &sold, "refunded").await;
    // A void.
    let voided = pay(&app, &merchant, SUCCESS, 500, false).await["id"].as_str().unwrap().to_owned();
    post(&app, &merchant, &format!("/v1/charges/{voided}/void"), Value::Null).await;
    becomes(&app, &merchant, &voided, "voided").await;
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refunds WHERE status <> 'succeeded' AND charge_id = $1")
            .bind(&sold)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(pending, 0);
    // Every event applied once: one captured event per charge though each webhook came three times.
    for charge_id in [&id, &sold] {
        let captured =
            crate::helpers::event_types(&app, charge_id).await.iter().filter(|t| *t == "charge.captured").count();
        assert_eq!(captured, 1, "{charge_id}");
    }
    // Every webhook arrives in the end (three approvals among them; under load they trail the outcomes).
    let mut counts = (0, 0, 0);
    for _ in 0..200 {
        counts = stored_webhooks(&app, &merchant).await;
        if counts.2 == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (stored, settled, approvals) = stored_webhooks(&app, &merchant).await;
    // Each stored once and applied by its own delivery: a later event about the same payment never takes one
    // that is still being applied (it only brings back those left waiting).
    let outcomes: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT event_type, outcome, detail FROM processor_events WHERE merchant_id = $1 ORDER BY id")
            .bind(&merchant)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!((stored, settled), (5, 5), "two captures, two refunds and a void, each stored once: {outcomes:?}");
    // Each payment's approval too (news once our own answer was applied, unless it came first).
    assert_eq!((approvals, counts.2), (3, 3));
    audit_is_clean(&app).await;
}

/// The merchant's stored processor events: (others, others applied, approvals applied or ignored).
async fn stored_webhooks(app: &TestApp, merchant: &str) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE event_type <> 'payment_approved'),
                count(*) FILTER (WHERE event_type <> 'payment_approved' AND outcome = 'applied'),
                count(*) FILTER (WHERE event_type = 'payment_approved' AND outcome IN ('applied', 'ignored'))
         FROM processor_events WHERE merchant_id = $1",
    )
    .bind(merchant)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}
