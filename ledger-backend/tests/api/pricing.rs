//! Merchant pricing set by operators: the operator API (token-guarded, validated, audited) and the CLI,
//! and that a change prices only charges created after it.

use crate::helpers::{OPERATOR_TOKEN, TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn operator(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if !body.is_null() {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// The fee booked for one charge: what went to fee revenue.
async fn fee_of(app: &TestApp, charge_id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(-sum(e.amount), 0)::bigint FROM ledger_entries e
         JOIN ledger_transactions t ON t.id = e.transaction_id
         JOIN ledger_accounts a ON a.id = e.account_id
         WHERE t.charge_id = $1 AND a.kind = 'fee_revenue'",
    )
    .bind(charge_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_operator_api_needs_its_token_and_names_bad_fields() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let path = format!("/operator/merchants/{merchant}/pricing");
    let price = json!({ "currency": "EUR", "basis_points": 290, "fixed_minor": 30 });
    let (status, problem) = operator(&app, Method::POST, &path, None, &price).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("authentication_required")));
    let (status, problem) = operator(&app, Method::POST, &path, Some(&format!("{OPERATOR_TOKEN}x")), &price).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("api_key_invalid")));
    // A merchant's own key, signed by the edge, is not an operator: /operator is not under /v1 at all.
    let (status, _) =
        operator(&app, Method::POST, &path, Some("sk_test_0123456789abcdefghijklmnopqrstuvwxyzABCD"), &price).await;
    assert_eq!(status, 401);
    for (body, param) in [
        (json!({ "currency": "EURO", "basis_points": 1, "fixed_minor": 0 }), "currency"),
        (json!({ "currency": "EUR", "basis_points": 10_001, "fixed_minor": 0 }), "basis_points"),
        (json!({ "currency": "EUR", "basis_points": -1, "fixed_minor": 0 }), "basis_points"),
        (json!({ "currency": "EUR", "basis_points": 1, "fixed_minor": -5 }), "fixed_minor"),
        (json!({ "currency": "EUR", "basis_points": 1 }), "fixed_minor"),
        (json!({ "currency": "E\u{0}R", "basis_points": 1, "fixed_minor": 0 }), "currency"),
    ] {
        let (status, problem) = operator(&app, Method::POST, &path, Some(OPERATOR_TOKEN), &body).await;
        assert_eq!((status, problem["param"].as_str()), (400, Some(param)), "{body}: {problem}");
    }
    let unknown = "/operator/merchants/acct_01jd3x0000000000000000000a/pricing";
    let (status, _) = operator(&app, Method::POST, unknown, Some(OPERATOR_TOKEN), &price).await;
    assert_eq!(status, 404);
    let (status, _) =
        operator(&app, Method::GET, "/operator/merchants/%00/pricing", Some(OPERATOR_TOKEN), &Value::Null).await;
    assert_eq!(status, 404);
    let prices: i64 = sqlx::query_scalar("SELECT count(*) FROM merchant_pricing").fetch_one(&app.pool).await.unwrap();
    assert_eq!(prices, 0, "no refused request wrote a price");
}

#[tokio::test]
async fn a_price_change_applies_to_charges_created_after_it_and_is_audited() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let path = format!("/operator/merchants/{merchant}/pricing");
    let set = |bps: i64, fixed: i64| json!({ "currency": "*", "basis_points": bps, "fixed_minor": fixed });
    let (status, row) = operator(&app, Method::POST, &path, Some(OPERATOR_TOKEN), &set(100, 10)).await;
    assert_eq!((status, row["basis_points"].as_i64(), row["currency"].as_str()), (201, Some(100), Some("*")), "{row}");
    // Created (authorized) under 1 % + 10, captured after the change to 5 % + 0: pays 1 % + 10.
    let early = app.charge_card(&merchant, "4242424242424242", 10_000, "eur", false).await;
    let (status, _) = operator(&app, Method::POST, &path, Some(OPERATOR_TOKEN), &set(500, 0)).await;
    assert_eq!(status, 201);
    let early_id = early["id"].as_str().unwrap();
    let captured = app.signed(Method::POST, &format!("/v1/charges/{early_id}/capture"), "", &merchant, "test");
    assert_eq!(captured.send().await.unwrap().status().as_u16(), 200);
    let late = app.charge_card(&merchant, "4242424242424242", 10_000, "eur", true).await;
    assert_eq!(fee_of(&app, early_id).await, 110);
    assert_eq!(fee_of(&app, late["id"].as_str().unwrap()).await, 500);
    // Both changes are in the history and in the audit log, by the operator API.
    let (_, history) = operator(&app, Method::GET, &path, Some(OPERATOR_TOKEN), &Value::Null).await;
    let bps: Vec<i64> =
        history["data"].as_array().unwrap().iter().map(|p| p["basis_points"].as_i64().unwrap()).collect();
    assert_eq!(bps, [500, 100]);
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, action FROM audit_log WHERE object_id = $1 ORDER BY id")
            .bind(&merchant)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, vec![("operator:api".into(), "merchant.pricing_set".into()); 2]);
    crate::helpers::audit_is_clean(&app).await;
}

#[tokio::test]
async fn the_cli_sets_and_prints_pricing_and_refuses_bad_values() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_paygate-ledger"))
            .args(args)
            .env("DATABASE_URL", app.database_url())
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let set = cli(&["set-pricing", "--merchant", &merchant, "--currency", "kwd", "--bps", "250", "--fixed", "100"]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let row: Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(
        (row["currency"].as_str(), row["basis_points"].as_i64(), row["fixed_minor"].as_i64()),
        (Some("KWD"), Some(250), Some(100))
    );
    let bad = cli(&["set-pricing", "--merchant", &merchant, "--currency", "KWD", "--bps", "20000", "--fixed", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("basis_points"), "{}", String::from_utf8_lossy(&bad.stderr));
    let printed = cli(&["pricing", "--merchant", &merchant]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout).lines().count(), 1);
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'merchant.pricing_set'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(actor, "operator:cli");
}
