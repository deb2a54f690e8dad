//! Creating and reading charges through the API, against the sandbox acquirer behind the vault-forward
//! double: each test card's outcome, the ledger and events each produces, the backend's own
//! idempotency (also under 100 concurrent requests), tenant and mode isolation, bad input, and paging.

use crate::helpers::{TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn charge(app: &TestApp, merchant: &str, body: &Value, key: &str) -> (u16, Value) {
    app.post_with_key(merchant, "/v1/charges", body, key).await
}

async fn charge_card(app: &TestApp, merchant: &str, number: &str, capture: bool) -> Value {
    app.charge_card(merchant, number, 2_500, "sar", capture).await
}

#[tokio::test]
async fn a_success_card_is_authorized_and_captured_with_its_ledger_and_events() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = charge_card(&app, &merchant, "4242424242424242", true).await;
    assert_eq!(charge["status"], "captured");
    assert_eq!((charge["amount_authorized"].as_i64(), charge["amount_captured"].as_i64()), (Some(2_500), Some(2_500)));
    assert_eq!(charge["currency"], "SAR");
    assert_eq!(charge["payment_method_details"]["card"]["last4"], "4242");
    assert_eq!(charge["payment_method_details"]["card"]["brand"], "visa");
    let id = charge["id"].as_str().unwrap();
    assert_eq!(event_types(&app, id).await, ["charge.authorized", "charge.captured"]);
    let fetched: Value = app
        .signed(Method::GET, &format!("/v1/charges/{id}"), "", &merchant, "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, charge);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn capture_false_leaves_an_authorization_that_expires_in_seven_days() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = charge_card(&app, &merchant, "5555555555554444", false).await;
    assert_eq!(charge["status"], "authorized");
    assert_eq!(charge["amount_captured"], 0);
    assert!(charge["authorization_expires_at"].is_string(), "{charge}");
    assert_eq!(event_types(&app, charge["id"].as_str().unwrap()).await, ["charge.authorized"]);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn declining_cards_fail_the_charge_with_their_reason() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    for (number, code) in [
        ("4000000000000002", "generic_decline"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
        ("4000000000000127", "incorrect_cvc"),
    ] {
        let charge = charge_card(&app, &merchant, number, true).await;
        assert_eq!(
            (charge["status"].as_str(), charge["failure_code"].as_str()),
            (Some("failed"), Some(code)),
            "{number}"
        );
        assert!(charge["failure_message"].is_string());
        assert_eq!(event_types(&app, charge["id"].as_str().unwrap()).await, ["charge.failed"]);
        // The event shows the declined card, as the charge does.
        let object: Value = sqlx::query_scalar("SELECT data -> 'object' FROM events WHERE object_id = $1")
            .bind(charge["id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(object, charge, "{number}");
    }
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn an_unknown_processor_answer_leaves_the_charge_pending_with_its_attempt_recorded() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // A 500 from the acquirer, and an answer slower than the connector's timeout.
    for number in ["4000000000000119", "4000000000006975"] {
        let charge = charge_card(&app, &merchant, number, true).await;
        assert_eq!(charge["status"], "pending", "{number}");
        let outcome: String = sqlx::query_scalar("SELECT outcome FROM charge_attempts WHERE charge_id = $1")
            .bind(charge["id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(outcome, "unknown", "{number}");
        assert!(event_types(&app, charge["id"].as_str().unwrap()).await.is_empty());
    }
}

#[tokio::test]
async fn a_token_works_once() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let body = json!({ "amount": 100, "currency": "USD", "source": token });
    assert_eq!(charge(&app, &merchant, &body, "first").await.1["status"], "captured");
    let (_, second) = charge(&app, &merchant, &body, "second").await;
    assert_eq!((second["status"].as_str(), second["failure_code"].as_str()), (Some("failed"), Some("token_used")));
    // Another merchant cannot use a token vaulted for this one.
    let other = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let (_, stolen) = charge(&app, &other, &json!({ "amount": 100, "currency": "USD", "source": token }), "k").await;
    assert_eq!(stolen["failure_code"], "token_used");
}

#[tokio::test]
async fn a_retried_key_returns_the_first_charge_even_when_routing_would_now_refuse_the_request() {
    // Routing runs before the key is claimed (the charge, its attempts and the claim are one statement): a retry
    // must still find its charge, not the routing's refusal, and a changed request still hears that the key is
    // taken.
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let body = json!({ "amount": 900, "currency": "EUR", "source": token });
    let (status, first) = charge(&app, &merchant, &body, "order-routing").await;
    assert_eq!(status, 201, "{first}");
    sqlx::query("UPDATE processor_accounts SET enabled = false WHERE merchant_id = $1")
        .bind(&merchant)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, again) = charge(&app, &merchant, &body, "order-routing").await;
    assert_eq!((status, &again), (200, &first));
    let changed = json!({ "amount": 901, "currency": "EUR", "source": token });
    let (status, problem) = charge(&app, &merchant, &changed, "order-routing").await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")), "{problem}");
    // A new key meets the routing's refusal, and nothing is recorded for it.
    let (status, problem) = charge(&app, &merchant, &changed, "order-new").await;
    assert!((400..500).contains(&status), "{status} {problem}");
    let held: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM idempotency_records WHERE merchant_id = $1 AND key = 'order-new')",
    )
    .bind(&merchant)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!held, "a refused create holds no key");
}

#[tokio::test]
async fn a_retried_key_returns_the_first_charge_and_a_changed_request_is_refused() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let body = json!({ "amount": 700, "currency": "JPY", "source": token });
    let (first_status, first) = charge(&app, &merchant, &body, "order-1").await;
    let (again_status, again) = charge(&app, &merchant, &body, "order-1").await;
    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(first, again);
    let changed = json!({ "amount": 701, "currency": "JPY", "source": token });
    let (status, problem) = charge(&app, &merchant, &changed, "order-1").await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
    // The same key is independent per merchant.
    let other = insert_merchant(&app.pool).await;
    let (status, _) = charge(&app, &other, &changed, "order-1").await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_hundred_concurrent_requests_with_one_key_create_one_charge() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let body = json!({ "amount": 999, "currency": "EUR", "source": token });
    let requests = (0..100).map(|_| charge(&app, &merchant, &body, "the-one-key"));
    let answers = futures::future::join_all(requests).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, c)| {
            assert!(*status == 200 || *status == 201, "{status} {c}");
            c["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every caller sees the same charge");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM charges").fetch_one(&app.pool).await.unwrap();
    assert_eq!(count, 1);
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM charge_attempts").fetch_one(&app.pool).await.unwrap();
    assert_eq!(attempts, 1, "the processor was asked once");
}

#[tokio::test]
async fn another_merchant_or_the_other_mode_cannot_see_a_charge() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let other = insert_merchant(&app.pool).await;
    let id = charge_card(&app, &merchant, "4242424242424242", true).await["id"].as_str().unwrap().to_owned();
    for (who, mode) in [(other.as_str(), "test"), (merchant.as_str(), "live")] {
        let response = app.signed(Method::GET, &format!("/v1/charges/{id}"), "", who, mode).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{who} {mode}");
        let list: Value =
            app.signed(Method::GET, "/v1/charges", "", who, mode).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["data"], json!([]), "{who} {mode}");
    }
}

#[tokio::test]
async fn bad_input_gets_a_problem_naming_the_parameter_and_writes_nothing() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({ "amount": -5, "currency": "USD", "source": token }), "parameter_invalid", "amount"),
        (json!({ "amount": 0, "currency": "USD", "source": token }), "parameter_invalid", "amount"),
        (json!({ "amount": 1_000_000_000_000i64, "currency": "USD", "source": token }), "amount_too_large", "amount"),
        (json!({ "amount": 1.5, "currency": "USD", "source": token }), "parameter_invalid", "amount"),
        (json!({ "amount": "100", "currency": "USD", "source": token }), "parameter_invalid", "amount"),
        (json!({ "amount": 100, "currency": "XYZ", "source": token }), "parameter_invalid", "currency"),
        (json!({ "amount": 100, "currency": "XAU", "source": token }), "parameter_invalid", "currency"),
        (json!({ "amount": 100, "currency": "USD", "source": "4242424242424242" }), "parameter_invalid", "source"),
        (json!({ "amount": 100, "currency": "USD" }), "parameter_missing", "source"),
        (json!({ "amount": 100, "currency": "USD", "source": token, "tip": 5 }), "parameter_unknown", "tip"),
        (
            json!({ "amount": 100, "currency": "USD", "source": token, "capture": "yes" }),
            "parameter_invalid",
            "capture",
        ),
        (
            json!({ "amount": 100, "currency": "USD", "source": token, "statement_descriptor": "x".repeat(23) }),
            "parameter_invalid",
            "statement_descriptor",
        ),
        (
            json!({ "amount": 100, "currency": "USD", "source": token, "metadata": { "k": 5 } }),
            "parameter_invalid",
            "metadata.k",
        ),
        (
            json!({ "amount": 100, "currency": "USD", "source": token, "metadata": [1] }),
            "parameter_invalid",
            "metadata",
        ),
        (json!([1, 2]), "parameter_invalid", ""),
    ];
    for (i, (body, code, param)) in cases.iter().enumerate() {
        let (status, problem) = charge(&app, &merchant, body, &format!("bad-{i}")).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(
            (problem["code"].as_str(), problem["param"].as_str().unwrap_or("")),
            (Some(*code), *param),
            "{body}"
        );
    }
    let missing_key =
        app.signed(Method::POST, "/v1/charges", r#"{"amount":1}"#, &merchant, "test").send().await.unwrap();
    assert_eq!(missing_key.status().as_u16(), 400);
    assert_eq!(missing_key.json::<Value>().await.unwrap()["code"], "idempotency_key_missing");
    let long_key = "k".repeat(256);
    let (status, problem) = charge(&app, &merchant, &json!({ "amount": 1 }), &long_key).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("idempotency_key_invalid")));
    let (charges, records): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM charges), (SELECT count(*) FROM idempotency_records)")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((charges, records), (0, 0));
}

#[tokio::test]
async fn lists_page_newest_first_with_cursors_and_filters() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let mut ids = Vec::new();
    for number in ["4242424242424242", "4000000000000002", "4242424242424242", "4242424242424242", "4000000000000002"] {
        ids.push(charge_card(&app, &merchant, number, true).await["id"].as_str().unwrap().to_owned());
    }
    ids.reverse(); // newest first
    let page = |query: String| {
        let app = &app;
        let merchant = merchant.clone();
        async move {
            let response =
                app.signed(Method::GET, &format!("/v1/charges{query}"), "", &merchant, "test").send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let body: Value = response.json().await.unwrap();
            let got: Vec<String> =
                body["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
            (got, body["has_more"].as_bool().unwrap())
        }
    };
    assert_eq!(page("?limit=2".into()).await, (ids[0..2].to_vec(), true));
    assert_eq!(page(format!("?limit=2&starting_after={}", ids[1])).await, (ids[2..4].to_vec(), true));
    assert_eq!(page(format!("?limit=2&starting_after={}", ids[3])).await, (ids[4..5].to_vec(), false));
    assert_eq!(page(format!("?limit=2&ending_before={}", ids[4])).await, (ids[2..4].to_vec(), true));
    let (failed, _) = page("?status=failed".into()).await;
    assert_eq!(failed, vec![ids[0].clone(), ids[3].clone()]);
    for bad in ["?limit=0", "?limit=101", "?limit=x", "?status=lost", "?starting_after=re_x", "?colour=red"] {
        let response =
            app.signed(Method::GET, &format!("/v1/charges{bad}"), "", &merchant, "test").send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        let problem: Value = response.json().await.unwrap();
        assert!(problem["param"].is_string(), "{bad}: {problem}");
    }
}

#[tokio::test]
async fn each_event_carries_the_charge_as_it_was_right_after_its_step() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = charge_card(&app, &merchant, "4242424242424242", true).await;
    let snapshots: Vec<(String, Value)> =
        sqlx::query_as("SELECT type, data -> 'object' FROM events WHERE object_id = $1 ORDER BY id")
            .bind(charge["id"].as_str().unwrap())
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let steps: Vec<(&str, &str, i64, i64)> = snapshots
        .iter()
        .map(|(kind, object)| {
            let amount = |name: &str| object[name].as_i64().unwrap();
            (kind.as_str(), object["status"].as_str().unwrap(), amount("amount_authorized"), amount("amount_captured"))
        })
        .collect();
    assert_eq!(
        steps,
        [("charge.authorized", "authorized", 2_500, 0), ("charge.captured", "captured", 2_500, 2_500)],
        "{snapshots:?}"
    );
    // The authorized snapshot names when the authorization would have lapsed; the captured one does not.
    assert!(snapshots[0].1["authorization_expires_at"].is_string(), "{snapshots:?}");
    assert!(snapshots[1].1["authorization_expires_at"].is_null(), "{snapshots:?}");
    assert_eq!(snapshots[1].1, charge, "the last event's object is the charge as answered");
}
