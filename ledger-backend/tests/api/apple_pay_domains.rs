//! `/v1/apple_pay/domains`: what a merchant registers for Apple Pay, per mode, idempotently, audited.

use crate::helpers::{insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_domain_is_registered_once_per_mode_found_by_name_and_removed() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let test = app.client(&merchant, "test");
    let created =
        test.expect(201, Method::POST, "/v1/apple_pay/domains", &json!({ "domain_name": "Shop.Example.com" })).await;
    assert_eq!((&created["domain_name"], &created["livemode"]), (&json!("shop.example.com"), &json!(false)));
    assert!(created["id"].as_str().unwrap().starts_with("apd_"));
    // Again, in any case: the first registration.
    let again =
        test.expect(200, Method::POST, "/v1/apple_pay/domains", &json!({ "domain_name": "shop.example.COM" })).await;
    assert_eq!(again["id"], created["id"]);
    test.expect(201, Method::POST, "/v1/apple_pay/domains", &json!({ "domain_name": "pay.example.org" })).await;
    // Found by name (any case); another mode has none.
    let found = test.expect(200, Method::GET, "/v1/apple_pay/domains?domain_name=SHOP.example.com", &Value::Null).await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    let none = test.expect(200, Method::GET, "/v1/apple_pay/domains?domain_name=other.example.com", &Value::Null).await;
    assert_eq!(none["data"], json!([]));
    let live = app.client(&merchant, "live");
    assert_eq!(live.expect(200, Method::GET, "/v1/apple_pay/domains", &Value::Null).await["data"], json!([]));
    assert_eq!(
        test.expect(200, Method::GET, "/v1/apple_pay/domains", &Value::Null).await["data"].as_array().unwrap().len(),
        2
    );
    // Another merchant sees none of them and cannot remove them.
    let other = insert_merchant(&app.pool).await;
    let path = format!("/v1/apple_pay/domains/{}", created["id"].as_str().unwrap());
    app.client(&other, "test").expect(404, Method::GET, &path, &Value::Null).await;
    app.client(&other, "test").expect(404, Method::DELETE, &path, &Value::Null).await;
    // Removed: gone, audited.
    let removed = test.expect(200, Method::DELETE, &path, &Value::Null).await;
    assert_eq!((&removed["deleted"], &removed["domain_name"]), (&json!(true), &json!("shop.example.com")));
    test.expect(404, Method::GET, &path, &Value::Null).await;
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE merchant_id = $1 AND object_type = 'apple_pay_domain' ORDER BY id",
    )
    .bind(&merchant)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, ["apple_pay_domain.register", "apple_pay_domain.register", "apple_pay_domain.remove"]);
}

#[tokio::test]
async fn a_domain_that_is_not_a_plain_host_name_is_refused_by_name() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let client = app.client(&merchant, "test");
    for bad in [
        json!("https://shop.example.com/"),
        json!("localhost"),
        json!("shop.example.com:443"),
        json!("a\u{0}b.com"),
        json!(7),
    ] {
        let refused = client.expect(400, Method::POST, "/v1/apple_pay/domains", &json!({ "domain_name": bad })).await;
        assert_eq!(refused["param"], "domain_name", "{bad}: {refused}");
    }
    let refused =
        client.expect(400, Method::POST, "/v1/apple_pay/domains", &json!({ "domain": "shop.example.com" })).await;
    assert!(refused["param"] == "domain" || refused["param"] == "domain_name", "{refused}");
    let refused = client.expect(400, Method::GET, "/v1/apple_pay/domains?domain_name=-x-", &Value::Null).await;
    assert_eq!(refused["param"], "domain_name");
}
