//! Charges of Apple Pay device cards (tokens as the edge vaults them, through the vault double): for exactly
//! what the customer approved, sent as a network token with its cryptogram, which works once, at the sandbox
//! acquirer, Checkout.com and Stripe (where Stripe enabled network tokens for the account; elsewhere the account
//! says why it failed).

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

const DEVICE_CARD: &str = "4895370012003478";

async fn charge(app: &TestApp, merchant: &str, token: &str, amount: i64, currency: &str) -> (u16, Value) {
    let body = json!({ "amount": amount, "currency": currency, "source": token, "capture": true });
    app.post_with_key(merchant, "/v1/charges", &body, &format!("apple-pay-{token}-{amount}-{currency}")).await
}

async fn pays_once_per_cryptogram(app: &TestApp, merchant: &str, reused_code: &str) {
    let cryptogram = "AgAAAAAAAIR8CQrXcIhbQAAAAAA=";
    let token = app.vault.tokenize_apple_pay(DEVICE_CARD, cryptogram, (1_999, "USD"), merchant);
    for (amount, currency, param) in [(2_000, "usd", "amount"), (1_999, "eur", "currency")] {
        let (status, refused) = charge(app, merchant, &token, amount, currency).await;
        assert_eq!((status, refused["param"].as_str()), (400, Some(param)), "{refused}");
    }
    let (status, paid) = charge(app, merchant, &token, 1_999, "usd").await;
    assert_eq!(status, 201, "{paid}");
    assert_ne!(paid["status"], "failed", "{paid}");
    assert_eq!(paid["payment_method_details"]["type"], "apple_pay");
    assert_eq!(paid["payment_method_details"]["card"]["last4"], "3478");
    let stored: String = sqlx::query_scalar("SELECT payment_method FROM charges WHERE id = $1")
        .bind(paid["id"].as_str().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "apple_pay");
    // The same cryptogram again (a replayed device payment): the processor declines it.
    let replay = app.vault.tokenize_apple_pay(DEVICE_CARD, cryptogram, (1_999, "USD"), merchant);
    let (_, declined) = charge(app, merchant, &replay, 1_999, "usd").await;
    assert_eq!(
        (&declined["status"], &declined["failure_processor_code"]),
        (&json!("failed"), &json!(reused_code)),
        "{declined}"
    );
}

#[tokio::test]
async fn the_sandbox_acquirer_takes_an_apple_pay_device_card_once_per_cryptogram() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    pays_once_per_cryptogram(&app, &merchant, "cryptogram_reused").await;
}

#[tokio::test]
async fn checkout_takes_an_apple_pay_device_card_as_a_network_token_once_per_cryptogram() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    app.route_to_checkout(&merchant, "test", 0).await;
    pays_once_per_cryptogram(&app, &merchant, "20087").await;
}

/// A Stripe account at the fake, network tokens enabled or not, that `merchant` routes everything to; its id.
async fn stripe_account(app: &TestApp, merchant: &str, network_tokens: bool) -> String {
    let key = format!("sk_test_{}", paygate_core::hex::encode(&crate::helpers::random_bytes()[..12]));
    let fake = json!({ "secret_key": key, "raw_card_data": true, "network_tokens": network_tokens });
    let answer = app.client.post(format!("{}/_fake/accounts", app.stripe_url)).json(&fake).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    let body = json!({ "connector": "stripe", "display_name": "Stripe", "credentials": { "secret_key": key } });
    let account = app.client(merchant, "test").expect(201, Method::POST, "/v1/processor_accounts", &body).await;
    let id = account["id"].as_str().unwrap().to_owned();
    app.client(merchant, "test").expect(200, Method::PUT, "/v1/routing", &json!({ "default": id })).await;
    id
}

#[tokio::test]
async fn stripe_takes_an_apple_pay_device_card_where_it_enabled_network_tokens() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    stripe_account(&app, &merchant, true).await;
    pays_once_per_cryptogram(&app, &merchant, "invalid_cryptogram").await;
}

#[tokio::test]
async fn a_stripe_account_without_network_tokens_fails_apple_pay_and_says_why_on_the_account() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let account = stripe_account(&app, &merchant, false).await;
    let token = app.vault.tokenize_apple_pay(DEVICE_CARD, "AgAAAAAAAIR8CQrXcIhbQAAAAAA=", (1_000, "USD"), &merchant);
    let (status, charge) = charge(&app, &merchant, &token, 1_000, "usd").await;
    assert_eq!(status, 201, "{charge}");
    assert_eq!(
        (&charge["status"], &charge["failure_code"]),
        (&json!("failed"), &json!("processor_misconfigured")),
        "{charge}"
    );
    let shown = app
        .client(&merchant, "test")
        .expect(200, Method::GET, &format!("/v1/processor_accounts/{account}"), &Value::Null)
        .await;
    assert!(shown["problem"].as_str().unwrap().contains("network tokens"), "{shown}");
    // A card still goes to Stripe there.
    let card = app.charge_card(&merchant, "4242424242424242", 1_000, "usd", true).await;
    assert_eq!((&card["status"], &card["payment_method_details"]["type"]), (&json!("captured"), &json!("card")));
}
