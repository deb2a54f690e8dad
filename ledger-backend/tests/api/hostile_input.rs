//! What a hostile or careless client sends, answered with a 4xx problem naming the field, never a 5xx:
//! NUL characters in bodies, path ids and query values; invalid UTF-8 in a path; ids of the wrong kind;
//! empty and oversized bodies; subscription lists the database would refuse; a database that has no
//! connection to give (503). Path routes come from the endpoint table, so a new route is covered by default.

use crate::helpers::{insert_merchant, spawn_app};
use paygate_ledger::http::{ApiError, v1_endpoints};
use reqwest::Method;
use serde_json::{Value, json};

fn code_and_param(problem: &Value) -> (&str, &str) {
    (problem["code"].as_str().unwrap_or(""), problem["param"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn a_nul_in_any_body_text_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, "4242424242424242", 1_000, "eur", true).await;
    let charge_id = charge["id"].as_str().unwrap();
    let token = app.vault.tokenize("4242424242424242", &merchant, "test");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/v1/charges",
            json!({"amount": 100, "currency": "eur", "source": token, "metadata": {"order": "a\u{0}b"}}),
            "metadata.order",
        ),
        (
            "/v1/charges",
            json!({"amount": 100, "currency": "eur", "source": token, "metadata": {"or\u{0}der": "1"}}),
            "metadata",
        ),
        (
            "/v1/charges",
            json!({"amount": 100, "currency": "eur", "source": token, "description": "\u{0}"}),
            "description",
        ),
        ("/v1/refunds", json!({"charge": charge_id, "amount": 1, "metadata": {"why": "\u{0}"}}), "metadata.why"),
        ("/v1/refunds", json!({"charge": charge_id, "amount": 1, "metadata": {"\u{0}": "x"}}), "metadata"),
        ("/v1/webhook_endpoints", json!({"url": "http://127.0.0.1:9/\u{0}", "enabled_events": ["*"]}), "url"),
    ];
    for (i, (path, body, param)) in cases.iter().enumerate() {
        let (status, problem) =
            app.client(&merchant, "test").send(Method::POST, path, &body.to_string(), Some(&format!("nul-{i}"))).await;
        assert_eq!((status, code_and_param(&problem)), (400, ("parameter_invalid", *param)), "{path} {body}");
    }
    let endpoint_body = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}).to_string();
    let (status, endpoint) =
        app.client(&merchant, "test").send(Method::POST, "/v1/webhook_endpoints", &endpoint_body, None).await;
    assert_eq!(status, 201, "{endpoint}");
    let path = format!("/v1/webhook_endpoints/{}", endpoint["id"].as_str().unwrap());
    for (body, param) in
        [(json!({"url": "http://127.0.0.1:9/\u{0}"}), "url"), (json!({"description": "\u{0}"}), "description")]
    {
        let (status, problem) = app.client(&merchant, "test").send(Method::PATCH, &path, &body.to_string(), None).await;
        assert_eq!((status, code_and_param(&problem)), (400, ("parameter_invalid", param)), "{body}");
    }
    // Nothing was written by any refused request.
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM charges), (SELECT count(*) FROM refunds), (SELECT count(*) FROM webhook_endpoints)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(counts, (1, 0, 1));
}

/// Every route with an id in its path, from the endpoint table, with segments that are not ids of its kind.
#[tokio::test]
async fn a_path_id_that_is_not_an_id_of_the_routes_kind_is_simply_not_found() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let other_kind = "re_01jd3x0000000000000000000a";
    let mut checked = 0;
    for endpoint in v1_endpoints().iter().filter(|e| e.path.contains("{id}")) {
        for segment in ["%00", "%ff", "ch_%00", "%E2%82", other_kind, "x".repeat(300).as_str(), "..%2F..%2Fetc"] {
            let path = format!("/v1{}", endpoint.path.replace("{id}", segment));
            let body = if endpoint.request.is_some_and(|(_, required)| required) { "{}" } else { "" };
            let (status, problem) =
                app.client(&merchant, "test").send(endpoint.method.clone(), &path, body, None).await;
            assert_eq!((status, code_and_param(&problem).0), (404, "resource_not_found"), "{} {path}", endpoint.method);
            checked += 1;
        }
    }
    assert!(checked >= 7 * 11, "every id route was tried: {checked}");
}

#[tokio::test]
async fn a_nul_or_malformed_query_value_is_a_400_naming_the_parameter() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    for (path, param) in [
        ("/v1/refunds?charge=%00", "charge"),
        ("/v1/refunds?charge=ch_nope", "charge"),
        ("/v1/events?type=%00", "type"),
        ("/v1/charges?status=%00", "status"),
        ("/v1/charges?created_gte=%00", "created_gte"),
        ("/v1/charges?created_gte=10000000000000", "created_gte"),
        ("/v1/charges?created_lte=-10000000000000", "created_lte"),
        ("/v1/events?starting_after=%00", "starting_after"),
    ] {
        let (status, problem) = app.client(&merchant, "test").send(Method::GET, path, "", None).await;
        assert_eq!((status, code_and_param(&problem)), (400, ("parameter_invalid", param)), "{path}");
    }
}

#[tokio::test]
async fn enabled_events_outside_one_to_sixty_four_is_a_400_on_create_and_update() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let too_many: Vec<&str> = std::iter::repeat_n("charge.captured", 65).collect();
    for events in [json!([]), json!(too_many)] {
        let body = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": events}).to_string();
        let (status, problem) =
            app.client(&merchant, "test").send(Method::POST, "/v1/webhook_endpoints", &body, None).await;
        assert_eq!((status, code_and_param(&problem)), (400, ("parameter_invalid", "enabled_events")));
    }
    let body = json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]}).to_string();
    let (_, endpoint) = app.client(&merchant, "test").send(Method::POST, "/v1/webhook_endpoints", &body, None).await;
    let path = format!("/v1/webhook_endpoints/{}", endpoint["id"].as_str().unwrap());
    for events in [json!([]), json!(too_many)] {
        let body = json!({ "enabled_events": events }).to_string();
        let (status, problem) = app.client(&merchant, "test").send(Method::PATCH, &path, &body, None).await;
        assert_eq!((status, code_and_param(&problem)), (400, ("parameter_invalid", "enabled_events")));
    }
}

#[tokio::test]
async fn an_empty_json_body_is_a_400_saying_it_is_missing_and_an_oversized_one_a_413_problem() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    for path in ["/v1/charges", "/v1/refunds", "/v1/webhook_endpoints"] {
        let response = app
            .signed(Method::POST, path, "", &merchant, "test")
            .header("content-type", "application/json")
            .header("idempotency-key", "empty-body")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "body_malformed", "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("missing"), "{problem}");
    }
    let huge = format!(r#"{{"amount": 1, "currency": "eur", "source": "{}"}}"#, "x".repeat(70 * 1024));
    for path in ["/v1/charges", "/v1/webhook_endpoints"] {
        let (status, problem) = app.client(&merchant, "test").send(Method::POST, path, &huge, Some("huge")).await;
        assert_eq!((status, code_and_param(&problem).0), (413, "payload_too_large"), "{path}");
    }
}

#[tokio::test]
async fn a_constraint_on_a_callers_value_is_a_4xx_naming_the_field_and_one_on_ours_stays_a_500() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // Straight at the database, as a handler that forgot a check would: the mapping is what is tested.
    let error = sqlx::query(
        "INSERT INTO webhook_endpoints (id, merchant_id, mode, url, enabled_events, secret)
         VALUES ('we_01jd3x0000000000000000000a', $1, 'test', 'http://127.0.0.1:9/', '{}', 'whsec_x')",
    )
    .bind(&merchant)
    .execute(&app.pool)
    .await
    .unwrap_err();
    let answer = axum::response::IntoResponse::into_response(ApiError::from(error));
    assert_eq!(answer.status().as_u16(), 400);
    let body = axum::body::to_bytes(answer.into_body(), 4096).await.unwrap();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(code_and_param(&problem), ("parameter_invalid", "enabled_events"), "{problem}");
    // A constraint on a value we compute (a malformed id) is our bug, not the caller's: it stays a 500.
    let ours = sqlx::query("INSERT INTO merchants (id, name) VALUES ('acct_not_an_id', 'x')")
        .execute(&app.pool)
        .await
        .unwrap_err();
    let answer = axum::response::IntoResponse::into_response(ApiError::from(ours));
    assert_eq!(answer.status().as_u16(), 500);
}

#[tokio::test]
async fn a_database_with_no_connection_to_give_answers_503_not_500() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    // Hold every connection of the app's pool (the tests give it 8); the next request waits out the
    // acquire timeout and must be told to come back later.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(app.api_pool.acquire().await.unwrap());
    }
    let (status, problem) = app.client(&merchant, "test").send(Method::GET, "/v1/balance", "", None).await;
    drop(held);
    assert_eq!((status, code_and_param(&problem).0), (503, "service_unavailable"), "{problem}");
}
