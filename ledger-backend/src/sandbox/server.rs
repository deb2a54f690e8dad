//! The sandbox acquirer's HTTP server: in-memory authorizations and refunds behind one mutex (a test
//! double's throughput is not the point; its determinism is).

use super::cards::{Behaviour, behaviour_of};
use super::reports::{INTERVAL_MAX_SECONDS, Movement, MovementKind};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long the slow test card makes the caller wait.
pub const SLOW_ANSWER_MS: u64 = 3_000;

#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Authorization {
    pub(super) id: String,
    /// The acquirer's merchant (our sandbox account's id) and our charge id, as the caller sent them.
    pub(super) merchant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) charge: Option<String>,
    pub(super) reference: String,
    pub(super) status: &'static str,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) captured: i64,
    pub(super) refunded: i64,
    pub(super) voided: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) decline_code: Option<&'static str>,
    /// Made with the card whose refunds the acquirer refuses.
    #[serde(skip)]
    pub(super) refunds_fail: bool,
    /// 3-D Secure: `challenge` or `frictionless`, when the card asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) authentication: Option<&'static str>,
    /// While `requires_action`: the sandbox's authentication page for the shopper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) redirect_url: Option<String>,
    /// Where the authentication page sends the shopper back (shown, as processors show theirs), and whether
    /// approval also captures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) return_url: Option<String>,
    #[serde(skip)]
    pub(super) capture_requested: bool,
}

#[derive(Default)]
pub(super) struct Books {
    pub(super) authorizations: HashMap<String, Authorization>,
    by_reference: HashMap<String, String>,
    /// Each refund's answer by our reference, replayed when the same refund is sent again.
    refunds_by_reference: HashMap<String, (StatusCode, Value)>,
    /// Captures and refunds, for the merchants' reports.
    movements: Vec<Movement>,
    /// Network-token cryptograms seen: each is good for one authorization only.
    cryptograms: std::collections::HashSet<String>,
    next: u64,
}

impl Books {
    pub(super) fn moved(
        &mut self,
        auth: &Authorization,
        kind: MovementKind,
        amount: i64,
        row_id: String,
        refund: Option<String>,
    ) {
        self.movements.push(Movement {
            row_id,
            merchant: auth.merchant.clone(),
            kind,
            charge: auth.charge.clone(),
            refund,
            authorization: auth.id.clone(),
            currency: auth.currency.clone(),
            amount,
            at: now(),
        });
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub(super) type Shared = Arc<Mutex<Books>>;

pub fn router() -> Router {
    Router::new()
        .route("/authorizations", post(authorize).get(find_by_reference))
        .route("/authorizations/{id}", get(find_by_id))
        .route("/authorizations/{id}/capture", post(capture))
        .route("/authorizations/{id}/void", post(void))
        .route("/refunds", post(refund).get(find_refund))
        .route("/reports/daily", get(daily_report))
        .route("/authentications/{id}", get(super::authentication::page).post(super::authentication::decide))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .with_state(Shared::default())
}

#[derive(serde::Deserialize)]
struct AuthorizeBody {
    merchant: String,
    #[serde(default)]
    charge: Option<String>,
    reference: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    capture: bool,
    /// Where a 3-D Secure authentication sends the shopper back (the challenge card needs one).
    #[serde(default)]
    return_url: Option<String>,
    /// A card, or a wallet's network token (a device card with its one-time cryptogram): exactly one.
    card: Option<CardBody>,
    network_token: Option<NetworkTokenBody>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)] // the expiry and ECI are accepted as an acquirer would; the number and cryptogram decide.
struct NetworkTokenBody {
    number: String,
    exp_month: u32,
    exp_year: u32,
    cryptogram: String,
    #[serde(default)]
    eci: Option<String>,
    #[serde(default)]
    wallet: Option<String>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)] // expiry and CVC are accepted as a real acquirer would; only the number decides.
struct CardBody {
    number: String,
    exp_month: u32,
    exp_year: u32,
    #[serde(default)]
    cvc: String,
}

type Answer = (StatusCode, Json<Value>);

fn answer(status: StatusCode, body: Value) -> Answer {
    (status, Json(body))
}

/// Like a real acquirer, once a request has arrived it is processed to the end, even if the caller
/// hangs up meanwhile (axum would drop the handler): the work runs in a task of its own.
async fn authorize(State(books): State<Shared>, headers: HeaderMap, Json(body): Json<AuthorizeBody>) -> Answer {
    // The authentication page is served here, at the address the caller reached us by.
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_owned();
    match tokio::spawn(process_authorization(books, body, host)).await {
        Ok(answer) => answer,
        Err(_) => answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "processing_error" })),
    }
}

async fn process_authorization(books: Shared, body: AuthorizeBody, host: String) -> Answer {
    let number = match (&body.card, &body.network_token) {
        (Some(card), None) => card.number.clone(),
        (None, Some(token)) if !token.cryptogram.is_empty() => token.number.clone(),
        (None, Some(_)) => return answer(StatusCode::BAD_REQUEST, json!({ "error": "cryptogram_required" })),
        _ => return answer(StatusCode::BAD_REQUEST, json!({ "error": "card_or_network_token_required" })),
    };
    let behaviour = behaviour_of(&number);
    match behaviour {
        Behaviour::ProcessingError => {
            return answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "processing_error" }));
        }
        Behaviour::Slow => tokio::time::sleep(std::time::Duration::from_millis(SLOW_ANSWER_MS)).await,
        _ => {}
    }
    if body.amount <= 0 {
        return answer(StatusCode::BAD_REQUEST, json!({ "error": "invalid_amount" }));
    }
    if body.merchant.is_empty() {
        return answer(StatusCode::BAD_REQUEST, json!({ "error": "merchant_required" }));
    }
    let mut books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Idempotent by reference: a retried attempt gets the first answer.
    if let Some(existing) = books.by_reference.get(&body.reference).and_then(|id| books.authorizations.get(id)) {
        return answer(StatusCode::CREATED, json!(existing));
    }
    books.next += 1;
    let id = format!("auth_{:08}", books.next);
    // A cryptogram authorizes once: a second payment with it is declined, as an issuer would.
    let reused = body.network_token.as_ref().is_some_and(|t| !books.cryptograms.insert(t.cryptogram.clone()));
    let return_url = body.return_url.filter(|url| url.starts_with("http://") || url.starts_with("https://"));
    let declined = match behaviour {
        _ if reused => Some("cryptogram_reused"),
        Behaviour::Decline(code) => Some(code),
        Behaviour::Challenge if return_url.is_none() => Some("authentication_required"),
        _ => None,
    };
    let challenged = behaviour == Behaviour::Challenge && declined.is_none();
    let status = match () {
        _ if declined.is_some() => "declined",
        _ if challenged => "requires_action",
        _ => "approved",
    };
    let authorization = Authorization {
        id: id.clone(),
        merchant: body.merchant,
        charge: body.charge,
        reference: body.reference.clone(),
        status,
        amount: body.amount,
        currency: body.currency,
        captured: if status == "approved" && body.capture { body.amount } else { 0 },
        refunded: 0,
        voided: false,
        decline_code: declined,
        refunds_fail: behaviour == Behaviour::RefundsFail,
        authentication: match behaviour {
            Behaviour::Challenge => Some("challenge"),
            Behaviour::Frictionless => Some("frictionless"),
            _ => None,
        },
        redirect_url: challenged.then(|| format!("http://{host}/authentications/{id}")),
        return_url,
        capture_requested: body.capture,
    };
    books.by_reference.insert(body.reference, id.clone());
    if authorization.captured > 0 {
        books.moved(&authorization, MovementKind::Capture, authorization.captured, format!("cap_{id}"), None);
    }
    books.authorizations.insert(id, authorization.clone());
    answer(StatusCode::CREATED, json!(authorization))
}

#[derive(serde::Deserialize)]
struct ReferenceQuery {
    reference: String,
}

async fn find_by_reference(State(books): State<Shared>, Query(query): Query<ReferenceQuery>) -> Answer {
    let books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match books.by_reference.get(&query.reference).and_then(|id| books.authorizations.get(id)) {
        Some(found) => answer(StatusCode::OK, json!(found)),
        None => answer(StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
    }
}

async fn find_by_id(State(books): State<Shared>, Path(id): Path<String>) -> Answer {
    let books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match books.authorizations.get(&id) {
        Some(found) => answer(StatusCode::OK, json!(found)),
        None => answer(StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
    }
}

#[derive(serde::Deserialize)]
struct AmountBody {
    amount: i64,
}

async fn capture(State(books): State<Shared>, Path(id): Path<String>, Json(body): Json<AmountBody>) -> Answer {
    let mut books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(auth) = books.authorizations.get_mut(&id) else {
        return answer(StatusCode::NOT_FOUND, json!({ "error": "not_found" }));
    };
    if auth.status != "approved" || auth.voided || auth.captured > 0 || body.amount <= 0 || body.amount > auth.amount {
        return answer(StatusCode::CONFLICT, json!({ "error": "not_capturable" }));
    }
    auth.captured = body.amount;
    let auth = auth.clone();
    books.moved(&auth, MovementKind::Capture, auth.captured, format!("cap_{id}"), None);
    answer(StatusCode::OK, json!(auth))
}

async fn void(State(books): State<Shared>, Path(id): Path<String>) -> Answer {
    let mut books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(auth) = books.authorizations.get_mut(&id) else {
        return answer(StatusCode::NOT_FOUND, json!({ "error": "not_found" }));
    };
    if auth.status == "requires_action" {
        // Cancelled while the shopper had not authenticated: the page will refuse a late decision.
        auth.status = "declined";
        auth.decline_code = Some("authentication_abandoned");
        auth.redirect_url = None;
        auth.voided = true;
        return answer(StatusCode::OK, json!(auth));
    }
    if auth.status != "approved" || auth.captured > 0 {
        return answer(StatusCode::CONFLICT, json!({ "error": "not_voidable" }));
    }
    auth.voided = true;
    answer(StatusCode::OK, json!(auth))
}

/// A refund by our reference, as its first answer had it (404 when none was made).
async fn find_refund(State(books): State<Shared>, Query(query): Query<ReferenceQuery>) -> Answer {
    let books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match books.refunds_by_reference.get(&query.reference) {
        Some((status, answer)) if status.is_success() => (StatusCode::OK, Json(answer.clone())),
        Some((_, answer)) => (StatusCode::OK, Json(json!({ "status": "failed", "error": answer["error"] }))),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))),
    }
}

#[derive(serde::Deserialize)]
struct RefundBody {
    authorization: String,
    amount: i64,
    reference: String,
}

async fn refund(State(books): State<Shared>, Json(body): Json<RefundBody>) -> Answer {
    let mut guard = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let books = &mut *guard;
    if let Some((status, existing)) = books.refunds_by_reference.get(&body.reference) {
        return answer(*status, existing.clone());
    }
    let Some(auth) = books.authorizations.get_mut(&body.authorization) else {
        return answer(StatusCode::NOT_FOUND, json!({ "error": "not_found" }));
    };
    if body.amount <= 0 || auth.refunded + body.amount > auth.captured {
        return answer(StatusCode::CONFLICT, json!({ "error": "exceeds_captured" }));
    }
    let (status, result) = if auth.refunds_fail {
        (StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": "refund_declined" }))
    } else {
        auth.refunded += body.amount;
        let refund = json!({ "id": format!("rf_{}", body.reference), "authorization": auth.id, "amount": body.amount, "status": "succeeded" });
        let auth = auth.clone();
        let row = format!("rf_{}", body.reference);
        books.moved(&auth, MovementKind::Refund, body.amount, row, Some(body.reference.clone()));
        (StatusCode::OK, refund)
    };
    books.refunds_by_reference.insert(body.reference, (status, result.clone()));
    answer(status, result)
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    merchant: String,
    from: i64,
    to: i64,
}

/// `GET /reports/daily?merchant=…&from=…&to=…` (Unix seconds, `[from, to)`, at most a day, ended): the
/// merchant's settlement report, `text/csv`.
async fn daily_report(State(books): State<Shared>, Query(query): Query<ReportQuery>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let refuse = |error: &str| answer(StatusCode::BAD_REQUEST, json!({ "error": error })).into_response();
    if query.merchant.is_empty() {
        return refuse("merchant_required");
    }
    if query.to <= query.from || query.to - query.from > INTERVAL_MAX_SECONDS {
        return refuse("interval_invalid");
    }
    if query.to > now() {
        return refuse("interval_not_ended");
    }
    let books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let csv = super::reports::render(books.movements.iter(), &query.merchant, query.from, query.to);
    ([("content-type", "text/csv")], csv).into_response()
}
