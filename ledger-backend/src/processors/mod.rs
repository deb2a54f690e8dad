//! Processor connectors. A connector turns a charge operation into a processor's own HTTP API and its
//! answer into one of three outcomes: succeeded, failed (a definite "no"), or unknown (timeout, 5xx,
//! garbage). Unknown is never treated as failure: the charge stays pending with its attempt recorded
//! and the recovery job asks the processor later.
//!
//! Authorizations need the card, which only the edge vault holds: the connector builds the request
//! with placeholders and sends it through `vault_forward`. Capture, void and refund carry no card data
//! and go straight to the processor.

pub mod sandbox;
pub mod vault_forward;

pub use vault_forward::{CardSummary, VaultForward};

use paygate_core::{Amount, Currency};

/// Every outbound processor call gives up after this long (the request's caller is waiting).
pub const PROCESSOR_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct AuthorizeRequest<'a> {
    /// Our attempt id: the processor's idempotency reference, and how recovery finds the answer.
    pub attempt_id: &'a str,
    pub merchant_id: &'a str,
    pub mode: &'a str,
    pub token: &'a str,
    pub amount: Amount,
    pub currency: Currency,
    /// Capture in the same call (charge `capture: true`).
    pub capture: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    Approved {
        processor_reference: String,
        captured: bool,
        card: Option<CardSummary>,
    },
    Declined {
        code: String,
        card: Option<CardSummary>,
    },
    /// The vault refused the token (unknown, already used, expired, another merchant's).
    TokenRejected {
        detail: String,
    },
    Unknown {
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationOutcome {
    Succeeded,
    Failed { code: String },
    Unknown { detail: String },
}

/// What the processor knows of an authorization, found by our attempt id or by its own reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationLookup {
    Approved {
        processor_reference: String,
        amount_captured: i64,
        voided: bool,
    },
    Declined {
        code: String,
    },
    /// The processor never received the request: it is safe to treat it as not made.
    NotFound,
    Unknown {
        detail: String,
    },
}

/// The connectors this backend can route to. An enum rather than trait objects: the set is small
/// and closed, and every match over it is checked for exhaustiveness.
#[derive(Debug, Clone)]
pub enum Connector {
    Sandbox(sandbox::SandboxConnector),
}

impl Connector {
    pub fn name(&self) -> &'static str {
        match self {
            Connector::Sandbox(_) => "sandbox",
        }
    }

    pub async fn authorize(
        &self,
        vault: &VaultForward,
        request: &AuthorizeRequest<'_>,
        request_id: &str,
    ) -> AuthorizeOutcome {
        match self {
            Connector::Sandbox(c) => c.authorize(vault, request, request_id).await,
        }
    }

    pub async fn find_authorization(&self, attempt_id: &str) -> AuthorizationLookup {
        match self {
            Connector::Sandbox(c) => c.find_authorization(attempt_id).await,
        }
    }

    /// What the processor knows of the authorization `processor_reference` now (how much is captured,
    /// whether it is voided): how recovery learns whether a capture or void whose answer was lost
    /// took effect.
    pub async fn authorization_state(&self, processor_reference: &str) -> AuthorizationLookup {
        match self {
            Connector::Sandbox(c) => c.authorization_state(processor_reference).await,
        }
    }

    pub async fn capture(&self, processor_reference: &str, amount: Amount) -> OperationOutcome {
        match self {
            Connector::Sandbox(c) => c.capture(processor_reference, amount).await,
        }
    }

    pub async fn void(&self, processor_reference: &str) -> OperationOutcome {
        match self {
            Connector::Sandbox(c) => c.void(processor_reference).await,
        }
    }

    /// Idempotent by `refund_reference` (our refund id): sending it again returns the first answer, which
    /// is how recovery settles a refund whose answer was lost.
    pub async fn refund(&self, processor_reference: &str, amount: Amount, refund_reference: &str) -> OperationOutcome {
        match self {
            Connector::Sandbox(c) => c.refund(processor_reference, amount, refund_reference).await,
        }
    }
}
