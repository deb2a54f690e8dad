//! The fake Checkout.com holds Mada to the rules Checkout.com documents (docs/processors/checkout.md): a Mada
//! card is a sale sent without `capture`, with 3-D Secure, and has no void; a request breaking them fails here.

use serde_json::{Value, json};

const KEY: &str = "sk_sbox_mada_rules";
const MADA: &str = "4464040000000007";

async fn fake() -> (String, reqwest::Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(paygate_fakes::checkout::serve(listener, vec![KEY.to_owned()], std::future::pending()));
    (url, reqwest::Client::new())
}

fn payment(capture: Option<bool>) -> Value {
    let mut body = json!({
        "source": { "type": "card", "number": MADA, "expiry_month": 12, "expiry_year": 2034, "cvv": "123" },
        "amount": 7_500, "currency": "SAR", "reference": "ch_mada", "processing_channel_id": "pc_abcdefghijklmnopqrstuvwxyz",
        "3ds": { "enabled": true },
    });
    if let Some(capture) = capture {
        body["capture"] = json!(capture);
    }
    body
}

async fn post(url: &str, http: &reqwest::Client, path: &str, body: &Value) -> (u16, Value) {
    let answer = http.post(format!("{url}{path}")).bearer_auth(KEY).json(body).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_mada_payment_with_capture_is_refused_without_it_is_a_sale_and_it_cannot_be_voided() {
    let (url, http) = fake().await;
    for capture in [false, true] {
        let (status, refused) = post(&url, &http, "/payments", &payment(Some(capture))).await;
        assert_eq!(
            (status, &refused["error_codes"]),
            (422, &json!(["mada_capture_not_supported"])),
            "capture: {capture}: {refused}"
        );
    }
    let (status, sale) = post(&url, &http, "/payments", &payment(None)).await;
    assert_eq!(
        (status, &sale["approved"], &sale["source"]["scheme_local"]),
        (201, &json!(true), &json!("mada")),
        "{sale}"
    );
    let id = sale["id"].as_str().unwrap();
    let found = http.get(format!("{url}/payments/{id}")).bearer_auth(KEY).send().await.unwrap();
    let found: Value = found.json().await.unwrap();
    assert_eq!(found["balances"]["total_authorized"], 7_500, "{found}");
    let (status, _) = post(&url, &http, &format!("/payments/{id}/voids"), &json!({})).await;
    assert_eq!(status, 403, "Mada has no void");
    // Without 3-D Secure a Mada card is declined.
    let mut no_3ds = payment(None);
    no_3ds["3ds"]["enabled"] = json!(false);
    let (status, declined) = post(&url, &http, "/payments", &no_3ds).await;
    assert_eq!((status, &declined["approved"]), (201, &json!(false)), "{declined}");
}
