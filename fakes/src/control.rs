//! What every fake keeps per account besides its service's own state, and the control API over it: faults
//! to suffer, the requests received (method and path only, never a body: it may hold a card), and where its
//! webhooks go. Also the record both fakes keep of an idempotent request.

use crate::faults::Fault;
use crate::webhooks::Delivery;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Control {
    pub faults: VecDeque<Fault>,
    pub requests: Vec<String>,
    pub webhooks: Delivery,
}

impl Control {
    /// Records a request and takes the next fault it suffers.
    pub fn arrive(&mut self, method: &str, path: &str) -> Option<Fault> {
        self.requests.push(format!("{method} {path}"));
        self.faults.pop_front()
    }
}

/// The webhook fields of an account's registration (`POST /_fake/accounts`): where to send, signed with what,
/// how many copies (default one), how long after the action, and whether out of order
/// (`webhook_reorder_hold_ms`: each webhook is held until the next is due and sent after it).
#[derive(Debug, Default, serde::Deserialize)]
pub struct WebhookSettings {
    webhook_url: Option<String>,
    #[serde(default)]
    webhook_secret: String,
    webhook_copies: Option<u32>,
    #[serde(default)]
    webhook_delay_ms: u64,
    webhook_reorder_hold_ms: Option<u64>,
}

impl WebhookSettings {
    pub fn into_control(self) -> Control {
        let webhooks = Delivery {
            url: self.webhook_url,
            secret: self.webhook_secret,
            copies: self.webhook_copies.unwrap_or(1),
            delay_ms: self.webhook_delay_ms,
            reorder: self.webhook_reorder_hold_ms.map(crate::webhooks::Reorder::new),
        };
        Control { webhooks, ..Control::default() }
    }
}

/// A fake's books, as far as the control API sees them.
pub trait Accounts: Send + 'static {
    fn control(&mut self, key: &str) -> Option<&mut Control>;
}

fn lock<B>(shared: &Mutex<B>) -> std::sync::MutexGuard<'_, B> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `POST /_fake/accounts/{key}/faults`: the account's next request suffers `fault` (in order).
pub async fn add_fault<B: Accounts>(
    State(shared): State<Arc<Mutex<B>>>,
    Path(key): Path<String>,
    axum::Json(fault): axum::Json<Fault>,
) -> StatusCode {
    match lock(&shared).control(&key) {
        Some(control) => {
            control.faults.push_back(fault);
            StatusCode::CREATED
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// `GET /_fake/accounts/{key}/requests`: what the account received, `METHOD /path`.
pub async fn requests_of<B: Accounts>(State(shared): State<Arc<Mutex<B>>>, Path(key): Path<String>) -> Response {
    match lock(&shared).control(&key) {
        Some(control) => axum::Json(json!({ "requests": control.requests })).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An idempotent request's record: in flight, or its saved answer, with the request it answered.
#[derive(Debug, Clone)]
pub enum Saved {
    InFlight { canonical: String },
    Done { canonical: String, status: u16, body: Value },
}
