//! The read-only logs: `/v1/events` (the outbox as the merchant's event log) and
//! `/v1/ledger/transactions` (the merchant's journal): content, paging, filters, isolation, bad queries.

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn get(app: &TestApp, merchant: &str, path: &str) -> (u16, Value) {
    app.client(merchant, "test").call(Method::GET, path, &Value::Null).await
}

/// A captured charge with one partial refund: 5 events, 3 journal transactions.
async fn history(app: &TestApp, merchant: &str) -> String {
    let charge = app.charge_card(merchant, "4242424242424242", 4_000, "EUR", true).await;
    let id = charge["id"].as_str().unwrap().to_owned();
    let (status, refund) =
        app.post_with_key(merchant, "/v1/refunds", &json!({ "charge": id, "amount": 1_000 }), &format!("r-{id}")).await;
    assert_eq!(status, 201, "{refund}");
    id
}

#[tokio::test]
async fn events_list_newest_first_filter_by_type_and_stay_with_their_merchant() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = history(&app, &merchant).await;
    let (status, list) = get(&app, &merchant, "/v1/events").await;
    assert_eq!(status, 200);
    let types: Vec<&str> = list["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["refund.succeeded", "charge.refunded", "refund.created", "charge.captured", "charge.authorized"]
    );
    let (_, page) = get(&app, &merchant, "/v1/events?limit=2").await;
    assert_eq!((page["data"].as_array().unwrap().len(), page["has_more"].as_bool()), (2, Some(true)));
    let (_, captured) = get(&app, &merchant, "/v1/events?type=charge.captured").await;
    let event = &captured["data"][0];
    assert_eq!(
        (event["object"].as_str(), event["data"]["object"]["id"].as_str()),
        (Some("event"), Some(charge.as_str()))
    );
    assert_eq!(event["data"]["object"]["status"], "captured");
    let id = event["id"].as_str().unwrap();
    assert_eq!(get(&app, &merchant, &format!("/v1/events/{id}")).await, (200, event.clone()));

    let other = insert_merchant(&app.pool).await;
    assert_eq!(get(&app, &other, &format!("/v1/events/{id}")).await.0, 404);
    assert_eq!(get(&app, &other, "/v1/events").await.1["data"], json!([]));
    for bad in ["?limit=500", "?starting_after=ch_x", "?kind=x"] {
        let (status, problem) = get(&app, &merchant, &format!("/v1/events{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(problem["param"].is_string(), "{bad}: {problem}");
    }
}

#[tokio::test]
async fn the_journal_lists_balanced_transactions_with_their_entries() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = history(&app, &merchant).await;
    let (status, journal) = get(&app, &merchant, "/v1/ledger/transactions").await;
    assert_eq!(status, 200);
    let transactions = journal["data"].as_array().unwrap();
    let kinds: Vec<&str> = transactions.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["refund", "capture", "authorization"]);
    for transaction in transactions {
        assert_eq!(transaction["charge"], charge.as_str());
        let sum: i64 = transaction["entries"].as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).sum();
        assert_eq!(sum, 0, "{transaction}");
    }
    let newest = transactions[0]["id"].as_str().unwrap();
    let (_, older) = get(&app, &merchant, &format!("/v1/ledger/transactions?starting_after={newest}")).await;
    assert_eq!(older["data"].as_array().unwrap().len(), 2);
    let other = insert_merchant(&app.pool).await;
    assert_eq!(get(&app, &other, "/v1/ledger/transactions").await.1["data"], json!([]));
    assert_eq!(get(&app, &merchant, "/v1/ledger/transactions?currency=EUR").await.0, 400);
}
