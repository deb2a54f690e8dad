//! Processor accounts and routing through the API: credentials sealed and never answered, misconfiguration
//! surfaced on the account, Stripe's authentication demand a clear failure, and bad input named.

use crate::helpers::{insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

// (That no log line holds them is checked over every service's logs through the real edge, in
// edge-api/tests/processors.test.mjs.)
#[tokio::test]
async fn credentials_are_never_answered_nor_stored_in_plaintext() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let key = "sk_test_51SecretKeyNobodySees0042";
    let body = json!({ "connector": "stripe", "display_name": "Main", "credentials": { "secret_key": key } });
    let created = app.client(&merchant, "test").expect(201, Method::POST, "/v1/processor_accounts", &body).await;
    assert_eq!(created["credentials_hint"], "sk_test_…0042");
    assert!(!created.to_string().contains("SecretKeyNobodySees"), "{created}");
    let id = created["id"].as_str().unwrap();
    let read = app
        .client(&merchant, "test")
        .expect(200, Method::GET, &format!("/v1/processor_accounts/{id}"), &Value::Null)
        .await;
    let listed = app.client(&merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    for answer in [&read, &listed] {
        assert!(!answer.to_string().contains("SecretKeyNobodySees"), "{answer}");
    }
    let row: String = sqlx::query_scalar("SELECT row_to_json(a)::text FROM processor_accounts a WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!row.contains("SecretKeyNobodySees"), "the stored row holds the key in plaintext: {row}");
    assert!(row.contains("\"credentials_sealed\":{"), "{row}");
    // Replacing the key seals the new one; the hint follows.
    let changed = app
        .client(&merchant, "test")
        .expect(
            200,
            Method::PATCH,
            &format!("/v1/processor_accounts/{id}"),
            &json!({ "credentials": { "secret_key": "sk_test_51AnotherSecret9999" } }),
        )
        .await;
    assert_eq!(changed["credentials_hint"], "sk_test_…9999");
}

#[tokio::test]
async fn test_keys_belong_to_test_mode_and_live_keys_to_live() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    for (mode, key) in [("test", "sk_live_51abcdefghijklmnop"), ("live", "sk_test_51abcdefghijklmnop")] {
        let body = json!({ "connector": "stripe", "display_name": "Wrong", "credentials": { "secret_key": key } });
        let refused = app.client(&merchant, mode).expect(400, Method::POST, "/v1/processor_accounts", &body).await;
        assert_eq!(refused["param"], "credentials.secret_key", "{refused}");
    }
    // The sandbox moves no money: there is none in live mode, and nobody creates one.
    let listed = app.client(&merchant, "live").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    assert_eq!(listed["data"], json!([]));
    let body = json!({ "connector": "sandbox", "display_name": "x", "credentials": {} });
    let refused = app.client(&merchant, "test").expect(400, Method::POST, "/v1/processor_accounts", &body).await;
    assert_eq!(refused["param"], "connector");
}

#[tokio::test]
async fn live_mode_without_an_account_refuses_the_charge_before_spending_the_token() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "live");
    let body = json!({ "amount": 1_000, "currency": "USD", "source": token });
    let refused = app.client(&merchant, "live").expect(409, Method::POST, "/v1/charges", &body).await;
    assert_eq!(refused["code"], "processor_not_configured");
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM charges WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(charges, 0, "nothing was recorded");
    // Once routed to a live Stripe account, the same token works: it was never spent.
    app.route_to_stripe(&merchant, "live").await;
    let charge = app.client(&merchant, "live").expect(201, Method::POST, "/v1/charges", &body).await;
    assert_eq!((&charge["status"], &charge["livemode"]), (&json!("captured"), &json!(true)), "{charge}");
}

#[tokio::test]
async fn an_account_without_raw_card_access_fails_the_charge_and_says_why_on_the_account() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let key = app.register_stripe_account("test", false).await;
    let body = json!({ "connector": "stripe", "display_name": "No raw cards", "credentials": { "secret_key": key } });
    let account = app.client(&merchant, "test").expect(201, Method::POST, "/v1/processor_accounts", &body).await;
    let id = account["id"].as_str().unwrap();
    app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &json!({ "default": id })).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let charge = app
        .client(&merchant, "test")
        .expect(201, Method::POST, "/v1/charges", &json!({ "amount": 1_000, "currency": "USD", "source": token }))
        .await;
    assert_eq!(
        (&charge["status"], &charge["failure_code"]),
        (&json!("failed"), &json!("processor_misconfigured")),
        "{charge}"
    );
    let account = app
        .client(&merchant, "test")
        .expect(200, Method::GET, &format!("/v1/processor_accounts/{id}"), &Value::Null)
        .await;
    assert!(account["problem"].as_str().unwrap().contains("raw card data"), "{account}");
    assert!(account["problem_at"].is_string());
}

#[tokio::test]
async fn an_authentication_stripe_asks_for_waits_for_the_shopper() {
    // The whole 3-D Secure flow on Stripe is in tests/api/authentication.rs; here, only that the charge waits.
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    app.route_to_stripe(&merchant, "test").await;
    let token = app.vault.tokenize("4000000000003220", &merchant, "test");
    let charge = app
        .client(&merchant, "test")
        .expect(201, Method::POST, "/v1/charges", &json!({ "amount": 1_000, "currency": "USD", "source": token }))
        .await;
    assert_eq!(charge["status"], "requires_action", "{charge}");
    assert_eq!(charge["failure_code"], Value::Null);
}

#[tokio::test]
async fn routing_rules_pick_the_first_match_and_record_the_decision() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (stripe, _) = app.route_to_stripe(&merchant, "test").await;
    let accounts = app.client(&merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    let sandbox = accounts["data"].as_array().unwrap().iter().find(|a| a["connector"] == "sandbox").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = json!({ "rules": [
        { "conditions": { "currencies": ["EUR"] }, "account": stripe },
        { "conditions": { "amount_min": 100000 }, "account": stripe },
    ], "default": sandbox });
    let routing = app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &table).await;
    assert_eq!(routing["configured"], true);
    let pay = |currency: &'static str, amount: i64| {
        let token = app.vault.tokenize("4242424242424242", &merchant, "test");
        let merchant = merchant.clone();
        let app = &app;
        async move {
            let body = json!({ "amount": amount, "currency": currency, "source": token });
            app.client(&merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await
        }
    };
    let eur = pay("EUR", 1_000).await;
    assert_eq!((&eur["processor"]["connector"], &eur["processor"]["routing_rule"]), (&json!("stripe"), &json!(0)));
    let big = pay("USD", 200_000).await;
    assert_eq!((&big["processor"]["connector"], &big["processor"]["routing_rule"]), (&json!("stripe"), &json!(1)));
    let small = pay("USD", 1_000).await;
    assert_eq!((&small["processor"]["account"], &small["processor"]["routing_rule"]), (&json!(sandbox), &Value::Null));
    let attempt_rule: Option<i32> =
        sqlx::query_scalar("SELECT routing_rule FROM charge_attempts WHERE charge_id = $1 AND operation = 'authorize'")
            .bind(big["id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(attempt_rule, Some(1), "the decision is on the attempt too");
    // A disabled account is skipped: EUR now falls through to the default.
    app.client(&merchant, "test")
        .expect(200, Method::POST, &format!("/v1/processor_accounts/{stripe}/disable"), &Value::Null)
        .await;
    assert_eq!(pay("EUR", 1_000).await["processor"]["connector"], "sandbox");
}

#[tokio::test]
async fn bad_input_on_accounts_and_routing_names_the_field() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let client = app.client(&merchant, "test");
    let stripe = |credentials: Value| json!({ "connector": "stripe", "display_name": "S", "credentials": credentials });
    let cases: Vec<(Method, &str, Value, u16, &str)> = vec![
        (
            Method::POST,
            "/v1/processor_accounts",
            json!({ "connector": "adyen", "display_name": "A", "credentials": {} }),
            400,
            "connector",
        ),
        (Method::POST, "/v1/processor_accounts", stripe(json!({})), 400, "credentials.secret_key"),
        (Method::POST, "/v1/processor_accounts", stripe(json!({ "secret_key": 42 })), 400, "credentials.secret_key"),
        (
            Method::POST,
            "/v1/processor_accounts",
            stripe(json!({ "secret_key": "sk_test_51abcdefgh", "extra": 1 })),
            400,
            "credentials.extra",
        ),
        (Method::POST, "/v1/processor_accounts", stripe(json!("sk_test_51abcdefgh")), 400, "credentials"),
        (
            Method::POST,
            "/v1/processor_accounts",
            json!({ "connector": "stripe", "display_name": "", "credentials": { "secret_key": "sk_test_51abcdefghijk" } }),
            400,
            "display_name",
        ),
        (
            Method::POST,
            "/v1/processor_accounts",
            json!({ "connector": "stripe", "display_name": "a\u{0}b", "credentials": { "secret_key": "sk_test_51abcdefghijk" } }),
            400,
            "display_name",
        ),
        (
            Method::POST,
            "/v1/processor_accounts",
            json!({ "connector": "stripe", "display_name": "x".repeat(101), "credentials": { "secret_key": "sk_test_51abcdefghijk" } }),
            400,
            "display_name",
        ),
        (Method::PUT, "/v1/routing", json!({ "rules": [] }), 400, "default"),
        (Method::PUT, "/v1/routing", json!({ "default": "pa_nothing" }), 400, "default"),
        (Method::PUT, "/v1/routing", json!({ "default": 7 }), 400, "default"),
        (
            Method::PUT,
            "/v1/routing",
            json!({ "default": "pa_x", "rules": [{ "account": "pa_x", "conditions": { "currencies": ["usd"] } }] }),
            400,
            "rules[0].conditions.currencies[0]",
        ),
        (
            Method::PUT,
            "/v1/routing",
            json!({ "default": "pa_x", "rules": [{ "account": "pa_x", "conditions": { "colour": "red" } }] }),
            400,
            "rules[0].conditions.colour",
        ),
        (
            Method::PUT,
            "/v1/routing",
            json!({ "default": "pa_x", "rules": [{ "account": "pa_x", "conditions": { "amount_min": -1 } }] }),
            400,
            "rules[0].conditions.amount_min",
        ),
    ];
    for (method, path, body, status, param) in cases {
        let answer = client.expect(status, method.clone(), path, &body).await;
        assert_eq!(answer["param"], param, "{method} {path} {body}: {answer}");
    }
    let missing =
        client.expect(404, Method::GET, "/v1/processor_accounts/pa_00000000000000000000000000", &Value::Null).await;
    assert_eq!(missing["code"], "resource_not_found");

    // Updates: wrong types, and credentials of another connector, name their field.
    let created = client
        .expect(201, Method::POST, "/v1/processor_accounts", &stripe(json!({ "secret_key": "sk_test_51abcdefghijk" })))
        .await;
    let path = format!("/v1/processor_accounts/{}", created["id"].as_str().unwrap());
    for (body, param) in [
        (json!({ "display_name": 5 }), "display_name"),
        (json!({ "enabled": "yes" }), "enabled"),
        (json!({ "settings": { "mada": true } }), "settings"),
        (
            json!({ "credentials": { "secret_key": "sk_test_51abcdefghijk", "processing_channel_id": "pc_x" } }),
            "credentials.processing_channel_id",
        ),
    ] {
        let answer = client.expect(400, Method::PATCH, &path, &body).await;
        assert_eq!(answer["param"], param, "{body}: {answer}");
    }
    // Routing only to an enabled account of the same merchant and mode.
    let sandbox = client.expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["connector"] == "sandbox")
        .unwrap()["id"]
        .clone();
    let live = app
        .client(&merchant, "live")
        .expect(201, Method::POST, "/v1/processor_accounts", &stripe(json!({ "secret_key": "sk_live_51abcdefghijk" })))
        .await;
    let other_mode = json!({ "rules": [{ "account": live["id"], "conditions": {} }], "default": sandbox });
    let answer = client.expect(400, Method::PUT, "/v1/routing", &other_mode).await;
    assert_eq!(answer["param"], "rules[0].account", "a live account never routes test payments: {answer}");
    client.expect(200, Method::POST, &format!("{path}/disable"), &Value::Null).await;
    let disabled = json!({ "rules": [], "default": created["id"] });
    let answer = client.expect(400, Method::PUT, "/v1/routing", &disabled).await;
    assert_eq!(answer["param"], "default", "a disabled account is no target: {answer}");
}

#[tokio::test]
async fn brand_and_issuing_country_rules_route_by_what_the_vault_says_of_the_card() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (stripe, _) = app.route_to_stripe(&merchant, "test").await;
    let accounts = app.client(&merchant, "test").expect(200, Method::GET, "/v1/processor_accounts", &Value::Null).await;
    let sandbox =
        accounts["data"].as_array().unwrap().iter().find(|a| a["connector"] == "sandbox").unwrap()["id"].clone();
    // Mada cards (a local scheme, co-badged with Visa here) and anything issued in Saudi Arabia to the
    // sandbox; everything else to Stripe.
    let table = json!({ "rules": [
        { "conditions": { "brands": ["mada"] }, "account": sandbox },
        { "conditions": { "issuing_countries": ["SA"] }, "account": sandbox },
    ], "default": stripe });
    app.client(&merchant, "test").expect(200, Method::PUT, "/v1/routing", &table).await;
    let pay = |number: &'static str| {
        let token = app.vault.tokenize(number, &merchant, "test");
        let (app, merchant) = (&app, merchant.clone());
        async move {
            let body = json!({ "amount": 1_000, "currency": "SAR", "source": token, "capture": false });
            app.client(&merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await
        }
    };
    let mada = pay("4464040000000007").await;
    assert_eq!(
        (&mada["processor"]["connector"], &mada["processor"]["routing_rule"]),
        (&json!("sandbox"), &json!(0)),
        "{mada}"
    );
    assert_eq!(mada["status"], "authorized", "the token was described, not spent: {mada}");
    let visa = pay("4242424242424242").await;
    assert_eq!(
        (&visa["processor"]["connector"], &visa["processor"]["routing_rule"]),
        (&json!("stripe"), &Value::Null),
        "{visa}"
    );
    let bad = json!({ "rules": [{ "conditions": { "brands": ["MADA"] }, "account": sandbox }], "default": stripe });
    let refused = app.client(&merchant, "test").expect(400, Method::PUT, "/v1/routing", &bad).await;
    assert_eq!(refused["param"], "rules[0].conditions.brands[0]");
}

#[tokio::test]
async fn start_up_gives_older_merchants_their_sandbox_account_and_points_their_charges_at_it_once() {
    let app = spawn_app().await;
    // A merchant and a test charge from before processor accounts existed.
    let merchant = paygate_ledger::ids::new_id::<paygate_core::id::MerchantKind>().to_string();
    sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, 'Old shop')")
        .bind(&merchant)
        .execute(&app.pool)
        .await
        .unwrap();
    let charge = paygate_ledger::ids::new_id::<paygate_core::id::ChargeKind>().to_string();
    sqlx::query(
        "INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source, processor)
         VALUES ($1, $2, 'test', 'failed', 'EUR', 100, true, 'tok_01jd3x0000000000000000000a', 'sandbox')",
    )
    .bind(&charge)
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap();
    let accounts = paygate_ledger::domain::processors::accounts::backfill;
    assert_eq!(accounts(&app.pool).await.unwrap(), 1);
    let pointed: (Option<String>, String) = sqlx::query_as(
        "SELECT c.processor_account_id, a.connector FROM charges c JOIN processor_accounts a ON a.merchant_id = c.merchant_id
         WHERE c.id = $1",
    )
    .bind(&charge)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(pointed.0.is_some() && pointed.1 == "sandbox", "{pointed:?}");
    // Every merchant has its account now: nothing more to do.
    assert_eq!(accounts(&app.pool).await.unwrap(), 0);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM processor_accounts WHERE merchant_id = $1")
        .bind(&merchant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}
