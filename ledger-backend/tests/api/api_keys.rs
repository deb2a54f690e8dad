//! API keys through the API: created keys are shown once and stored only as keyed hashes; the edge
//! finds active keys by hash and stops finding them once revoked; merchants and modes never see each
//! other's keys; bad bodies get problems naming the parameter.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn send(request: reqwest::RequestBuilder, status: u16) -> Value {
    let response = request.send().await.unwrap();
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

async fn create_key(app: &TestApp, merchant: &str, mode: &str, kind: &str) -> Value {
    let body = json!({ "kind": kind }).to_string();
    send(app.signed(Method::POST, "/v1/api_keys", &body, merchant, mode), 201).await
}

async fn lookup(app: &TestApp, key: &str, status: u16) -> Value {
    let body = json!({ "key_hash": app.pepper.hash(key) }).to_string();
    send(app.signed_as_edge(Method::POST, paygate_core::internal::KEY_LOOKUP_PATH, &body), status).await
}

#[tokio::test]
async fn a_created_key_is_shown_once_stored_hashed_and_found_by_the_edge_until_revoked() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let created = create_key(&app, &merchant, "test", "secret").await;
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_test_") && key.len() >= 8 + 32, "{key}");
    assert_eq!(created["livemode"], false);

    // Nowhere in the table, in any column, is the key itself.
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(t::text, '|') FROM api_keys t").fetch_one(&app.pool).await.unwrap();
    assert!(!dump.contains(&key[8..]), "the key's secret part is stored");

    let identity = lookup(&app, &key, 200).await;
    assert_eq!(identity["merchant_id"], merchant.as_str());
    assert_eq!((identity["mode"].as_str(), identity["kind"].as_str()), (Some("test"), Some("secret")));

    let listed = send(app.signed(Method::GET, "/v1/api_keys", "", &merchant, "test"), 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(listed["data"][0].get("key").is_none(), "a list never shows the key");

    let id = created["id"].as_str().unwrap();
    send(app.signed(Method::DELETE, &format!("/v1/api_keys/{id}"), "", &merchant, "test"), 200).await;
    lookup(&app, &key, 404).await;
    let listed = send(app.signed(Method::GET, "/v1/api_keys", "", &merchant, "test"), 200).await;
    assert!(listed["data"][0]["revoked"].is_string());
}

#[tokio::test]
async fn merchants_and_modes_never_see_each_others_keys() {
    let app = spawn_app().await;
    let a = insert_merchant(&app.pool).await;
    let b = insert_merchant(&app.pool).await;
    let a_live = create_key(&app, &a, "live", "secret").await;
    let id = a_live["id"].as_str().unwrap();
    for (merchant, mode) in [(&b, "live"), (&a, "test")] {
        let listed = send(app.signed(Method::GET, "/v1/api_keys", "", merchant, mode), 200).await;
        assert_eq!(listed["data"], json!([]), "{merchant} {mode}");
        let problem = send(app.signed(Method::DELETE, &format!("/v1/api_keys/{id}"), "", merchant, mode), 404).await;
        assert_eq!(problem["code"], "resource_not_found");
    }
    // Still active for its owner.
    lookup(&app, a_live["key"].as_str().unwrap(), 200).await;
}

#[tokio::test]
async fn only_the_edge_itself_may_look_keys_up() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let body = json!({ "key_hash": "0".repeat(64) }).to_string();
    let problem =
        send(app.signed(Method::POST, paygate_core::internal::KEY_LOOKUP_PATH, &body, &merchant, "test"), 403).await;
    assert_eq!(problem["code"], "permission_denied");
    let problem =
        send(app.signed_as_edge(Method::POST, paygate_core::internal::KEY_LOOKUP_PATH, r#"{"key_hash":"XYZ"}"#), 400)
            .await;
    assert_eq!(problem["param"], "key_hash");
    // And a merchant endpoint refuses an edge-only call.
    let problem = send(app.signed_as_edge(Method::GET, "/v1/api_keys", ""), 403).await;
    assert_eq!(problem["code"], "permission_denied");
}

#[tokio::test]
async fn bad_bodies_get_problems_that_name_the_parameter_and_write_nothing() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let cases = [
        (r#"{"kind":"admin"}"#, 400, "parameter_invalid", "kind"),
        (r#"{"kind":"secret","scope":"all"}"#, 400, "parameter_unknown", "scope"),
        (r#"{}"#, 400, "parameter_missing", "kind"),
        (r#"{"kind":"#, 400, "body_malformed", ""),
        (r#"{"kind":7}"#, 400, "parameter_invalid", "kind"),
    ];
    for (body, status, code, param) in cases {
        let problem = send(app.signed(Method::POST, "/v1/api_keys", body, &merchant, "test"), status).await;
        assert_eq!(problem["code"], code, "{body}");
        assert_eq!(problem["param"].as_str().unwrap_or(""), param, "{body}");
    }
    let text_body = app
        .signed(Method::POST, "/v1/api_keys", r#"{"kind":"secret"}"#, &merchant, "test")
        .header("content-type", "text/plain");
    // reqwest appends headers; build and replace to send exactly one content type.
    let mut request = text_body.build().unwrap();
    request.headers_mut().insert("content-type", "text/plain".parse().unwrap());
    let response = app.client.execute(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let huge = json!({ "kind": "secret", "pad": "x".repeat(70_000) }).to_string();
    let problem = send(app.signed(Method::POST, "/v1/api_keys", &huge, &merchant, "test"), 413).await;
    assert_eq!(problem["code"], "payload_too_large");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys").fetch_one(&app.pool).await.unwrap();
    assert_eq!(count, 0);
}
