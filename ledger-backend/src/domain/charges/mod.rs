//! Charges: creation (authorize, and capture when asked), reads, capture and void. Every transition
//! is applied by `paygate_core::charge::transition` and persisted by a conditional update in the same
//! database transaction as its ledger entries, audit row and outbox event.

pub mod authentication;
pub mod change;
mod create;
mod operate;
mod query;
pub(crate) mod record;

pub(crate) use create::event_parts;
pub use create::{AttemptStart, record_event, record_event_of, start_attempt};
pub use create::{CreateContext, NewCharge, apply_authorization, create};
pub(crate) use operate::{ACCOUNT_OF_CHARGE, ChargeWithAccount};
pub use operate::{Operation, apply as apply_operation, connector_of, operate};
pub use query::{ListFilter, get, list};
pub use record::{CHARGE_COLUMNS, ChargeRecord};

use paygate_core::charge::TransitionError;

/// What Mada does not do (Checkout.com's Mada docs; SAMA): each refusal names the parameter and explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadaRule {
    /// A Mada payment is a sale: no separate authorization.
    CaptureRequired,
    /// No Checkout.com account configured for Mada.
    NoAccount,
    /// Mada has no void: refund instead.
    NoVoid,
    /// Mada is captured in full, in the sale itself.
    NoLaterCapture,
}

impl MadaRule {
    pub fn param(self) -> &'static str {
        match self {
            MadaRule::CaptureRequired => "capture",
            MadaRule::NoLaterCapture => "amount",
            MadaRule::NoAccount | MadaRule::NoVoid => "",
        }
    }
}

impl std::fmt::Display for MadaRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MadaRule::CaptureRequired => {
                "a Mada card at a Saudi merchant is a sale: capture must be true (Mada has no separate authorization)"
            }
            MadaRule::NoAccount => {
                "Mada cards at a Saudi merchant go to a Checkout.com account configured for Mada \
                                    (settings.mada), and this merchant has none enabled"
            }
            MadaRule::NoVoid => "Mada has no void: refund the charge instead",
            MadaRule::NoLaterCapture => "a Mada sale is captured in full when it is made; there is nothing to capture",
        })
    }
}

/// How long an authorization may stay uncaptured before the expiry job voids it (docs/design.md §3).
pub const AUTHORIZATION_TTL_DAYS: i64 = 7;
/// How long a charge waits for the cardholder's authentication (3-D Secure) before it is given up and fails.
/// Issuers' own challenge sessions last minutes; this leaves room for a slow shopper, not for a forgotten tab.
pub const AUTHENTICATION_TTL_MINUTES: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    #[error("no such charge")]
    NotFound,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("another operation on this charge is in progress")]
    OperationInFlight,
    #[error("the processor refused: {0}")]
    ProcessorRefused(String),
    #[error("the processor's answer is unknown: {0}")]
    ProcessorUnknown(String),
    #[error("no enabled processor account can take this payment")]
    NoProcessor,
    /// The vault could not be asked about the card where routing must know it.
    #[error("the vault could not describe the card: {0}")]
    VaultUnavailable(String),
    /// Mada's own rules, at a Saudi merchant: what was asked is not how Mada works.
    #[error("{0}")]
    Mada(MadaRule),
    /// A wallet payment (Apple Pay) is charged for what the customer approved on the device, exactly.
    #[error("the customer approved {approved} with Apple Pay; the charge must ask for exactly that")]
    WalletMismatch { param: &'static str, approved: String },
    #[error("the processor account could not be used: {0}")]
    Account(#[from] crate::domain::processors::accounts::AccountError),
    #[error(transparent)]
    Journal(#[from] crate::domain::journal::JournalError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
