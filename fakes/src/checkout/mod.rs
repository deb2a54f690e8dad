//! A faithful, stateful fake of Checkout.com's Unified Payments API for the calls Paygate makes
//! (`docs/processors/checkout.md` lists the sources and what is unverified):
//!
//! - `Authorization: Bearer sk_sbox_…` (sandbox) or `sk_…` of a registered account, else 401 with no body;
//! - JSON bodies; `Cko-Idempotency-Key` replays the first answer (another body under the key: 409);
//! - `POST /payments` with a `card` or a pre-decrypted wallet's `network_token` source (a cryptogram authorizes
//!   once; its second use is declined `20087`) → 201, approved or declined (`approved: false`, a 20xxx `response_code`); 422
//!   `request_invalid` with `error_codes` for bad requests; a Mada card is always captured (no separate
//!   authorization on Mada), and one that sends `capture` or `capture_on` (which the Mada docs say not to send)
//!   is refused with 422 `mada_capture_not_supported` (stricter than the real service, which captures anyway);
//! - `POST /payments/{id}/captures|voids|refunds` → 202 `{action_id}`: processed after the account's
//!   `action_delay_ms`; until then balances and `GET /payments/{id}/actions` do not show them; 403 for an
//!   action the payment's state does not allow (a void on Mada, a second capture), 422
//!   `capture_value_greater_than_authorized` / `refund_amount_exceeds_balance`;
//! - `GET /payments/{id}`, `GET /payments/{id}/actions`, `GET /payments?reference=…`;
//! - webhooks signed with `Cko-Signature`; payouts and their reports (`reports`).
//!
//! Control API (not Checkout.com's): `POST /_fake/accounts {secret_key, action_delay_ms}`,
//! `POST /_fake/accounts/{key}/faults`, `GET /_fake/accounts/{key}/requests`,
//! `POST /_fake/accounts/{key}/payouts` (pays out now: `{"payouts": [ids]}`).

pub mod payments;
mod reports;
mod state;
mod three_d_secure;

pub use payments::{CAPTURE_DECLINED_CARD, TEST_CARDS};
pub use reports::fee_of;

use crate::control::{self, Saved};
use crate::faults::{Fault, broken};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payments::Refused;
use serde_json::{Value, json};
use state::{Account, ActionKind, Outgoing, Shared, lock};

pub fn router() -> Router {
    router_with(Shared::default())
}

/// Serves the fake on `listener` until `shutdown` completes, with these secret keys registered.
pub async fn serve(
    listener: tokio::net::TcpListener,
    secret_keys: Vec<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = Shared::default();
    for key in secret_keys {
        lock(&shared).accounts.insert(key, Account::default());
    }
    axum::serve(crate::no_delay(listener), router_with(shared)).with_graceful_shutdown(shutdown).await
}

fn router_with(shared: Shared) -> Router {
    Router::new()
        .route("/_fake/accounts", post(add_account))
        .route("/_fake/accounts/{key}/faults", post(control::add_fault::<state::Books>))
        .route("/_fake/accounts/{key}/requests", get(control::requests_of::<state::Books>))
        .route("/_fake/accounts/{key}/payouts", post(pay_out))
        .route("/_fake/3ds/{id}", get(three_d_secure::page).post(three_d_secure::decide))
        .route("/health", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .fallback(api)
        .with_state(shared)
}

#[derive(serde::Deserialize)]
struct NewAccount {
    secret_key: String,
    #[serde(default)]
    action_delay_ms: u64,
    /// How long its 3-D Secure challenges wait before their session expires (tests shorten it).
    #[serde(default)]
    three_ds_session_ms: Option<u64>,
    /// Where to send this account's webhooks, and how (signed with `Cko-Signature`).
    #[serde(flatten)]
    webhooks: control::WebhookSettings,
}

async fn add_account(State(shared): State<Shared>, axum::Json(new): axum::Json<NewAccount>) -> StatusCode {
    if !new.secret_key.starts_with("sk_") {
        return StatusCode::BAD_REQUEST;
    }
    let account = Account {
        action_delay_ms: new.action_delay_ms,
        control: new.webhooks.into_control(),
        three_ds_session_ms: new.three_ds_session_ms,
    };
    lock(&shared).accounts.insert(new.secret_key, account);
    StatusCode::CREATED
}

async fn pay_out(State(shared): State<Shared>, axum::extract::Path(key): axum::extract::Path<String>) -> Response {
    let mut books = lock(&shared);
    if !books.accounts.contains_key(&key) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let payouts = reports::pay_out(&mut books, &key);
    (StatusCode::CREATED, axum::Json(json!({ "payouts": payouts }))).into_response()
}

/// Like the real service, a request that has arrived is processed to the end even if the caller hangs up.
async fn api(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    match tokio::spawn(handle(shared, method, uri, headers, body)).await {
        Ok(response) => response,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_null() { status.into_response() } else { (status, axum::Json(body)).into_response() }
}

async fn handle(shared: Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let key = header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned)).unwrap_or_default();
    let fault = {
        let mut books = lock(&shared);
        let Some(account) = books.accounts.get_mut(&key) else {
            // Checkout.com answers an unknown key with a bare 401.
            return StatusCode::UNAUTHORIZED.into_response();
        };
        account.control.arrive(method.as_str(), uri.path())
    };
    match fault {
        Some(Fault::ServerError) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        // Checkout.com's rate limit: a bare 429, nothing processed.
        Some(Fault::RateLimited) => return StatusCode::TOO_MANY_REQUESTS.into_response(),
        Some(Fault::ResetBefore) => return broken(),
        Some(Fault::Slow { delay_ms }) => tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await,
        _ => {}
    }
    let json: Value = if method == Method::POST {
        match serde_json::from_slice(&body) {
            Ok(value @ Value::Object(_)) => value,
            _ if body.is_empty() => json!({}),
            _ => return answer(422, payments::invalid(&["request_body_malformed"]).body),
        }
    } else {
        Value::Null
    };
    let idempotency_key = (method == Method::POST).then(|| header("cko-idempotency-key")).flatten();
    let canonical = format!("{method} {} {json}", uri.path());
    if let Some(idem) = &idempotency_key {
        let mut books = lock(&shared);
        let slot = (key.clone(), idem.clone());
        match books.idempotency.get(&slot).cloned() {
            None => {
                books.idempotency.insert(slot, Saved::InFlight { canonical: canonical.clone() });
            }
            Some(Saved::Done { canonical: first, status, body }) if first == canonical => return answer(status, body),
            Some(Saved::InFlight { canonical: first }) if first == canonical => {
                return answer(409, json!({ "error_type": "request_in_progress" }));
            }
            // **[unverified]** the status Checkout.com gives a reused key with another body.
            Some(_) => return answer(409, json!({ "error_type": "idempotency_key_reused" })),
        }
    }
    if let ("GET", ["", "reports", id, "files", file]) =
        (method.as_str(), uri.path().split('/').collect::<Vec<_>>().as_slice())
    {
        return match reports::file(&lock(&shared), &key, id, file) {
            Some(csv) => ([("content-type", "text/csv")], csv.to_owned()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let origin = format!("http://{}", header("host").unwrap_or_default());
    let (result, outgoing) = {
        let mut books = lock(&shared);
        let result = dispatch(&mut books, &key, &method, &uri, &json, &origin);
        let outgoing: Vec<Outgoing> = std::mem::take(&mut books.outbox).into_iter().map(|(_, event)| event).collect();
        (result, books.accounts.get(&key).cloned().map(|account| (account, outgoing)))
    };
    if let Some((account, outgoing)) = outgoing {
        send_webhooks(&account, outgoing);
    }
    let (status, body) = match result {
        Ok(done) => done,
        Err(Refused { status, body }) => (status, body),
    };
    if let Some(idem) = idempotency_key {
        let mut books = lock(&shared);
        let slot = (key.clone(), idem);
        // Validation refusals are not kept: the same key may carry a corrected request.
        if status == 422 {
            books.idempotency.remove(&slot);
        } else {
            books.idempotency.insert(slot, Saved::Done { canonical, status, body: body.clone() });
        }
    }
    if fault == Some(Fault::ResetAfter) {
        return broken();
    }
    answer(status, body)
}

/// Sends each webhook once its action is processed, signed with `Cko-Signature` (hex HMAC-SHA256 of the body).
pub(crate) fn send_webhooks(account: &Account, outgoing: Vec<Outgoing>) {
    for event in outgoing {
        let secret = account.control.webhooks.secret.clone();
        let wait = event.at_ms.saturating_sub(state::now_ms());
        crate::webhooks::send(&account.control.webhooks, wait, event.body.to_string(), "cko-signature", move |body| {
            crate::webhooks::hmac_hex(&secret, &[body.as_bytes()])
        });
    }
}

fn dispatch(
    books: &mut state::Books,
    key: &str,
    method: &Method,
    uri: &Uri,
    body: &Value,
    origin: &str,
) -> Result<(u16, Value), Refused> {
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["payments"]) => payments::create(books, key, body, origin),
        ("GET", ["payments"]) => {
            let reference = uri
                .query()
                .and_then(|q| {
                    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "reference").map(|(_, v)| v.into_owned())
                })
                .ok_or_else(|| payments::invalid(&["reference_required"]))?;
            payments::by_reference(books, key, &reference)
        }
        ("GET", ["payments", id]) => payments::retrieve(books, key, id),
        ("GET", ["reports"]) => reports::list(books, key, uri.query().unwrap_or(""), origin),
        ("GET", ["payments", id, "actions"]) => payments::actions(books, key, id),
        ("POST", ["payments", id, "captures"]) => payments::act(books, key, id, ActionKind::Capture, body),
        ("POST", ["payments", id, "voids"]) => payments::act(books, key, id, ActionKind::Void, body),
        ("POST", ["payments", id, "refunds"]) => payments::act(books, key, id, ActionKind::Refund, body),
        _ => Err(Refused { status: 404, body: Value::Null }),
    }
}
