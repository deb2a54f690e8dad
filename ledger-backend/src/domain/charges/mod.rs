//! Charges: creation (authorize, and capture when asked), reads, capture and void. Every transition
//! is applied by `paygate_core::charge::transition` and persisted by a conditional update in the same
//! database transaction as its ledger entries, audit row and outbox event.

mod create;
mod operate;
mod query;
pub(crate) mod record;

pub use create::{AttemptStart, record_event, start_attempt};
pub use create::{CreateContext, NewCharge, apply_authorization, create};
pub use operate::{Operation, apply as apply_operation, connector_of, operate};
pub use query::{ListFilter, get, list};
pub use record::{CHARGE_COLUMNS, ChargeRecord};

use paygate_core::charge::TransitionError;

/// How long an authorization may stay uncaptured before the expiry job voids it (docs/design.md §3).
pub const AUTHORIZATION_TTL_DAYS: i64 = 7;

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
    #[error("the processor account could not be used: {0}")]
    Account(#[from] crate::domain::processors::accounts::AccountError),
    #[error(transparent)]
    Journal(#[from] crate::domain::journal::JournalError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
