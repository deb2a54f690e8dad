//! A test double of the edge's vault-forward endpoint (core's `internal::VaultForwardRequest` and
//! `VaultForwardAnswer`), for the backend's own tests and benchmark; the edge stack tests run the real one. It holds test cards by token, checks
//! the backend's signature with core's verifier, enforces single use and the merchant/mode owning the
//! token, fills the placeholders, forwards to the sandbox acquirer and scrubs the card number from
//! the answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use paygate_core::card::CardNumber;
use paygate_core::id::{TokenId, TokenKind};
use paygate_core::internal::{self, CallResult, CardSummary, VaultForwardAnswer, VaultForwardRequest};
use paygate_core::signature::edge::{EdgeSecret, SignedRequest};
use paygate_core::signature::keyed_hash::card_fingerprint;
use paygate_ledger::ids::{new_id, unix_seconds_now};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const FINGERPRINT_KEY: &[u8] = b"vault-double-fingerprint-key-32by";

#[derive(Clone)]
struct StoredCard {
    number: String,
    exp_month: u32,
    exp_year: u32,
    cvc: String,
    /// A wallet's device card (as the edge opens an Apple Pay token): its cryptogram, ECI and what was approved.
    wallet: Option<(String, String, internal::Wallet)>,
    merchant_id: String,
    mode: String,
    used: bool,
}

#[derive(Clone)]
struct Shared {
    secret: Arc<EdgeSecret>,
    /// The backend the edge's processor-event route forwards to (set once the app listens).
    backend: Arc<Mutex<Option<String>>>,
    /// Processor base URLs by destination name, as the edge's allow-list has them.
    destinations: Arc<Mutex<HashMap<String, String>>>,
    cards: Arc<Mutex<HashMap<String, StoredCard>>>,
    http: reqwest::Client,
}

#[derive(Clone)]
pub struct VaultDouble {
    pub url: String,
    shared: Shared,
}

impl VaultDouble {
    pub async fn spawn(secret: EdgeSecret, destinations: HashMap<String, String>) -> Self {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(2)).build().unwrap();
        let shared = Shared {
            secret: Arc::new(secret),
            backend: Arc::default(),
            destinations: Arc::new(Mutex::new(destinations)),
            cards: Arc::default(),
            http,
        };
        let app = Router::new()
            .route(internal::VAULT_FORWARD_PATH, post(forward))
            .route(internal::VAULT_DESCRIBE_PATH, post(describe))
            .route("/v1/processor_events/{connector}/{account}", post(processor_event))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(paygate_ledger::no_delay(listener), app).await });
        VaultDouble { url, shared }
    }

    /// Where the edge's processor-event route forwards to.
    pub fn set_backend(&self, url: &str) {
        *self.shared.backend.lock().unwrap() = Some(url.to_owned());
    }

    /// The URL a processor delivers its webhooks for `account` to (the edge's route, on this double).
    pub fn processor_events_url(&self, connector: &str, account: &str) -> String {
        format!("{}/v1/processor_events/{connector}/{account}", self.url)
    }

    /// Points processor `name` somewhere else (a closed port, to refuse connections).
    pub fn set_destination(&self, name: &str, url: &str) {
        self.shared.destinations.lock().unwrap().insert(name.to_owned(), url.to_owned());
    }

    /// Vaults a test card for a merchant and mode; returns its single-use token.
    /// A token of an Apple Pay device card, as the edge vaults an opened token: the device account number, its
    /// cryptogram (JSON-safe base64) and ECI 07, approved for `amount` `currency`.
    pub fn tokenize_apple_pay(
        &self,
        number: &str,
        cryptogram: &str,
        (amount, currency): (i64, &str),
        merchant_id: &str,
    ) -> String {
        let token = self.tokenize(number, merchant_id, "test");
        let wallet = internal::Wallet { kind: "apple_pay".into(), amount, currency: currency.into() };
        let mut cards = self.shared.cards.lock().unwrap();
        let card = cards.get_mut(&token).unwrap();
        card.cvc = String::new();
        card.wallet = Some((cryptogram.to_owned(), "07".to_owned(), wallet));
        token
    }

    pub fn tokenize(&self, number: &str, merchant_id: &str, mode: &str) -> String {
        let token = new_id::<TokenKind>().to_string();
        let card = StoredCard {
            number: number.to_owned(),
            exp_month: 12,
            exp_year: 2034,
            cvc: if number.starts_with("37") { "1234".into() } else { "123".into() },
            wallet: None,
            merchant_id: merchant_id.to_owned(),
            mode: mode.to_owned(),
            used: false,
        };
        self.shared.cards.lock().unwrap().insert(token.clone(), card);
        token
    }
}

fn problem(status: StatusCode, code: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "status": status.as_u16(), "code": code })))
}

/// The edge's processor-event route: the body and signature header forwarded untouched, signed as the edge.
async fn processor_event(
    State(shared): State<Shared>,
    axum::extract::Path((connector, account)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let header = if connector == "stripe" { "stripe-signature" } else { "cko-signature" };
    let signature = headers.get(header).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let forward = internal::ProcessorEventForward {
        connector,
        account,
        signature,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let payload = serde_json::to_vec(&forward).unwrap();
    let Some(backend) = shared.backend.lock().unwrap().clone() else {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    };
    let request_id = new_id::<paygate_core::id::RequestKind>().to_string();
    let signed = SignedRequest {
        timestamp: unix_seconds_now(),
        method: "POST",
        path: internal::PROCESSOR_EVENTS_PATH,
        body: &payload,
        merchant_id: "",
        mode: "",
        request_id: &request_id,
        key_id: "",
    };
    let signature = signed.sign(&[&shared.secret]).unwrap();
    let url = format!("{backend}{}", internal::PROCESSOR_EVENTS_PATH);
    let mut request = shared.http.post(url).header("content-type", "application/json");
    for (name, value) in signed.headers(signature) {
        request = request.header(name, value);
    }
    match request.body(payload).send().await {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            (status, Json(answer.json().await.unwrap_or(Value::Null)))
        }
        Err(_) => problem(StatusCode::BAD_GATEWAY, "upstream_error"),
    }
}

/// The card's safe summary, as the edge's vault keeps it.
fn summary_of(card: &StoredCard) -> CardSummary {
    let parsed = CardNumber::parse(&card.number).unwrap();
    CardSummary {
        brand: parsed.brand().as_str().to_owned(),
        last4: parsed.last4().to_owned(),
        bin: parsed.bin6().to_owned(),
        exp_month: card.exp_month as i16,
        exp_year: card.exp_year as i16,
        fingerprint: card_fingerprint(FINGERPRINT_KEY, parsed.expose_digits()),
        brands: parsed.brands().all().map(|b| b.as_str().to_owned()).collect(),
        issuing_country: parsed.issuing_country().map(str::to_owned),
        wallet: card.wallet.as_ref().map(|(_, _, wallet)| wallet.clone()),
    }
}

/// Checks the edge signature over `path` for the headers' merchant and mode; answers them.
fn verified(shared: &Shared, headers: &HeaderMap, path: &str, body: &[u8]) -> Option<(String, String)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (merchant, mode) = (header("paygate-merchant"), header("paygate-mode"));
    let signed = SignedRequest {
        timestamp: header("paygate-timestamp").parse().unwrap_or(0),
        method: "POST",
        path,
        body,
        merchant_id: &merchant,
        mode: &mode,
        request_id: &header("request-id"),
        key_id: &header("paygate-key-id"),
    };
    signed.verify(&[&shared.secret], &header("paygate-signature"), unix_seconds_now()).ok()?;
    Some((merchant, mode))
}

async fn describe(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, Json<Value>) {
    let Some((merchant, mode)) = verified(&shared, &headers, internal::VAULT_DESCRIBE_PATH, &body) else {
        return problem(StatusCode::UNAUTHORIZED, "signature_invalid");
    };
    let Ok(ask) = serde_json::from_slice::<internal::TokenRef>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "parameter_invalid");
    };
    let cards = shared.cards.lock().unwrap();
    match cards.get(&ask.token) {
        Some(card) if card.merchant_id == merchant && card.mode == mode && !card.used => {
            (StatusCode::OK, Json(serde_json::to_value(summary_of(card)).unwrap()))
        }
        Some(card) if card.used && card.merchant_id == merchant && card.mode == mode => {
            problem(StatusCode::BAD_REQUEST, "token_used")
        }
        _ => problem(StatusCode::NOT_FOUND, "resource_not_found"),
    }
}

async fn forward(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, Json<Value>) {
    let Some((merchant, mode)) = verified(&shared, &headers, internal::VAULT_FORWARD_PATH, &body) else {
        return problem(StatusCode::UNAUTHORIZED, "signature_invalid");
    };
    let Ok(request) = serde_json::from_slice::<VaultForwardRequest>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "parameter_invalid");
    };
    let token = request.token.as_str();
    if TokenId::parse(token).is_err() {
        return problem(StatusCode::BAD_REQUEST, "parameter_invalid");
    }
    let card = {
        let mut cards = shared.cards.lock().unwrap();
        match cards.get_mut(token) {
            Some(card) if card.merchant_id == merchant && card.mode == mode && !card.used => {
                card.used = true;
                card.clone()
            }
            Some(card) if card.used => return problem(StatusCode::BAD_REQUEST, "token_used"),
            _ => return problem(StatusCode::NOT_FOUND, "resource_not_found"),
        }
    };
    // As the edge does: every call is checked before any is sent; then the first is sent, and the next
    // only when the one before certainly never reached its processor.
    let destinations = shared.destinations.lock().unwrap().clone();
    for call in &request.calls {
        if call.refusal().is_some() || !destinations.contains_key(&call.destination) {
            return problem(StatusCode::BAD_REQUEST, "parameter_invalid");
        }
    }
    let mut tried = Vec::new();
    for call in &request.calls {
        let filled = call
            .body
            .replace(internal::PLACEHOLDER_NUMBER, &card.number)
            .replace(internal::PLACEHOLDER_EXP_MONTH, &card.exp_month.to_string())
            .replace(internal::PLACEHOLDER_EXP_YEAR, &card.exp_year.to_string())
            .replace(internal::PLACEHOLDER_CVC, &card.cvc)
            .replace(internal::PLACEHOLDER_CRYPTOGRAM, card.wallet.as_ref().map_or("", |w| w.0.as_str()))
            .replace(internal::PLACEHOLDER_ECI, card.wallet.as_ref().map_or("", |w| w.1.as_str()));
        let url = format!("{}{}", destinations[&call.destination], call.path);
        let mut outbound = shared.http.post(url).header("content-type", &call.content_type).body(filled);
        for (name, value) in &call.headers {
            outbound = outbound.header(name, value);
        }
        let result = match outbound.send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.text().await {
                    Ok(text) => CallResult::Answered { status, body: text.replace(&card.number, "[scrubbed]") },
                    Err(_) => CallResult::Unknown { reason: "the answer broke off".into() },
                }
            }
            Err(error) if error.is_connect() => CallResult::NotSent { reason: "connection failed".into() },
            Err(_) => CallResult::Unknown { reason: "no answer".into() },
        };
        let go_on = result.lets_next_go(&call.destination);
        tried.push(result);
        if !go_on {
            break;
        }
    }
    let summary = summary_of(&card);
    let answer = VaultForwardAnswer { tried, card: Some(summary) };
    (StatusCode::OK, Json(serde_json::to_value(answer).unwrap()))
}
