//! Several API instances and webhook workers on one database under concurrent load, as production runs
//! them behind the edge: every retry of an order is sent to three instances at once, every capture to two,
//! two workers deliver the events. Each outcome is checked against the database and the receiver: one charge
//! per order, one capture per charge, balanced postings, one delivery per event.

use crate::helpers::{EdgeHeaders, TestApp, insert_merchant, spawn_app};
use futures::StreamExt;
use paygate_ledger::jobs::webhook_delivery::{self, Senders};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ORDERS: usize = 40;

/// A webhook receiver that keeps every `webhook-id` it is sent.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let kept = ids.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let kept = kept.clone();
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                kept.lock().unwrap().push(id);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, ids)
}

/// POSTs `body` to `base` as `merchant`, with `key`: the status and the answer.
async fn post(app: &TestApp, base: &str, merchant: &str, path: &str, body: &str, key: &str) -> (u16, Value) {
    let headers = EdgeHeaders::for_merchant(merchant, "test");
    let response = app
        .signed_to(base, &app.edge_secret, Method::POST, path, body, &headers)
        .header("idempotency-key", key)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// One order: the create sent to every instance at once under one key, then the capture to two at once.
/// Answers the charge's id.
async fn order(app: &TestApp, instances: &[String], merchant: &str, i: usize) -> String {
    let token = app.vault.tokenize("4242424242424242", merchant, "test");
    let body = json!({ "amount": 1_000 + i, "currency": "EUR", "source": token, "capture": false }).to_string();
    let key = format!("order-{i}-{token}");
    let creates =
        futures::future::join_all(instances.iter().map(|base| post(app, base, merchant, "/v1/charges", &body, &key)))
            .await;
    let mut ids: Vec<&str> = Vec::new();
    for (status, answer) in &creates {
        match status {
            // The first answers the authorized charge; a retry that reached another instance while the
            // processor was still being asked answers the same charge as it stood, pending.
            201 => {
                assert_eq!(answer["status"], "authorized", "{answer}");
                ids.push(answer["id"].as_str().unwrap());
            }
            200 => {
                assert!(["authorized", "pending"].contains(&answer["status"].as_str().unwrap()), "{answer}");
                ids.push(answer["id"].as_str().unwrap());
            }
            409 => assert_eq!(answer["code"], "idempotency_in_flight", "{answer}"),
            _ => panic!("create {i}: {status} {answer}"),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "order {i}: one charge whichever instance answered: {creates:?}");
    let charge = ids[0].to_owned();
    let path = format!("/v1/charges/{charge}/capture");
    let capture_key = format!("capture-{charge}");
    let captures =
        futures::future::join_all(instances[..2].iter().map(|base| post(app, base, merchant, &path, "", &capture_key)))
            .await;
    let captured = captures.iter().filter(|(status, answer)| *status == 200 && answer["status"] == "captured").count();
    assert!(captured >= 1, "order {i}: captured by one of the instances: {captures:?}");
    // The other is refused by the charge's state (behind the edge, the key's object would have answered
    // it: in flight, or the first answer replayed); never a second capture.
    for (status, answer) in &captures {
        let refused =
            *status == 409 && ["idempotency_in_flight", "invalid_state"].contains(&answer["code"].as_str().unwrap());
        assert!(*status == 200 || refused, "order {i}: {status} {answer}");
    }
    charge
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn several_api_instances_and_webhook_workers_on_one_database_stay_correct_under_load() {
    let app = spawn_app().await;
    let instances = vec![app.url(""), app.another_instance().await, app.another_instance().await];
    let merchants = [insert_merchant(&app.pool).await, insert_merchant(&app.pool).await];
    let (url, received) = receiver().await;
    for merchant in &merchants {
        // A price, so every capture books a fee line too.
        sqlx::query(
            "INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) VALUES ($1, '*', 290, 30)",
        )
        .bind(merchant)
        .execute(&app.pool)
        .await
        .unwrap();
        let body = json!({ "url": url, "enabled_events": ["charge.captured"] }).to_string();
        let response = app.signed(Method::POST, "/v1/webhook_endpoints", &body, merchant, "test").send().await.unwrap();
        assert_eq!(response.status(), 201);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let mut stopped = stopped.clone();
            tokio::spawn(webhook_delivery::run(
                app.pool.clone(),
                Senders::new(Duration::from_secs(5), app.secrets_keys.clone()),
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            ))
        })
        .collect();

    let app = &app;
    let instances = &instances;
    let merchants = &merchants;
    let charges: Vec<String> = futures::stream::iter(0..ORDERS)
        .map(|i| async move { order(app, instances, &merchants[i % 2], i).await })
        .buffer_unordered(8)
        .collect()
        .await;

    let orders = ORDERS as i64;
    assert_eq!(count(app, "SELECT count(DISTINCT id) FROM charges").await, orders);
    assert_eq!(
        count(app, "SELECT count(*) FROM charges WHERE status = 'captured' AND amount_captured = amount").await,
        orders
    );
    assert_eq!(count(app, "SELECT count(*) FROM ledger_transactions WHERE kind = 'authorization'").await, orders);
    assert_eq!(count(app, "SELECT count(*) FROM ledger_transactions WHERE kind = 'capture'").await, orders);
    assert_eq!(
        count(
            app,
            "SELECT count(*) FROM (SELECT 1 FROM ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0) AS t"
        )
        .await,
        0,
        "every posting balances"
    );
    assert_eq!(
        count(app, "SELECT count(*) FROM charge_attempts WHERE operation = 'capture' AND outcome = 'succeeded'").await,
        orders,
        "each charge was captured at the processor once"
    );
    // The sandbox's own books agree: one authorization per charge, captured once.
    for charge in charges.iter().take(5) {
        let reference: String = sqlx::query_scalar("SELECT processor_reference FROM charges WHERE id = $1")
            .bind(charge)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let held = app.at_processor(&reference).await;
        assert_eq!(held["captured"], held["amount"], "{held}");
    }

    // Every captured charge's event reaches the receiver once, whichever worker sent it.
    let events = count(app, "SELECT count(*) FROM events WHERE type = 'charge.captured'").await;
    assert_eq!(events, orders);
    for _ in 0..300 {
        if received.lock().unwrap().len() >= ORDERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(10), worker).await.expect("the workers stop when told").unwrap();
    }
    let mut ids = received.lock().unwrap().clone();
    assert_eq!(ids.len(), ORDERS, "one delivery per event: {ids:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ORDERS, "no event delivered twice");
    assert_eq!(
        count(app, "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded' AND attempts = 1").await,
        orders
    );
}
