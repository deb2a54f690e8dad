//! Processor webhooks as the edge forwards them: verified with the account's secret before anything is parsed,
//! stored once by event id, applied through the same code as our own calls' answers.

use crate::helpers::{PROCESSING_CHANNEL, TestApp, audit_is_clean, event_types, insert_merchant, spawn_app};
use paygate_core::signature::processor::sign_stripe;
use paygate_ledger::ids::unix_seconds_now;
use reqwest::Method;
use serde_json::{Value, json};

const CKO_SECRET: &str = "cko-webhook-secret-for-tests-0001";

/// A merchant on Checkout.com with the account's webhook secret set; returns (merchant, account, secret key).
/// Nothing here asks the processor (no recovery runs), so what Checkout.com accepted stays pending until an
/// event says how it ended.
async fn checkout_merchant(app: &TestApp) -> (String, String, String) {
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_checkout(&merchant, "test", 0).await;
    let credentials = json!({ "credentials": { "secret_key": key, "processing_channel_id": PROCESSING_CHANNEL, "webhook_secret": CKO_SECRET } });
    app.client(&merchant, "test")
        .expect(200, Method::PATCH, &format!("/v1/processor_accounts/{account}"), &credentials)
        .await;
    (merchant, account, key)
}

fn cko_signature(body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(CKO_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    paygate_core::hex::encode(&mac.finalize().into_bytes())
}

/// Posts `body` as the edge forwards a processor's webhook; the status and the answer.
async fn deliver(app: &TestApp, connector: &str, account: &str, signature: &str, body: &str) -> (u16, Value) {
    let forward =
        json!({ "connector": connector, "account": account, "signature": signature, "body": body }).to_string();
    let answer = app.signed_as_edge(Method::POST, "/v1/internal/processor_events", &forward).send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap_or(Value::Null))
}

async fn stored_events(app: &TestApp, account: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM processor_events WHERE processor_account_id = $1")
        .bind(account)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn pay(app: &TestApp, merchant: &str, capture: bool) -> Value {
    let token = app.vault.tokenize("4242424242424242", merchant, "test");
    let body = json!({ "amount": 2_000, "currency": "EUR", "source": token, "capture": capture });
    app.client(merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await
}

#[tokio::test]
async fn a_capture_event_delivered_five_times_at_once_is_applied_once() {
    let app = spawn_app().await;
    let (merchant, account, _) = checkout_merchant(&app).await;
    let id = pay(&app, &merchant, false).await["id"].as_str().unwrap().to_owned();
    let pending = app
        .client(&merchant, "test")
        .expect(202, Method::POST, &format!("/v1/charges/{id}/capture"), &Value::Null)
        .await;
    assert_eq!(pending["pending_operation"], "capture");
    let payment = app.processor_reference(&id).await;
    let body = json!({ "id": "evt_capture_1", "type": "payment_captured",
                       "data": { "id": payment, "action_id": "act_1", "amount": 2_000 } })
    .to_string();
    let signature = cko_signature(&body);
    let deliveries = (0..5).map(|_| deliver(&app, "checkout", &account, &signature, &body));
    let answers = futures::future::join_all(deliveries).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    let applied = answers.iter().filter(|(_, answer)| answer["received"] == "applied").count();
    assert_eq!(applied, 1, "{answers:?}");
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!((&charge["status"], &charge["pending_operation"]), (&json!("captured"), &Value::Null));
    let captured = event_types(&app, &id).await.iter().filter(|t| *t == "charge.captured").count();
    assert_eq!(captured, 1, "one charge.captured");
    assert_eq!(stored_events(&app, &account).await, 1);
    // Delivered again later: acknowledged, nothing done.
    assert_eq!(deliver(&app, "checkout", &account, &signature, &body).await.1["received"], "duplicate");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_bad_missing_or_foreign_signature_changes_nothing_and_stores_nothing() {
    let app = spawn_app().await;
    let (merchant, account, _) = checkout_merchant(&app).await;
    let id = pay(&app, &merchant, false).await["id"].as_str().unwrap().to_owned();
    app.client(&merchant, "test").expect(202, Method::POST, &format!("/v1/charges/{id}/capture"), &Value::Null).await;
    let payment = app.processor_reference(&id).await;
    let body = json!({ "id": "evt_forged", "type": "payment_captured", "data": { "id": payment } }).to_string();
    for signature in ["", "0".repeat(64).as_str(), "not hex", cko_signature("{}").as_str()] {
        let (status, answer) = deliver(&app, "checkout", &account, signature, &body).await;
        assert_eq!((status, answer["param"].as_str()), (400, Some("signature")), "{signature:?}: {answer}");
    }
    // A body that is not JSON is refused too, but only after its signature verified.
    let (status, answer) = deliver(&app, "checkout", &account, &cko_signature("not json"), "not json").await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("body_malformed")), "{answer}");
    assert_eq!(stored_events(&app, &account).await, 0);
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!(charge["pending_operation"], "capture", "still pending");
    // An unknown account, or the wrong connector for it: not found, the same answer.
    let (status, _) = deliver(&app, "checkout", "pa_00000000000000000000000000", &cko_signature(&body), &body).await;
    assert_eq!(status, 404);
    let (status, _) = deliver(&app, "stripe", &account, "t=1,v1=00", &body).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn refund_and_capture_declines_settle_by_event_and_unknown_payments_are_recorded() {
    let app = spawn_app().await;
    let (merchant, account, _) = checkout_merchant(&app).await;
    // A capture Checkout.com confirms by event, then a refund it confirms by event.
    let id = pay(&app, &merchant, false).await["id"].as_str().unwrap().to_owned();
    app.client(&merchant, "test").expect(202, Method::POST, &format!("/v1/charges/{id}/capture"), &Value::Null).await;
    let payment = app.processor_reference(&id).await;
    let captured = json!({ "id": "evt_c", "type": "payment_captured", "data": { "id": payment } }).to_string();
    assert_eq!(
        deliver(&app, "checkout", &account, &cko_signature(&captured), &captured).await.1["received"],
        "applied"
    );
    let refund = app
        .client(&merchant, "test")
        .expect(201, Method::POST, "/v1/refunds", &json!({ "charge": id, "amount": 500 }))
        .await;
    assert_eq!(refund["status"], "pending");
    let refunded = json!({ "id": "evt_r", "type": "payment_refunded",
                           "data": { "id": payment, "reference": refund["id"], "amount": 500 } })
    .to_string();
    assert_eq!(
        deliver(&app, "checkout", &account, &cko_signature(&refunded), &refunded).await.1["received"],
        "applied"
    );
    let refund_id = refund["id"].as_str().unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM refunds WHERE id = $1")
        .bind(refund_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");
    // Another charge: its capture declined by event, so it stays authorized and says so.
    let other = pay(&app, &merchant, false).await["id"].as_str().unwrap().to_owned();
    app.client(&merchant, "test")
        .expect(202, Method::POST, &format!("/v1/charges/{other}/capture"), &Value::Null)
        .await;
    let other_payment = app.processor_reference(&other).await;
    let declined = json!({ "id": "evt_d", "type": "payment_capture_declined",
                           "data": { "id": other_payment, "response_code": "20005" } })
    .to_string();
    assert_eq!(
        deliver(&app, "checkout", &account, &cko_signature(&declined), &declined).await.1["received"],
        "applied"
    );
    let after =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{other}"), &Value::Null).await;
    assert_eq!((&after["status"], &after["pending_operation"]), (&json!("authorized"), &Value::Null));
    assert_eq!(event_types(&app, &other).await.last().map(String::as_str), Some("charge.capture_failed"));
    // A dispute is told to the merchant; an event about a payment we do not know is recorded, never a 5xx.
    let dispute = json!({ "id": "evt_x", "type": "dispute_received", "data": { "payment_id": payment } }).to_string();
    assert_eq!(deliver(&app, "checkout", &account, &cko_signature(&dispute), &dispute).await.1["received"], "applied");
    assert_eq!(event_types(&app, &id).await.last().map(String::as_str), Some("charge.dispute_opened"));
    // The same dispute announced again (evidence required): stored, told once.
    let again =
        json!({ "id": "evt_x2", "type": "dispute_evidence_required", "data": { "payment_id": payment } }).to_string();
    assert_eq!(deliver(&app, "checkout", &account, &cko_signature(&again), &again).await.1["received"], "ignored");
    let told = event_types(&app, &id).await.iter().filter(|t| *t == "charge.dispute_opened").count();
    assert_eq!(told, 1);
    let stray = json!({ "id": "evt_s", "type": "payment_captured", "data": { "id": "pay_unknown" } }).to_string();
    assert_eq!(
        deliver(&app, "checkout", &account, &cko_signature(&stray), &stray).await,
        (200, json!({ "received": "unmatched" }))
    );
    assert_eq!(stored_events(&app, &account).await, 6);
    // The merchant sees it: the account's events, newest first, filtered to those about unknown payments.
    let events = format!("/v1/processor_accounts/{account}/events");
    let all = app.client(&merchant, "test").expect(200, Method::GET, &events, &Value::Null).await;
    let listed: Vec<(&str, &str)> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["processor_event_id"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("evt_s", "unmatched"),
            ("evt_x2", "ignored"),
            ("evt_x", "applied"),
            ("evt_d", "applied"),
            ("evt_r", "applied"),
            ("evt_c", "applied")
        ]
    );
    let unmatched = app
        .client(&merchant, "test")
        .expect(200, Method::GET, &format!("{events}?outcome=unmatched"), &Value::Null)
        .await;
    assert_eq!(unmatched["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&unmatched["data"][0]["payment"], &unmatched["data"][0]["event_type"]),
        (&json!("pay_unknown"), &json!("payment_captured"))
    );
    // Paged by its cursor; a bad filter or cursor is named; another merchant's account is not found.
    let newest = all["data"][0]["id"].as_str().unwrap();
    let older = app
        .client(&merchant, "test")
        .expect(200, Method::GET, &format!("{events}?limit=2&starting_after={newest}"), &Value::Null)
        .await;
    assert_eq!((older["data"][0]["processor_event_id"].as_str(), &older["has_more"]), (Some("evt_x2"), &json!(true)));
    for (query, param) in [("outcome=lost", "outcome"), ("starting_after=evt_s", "starting_after"), ("kind=x", "kind")]
    {
        let refused =
            app.client(&merchant, "test").expect(400, Method::GET, &format!("{events}?{query}"), &Value::Null).await;
        assert_eq!(refused["param"], param, "{refused}");
    }
    let stranger = insert_merchant(&app.pool).await;
    app.client(&stranger, "test").expect(404, Method::GET, &events, &Value::Null).await;
    app.client(&merchant, "live").expect(404, Method::GET, &events, &Value::Null).await;
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn stripe_events_are_verified_with_the_stripe_scheme_and_a_stale_one_is_refused() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    let secret = "whsec_test_secret_for_paygate";
    let credentials = json!({ "credentials": { "secret_key": key, "webhook_secret": secret } });
    app.client(&merchant, "test")
        .expect(200, Method::PATCH, &format!("/v1/processor_accounts/{account}"), &credentials)
        .await;
    let body = json!({ "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                       "data": { "object": { "id": "pi_unknown", "object": "payment_intent" } } })
    .to_string();
    let now = unix_seconds_now();
    let (status, answer) = deliver(&app, "stripe", &account, &sign_stripe(secret, now, body.as_bytes()), &body).await;
    assert_eq!((status, &answer["received"]), (200, &json!("unmatched")), "{answer}");
    let stale = sign_stripe(secret, now - 600, body.replace("evt_1", "evt_2").as_bytes());
    let (status, answer) = deliver(&app, "stripe", &account, &stale, &body.replace("evt_1", "evt_2")).await;
    assert_eq!((status, answer["param"].as_str()), (400, Some("signature")), "{answer}");
    // Without a webhook secret on the account, nothing can be verified, so nothing is taken.
    let other = insert_merchant(&app.pool).await;
    let (bare, _) = app.route_to_stripe(&other, "test").await;
    let (status, _) = deliver(&app, "stripe", &bare, &sign_stripe(secret, now, body.as_bytes()), &body).await;
    assert_eq!(status, 400);
}

/// A refund made in Stripe's own dashboard (through the fake's API, with the account's key).
pub async fn refund_at_stripe(app: &TestApp, key: &str, payment_intent: &str, amount: i64) -> String {
    let body = format!("payment_intent={payment_intent}&amount={amount}");
    let answer: Value = app
        .client
        .post(format!("{}/v1/refunds", app.stripe_url))
        .bearer_auth(key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn refunds_made_at_stripe_arrive_by_amounts_partial_stays_partial_and_old_news_changes_nothing() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    let secret = "whsec_dashboard_refunds_secret";
    let credentials = json!({ "credentials": { "secret_key": key, "webhook_secret": secret } });
    app.client(&merchant, "test")
        .expect(200, Method::PATCH, &format!("/v1/processor_accounts/{account}"), &credentials)
        .await;
    let id = pay(&app, &merchant, true).await["id"].as_str().unwrap().to_owned();
    let intent = app.processor_reference(&id).await;
    let charge_refunded = |event: &str, total: i64, refund: &str| {
        json!({ "id": event, "object": "event", "type": "charge.refunded",
                "data": { "object": { "id": "ch_x", "object": "charge", "payment_intent": intent, "amount": 2_000,
                                      "amount_refunded": total, "refunded": total == 2_000,
                                      "refunds": { "data": [{ "id": refund }] } } } })
        .to_string()
    };
    let send = |body: String| {
        let app = &app;
        let account = account.clone();
        async move {
            let signature = sign_stripe(secret, unix_seconds_now(), body.as_bytes());
            deliver(app, "stripe", &account, &signature, &body).await
        }
    };
    // 600 refunded in Stripe's dashboard: a refund of 600 appears, the charge partially refunded.
    let dashboard = refund_at_stripe(&app, &key, &intent, 600).await;
    assert_eq!(send(charge_refunded("evt_r1", 600, &dashboard)).await.1["received"], "applied");
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!(
        (&charge["status"], &charge["amount_refunded"]),
        (&json!("partially_refunded"), &json!(600)),
        "{charge}"
    );
    let refunds =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/refunds?charge={id}"), &Value::Null).await;
    assert_eq!(refunds["data"][0]["amount"], 600);
    assert_eq!(refunds["data"][0]["metadata"]["made_at"], "processor");
    // Our own refund of 400: Stripe's next total (1,000) is no news.
    app.client(&merchant, "test")
        .expect(201, Method::POST, "/v1/refunds", &json!({ "charge": id, "amount": 400 }))
        .await;
    assert_eq!(send(charge_refunded("evt_r2", 1_000, "re_ours")).await.1["received"], "ignored");
    // The rest in the dashboard: refunded in full. An older event arriving late changes nothing.
    let rest = refund_at_stripe(&app, &key, &intent, 1_000).await;
    assert_eq!(send(charge_refunded("evt_r3", 2_000, &rest)).await.1["received"], "applied");
    assert_eq!(send(charge_refunded("evt_r0", 300, &dashboard)).await.1["received"], "ignored");
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!((&charge["status"], &charge["amount_refunded"]), (&json!("refunded"), &json!(2_000)));
    let refunded_events = event_types(&app, &id).await.iter().filter(|t| *t == "charge.refunded").count();
    assert_eq!(refunded_events, 3, "one per refund: two from the dashboard, ours");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_refund_made_in_stripes_dashboard_arrives_by_stripes_own_webhook_and_ours_are_no_news() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    // The fake's account now sends its webhooks (twice each) to the edge's route for our account.
    let fake = json!({ "webhook_copies": 2, "webhook_delay_ms": 5 });
    app.webhooks_from_fake(&merchant, "stripe", (&account, &key), "whsec_fake_stripe_sends_these", fake).await;
    let id = pay(&app, &merchant, true).await["id"].as_str().unwrap().to_owned();
    app.client(&merchant, "test")
        .expect(201, Method::POST, "/v1/refunds", &json!({ "charge": id, "amount": 500 }))
        .await;
    let intent = app.processor_reference(&id).await;
    refund_at_stripe(&app, &key, &intent, 700).await;
    let mut charge = Value::Null;
    for _ in 0..200 {
        charge =
            app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
        if charge["amount_refunded"] == 1_200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        (&charge["status"], &charge["amount_refunded"]),
        (&json!("partially_refunded"), &json!(1_200)),
        "{charge}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refunds: Vec<i64> = sqlx::query_scalar("SELECT amount FROM refunds WHERE charge_id = $1 ORDER BY id")
        .bind(&id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(refunds, [500, 700], "ours, then the dashboard's, each once though every webhook came twice");
    // (The sale's own payment_intent.succeeded may race our answer and be the one that applies it: either way
    // once.) Of the refund totals Stripe sent, only the dashboard's changed anything.
    let applied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM processor_events
         WHERE processor_account_id = $1 AND outcome = 'applied' AND event_type = 'charge.refunded'",
    )
    .bind(&account)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(applied, 1, "only the dashboard's refund changed anything");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_refund_made_in_checkouts_dashboard_arrives_by_its_own_webhook_once_and_ours_settle_as_ours() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_checkout(&merchant, "test", 0).await;
    let fake = json!({ "webhook_copies": 2, "webhook_delay_ms": 5 });
    app.webhooks_from_fake(&merchant, "checkout", (&account, &key), CKO_SECRET, fake).await;
    let id = pay(&app, &merchant, true).await["id"].as_str().unwrap().to_owned();
    let until = |amount_refunded: i64| {
        let (app, merchant, id) = (&app, merchant.clone(), id.clone());
        async move {
            let mut charge = Value::Null;
            for _ in 0..200 {
                charge = app
                    .client(&merchant, "test")
                    .expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null)
                    .await;
                let settled: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM refunds WHERE charge_id = $1 AND status = 'pending'")
                        .bind(&id)
                        .fetch_one(&app.pool)
                        .await
                        .unwrap();
                if charge["status"] != "authorized" && charge["amount_refunded"] == amount_refunded && settled == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            charge
        }
    };
    assert_eq!(until(0).await["status"], "captured", "the sale's capture confirmed by Checkout.com's webhook");
    app.client(&merchant, "test")
        .expect(201, Method::POST, "/v1/refunds", &json!({ "charge": id, "amount": 500 }))
        .await;
    assert_eq!(until(500).await["amount_refunded"], 500);
    // 700 refunded in Checkout.com's dashboard: a refund we never asked for, with no reference of ours.
    let payment = app.processor_reference(&id).await;
    let at_checkout = app
        .client
        .post(format!("{}/payments/{payment}/refunds", app.checkout_url))
        .bearer_auth(&key)
        .json(&json!({ "amount": 700 }))
        .send()
        .await
        .unwrap();
    assert_eq!(at_checkout.status().as_u16(), 202);
    let charge = until(1_200).await;
    assert_eq!(
        (&charge["status"], &charge["amount_refunded"]),
        (&json!("partially_refunded"), &json!(1_200)),
        "{charge}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refunds: Vec<(i64, String, Value)> =
        sqlx::query_as("SELECT amount, status, metadata FROM refunds WHERE charge_id = $1 ORDER BY id")
            .bind(&id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        refunds,
        [(500, "succeeded".to_owned(), json!({})), (700, "succeeded".to_owned(), json!({ "made_at": "processor" }))],
        "ours, then the dashboard's, each once though every webhook came twice"
    );
    let refunded_events = event_types(&app, &id).await.iter().filter(|t| *t == "charge.refunded").count();
    assert_eq!(refunded_events, 2);
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn events_delivered_out_of_order_and_again_converge_on_the_same_books() {
    let app = spawn_app().await;
    let (merchant, account, _) = checkout_merchant(&app).await;
    let id = pay(&app, &merchant, false).await["id"].as_str().unwrap().to_owned();
    app.client(&merchant, "test").expect(202, Method::POST, &format!("/v1/charges/{id}/capture"), &Value::Null).await;
    let payment = app.processor_reference(&id).await;
    let event = |event: &str, kind: &str, reference: Option<&str>| {
        json!({ "id": event, "type": kind, "data": { "id": payment, "reference": reference } }).to_string()
    };
    let captured = event("evt_1", "payment_captured", None);
    deliver(&app, "checkout", &account, &cko_signature(&captured), &captured).await;
    let mut refunds = Vec::new();
    for amount in [300, 200] {
        let refund = app
            .client(&merchant, "test")
            .expect(201, Method::POST, "/v1/refunds", &json!({ "charge": id, "amount": amount }))
            .await;
        refunds.push(refund["id"].as_str().unwrap().to_owned());
    }
    // The second refund's event first, then the first's, then the capture's again and the second's again.
    let second = event("evt_3", "payment_refunded", Some(&refunds[1]));
    let first = event("evt_2", "payment_refunded", Some(&refunds[0]));
    for body in [&second, &first, &captured, &second] {
        let (status, _) = deliver(&app, "checkout", &account, &cko_signature(body), body).await;
        assert_eq!(status, 200);
    }
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM refunds WHERE charge_id = $1 ORDER BY id")
        .bind(&id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["succeeded", "succeeded"]);
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!((&charge["status"], &charge["amount_refunded"]), (&json!("partially_refunded"), &json!(500)));
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM processor_events WHERE processor_account_id = $1 ORDER BY id")
            .bind(&account)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(outcomes, ["applied", "applied", "applied"], "three events, each stored once and applied once");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn an_authorization_whose_answer_was_lost_is_settled_by_stripes_webhook_without_recovery() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    let fake = json!({ "webhook_delay_ms": 50 });
    app.webhooks_from_fake(&merchant, "stripe", (&account, &key), "whsec_lost_answers", fake).await;
    // Stripe makes the payment, but the connection breaks before its answer reaches us.
    app.stripe_fault(&key, json!({ "fault": "reset_after" })).await;
    let lost = pay(&app, &merchant, true).await;
    assert_eq!(lost["status"], "pending", "{lost}");
    let id = lost["id"].as_str().unwrap();
    let mut charge = Value::Null;
    for _ in 0..200 {
        charge =
            app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
        if charge["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!((&charge["status"], &charge["amount_captured"]), (&json!("captured"), &json!(2_000)), "{charge}");
    assert!(app.processor_reference(id).await.starts_with("pi_"));
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn an_authorization_declined_while_its_answer_was_lost_fails_by_stripes_webhook_without_recovery() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let (account, key) = app.route_to_stripe(&merchant, "test").await;
    let fake = json!({ "webhook_delay_ms": 50 });
    app.webhooks_from_fake(&merchant, "stripe", (&account, &key), "whsec_lost_declines", fake).await;
    // Stripe declines the card, but the connection breaks before its answer reaches us.
    app.stripe_fault(&key, json!({ "fault": "reset_after" })).await;
    let token = app.vault.tokenize("4000000000000002", &merchant, "test");
    let body = json!({ "amount": 2_000, "currency": "EUR", "source": token, "capture": true });
    let lost = app.client(&merchant, "test").expect(201, Method::POST, "/v1/charges", &body).await;
    assert_eq!(lost["status"], "pending", "{lost}");
    let id = lost["id"].as_str().unwrap();
    let mut charge = Value::Null;
    for _ in 0..200 {
        charge =
            app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
        if charge["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        (&charge["status"], &charge["failure_code"], &charge["failure_processor_code"]),
        (&json!("failed"), &json!("generic_decline"), &json!("generic_decline")),
        "{charge}"
    );
    // The event's outcome is written just after the charge changed: wait for it.
    let mut outcomes: Vec<String> = Vec::new();
    for _ in 0..100 {
        outcomes = sqlx::query_scalar(
            "SELECT outcome FROM processor_events
             WHERE processor_account_id = $1 AND event_type = 'payment_intent.payment_failed'",
        )
        .bind(&account)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if !outcomes.is_empty() && outcomes.iter().all(|o| o != "applying") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(outcomes, ["applied"], "Stripe's payment_intent.payment_failed decided it");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_lost_sale_converges_by_checkouts_own_webhooks_even_when_captured_arrives_before_approved() {
    let app = spawn_app().await;
    let (merchant, account, key) = checkout_merchant(&app).await;
    // The fake sends its webhooks out of order: each is held until the next is due and sent after it.
    let fake = json!({ "action_delay_ms": 30, "webhook_reorder_hold_ms": 2_000 });
    app.webhooks_from_fake(&merchant, "checkout", (&account, &key), CKO_SECRET, fake).await;
    // Checkout.com makes the sale, but the connection breaks before its answer reaches us.
    let fault = json!({ "fault": "reset_after" });
    let url = format!("{}/_fake/accounts/{key}/faults", app.checkout_url);
    assert_eq!(app.client.post(url).json(&fault).send().await.unwrap().status(), 201);
    let lost = pay(&app, &merchant, true).await;
    assert_eq!(lost["status"], "pending", "{lost}");
    let id = lost["id"].as_str().unwrap();
    let mut charge = Value::Null;
    for _ in 0..200 {
        charge =
            app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
        if charge["status"] == "captured" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!((&charge["status"], &charge["amount_captured"]), (&json!("captured"), &json!(2_000)), "{charge}");
    assert_eq!(charge["pending_operation"], Value::Null);
    // `payment_captured` came first and waited (its payment not yet known); `payment_approved` settled the
    // authorization and brought it back. (Its outcome is written just after the charge changed: wait for it.)
    let mut received: Vec<(String, String)> = Vec::new();
    for _ in 0..100 {
        received = sqlx::query_as(
            "SELECT event_type, outcome FROM processor_events WHERE processor_account_id = $1 ORDER BY id",
        )
        .bind(&account)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if received.iter().all(|(_, outcome)| outcome != "applying") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        received,
        [("payment_captured".to_owned(), "applied".to_owned()), ("payment_approved".to_owned(), "applied".to_owned())]
    );
    let types = event_types(&app, id).await;
    assert_eq!(types.iter().filter(|t| *t == "charge.captured").count(), 1, "{types:?}");
    audit_is_clean(&app).await;
}

#[tokio::test]
async fn a_redelivery_takes_over_an_event_whose_first_delivery_died_while_applying_it() {
    let app = spawn_app().await;
    let (merchant, account, _) = checkout_merchant(&app).await;
    let id = pay(&app, &merchant, false).await["id"].as_str().unwrap().to_owned();
    app.client(&merchant, "test").expect(202, Method::POST, &format!("/v1/charges/{id}/capture"), &Value::Null).await;
    let payment = app.processor_reference(&id).await;
    let captured = json!({ "id": "evt_crashed", "type": "payment_captured", "data": { "id": payment } }).to_string();
    // The first delivery stored its claim and died (a crash, a cancelled request) before applying it.
    let stored = |age: &'static str| {
        let (app, account, merchant, payment) = (&app, account.clone(), merchant.clone(), payment.clone());
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO processor_events (processor_account_id, merchant_id, mode, connector, event_id, event_type,
                                               payment_reference, outcome, received_at)
                 VALUES ($1, $2, 'test', 'checkout', $3, 'payment_captured', $4, 'applying', now() - interval '{age}')"
            )))
            .bind(&account)
            .bind(&merchant)
            .bind(format!("evt_crashed_{}", age.replace(' ', "_")))
            .bind(&payment)
            .execute(&app.pool)
            .await
            .unwrap();
        }
    };
    stored("10 minutes").await;
    stored("1 second").await;
    // One still being applied elsewhere is a duplicate; an abandoned one is taken over and applied, once.
    let young = captured.replace("evt_crashed", "evt_crashed_1_second");
    assert_eq!(deliver(&app, "checkout", &account, &cko_signature(&young), &young).await.1["received"], "duplicate");
    let old = captured.replace("evt_crashed", "evt_crashed_10_minutes");
    assert_eq!(deliver(&app, "checkout", &account, &cko_signature(&old), &old).await.1["received"], "applied");
    assert_eq!(deliver(&app, "checkout", &account, &cko_signature(&old), &old).await.1["received"], "duplicate");
    let charge =
        app.client(&merchant, "test").expect(200, Method::GET, &format!("/v1/charges/{id}"), &Value::Null).await;
    assert_eq!((&charge["status"], &charge["pending_operation"]), (&json!("captured"), &Value::Null));
    audit_is_clean(&app).await;
}
