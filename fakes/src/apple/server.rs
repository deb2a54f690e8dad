//! A stand-in of Apple's Apple Pay servers (binary `paygate-fake-apple`):
//!
//! - merchant validation, as developer.apple.com "Requesting an Apple Pay payment session" documents it:
//!   `POST /paymentservices/startSession` or `/paymentservices/paymentSession` with `{merchantIdentifier,
//!   displayName (1–64 characters), initiative: "web", initiativeContext (the domain)}`; anything else is a
//!   400 with Apple's `statusMessage`; a valid request gets an opaque merchant session (`expiresAt` five
//!   minutes on).
//! - the device's part, for tests (not Apple's API): `POST /_fake/tokens {processing_public_key (base64 DER
//!   SubjectPublicKeyInfo), merchant_identifier, amount, currency_numeric, device_account_number?,
//!   cryptogram?, eci?, data_type?, signing_time?, chain?}` mints an `EC_v1` token signed by this server's test
//!   chain (or, with `chain: "impostor"`, by one with the same names and other keys),
//!   whose root is `GET /_fake/root.pem`; `GET /_fake/requests` lists the validation requests received.

use super::tokens::{self, Minting, Payment, TestChain};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// When the test chain starts (2026-01-01T00:00:00Z); it is valid for ten years.
pub const CHAIN_FROM: i64 = 1_767_225_600;

struct Apple {
    chain: TestChain,
    /// A chain with the same names and other keys: its tokens look right and must fail the signature checks.
    impostor: TestChain,
    requests: Mutex<Vec<Value>>,
    minted: Mutex<u64>,
}

type Shared = Arc<Apple>;

pub fn router() -> Router {
    let apple = Apple {
        chain: TestChain::new(CHAIN_FROM),
        impostor: TestChain::build("impostor", CHAIN_FROM, &[tokens::OID_INTERMEDIATE], &[tokens::OID_LEAF]),
        requests: Mutex::default(),
        minted: Mutex::default(),
    };
    Router::new()
        .route("/paymentservices/startSession", post(session))
        .route("/paymentservices/paymentSession", post(session))
        .route("/_fake/tokens", post(mint))
        .route("/_fake/root.pem", get(root))
        .route("/_fake/requests", get(requests))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .with_state(Arc::new(apple))
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(crate::no_delay(listener), router()).with_graceful_shutdown(shutdown).await
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn refused(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "statusMessage": message, "statusCode": "400" }))).into_response()
}

async fn session(State(apple): State<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(asked) = serde_json::from_slice::<Value>(&body) else {
        return refused("Payment Services Exception: invalid JSON");
    };
    apple.requests.lock().unwrap_or_else(|p| p.into_inner()).push(asked.clone());
    let text = |name: &str| asked[name].as_str().unwrap_or("");
    let display = text("displayName").chars().count();
    if text("merchantIdentifier").is_empty() || !(1..=64).contains(&display) || text("initiative") != "web" {
        return refused("Payment Services Exception merchantId or displayName or initiative invalid");
    }
    if !paygate_core::text::host_name(text("initiativeContext")) {
        return refused("Payment Services Exception initiativeContext invalid");
    }
    let now_ms = now() * 1_000;
    Json(json!({
        "epochTimestamp": now_ms, "expiresAt": now_ms + 300_000,
        "merchantSessionIdentifier": format!("SSH{:016X}", now_ms), "nonce": "5f3c9a1b",
        "merchantIdentifier": text("merchantIdentifier"), "domainName": text("initiativeContext"),
        "displayName": text("displayName"), "signature": "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIID",
        "operationalAnalyticsIdentifier": "Paygate:fake", "retries": 0,
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct MintRequest {
    processing_public_key: String,
    merchant_identifier: String,
    amount: i64,
    currency_numeric: String,
    device_account_number: Option<String>,
    cryptogram: Option<String>,
    eci: Option<String>,
    data_type: Option<String>,
    signing_time: Option<i64>,
    /// `impostor`: signed by a chain with Apple's names and other keys.
    #[serde(default)]
    chain: Option<String>,
}

async fn mint(State(apple): State<Shared>, Json(request): Json<MintRequest>) -> Response {
    use p256::pkcs8::DecodePublicKey;
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&request.processing_public_key) else {
        return (StatusCode::BAD_REQUEST, "processing_public_key is not base64").into_response();
    };
    let Ok(key) = p256::PublicKey::from_public_key_der(&der) else {
        return (StatusCode::BAD_REQUEST, "processing_public_key is not a P-256 SubjectPublicKeyInfo").into_response();
    };
    let count = {
        let mut minted = apple.minted.lock().unwrap_or_else(|p| p.into_inner());
        *minted += 1;
        *minted
    };
    let ephemeral = format!("fake apple ephemeral {count} {}", now());
    let minting = Minting {
        chain: if request.chain.as_deref() == Some("impostor") { &apple.impostor } else { &apple.chain },
        processing_key: &key,
        merchant_identifier: &request.merchant_identifier,
        signing_time: request.signing_time.unwrap_or_else(now),
        ephemeral: &ephemeral,
    };
    let defaults = Payment::default();
    let payment = Payment {
        device_account_number: request.device_account_number.as_deref().unwrap_or(defaults.device_account_number),
        expiration: defaults.expiration,
        currency_numeric: &request.currency_numeric,
        amount: request.amount,
        cryptogram: request.cryptogram.as_deref().unwrap_or(defaults.cryptogram),
        eci: request.eci.as_deref().or(defaults.eci),
        data_type: request.data_type.as_deref().unwrap_or(defaults.data_type),
    };
    Json(tokens::mint(&minting, &payment)).into_response()
}

async fn root(State(apple): State<Shared>) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(&apple.chain.root.der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

async fn requests(State(apple): State<Shared>) -> Json<Value> {
    Json(json!({ "requests": *apple.requests.lock().unwrap_or_else(|p| p.into_inner()) }))
}
