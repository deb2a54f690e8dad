//! What the fake Stripe remembers: the accounts (API keys and their switches), PaymentIntents, refunds,
//! idempotent results, injected faults and the requests each account received.

use super::reporting::{BalanceTransaction, File, ReportRun};
use crate::control::{Accounts, Control, Saved};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Account {
    /// Whether the account may send raw card numbers (Stripe's "raw card data APIs" access).
    pub raw_card_data: bool,
    /// Whether Stripe enabled network tokens (a wallet's decrypted device card) for the account.
    pub network_tokens: bool,
    pub control: Control,
    /// When it was registered (Unix seconds): its reports' data starts that day.
    pub registered: u64,
    /// How long a report run stays pending.
    pub report_run_delay_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Intent {
    pub id: String,
    pub account: String,
    pub livemode: bool,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub capture_method: String,
    pub status: &'static str,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
    pub latest_charge: Option<String>,
    pub last_payment_error: Value,
    pub next_action: Value,
    /// Where a 3-D Secure authentication sends the customer back (`return_url` at confirmation).
    pub return_url: Option<String>,
    pub created: u64,
    pub canceled_at: Option<u64>,
    pub cancellation_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub account: String,
    pub amount: i64,
    pub charge: String,
    pub payment_intent: String,
    pub currency: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: u64,
}

#[derive(Default)]
pub struct Books {
    pub accounts: HashMap<String, Account>,
    pub intents: HashMap<String, Intent>,
    pub refunds: HashMap<String, Refund>,
    /// By (API key, Idempotency-Key).
    pub idempotency: HashMap<(String, String), Saved>,
    /// Events the last request made, to be sent as webhooks (`type`, `data.object`).
    pub outbox: Vec<(&'static str, Value)>,
    /// The balance's transactions, oldest first; report runs and their files.
    pub balance: Vec<BalanceTransaction>,
    pub report_runs: HashMap<String, ReportRun>,
    pub files: HashMap<String, File>,
    /// Network-token cryptograms seen: each authorizes once.
    pub cryptograms: std::collections::HashSet<String>,
    pub next: u64,
}

impl Books {
    /// A fresh id with Stripe's prefix (`pi_`, `ch_`, `re_`): unique within this fake.
    pub fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_fake{:014}", self.next)
    }
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

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
