//! The fake Stripe answers as Stripe documents (docs.stripe.com/api, /api/errors, /api/idempotent_requests,
//! /testing): what it refuses and how, so a connector tested against it meets Stripe's behaviour.

use serde_json::{Value, json};

struct Fake {
    url: String,
    http: reqwest::Client,
}

async fn fake() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accounts = vec![("sk_test_cards".to_owned(), true), ("sk_test_nocards".to_owned(), false)];
    tokio::spawn(paygate_fakes::stripe::serve(listener, accounts, std::future::pending()));
    Fake { url, http: reqwest::Client::new() }
}

const CARD: &str = "payment_method_data[type]=card&payment_method_data[card][exp_month]=12&payment_method_data[card][exp_year]=2030&payment_method_data[card][cvc]=123";

impl Fake {
    async fn post(&self, key: &str, path: &str, body: &str, idempotency: Option<&str>) -> (u16, Value, bool) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(key)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("stripe-version", "2024-06-20")
            .body(body.to_owned());
        if let Some(idempotency) = idempotency {
            request = request.header("idempotency-key", idempotency);
        }
        let answer = request.send().await.unwrap();
        let replayed = answer.headers().get("idempotent-replayed").is_some();
        (answer.status().as_u16(), answer.json().await.unwrap(), replayed)
    }

    async fn intent(&self, number: &str, amount: i64, capture_method: &str) -> (u16, Value) {
        let body = format!(
            "amount={amount}&currency=usd&confirm=true&capture_method={capture_method}&metadata[paygate_attempt_id]=att_{amount}&payment_method_data[card][number]={number}&{CARD}"
        );
        let (status, value, _) = self.post("sk_test_cards", "/v1/payment_intents", &body, None).await;
        (status, value)
    }
}

#[tokio::test]
async fn a_manual_capture_takes_part_and_a_second_capture_meets_the_unexpected_state() {
    let fake = fake().await;
    let (status, intent) = fake.intent("4242424242424242", 1_000, "manual").await;
    assert_eq!(
        (status, &intent["status"], &intent["amount_capturable"]),
        (200, &json!("requires_capture"), &json!(1_000))
    );
    let id = intent["id"].as_str().unwrap();
    let path = format!("/v1/payment_intents/{id}/capture");
    let (status, captured, _) = fake.post("sk_test_cards", &path, "amount_to_capture=600", None).await;
    assert_eq!((status, &captured["status"], &captured["amount_received"]), (200, &json!("succeeded"), &json!(600)));
    let (status, again, _) = fake.post("sk_test_cards", &path, "", None).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"]["code"], "payment_intent_unexpected_state");
    assert_eq!(again["error"]["payment_intent"]["status"], "succeeded");
    let (status, over, _) =
        fake.post("sk_test_cards", "/v1/refunds", &format!("payment_intent={id}&amount=601"), None).await;
    assert_eq!((status, over["error"]["code"].as_str()), (400, Some("amount_too_large")));
    for amount in [200, 400] {
        let (status, refund, _) =
            fake.post("sk_test_cards", "/v1/refunds", &format!("payment_intent={id}&amount={amount}"), None).await;
        assert_eq!((status, &refund["status"]), (200, &json!("succeeded")));
    }
    let (status, done, _) = fake.post("sk_test_cards", "/v1/refunds", &format!("payment_intent={id}"), None).await;
    assert_eq!((status, done["error"]["code"].as_str()), (400, Some("charge_already_refunded")));
}

#[tokio::test]
async fn declines_are_402_card_errors_with_the_payment_intent() {
    let fake = fake().await;
    let (status, error) = fake.intent("4000000000009995", 1_000, "automatic").await;
    assert_eq!(status, 402);
    assert_eq!((&error["error"]["type"], &error["error"]["code"]), (&json!("card_error"), &json!("card_declined")));
    assert_eq!(error["error"]["decline_code"], "insufficient_funds");
    assert_eq!(error["error"]["payment_intent"]["status"], "requires_payment_method");
    let (status, error) = fake.intent("4242424242424241", 1_000, "automatic").await;
    assert_eq!((status, error["error"]["code"].as_str()), (402, Some("incorrect_number")));
    let (status, intent) = fake.intent("4000000000003220", 1_000, "automatic").await;
    assert_eq!((status, &intent["status"]), (200, &json!("requires_action")));
}

#[tokio::test]
async fn idempotent_requests_replay_and_a_changed_one_is_refused() {
    let fake = fake().await;
    let body =
        format!("amount=700&currency=usd&confirm=true&payment_method_data[card][number]=4242424242424242&{CARD}");
    let (status, first, replayed) = fake.post("sk_test_cards", "/v1/payment_intents", &body, Some("att_1")).await;
    assert_eq!((status, replayed), (200, false));
    let (status, again, replayed) = fake.post("sk_test_cards", "/v1/payment_intents", &body, Some("att_1")).await;
    assert_eq!((status, replayed, &again["id"]), (200, true, &first["id"]));
    let changed = body.replace("amount=700", "amount=701");
    let (status, refused, _) = fake.post("sk_test_cards", "/v1/payment_intents", &changed, Some("att_1")).await;
    assert_eq!((status, refused["error"]["type"].as_str()), (400, Some("idempotency_error")));
    // A validation failure is not saved: the same key then works for a valid request.
    let (status, invalid, _) = fake.post("sk_test_cards", "/v1/payment_intents", "amount=x", Some("att_2")).await;
    assert_eq!((status, invalid["error"]["code"].as_str()), (400, Some("parameter_invalid_integer")));
    let (status, _, _) = fake.post("sk_test_cards", "/v1/payment_intents", &body, Some("att_2")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn what_stripe_refuses_the_fake_refuses() {
    let fake = fake().await;
    let (status, error, _) = fake.post("sk_test_unknown", "/v1/payment_intents", "amount=1", None).await;
    assert_eq!((status, error["error"]["type"].as_str()), (401, Some("invalid_request_error")));
    let body = format!(
        "amount=700&currency=usd&confirm=true&colour=red&payment_method_data[card][number]=4242424242424242&{CARD}"
    );
    let (status, error, _) = fake.post("sk_test_cards", "/v1/payment_intents", &body, None).await;
    assert_eq!(
        (status, error["error"]["code"].as_str(), error["error"]["param"].as_str()),
        (400, Some("parameter_unknown"), Some("colour"))
    );
    let (status, error) = fake.intent("4242424242424242", 49, "automatic").await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("amount_too_small")));
    let body =
        format!("amount=700&currency=usd&confirm=true&payment_method_data[card][number]=4242424242424242&{CARD}");
    let (status, error, _) = fake.post("sk_test_nocards", "/v1/payment_intents", &body, None).await;
    assert_eq!(status, 400);
    assert!(error["error"]["message"].as_str().unwrap().contains("raw card data"), "{error}");
    // Another account's objects do not exist for this one.
    let (_, intent) = fake.intent("4242424242424242", 900, "manual").await;
    let path = format!("/v1/payment_intents/{}/cancel", intent["id"].as_str().unwrap());
    let (status, error, _) = fake.post("sk_test_nocards", &path, "", None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (404, Some("resource_missing")));
}

#[tokio::test]
async fn search_finds_an_intent_by_the_metadata_we_planted() {
    let fake = fake().await;
    let (_, intent) = fake.intent("4242424242424242", 1_234, "manual").await;
    let query = "metadata['paygate_attempt_id']:'att_1234'";
    let found: Value = fake
        .http
        .get(format!("{}/v1/payment_intents/search", fake.url))
        .query(&[("query", query)])
        .bearer_auth("sk_test_cards")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["object"], "search_result");
    assert_eq!(found["data"][0]["id"], intent["id"]);
}

#[tokio::test]
async fn a_report_run_refuses_what_stripe_refuses_and_its_file_has_the_columns_asked_for() {
    let fake = fake().await;
    let (_, intent) = fake.intent("4242424242424242", 2_500, "automatic").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let kind: Value = fake
        .http
        .get(format!("{}/v1/reporting/report_types/balance_change_from_activity.itemized.3", fake.url))
        .bearer_auth("sk_test_cards")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (start, end) = (kind["data_available_start"].as_i64().unwrap(), kind["data_available_end"].as_i64().unwrap());
    let run = |from: i64, to: i64, columns: &str| {
        format!(
            "report_type=balance_change_from_activity.itemized.3&parameters[interval_start]={from}&parameters[interval_end]={to}{columns}"
        )
    };
    for (body, param) in [
        (run(start, end + 3_600, ""), "parameters[interval_end]"),
        (run(start - 1, end, ""), "parameters[interval_start]"),
        (run(end, end, ""), "parameters[interval_end]"),
        (run(start, end, "&parameters[columns][0]=card_number"), "parameters[columns][0]"),
        (run(start, end, "&parameters[colour]=red"), "parameters[colour]"),
    ] {
        let (status, error, _) = fake.post("sk_test_cards", "/v1/reporting/report_runs", &body, None).await;
        assert_eq!((status, error["error"]["param"].as_str()), (400, Some(param)), "{body}: {error}");
    }
    let columns = "&parameters[columns][1]=gross&parameters[columns][0]=balance_transaction_id\
                   &parameters[columns][2]=payment_metadata[paygate_attempt_id]";
    let (status, created, _) =
        fake.post("sk_test_cards", "/v1/reporting/report_runs", &run(start, end, columns), None).await;
    assert_eq!((status, &created["status"], &created["result"]), (200, &json!("pending"), &Value::Null));
    let path = format!("{}/v1/reporting/report_runs/{}", fake.url, created["id"].as_str().unwrap());
    let done: Value = fake.http.get(path).bearer_auth("sk_test_cards").send().await.unwrap().json().await.unwrap();
    assert_eq!(done["status"], "succeeded");
    let url = done["result"]["url"].as_str().unwrap();
    assert_eq!(fake.http.get(url).bearer_auth("sk_test_nocards").send().await.unwrap().status().as_u16(), 404);
    let csv = fake.http.get(url).bearer_auth("sk_test_cards").send().await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "balance_transaction_id,gross,payment_metadata[paygate_attempt_id]");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].ends_with(",25.00,att_2500"), "{csv}; intent {intent}");
}
