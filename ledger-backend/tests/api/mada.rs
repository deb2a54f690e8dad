//! Mada the way Saudi rules require: at a Saudi merchant a Mada card (co-badged Visa–Mada here) is a Mada
//! transaction whatever its front-of-card brand: a sale through a Checkout.com account configured for Mada,
//! never an authorization, never voided; elsewhere it is an ordinary card.

use crate::helpers::{TestApp, audit_is_clean, spawn_app};
use paygate_ledger::jobs::recovery;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const MADA_VISA: &str = "4464040000000007";

/// A merchant in `country` routed to Stripe by default, with a Checkout.com account configured for Mada.
async fn merchant_in(app: &TestApp, country: &str) -> String {
    let merchant =
        paygate_ledger::domain::merchants::create_in(&app.pool, "Shop", Some(country)).await.unwrap().to_string();
    let (checkout, _) = app.route_to_checkout(&merchant, "test", 1).await;
    let mada = json!({ "settings": { "mada": true } });
    app.client(&merchant, "test")
        .expect(200, Method::PATCH, &format!("/v1/processor_accounts/{checkout}"), &mada)
        .await;
    app.route_to_stripe(&merchant, "test").await;
    merchant
}

async fn charge(app: &TestApp, merchant: &str, number: &str, capture: bool) -> (u16, Value, String) {
    let token = app.vault.tokenize(number, merchant, "test");
    let body = json!({ "amount": 5_000, "currency": "SAR", "source": token, "capture": capture });
    let (status, answer) = app.client(merchant, "test").call(Method::POST, "/v1/charges", &body).await;
    (status, answer, token)
}

async fn settle(app: &TestApp) {
    // The fake processes an action a millisecond after it is asked for: let that millisecond pass.
    tokio::time::sleep(Duration::from_millis(20)).await;
    recovery::run_once(&app.pool, &app.processors(), Duration::ZERO).await.unwrap();
}

#[tokio::test]
async fn a_mada_card_at_a_saudi_merchant_is_a_sale_over_checkout_never_an_authorization_or_a_void() {
    let app = spawn_app().await;
    let merchant = merchant_in(&app, "SA").await;
    // An authorization is refused before anything is recorded, naming `capture`; the token is not spent.
    let (status, refused, token) = charge(&app, &merchant, MADA_VISA, false).await;
    assert_eq!(
        (status, refused["code"].as_str(), refused["param"].as_str()),
        (400, Some("parameter_invalid"), Some("capture"))
    );
    assert!(refused["detail"].as_str().unwrap().contains("Mada"), "{refused}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM charges WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let body = json!({ "amount": 5_000, "currency": "SAR", "source": token, "capture": true });
    let sale = app.client(&merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await;
    assert_eq!(sale["processor"]["connector"], "checkout", "whatever the routing table says: {sale}");
    assert_eq!(sale["payment_method_details"]["card"]["brand"], "mada");
    settle(&app).await;
    let id = sale["id"].as_str().unwrap();
    let sold = app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!((&sold["status"], &sold["amount_captured"]), (&json!("captured"), &json!(5_000)), "{sold}");
    // No void on Mada, and nothing to capture later: refunds instead.
    let void =
        app.client(&merchant, "test").expect(409, Method::POST, &format!("/v1/charges/{id}/void"), &Value::Null).await;
    assert!(void["detail"].as_str().unwrap().contains("refund"), "{void}");
    let capture = app
        .client(&merchant, "test")
        .expect(409, Method::POST, &format!("/v1/charges/{id}/capture"), &json!({ "amount": 100 }))
        .await;
    assert_eq!(capture["code"], "invalid_state");
    let refund = app
        .client(&merchant, "test")
        .expect(201, Method::POST, "/v1/refunds", &json!({ "charge": id, "amount": 1_000 }))
        .await;
    assert_eq!(refund["status"], "pending");
    settle(&app).await;
    let refunded =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!(refunded["amount_refunded"], 1_000);
    // A Visa card at the same merchant goes by the routing table.
    let (status, visa, _) = charge(&app, &merchant, "4242424242424242", false).await;
    assert_eq!(
        (status, &visa["processor"]["connector"], &visa["status"]),
        (201, &json!("stripe"), &json!("authorized"))
    );
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn outside_saudi_arabia_a_mada_card_is_an_ordinary_card() {
    let app = spawn_app().await;
    let merchant = merchant_in(&app, "DE").await;
    let (status, charge, _) = charge(&app, &merchant, MADA_VISA, false).await;
    assert_eq!(
        (status, &charge["status"], &charge["processor"]["connector"]),
        (201, &json!("authorized"), &json!("stripe")),
        "{charge}"
    );
    let id = charge["id"].as_str().unwrap();
    app.client(&merchant, "test").expect(200, Method::POST, &format!("/v1/charges/{id}/void"), &Value::Null).await;
}

#[tokio::test]
async fn a_saudi_merchant_without_a_mada_account_is_told_what_is_missing() {
    let app = spawn_app().await;
    let merchant =
        paygate_ledger::domain::merchants::create_in(&app.pool, "Shop", Some("SA")).await.unwrap().to_string();
    app.route_to_stripe(&merchant, "test").await;
    let (status, refused, _) = charge(&app, &merchant, MADA_VISA, true).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("processor_not_configured")), "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("settings.mada"), "{refused}");
    // Settings are checked per connector.
    let accounts = app.client(&merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    let stripe = accounts["data"].as_array().unwrap().iter().find(|a| a["connector"] == "stripe").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = app
        .client(&merchant, "test")
        .expect(
            400,
            Method::PATCH,
            &format!("/v1/processor_accounts/{stripe}"),
            &json!({ "settings": { "mada": true } }),
        )
        .await;
    assert_eq!(bad["param"], "settings");
    let (checkout, _) = app.route_to_checkout(&merchant, "test", 1).await;
    let bad = app
        .client(&merchant, "test")
        .expect(
            400,
            Method::PATCH,
            &format!("/v1/processor_accounts/{checkout}"),
            &json!({ "settings": { "mada": "yes" } }),
        )
        .await;
    assert_eq!(bad["param"], "settings.mada");
}

#[tokio::test]
async fn a_mada_sale_always_asks_for_3_d_secure() {
    // Checkout.com (and so its fake) takes Mada only with 3-D Secure: a payment without it is declined.
    let app = spawn_app().await;
    let key = format!("sk_sbox_{}", paygate_core::hex::encode(&crate::helpers::random_bytes()[..12]));
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{}/_fake/accounts", app.checkout_url))
        .json(&json!({ "secret_key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    let pay = |three_ds: bool| {
        let body = json!({ "source": { "type": "card", "number": MADA_VISA, "expiry_month": 12, "expiry_year": 2034, "cvv": "123" },
                           "amount": 5_000, "currency": "SAR", "reference": "ch_direct",
                           "processing_channel_id": crate::helpers::PROCESSING_CHANNEL, "3ds": { "enabled": three_ds } });
        client.post(format!("{}/payments", app.checkout_url)).bearer_auth(&key).json(&body).send()
    };
    let without: Value = pay(false).await.unwrap().json().await.unwrap();
    assert_eq!((&without["approved"], &without["response_code"]), (&json!(false), &json!("20154")), "{without}");
    let with: Value = pay(true).await.unwrap().json().await.unwrap();
    assert_eq!(with["approved"], true, "{with}");
    assert_eq!(with["3ds"]["authentication_response"], "Y");
    // Ours goes through: every Checkout.com payment carries 3ds.enabled.
    let merchant = merchant_in(&app, "SA").await;
    let (status, sale, _) = charge(&app, &merchant, MADA_VISA, true).await;
    assert_eq!((status, sale["processor"]["connector"].as_str()), (201, Some("checkout")), "{sale}");
    assert_ne!(sale["status"], "failed", "{sale}");
}
