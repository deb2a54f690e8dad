//! What the fake Checkout.com remembers: accounts (secret keys and their switches), payments with their
//! actions, idempotent answers, injected faults and the requests each account received.

use crate::control::{Accounts, Control, Saved};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Account {
    /// How long requested captures, voids and refunds stay pending before they are processed.
    pub action_delay_ms: u64,
    pub control: Control,
    /// How long a 3-D Secure challenge waits for the cardholder (`None`: `THREE_DS_SESSION_MS`).
    pub three_ds_session_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Authorization,
    Capture,
    Void,
    Refund,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Authorization => "Authorization",
            ActionKind::Capture => "Capture",
            ActionKind::Void => "Void",
            ActionKind::Refund => "Refund",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: String,
    pub kind: ActionKind,
    pub amount: i64,
    pub reference: Option<String>,
    /// Unix milliseconds from which it counts as processed (pending until then).
    pub processed_at_ms: u64,
    /// Decided when requested, revealed when processed.
    pub approved: bool,
    pub response_code: &'static str,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub account: String,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub metadata: Value,
    pub approved: bool,
    pub response_code: &'static str,
    pub scheme: &'static str,
    pub scheme_local: Option<&'static str>,
    pub last4: String,
    pub bin: String,
    /// This card's captures are declined (a fake test card).
    pub captures_declined: bool,
    pub actions: Vec<Action>,
    pub created_ms: u64,
    /// With `3ds.enabled`: the authentication, and where the cardholder is sent back.
    pub three_ds: Option<ThreeDs>,
}

#[derive(Debug, Clone)]
pub struct ThreeDs {
    pub success_url: Option<String>,
    pub failure_url: Option<String>,
    /// A challenge still waiting for the cardholder, until this instant (then the session has expired).
    pub pending_until_ms: Option<u64>,
    /// `Y` authenticated, `N` failed; absent while waiting.
    pub authentication_response: Option<&'static str>,
    pub capture: bool,
}

#[derive(Default)]
pub struct Books {
    pub accounts: HashMap<String, Account>,
    pub payments: HashMap<String, Payment>,
    /// By (secret key, Cko-Idempotency-Key).
    pub idempotency: HashMap<(String, String), Saved>,
    /// Webhooks to send, by account, once their actions are processed.
    pub outbox: Vec<(String, Outgoing)>,
    /// Payout reports, and the actions paid out so far.
    pub reports: Vec<super::reports::Report>,
    pub paid_out: std::collections::HashSet<String>,
    /// Network-token cryptograms seen: each authorizes once.
    pub cryptograms: std::collections::HashSet<String>,
    pub next: u64,
}

impl Books {
    /// A fresh id with Checkout.com's prefix (`pay_`, `act_`, `src_`), 26 lower-case characters after it.
    pub fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_fake{:022}", self.next)
    }
}

/// A webhook to send once its action is processed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub at_ms: u64,
    pub body: Value,
}

impl Accounts for Books {
    fn control(&mut self, key: &str) -> Option<&mut Control> {
        self.accounts.get_mut(key).map(|a| &mut a.control)
    }
}

pub type Shared = Arc<Mutex<Books>>;

pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Books> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
