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
    webhook_endpoint: String,
    processor_account: String,
    reconciliation_run: String,
    reconciliation_exception: String,
    payout: String,
    apple_pay_domain: String,
    /// A vaulted card not yet used: another merchant must not be able to spend it.
    token: String,
}

impl Victim {
    fn ids(&self) -> [&str; 13] {
        [
            &self.payout,
            &self.apple_pay_domain,
            &self.processor_account,
            &self.reconciliation_run,
            &self.reconciliation_exception,
            &self.captured,
            &self.authorized,
            &self.refund,
            &self.event,
            &self.ledger_transaction,
            &self.api_key,
            &self.webhook_endpoint,
            &self.token,
        ]
    }

    /// The victim's object for a route with an id, by the route's resource. A new resource must be added
    /// here, or the matrix fails: no route escapes it by being new.
    fn object_for(&self, route: &str) -> &str {
        let mut segments = route.trim_start_matches('/').split('/');
        let resource = match segments.next().unwrap_or("") {
            "reconciliation" | "apple_pay" => segments.next().unwrap_or(""),
            first => first,
        };
        match resource {
            "runs" => &self.reconciliation_run,
            "payouts" => &self.payout,
            "domains" => &self.apple_pay_domain,
            "exceptions" => &self.reconciliation_exception,
            "charges" => &self.authorized,
            "refunds" => &self.refund,
            "events" => &self.event,
            "webhook_endpoints" => &self.webhook_endpoint,
            "api_keys" => &self.api_key,
            "processor_accounts" => &self.processor_account,
            other => panic!("the tenancy matrix has no victim object for /{other}/{{id}}: add one"),
        }
    }
}

async fn send(app: &TestApp, merchant: &str, mode: &str, method: Method, path: &str, body: &Value) -> (u16, String) {
    let (status, value) = app.client(merchant, mode).call(method, path, body).await;
    (status, value.to_string())
}

/// A webhook URL each mode accepts (live ones must be public https; nothing is delivered in these tests).
fn hook_url(mode: &str) -> &'static str {
    if mode == "live" { "https://hooks.shop.example/paygate" } else { "http://127.0.0.1:9/hooks" }
}

async fn charge(app: &TestApp, merchant: &str, mode: &str, capture: bool) -> Value {
    let token = app.vault.tokenize("4242424242424242", merchant, mode);
    let body = json!({ "amount": 2_000, "currency": "EUR", "source": token, "capture": capture });
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/charges", &body).await;
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn victim(app: &TestApp, merchant: &str, mode: &'static str) -> Victim {
    // The victim's charges go to its own Stripe account, so the intruder also meets its processor account
    // and routing.
    let (processor_account, _) = app.route_to_stripe(merchant, mode).await;
    let captured = charge(app, merchant, mode, true).await["id"].as_str().unwrap().to_owned();
    let authorized = charge(app, merchant, mode, false).await["id"].as_str().unwrap().to_owned();
    let (status, text) =
        send(app, merchant, mode, Method::POST, "/v1/refunds", &json!({ "charge": captured, "amount": 500 })).await;
    assert_eq!(status, 201, "{text}");
    let refund = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/api_keys", &json!({ "kind": "secret" })).await;
    assert_eq!(status, 201, "{text}");
    let api_key = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, text) = send(
        app,
        merchant,
        mode,
        Method::POST,
        "/v1/apple_pay/domains",
        &json!({ "domain_name": "victim.example.com" }),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let apple_pay_domain = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    let scalar = |sql: &'static str| {
        sqlx::query_scalar::<_, String>(sql).bind(merchant.to_owned()).bind(mode).fetch_one(&app.pool)
    };
    let event =
        scalar("SELECT id FROM events WHERE merchant_id = $1 AND mode = $2 ORDER BY id DESC LIMIT 1").await.unwrap();
    let ledger_transaction =
        scalar("SELECT id FROM ledger_transactions WHERE merchant_id = $1 AND mode = $2 LIMIT 1").await.unwrap();
    let hook = json!({ "url": hook_url(mode), "enabled_events": ["*"] });
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/webhook_endpoints", &hook).await;
    assert_eq!(status, 201, "{text}");
    let webhook_endpoint = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    // An event after the endpoint exists, so it has deliveries to list and redeliver.
    let (status, text) =
        send(app, merchant, mode, Method::POST, "/v1/refunds", &json!({ "charge": captured, "amount": 100 })).await;
    assert_eq!(status, 201, "{text}");
    // A settlement report of its processor account, reconciled: a run, and an exception (a row type nobody knows).
    // Its capture settled and paid out too: a payout.
    let report = format!(
        "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,automatic_payout_id,\
         payment_metadata[paygate_charge_id]\n\
         txn_victim,2026-11-01 00:00:00,eur,-1.00,0.00,-1.00,climate_order,,\n\
         txn_victim_capture,2026-11-01 00:00:00,eur,20.00,0.58,19.42,charge,po_victim,{captured}\n"
    );
    let upload = json!({ "account": processor_account, "content": report });
    let (status, text) = send(app, merchant, mode, Method::POST, "/v1/settlement_reports", &upload).await;
    assert_eq!(status, 201, "{text}");
    let reconciliation_run = serde_json::from_str::<Value>(&text).unwrap()["run"]["id"].as_str().unwrap().to_owned();
    let reconciliation_exception =
        scalar("SELECT id FROM reconciliation_exceptions WHERE merchant_id = $1 AND mode = $2").await.unwrap();
    let payout = scalar("SELECT id FROM payouts WHERE merchant_id = $1 AND mode = $2").await.unwrap();
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
        webhook_endpoint,
        processor_account,
        reconciliation_run,
        reconciliation_exception,
        payout,
        apple_pay_domain,
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
            (SELECT count(*) FROM events WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, url, enabled, description, secret), ';' ORDER BY id)
               FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, status, attempts), ';' ORDER BY id)
               FROM webhook_deliveries WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, display_name, enabled, credentials_sealed::text), ';' ORDER BY id)
               FROM processor_accounts WHERE merchant_id = $1 AND mode = $2),
            (SELECT body::text FROM routing_tables WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, state, note, last_run_id), ';' ORDER BY id)
               FROM reconciliation_exceptions WHERE merchant_id = $1 AND mode = $2),
            (SELECT count(*) FROM reconciliation_runs WHERE merchant_id = $1 AND mode = $2),
            (SELECT count(*) FROM settlement_reports WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, amount, status), ';' ORDER BY id) FROM payouts
               WHERE merchant_id = $1 AND mode = $2),
            (SELECT string_agg(concat_ws(',', id, domain_name), ';' ORDER BY id) FROM apple_pay_domains
               WHERE merchant_id = $1 AND mode = $2))",
    )
    .bind(&victim.merchant)
    .bind(victim.mode)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Every endpoint of the table, aimed at `victim`'s objects, as (`merchant`, `mode`).
async fn intrude(app: &TestApp, victim: &Victim, merchant: &str, mode: &str) {
    let null = Value::Null;
    // Creations last: the intruder's lists must still be empty when they are checked.
    let mut endpoints = paygate_ledger::http::v1_endpoints();
    endpoints.sort_by_key(|e| e.method == Method::POST && !e.path.contains("{id}"));
    for endpoint in endpoints {
        let route = endpoint.path;
        let method = endpoint.method.clone();
        if route.contains("{id}") {
            // Every object route: not found, with and without a body, and nothing of the victim's in it.
            let path = format!("/v1{}", route.replace("{id}", victim.object_for(route)));
            let bodies = match route {
                "/charges/{id}/capture" => vec![null.clone(), json!({ "amount": 100 })],
                "/webhook_endpoints/{id}" if method == Method::PATCH => vec![json!({ "description": "mine now" })],
                "/processor_accounts/{id}" if method == Method::PATCH => vec![json!({ "display_name": "mine now" })],
                "/reconciliation/exceptions/{id}/resolve" => vec![json!({ "note": "mine now" })],
                _ => vec![null.clone()],
            };
            for body in bodies {
                let (status, text) = send(app, merchant, mode, method.clone(), &path, &body).await;
                assert_eq!(status, 404, "{method} {path} as {merchant}/{mode}: {text}");
                assert_no_leak(victim, &text, &format!("{method} {path}"));
            }
            continue;
        }
        match (method.as_str(), route) {
            ("GET", "/reconciliation/exceptions.csv") => {
                // The export: the intruder's own exceptions (none), nothing of the victim's.
                let path = format!("/v1{route}");
                let answer = app.signed(Method::GET, &path, "", merchant, mode).send().await.unwrap();
                assert_eq!(answer.status().as_u16(), 200, "GET {path}");
                let text = answer.text().await.unwrap();
                assert_no_leak(victim, &text, &path);
                assert_eq!(text.lines().count(), 1, "only the header: {text}");
            }
            ("GET", _) => {
                let path = format!("/v1{route}");
                let paths = match route {
                    "/charges" => vec![
                        path,
                        "/v1/charges?status=captured".into(),
                        format!("/v1/charges?starting_after={}", victim.authorized),
                    ],
                    "/refunds" => vec![format!("/v1/refunds?charge={}", victim.captured)],
                    "/events" => vec![
                        path,
                        "/v1/events?type=charge.captured".into(),
                        format!("/v1/events?ending_before={}", victim.event),
                    ],
                    _ => vec![path],
                };
                for path in paths {
                    let (status, text) = send(app, merchant, mode, Method::GET, &path, &null).await;
                    assert_eq!(status, 200, "GET {path} as {merchant}/{mode}: {text}");
                    assert_no_leak(victim, &text, &path);
                    let body: Value = serde_json::from_str(&text).unwrap();
                    if path == "/v1/routing" {
                        // The intruder's own routing: never configured by it, so never naming the victim's.
                        assert_eq!(body["configured"], false, "{body}");
                    } else if path == "/v1/processor_accounts" {
                        // Only the intruder's own: its sandbox account in test mode, nothing in live.
                        let own = body["data"].as_array().unwrap();
                        assert!(own.iter().all(|a| a["connector"] == "sandbox"), "{body}");
                    } else if path == "/v1/balance" {
                        assert!(body["pending"].as_array().unwrap().iter().all(|line| line["amount"] == 0), "{body}");
                    } else {
                        assert_eq!(body["data"], json!([]), "GET {path} as {merchant}/{mode}");
                    }
                }
            }
            ("POST", "/charges") => {
                // Spending the victim's card: the vault refuses it (the charge is the intruder's own,
                // failed, with no card details) and the token stays unspent for its owner.
                let body = json!({ "amount": 100, "currency": "EUR", "source": victim.token });
                let (status, text) = send(app, merchant, mode, Method::POST, "/v1/charges", &body).await;
                if mode == "live" {
                    // The intruder has no live processor account: refused before the vault is even asked.
                    assert_eq!(status, 409, "{text}");
                    assert!(text.contains("processor_not_configured"), "{text}");
                    assert_no_leak(victim, &text, "POST /v1/charges");
                    continue;
                }
                assert_eq!(status, 201, "{text}");
                let attempt: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    (attempt["status"].as_str(), attempt["failure_code"].as_str()),
                    (Some("failed"), Some("token_used"))
                );
                assert!(attempt.get("payment_method_details").is_some(), "the charge shape changed: {attempt}");
                assert!(attempt["payment_method_details"]["card"].is_null(), "no card details: {attempt}");
            }
            ("POST", "/refunds") => {
                let body = json!({ "charge": victim.captured, "amount": 100 });
                let (status, text) = send(app, merchant, mode, Method::POST, "/v1/refunds", &body).await;
                assert_eq!(status, 404, "{text}");
                assert_no_leak(victim, &text, "POST /v1/refunds");
            }
            ("POST", "/webhook_endpoints" | "/api_keys") => {
                // Creating one's own objects: allowed, and nothing of the victim's comes back.
                let body = match route {
                    "/api_keys" => json!({ "kind": "secret" }),
                    _ => json!({ "url": hook_url(mode), "enabled_events": ["*"] }),
                };
                let path = format!("/v1{route}");
                let (status, text) = send(app, merchant, mode, Method::POST, &path, &body).await;
                assert_eq!(status, 201, "POST {path}: {text}");
                assert_no_leak(victim, &text, &path);
            }
            ("POST", "/settlement_reports") => {
                // A report for the victim's processor account: not the intruder's account, so refused.
                let report = "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n";
                let body = json!({ "account": victim.processor_account, "content": report });
                let (status, text) = send(app, merchant, mode, Method::POST, "/v1/settlement_reports", &body).await;
                assert_eq!(status, 400, "{text}");
                assert!(text.contains("\"param\":\"account\""), "{text}");
            }
            ("PUT", "/routing") => {
                // Routing one's payments to the victim's account: it is not the intruder's, so it is refused.
                let body = json!({ "rules": [], "default": victim.processor_account });
                let (status, text) = send(app, merchant, mode, Method::PUT, "/v1/routing", &body).await;
                assert_eq!(status, 400, "{text}");
                assert!(text.contains("\"param\":\"default\""), "{text}");
            }
            ("POST", "/apple_pay/domains") => {
                // The victim's own domain, registered by the intruder: its own registration, not the victim's.
                let body = json!({ "domain_name": "victim.example.com" });
                let (status, text) = send(app, merchant, mode, Method::POST, "/v1/apple_pay/domains", &body).await;
                assert_eq!(status, 201, "{text}");
                assert_no_leak(victim, &text, "POST /v1/apple_pay/domains");
            }
            ("POST", "/processor_accounts") => {
                let body = json!({ "connector": "stripe", "display_name": "Mine",
                                   "credentials": { "secret_key": format!("sk_{mode}_intruder0000000") } });
                let (status, text) = send(app, merchant, mode, Method::POST, "/v1/processor_accounts", &body).await;
                assert_eq!(status, 201, "{text}");
                assert_no_leak(victim, &text, "POST /v1/processor_accounts");
            }
            ("POST", "/internal/processor_events") => {
                // Processor webhooks come only through the edge; a merchant cannot post them.
                let event = json!({ "connector": "checkout", "account": victim.processor_account, "signature": "", "body": "{}" });
                let (status, text) =
                    send(app, merchant, mode, Method::POST, "/v1/internal/processor_events", &event).await;
                assert_eq!(status, 403, "{text}");
            }
            ("POST", "/internal/authentication_returns") => {
                // 3-D Secure returns come only through the edge; a merchant cannot complete anyone's.
                let body = json!({ "reference": format!("ar_{}", "0".repeat(64)) });
                let (status, text) =
                    send(app, merchant, mode, Method::POST, "/v1/internal/authentication_returns", &body).await;
                assert_eq!(status, 403, "{text}");
            }
            ("POST", "/internal/api_keys/lookup") => {
                // The edge-only key lookup is not a merchant's to call.
                let lookup = json!({ "key_hash": "0".repeat(64) });
                let (status, text) =
                    send(app, merchant, mode, Method::POST, paygate_core::internal::KEY_LOOKUP_PATH, &lookup).await;
                assert_eq!(status, 403, "{text}");
            }
            (method, route) => panic!("the tenancy matrix does not cover {method} /v1{route}: add it"),
        }
    }
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
