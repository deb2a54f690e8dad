//! The cross-tenant matrix: every endpoint, called by another merchant, by the same merchant in the other
//! mode, and (the other way round) by test mode against live objects. Object endpoints answer 404; lists
//! answer with the caller's own (empty) data; no answer contains any id of the victim's objects; and
//! nothing of the victim's changes.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// What one merchant owns in one mode.
struct Victim {
    merchant: String,
    mode: &'static str,
    captured: String,
    authorized: String,
    refund: String,
    event: String,
    ledger_transaction: String,
    api_key: String,
    /// A vaulted card not yet used: another merchant must not be able to spend it.
    token: String,
}

impl Victim {
    fn ids(&self) -> [&str; 7] {
        [
            &self.captured,
            &self.authorized,
            &self.refund,
            &self.event,
            &self.ledger_transaction,
            &self.api_key,
            &self.token,
        ]
    }
}

async fn send(app: &TestApp, merchant: &str, mode: &str, method: Method, path: &str, body: &Value) -> (u16, String) {
    let text = if body.is_null() { String::new() } else { body.to_string() };
    let mut request = app.signed(method.clone(), path, &text, merchant, mode);
    if method == Method::POST && (path == "/v1/charges" || path == "/v1/refunds") {
        let key = paygate_core::hex::encode(&crate::helpers::random_bytes()[..16]);
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn charge(app: &TestApp, merchant: &str, mode: &str, capture: bool) -> Value {
    let token = app.vault.tokenize("4242424242424242", merchant, mode);
    let body = json!({ "amount": 2_000, "currency": "EUR", "source": token, "capture": capture });
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/charges", &body).await;
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn victim(app: &TestApp, merchant: &str, mode: &'static str) -> Victim {
    let captured = charge(app, merchant, mode, true).await["id"].as_str().unwrap().to_owned();
    let authorized = charge(app, merchant, mode, false).await["id"].as_str().unwrap().to_owned();
    let (status, text) =
        send(app, merchant, mode, Method::POST, "/v1/refunds", &json!({ "charge": captured, "amount": 500 })).await;
    assert_eq!(status, 201, "{text}");
    let refund = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/api_keys", &json!({ "kind": "secret" })).await;
    assert_eq!(status, 201, "{text}");
    let api_key = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    let scalar = |sql: &'static str| {
        sqlx::query_scalar::<_, String>(sql).bind(merchant.to_owned()).bind(mode).fetch_one(&app.pool)
    };
    let event = scalar("SELECT id FROM events WHERE merchant_id = $1 AND mode = $2 LIMIT 1").await.unwrap();
    let ledger_transaction =
        scalar("SELECT id FROM ledger_transactions WHERE merchant_id = $1 AND mode = $2 LIMIT 1").await.unwrap();
    let token = app.vault.tokenize("5555555555554444", merchant, mode);
    Victim {
        merchant: merchant.to_owned(),
        mode,
        captured,
        authorized,
        refund,
        event,
        ledger_transaction,
        api_key,
        token,
    }
}

/// Everything stored about the victim, to compare before and after the intrusions.
async fn snapshot(app: &TestApp, victim: &Victim) -> String {
    sqlx::query_scalar(
        "SELECT concat_ws('|',
            (SELECT string_agg(concat_ws(',', id, status, amount_captured, amount_refunded, pending_operation), ';' ORDER BY id)
               FROM charges WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, status, amount), ';' ORDER BY id) FROM refunds WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, revoked_at), ';' ORDER BY id) FROM api_keys WHERE merchant_id = $1 AND mode = $2),
            (SELECT count(*) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
               WHERE a.merchant_id = $1 AND a.mode = $2),
            (SELECT count(*) FROM events WHERE merchant_id = $1 AND mode = $2))",
    )
    .bind(&victim.merchant)
    .bind(victim.mode)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Every endpoint, aimed at `victim`'s objects, as (`merchant`, `mode`).
async fn intrude(app: &TestApp, victim: &Victim, merchant: &str, mode: &str) {
    let null = Value::Null;
    let object_calls: Vec<(Method, String, Value)> = vec![
        (Method::GET, format!("/v1/charges/{}", victim.captured), null.clone()),
        (Method::POST, format!("/v1/charges/{}/capture", victim.authorized), null.clone()),
        (Method::POST, format!("/v1/charges/{}/capture", victim.authorized), json!({ "amount": 100 })),
        (Method::POST, format!("/v1/charges/{}/void", victim.authorized), null.clone()),
        (Method::POST, "/v1/refunds".into(), json!({ "charge": victim.captured, "amount": 100 })),
        (Method::GET, format!("/v1/refunds/{}", victim.refund), null.clone()),
        (Method::GET, format!("/v1/events/{}", victim.event), null.clone()),
        (Method::DELETE, format!("/v1/api_keys/{}", victim.api_key), null.clone()),
    ];
    for (method, path, body) in object_calls {
        let (status, text) = send(app, merchant, mode, method.clone(), &path, &body).await;
        assert_eq!(status, 404, "{method} {path} as {merchant}/{mode}: {text}");
        assert_no_leak(victim, &text, &format!("{method} {path}"));
    }
    let lists = [
        "/v1/charges".to_owned(),
        "/v1/charges?status=captured".into(),
        format!("/v1/charges?starting_after={}", victim.authorized),
        format!("/v1/refunds?charge={}", victim.captured),
        "/v1/events".into(),
        "/v1/events?type=charge.captured".into(),
        format!("/v1/events?ending_before={}", victim.event),
        "/v1/ledger/transactions".into(),
        "/v1/api_keys".into(),
        "/v1/balance".into(),
    ];
    for path in lists {
        let (status, text) = send(app, merchant, mode, Method::GET, &path, &null).await;
        assert_eq!(status, 200, "GET {path} as {merchant}/{mode}: {text}");
        assert_no_leak(victim, &text, &path);
        let body: Value = serde_json::from_str(&text).unwrap();
        if path == "/v1/balance" {
            assert!(body["pending"].as_array().unwrap().iter().all(|line| line["amount"] == 0), "{body}");
        } else {
            assert_eq!(body["data"], json!([]), "GET {path} as {merchant}/{mode}");
        }
    }
    // Spending the victim's card: the vault refuses it (the charge is the intruder's own, failed) and the
    // token stays unspent for its owner.
    let body = json!({ "amount": 100, "currency": "EUR", "source": victim.token });
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/charges", &body).await;
    assert_eq!(status, 201, "{text}");
    let attempt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((attempt["status"].as_str(), attempt["failure_code"].as_str()), (Some("failed"), Some("token_used")));
    assert!(attempt["card"].is_null() || attempt["card"]["last4"].is_null(), "no card details: {attempt}");
    // The edge-only key lookup is not a merchant's to call.
    let lookup = json!({ "key_hash": "0".repeat(64) }).to_string();
    let response =
        app.signed(Method::POST, "/v1/internal/api_keys/lookup", &lookup, merchant, mode).send().await.unwrap();
    assert!([401, 403, 404].contains(&response.status().as_u16()), "{}", response.status());
}

fn assert_no_leak(victim: &Victim, text: &str, what: &str) {
    for id in victim.ids() {
        assert!(!text.contains(id), "{what} leaked {id}: {text}");
    }
}

#[tokio::test]
async fn no_merchant_or_mode_reaches_another_ones_objects() {
    let app = spawn_app().await;
    let (a, b) = (insert_merchant(&app.pool).await, insert_merchant(&app.pool).await);
    let a_test = victim(&app, &a, "test").await;
    let a_live = victim(&app, &a, "live").await;
    let before = (snapshot(&app, &a_test).await, snapshot(&app, &a_live).await);

    // Each intrusion by a merchant of its own, so that its lists hold nothing of its own yet.
    intrude(&app, &a_test, &b, "test").await;
    intrude(&app, &a_test, &insert_merchant(&app.pool).await, "live").await;
    intrude(&app, &a_live, &insert_merchant(&app.pool).await, "live").await;
    intrude(&app, &a_live, &insert_merchant(&app.pool).await, "test").await;

    assert_eq!((snapshot(&app, &a_test).await, snapshot(&app, &a_live).await), before, "nothing of A's changed");
    // The victim still owns and can use everything.
    for victim in [&a_test, &a_live] {
        let body = json!({ "amount": 300, "currency": "EUR", "source": victim.token });
        let (status, text) = send(&app, &victim.merchant, victim.mode, Method::POST, "/v1/charges", &body).await;
        assert_eq!(status, 201, "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["status"], "captured", "{text}");
        let path = format!("/v1/charges/{}/capture", victim.authorized);
        let (status, text) = send(&app, &victim.merchant, victim.mode, Method::POST, &path, &Value::Null).await;
        assert_eq!(status, 200, "{text}");
    }
}

#[tokio::test]
async fn a_merchant_in_the_other_mode_is_another_tenant() {
    let app = spawn_app().await;
    let a = insert_merchant(&app.pool).await;
    let a_test = victim(&app, &a, "test").await;
    let a_live = victim(&app, &a, "live").await;
    let before = (snapshot(&app, &a_test).await, snapshot(&app, &a_live).await);
    // The same merchant's live key against its test objects, and its test key against its live ones.
    // Lists are not empty here (each mode has its own objects), so only the object calls and the
    // absence of the other mode's ids are checked.
    for (victim, mode) in [(&a_test, "live"), (&a_live, "test")] {
        for path in [
            format!("/v1/charges/{}", victim.captured),
            format!("/v1/refunds/{}", victim.refund),
            format!("/v1/events/{}", victim.event),
        ] {
            let (status, text) = send(&app, &a, mode, Method::GET, &path, &Value::Null).await;
            assert_eq!(status, 404, "GET {path} in {mode}: {text}");
        }
        for (path, body) in [
            (format!("/v1/charges/{}/capture", victim.authorized), Value::Null),
            (format!("/v1/charges/{}/void", victim.authorized), Value::Null),
            ("/v1/refunds".into(), json!({ "charge": victim.captured })),
        ] {
            let (status, text) = send(&app, &a, mode, Method::POST, &path, &body).await;
            assert_eq!(status, 404, "POST {path} in {mode}: {text}");
        }
        let (status, _) =
            send(&app, &a, mode, Method::DELETE, &format!("/v1/api_keys/{}", victim.api_key), &Value::Null).await;
        assert_eq!(status, 404);
        for path in ["/v1/charges", "/v1/events?limit=100", "/v1/ledger/transactions?limit=100", "/v1/api_keys"] {
            let (status, text) = send(&app, &a, mode, Method::GET, path, &Value::Null).await;
            assert_eq!(status, 200, "{text}");
            assert_no_leak(victim, &text, path);
        }
    }
    assert_eq!((snapshot(&app, &a_test).await, snapshot(&app, &a_live).await), before);
}
