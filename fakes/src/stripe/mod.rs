//! A faithful, stateful fake of Stripe's API for the calls Paygate makes (docs.stripe.com/api, pinned
//! `Stripe-Version`; shapes as in stripe-mock's fixtures; sources in `docs/processors/stripe.md`):
//!
//! - `Authorization: Bearer sk_test_…|sk_live_…` of a registered account, else 401;
//! - bodies `application/x-www-form-urlencoded` with bracketed keys; unknown parameters are refused;
//! - `POST /v1/payment_intents` (confirm with raw card data, only on accounts with that access),
//!   `GET /v1/payment_intents/{id}`, `GET /v1/payment_intents/search`, `POST …/{id}/capture`,
//!   `POST …/{id}/cancel`, `POST /v1/refunds`, `GET /v1/refunds/{id}`, `GET /v1/refunds?payment_intent=`;
//! - the balance's report runs and their files (`reporting`);
//! - errors as Stripe's error object with its statuses (402 card errors with the PaymentIntent embedded,
//!   400 `payment_intent_unexpected_state`, `amount_too_large`, `charge_already_refunded`, ...);
//! - `Idempotency-Key` on POSTs: the saved answer is replayed (`Idempotent-Replayed: true`); other
//!   parameters under the same key are a 400 `idempotency_error`; a concurrent one a 409. Validation
//!   failures and 5xx are not saved, as on Stripe.
//!
//! Control API (loopback, no key; not Stripe's): `POST /_fake/accounts {secret_key, raw_card_data, network_tokens}`,
//! `POST /_fake/accounts/{key}/faults {fault: slow|server_error|reset_before|reset_after, delay_ms?}`,
//! `GET /_fake/accounts/{key}/requests`, `POST /_fake/accounts/{key}/payouts`.

pub mod cards;
mod errors;
mod form;
mod intents;
mod refunds;
mod reporting;
mod state;
mod three_d_secure;

pub use crate::faults::Fault;
use crate::faults::broken;
pub use cards::TEST_CARDS;
pub use reporting::fee_of;

use crate::control::{self, Saved};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use errors::StripeError;
use form::Params;
use serde_json::{Value, json};
use state::{Account, Shared, lock};

/// The API versions this fake answers as (the one Paygate pins, and Stripe's account default, which is what
/// a request without the header gets).
pub const API_VERSIONS: &[&str] = &["2024-06-20"];

pub fn router() -> Router {
    router_with(Shared::default())
}

/// Serves the fake on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    accounts: Vec<(String, bool)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = Shared::default();
    for (key, raw_card_data) in accounts {
        let account = Account {
            raw_card_data,
            network_tokens: false,
            control: Default::default(),
            registered: state::now(),
            report_run_delay_ms: 0,
        };
        lock(&shared).accounts.insert(key, account);
    }
    let app = router_with(shared);
    axum::serve(crate::no_delay(listener), app).with_graceful_shutdown(shutdown).await
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
    #[serde(default = "yes")]
    raw_card_data: bool,
    /// Whether Stripe enabled network tokens for it (off by default, as on Stripe).
    #[serde(default)]
    network_tokens: bool,
    /// Where to send this account's webhooks, and how (signed with `Stripe-Signature`).
    #[serde(flatten)]
    webhooks: control::WebhookSettings,
    /// How long its report runs stay pending.
    #[serde(default)]
    report_run_delay_ms: u64,
}

fn yes() -> bool {
    true
}

async fn add_account(State(shared): State<Shared>, axum::Json(new): axum::Json<NewAccount>) -> StatusCode {
    if !(new.secret_key.starts_with("sk_test_") || new.secret_key.starts_with("sk_live_")) {
        return StatusCode::BAD_REQUEST;
    }
    let account = Account {
        raw_card_data: new.raw_card_data,
        network_tokens: new.network_tokens,
        control: new.webhooks.into_control(),
        registered: state::now(),
        report_run_delay_ms: new.report_run_delay_ms,
    };
    lock(&shared).accounts.insert(new.secret_key, account);
    StatusCode::CREATED
}

/// `POST /_fake/accounts/{key}/payouts`: Stripe's automatic payouts, made now (`{"payouts": [ids]}`).
async fn pay_out(State(shared): State<Shared>, axum::extract::Path(key): axum::extract::Path<String>) -> Response {
    let mut books = lock(&shared);
    if !books.accounts.contains_key(&key) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let payouts = reporting::pay_out(&mut books, &key);
    (StatusCode::CREATED, axum::Json(json!({ "payouts": payouts }))).into_response()
}

/// Every Stripe API request: authenticate, check the version, suffer the next fault, then run under the
/// idempotency rules. Runs in a task of its own so that, like Stripe, a request that has arrived is
/// processed to the end even when the caller hangs up.
async fn api(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    match tokio::spawn(handle(shared, method, uri, headers, body)).await {
        Ok(response) => response,
        Err(_) => StripeError::api_error().into_response(),
    }
}

async fn handle(shared: Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let key = header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned)).unwrap_or_default();
    let fault = {
        let mut books = lock(&shared);
        let Some(account) = books.accounts.get_mut(&key) else {
            return StripeError::unauthorized(&key).into_response();
        };
        account.control.arrive(method.as_str(), uri.path())
    };
    if let Some(version) = header("stripe-version")
        && !API_VERSIONS.contains(&version.as_str())
    {
        return StripeError::invalid_request_bare(&format!("Invalid Stripe API version: {version}")).into_response();
    }
    match fault {
        Some(Fault::ServerError) => return StripeError::api_error().into_response(),
        Some(Fault::RateLimited) => return StripeError::rate_limited().into_response(),
        Some(Fault::ResetBefore) => return broken(),
        Some(Fault::Slow { delay_ms }) => tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await,
        _ => {}
    }
    let params = if method == Method::GET {
        Params::parse(uri.query().unwrap_or("").as_bytes())
    } else {
        if body.is_empty() || header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        {
            Params::parse(&body)
        } else {
            return StripeError::invalid_request_bare(
                "Invalid request: Stripe takes application/x-www-form-urlencoded request bodies",
            )
            .into_response();
        }
    };
    let idempotency_key = (method == Method::POST).then(|| header("idempotency-key")).flatten();
    let canonical = format!("{method} {} {}", uri.path(), params.canonical());
    if let Some(idem) = &idempotency_key {
        let mut books = lock(&shared);
        let slot = (key.clone(), idem.clone());
        match books.idempotency.get(&slot).cloned() {
            None => {
                books.idempotency.insert(slot, Saved::InFlight { canonical: canonical.clone() });
            }
            Some(Saved::Done { canonical: first, status, body }) if first == canonical => {
                let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
                response.headers_mut().insert("idempotent-replayed", "true".parse().unwrap());
                return response;
            }
            Some(Saved::InFlight { canonical: first }) if first == canonical => {
                return StripeError::idempotency_in_flight().into_response();
            }
            Some(_) => return StripeError::idempotency_mismatch(idem).into_response(),
        }
    }
    if let ("GET", ["", "v1", "files", id, "contents"]) =
        (method.as_str(), uri.path().split('/').collect::<Vec<_>>().as_slice())
    {
        return match reporting::contents(&lock(&shared), &key, id) {
            Ok(csv) => ([("content-type", "text/csv")], csv.to_owned()).into_response(),
            Err(error) => error.into_response(),
        };
    }
    // Report files and the 3-D Secure page are served from this host (Stripe's are on files.stripe.com and
    // hooks.stripe.com).
    let origin = format!("http://{}", header("host").unwrap_or_default());
    let (result, outbox, delivery) = {
        let mut books = lock(&shared);
        let result = dispatch(&mut books, &key, &method, uri.path(), &params, &origin);
        let outbox = std::mem::take(&mut books.outbox);
        let delivery = books.accounts.get(&key).map(|a| a.control.webhooks.clone()).unwrap_or_default();
        let numbered: Vec<(String, &'static str, Value)> =
            outbox.into_iter().map(|(kind, object)| (books.id("evt"), kind, object)).collect();
        (result, numbered, delivery)
    };
    deliver(&key, outbox, &delivery, idempotency_key.as_deref());
    let (status, body, saved) = match result {
        Ok((status, body)) => (status, body, true),
        Err(error) => {
            // As on Stripe: a request refused by validation (a parameter) or by Stripe's own failure is not
            // saved; a card error or a state refusal is an outcome of execution and is.
            let code = error.body.get("code").and_then(Value::as_str).unwrap_or("");
            let saved = error.status == StatusCode::PAYMENT_REQUIRED
                || matches!(code, "payment_intent_unexpected_state" | "charge_already_refunded" | "amount_too_large");
            (error.status.as_u16(), error.to_json(), saved)
        }
    };
    if let Some(idem) = idempotency_key {
        let mut books = lock(&shared);
        let slot = (key.clone(), idem);
        if saved {
            books.idempotency.insert(slot, Saved::Done { canonical, status, body: body.clone() });
        } else {
            books.idempotency.remove(&slot);
        }
    }
    if fault == Some(Fault::ResetAfter) {
        return broken();
    }
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// Sends the account's events as Stripe's webhooks, signed with `Stripe-Signature`.
fn deliver(
    key: &str,
    outbox: Vec<(String, &'static str, Value)>,
    delivery: &crate::webhooks::Delivery,
    idempotency_key: Option<&str>,
) {
    for (id, kind, object) in outbox {
        let event = json!({ "id": id, "object": "event", "api_version": API_VERSIONS[0], "created": state::now(),
                            "livemode": key.starts_with("sk_live_"), "type": kind, "data": { "object": object },
                            "pending_webhooks": 1, "request": { "id": null, "idempotency_key": idempotency_key } });
        let secret = delivery.secret.clone();
        crate::webhooks::send(delivery, 0, event.to_string(), "stripe-signature", move |body| {
            let t = state::now().to_string();
            format!("t={t},v1={}", crate::webhooks::hmac_hex(&secret, &[t.as_bytes(), b".", body.as_bytes()]))
        });
    }
}

fn dispatch(
    books: &mut state::Books,
    key: &str,
    method: &Method,
    path: &str,
    params: &Params,
    files_origin: &str,
) -> Result<(u16, Value), StripeError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => intents::create(books, key, params, files_origin),
        ("GET", ["v1", "payment_intents", "search"]) => intents::search(books, key, params.required("query")?),
        ("GET", ["v1", "payment_intents", id]) => intents::retrieve(books, key, id),
        ("POST", ["v1", "payment_intents", id, "capture"]) => intents::capture(books, key, id, params),
        ("POST", ["v1", "payment_intents", id, "cancel"]) => intents::cancel(books, key, id, params),
        ("POST", ["v1", "refunds"]) => refunds::create(books, key, params),
        ("GET", ["v1", "refunds"]) => refunds::list(books, key, params.required("payment_intent")?),
        ("GET", ["v1", "refunds", id]) => refunds::retrieve(books, key, id),
        ("GET", ["v1", "reporting", "report_types", id]) => reporting::report_type(books, key, id),
        ("POST", ["v1", "reporting", "report_runs"]) => reporting::create_run(books, key, params),
        ("GET", ["v1", "reporting", "report_runs", id]) => reporting::retrieve_run(books, key, id, files_origin),
        _ => Err(StripeError::invalid_request_bare(&format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at \
             https://support.stripe.com/."
        ))
        .with_status(StatusCode::NOT_FOUND)),
    }
}
