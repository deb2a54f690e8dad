//! Nothing reaches a /v1 handler unless the edge signed it: unsigned, forged, tampered, stale and
//! mis-addressed requests get 401 `signature_invalid`, and so does a replay of a signed request, unknown /v1 paths included (so an unsigned
//! caller cannot even map the routes). A correctly signed request passes through.

use crate::helpers::{EdgeHeaders, insert_merchant, random_edge_secret, spawn_app};
use paygate_ledger::ids::unix_seconds_now;
use reqwest::Method;

async fn expect_status(request: reqwest::RequestBuilder, status: u16, code: &str) {
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), status);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], code, "{problem}");
}

#[tokio::test]
async fn unsigned_and_forged_requests_are_rejected_before_routing() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let path = "/v1/not-a-route";
    expect_status(app.client.get(app.url(path)), 401, "signature_invalid").await;
    // Correctly signed: passes the middleware and meets the 404 of an unknown route.
    expect_status(app.signed(Method::GET, path, "", &merchant, "test"), 404, "route_not_found").await;
    // Signed with a secret the backend does not hold.
    let headers = EdgeHeaders::for_merchant(&merchant, "test");
    expect_status(app.signed_with(&random_edge_secret(), Method::GET, path, "", &headers), 401, "signature_invalid")
        .await;
}

#[tokio::test]
async fn any_change_after_signing_breaks_the_signature() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let other = insert_merchant(&app.pool).await;
    let path = "/v1/not-a-route";
    let headers = EdgeHeaders::for_merchant(&merchant, "test");
    let body = r#"{"amount":100}"#;
    let sign = |method: Method| app.signed_with(&app.edge_secret, method, path, body, &headers);
    expect_status(sign(Method::POST), 404, "route_not_found").await;
    expect_status(sign(Method::POST).body(r#"{"amount":999}"#), 401, "signature_invalid").await;
    // Replacing a signed header's value breaks the signature; sending it a second time is refused too.
    for (name, value) in [
        ("paygate-merchant", other.as_str()),
        ("paygate-mode", "live"),
        ("request-id", "req_01m7000000000000000000000a"),
    ] {
        let mut replaced = sign(Method::POST).build().unwrap();
        replaced.headers_mut().insert(name, value.parse().unwrap());
        let response = app.client.execute(replaced).await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{name} replaced");
        expect_status(sign(Method::POST).header(name, value), 401, "signature_invalid").await;
    }
    let moved =
        app.client.post(app.url("/v1/other")).headers(sign(Method::POST).build().unwrap().headers().clone()).body(body);
    expect_status(moved, 401, "signature_invalid").await;
}

#[tokio::test]
async fn stale_and_future_timestamps_are_rejected() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    for skew in [-120i64, 120] {
        let mut headers = EdgeHeaders::for_merchant(&merchant, "test");
        headers.timestamp = unix_seconds_now() + skew;
        let request = app.signed_with(&app.edge_secret, Method::GET, "/v1/x", "", &headers);
        expect_status(request, 401, "signature_invalid").await;
    }
}

#[tokio::test]
async fn a_signed_request_must_name_a_well_formed_merchant_and_mode() {
    let app = spawn_app().await;
    for (merchant, mode) in [("acct_nonsense", "test"), ("", "test")] {
        let headers = EdgeHeaders::for_merchant(merchant, mode);
        let mut request = app.signed_with(&app.edge_secret, Method::GET, "/v1/x", "", &headers);
        if merchant.is_empty() {
            request = request.header("paygate-mode", mode);
        }
        expect_status(request, 401, "signature_invalid").await;
    }
    let merchant = insert_merchant(&app.pool).await;
    let headers = EdgeHeaders::for_merchant(&merchant, "staging");
    expect_status(app.signed_with(&app.edge_secret, Method::GET, "/v1/x", "", &headers), 401, "signature_invalid")
        .await;
}

#[tokio::test]
async fn a_signed_request_is_accepted_once() {
    let app = spawn_app().await;
    let merchant = insert_merchant(&app.pool).await;
    let headers = EdgeHeaders::for_merchant(&merchant, "test");
    let first = app.signed_with(&app.edge_secret, Method::GET, "/v1/balance", "", &headers);
    assert_eq!(first.send().await.unwrap().status(), 200);
    // The same signed request again (as someone who captured it would send it) is a replay.
    let replay = app.signed_with(&app.edge_secret, Method::GET, "/v1/balance", "", &headers);
    expect_status(replay, 401, "signature_invalid").await;
    // Extra or reordered signature entries do not make it new.
    let mut padded = app.signed_with(&app.edge_secret, Method::GET, "/v1/balance", "", &headers).build().unwrap();
    let signature = padded.headers()["paygate-signature"].to_str().unwrap().to_owned();
    padded.headers_mut().insert("paygate-signature", format!("v1=00,{signature}").parse().unwrap());
    assert_eq!(app.client.execute(padded).await.unwrap().status(), 401);
    // A new request (new request id) is fine.
    let fresh = app.signed(Method::GET, "/v1/balance", "", &merchant, "test");
    assert_eq!(fresh.send().await.unwrap().status(), 200);
}
