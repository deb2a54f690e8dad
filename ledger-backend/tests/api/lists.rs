//! Every list pages the same way, honestly: `has_more` says whether another page exists, and walking the
//! pages with `starting_after` returns every object exactly once, newest first. (Refunds, webhook endpoints
//! and API keys once answered `has_more: false` and stopped at 100.)

use crate::helpers::{TestApp, insert_merchant, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn get(app: &TestApp, merchant: &str, path: &str) -> Value {
    app.client(merchant, "test").expect(200, Method::GET, path, &Value::Null).await
}

/// Walks `path` two at a time; returns the ids in order and checks `has_more` on every page.
async fn walk(app: &TestApp, merchant: &str, path: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let cursor = ids.last().map(|id| format!("&starting_after={id}")).unwrap_or_default();
        let page = get(app, merchant, &format!("{path}{separator}limit=2{cursor}")).await;
        let data = page["data"].as_array().unwrap();
        ids.extend(data.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        if !page["has_more"].as_bool().unwrap() {
            return ids;
        }
        assert_eq!(data.len(), 2, "a page with more after it is full: {page}");
    }
}

fn newest_first(ids: &[String]) -> bool {
    ids.windows(2).all(|pair| pair[0] > pair[1])
}

#[tokio::test]
async fn refunds_webhook_endpoints_and_api_keys_page_with_has_more() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let charge = app.charge_card(&merchant, "4242424242424242", 10_000, "eur", true).await;
    let charge_id = charge["id"].as_str().unwrap();
    let mut created = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        let refund = json!({ "charge": charge_id, "amount": 100 });
        let (status, refund) = app.post_with_key(&merchant, "/v1/refunds", &refund, &format!("refund-{i}")).await;
        assert_eq!(status, 201, "{refund}");
        created.0.push(refund["id"].as_str().unwrap().to_owned());
        let hook = json!({ "url": format!("http://127.0.0.1:9/hook{i}"), "enabled_events": ["*"] }).to_string();
        let response =
            app.signed(Method::POST, "/v1/webhook_endpoints", &hook, &merchant, "test").send().await.unwrap();
        created.1.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        let response =
            app.signed(Method::POST, "/v1/api_keys", r#"{"kind":"secret"}"#, &merchant, "test").send().await.unwrap();
        created.2.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    for (path, mut expected) in [
        (format!("/v1/refunds?charge={charge_id}"), created.0),
        ("/v1/webhook_endpoints".to_owned(), created.1),
        ("/v1/api_keys".to_owned(), created.2),
    ] {
        let walked = walk(&app, &merchant, &path).await;
        expected.reverse();
        assert_eq!(walked, expected, "{path}");
        assert!(newest_first(&walked), "{path}");
        // Backwards from the oldest: the newer ones, still newest first.
        let back = get(
            &app,
            &merchant,
            &format!("{path}{}ending_before={}&limit=2", if path.contains('?') { '&' } else { '?' }, expected[4]),
        )
        .await;
        let back_ids: Vec<&str> = back["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(
            (back_ids, back["has_more"].as_bool()),
            (vec![expected[2].as_str(), expected[3].as_str()], Some(true))
        );
        let unknown = app.signed(
            Method::GET,
            &format!("{path}{}zz=1", if path.contains('?') { '&' } else { '?' }),
            "",
            &merchant,
            "test",
        );
        assert_eq!(unknown.send().await.unwrap().status().as_u16(), 400, "{path} refuses an unknown parameter");
    }
}
