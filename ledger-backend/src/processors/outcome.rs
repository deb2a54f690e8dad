//! What a processor call means for us, the same whichever connector made it.

use super::vault_forward::CardSummary;
use paygate_core::decline::DeclineCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    Approved {
        processor_reference: String,
        captured: bool,
        /// A sale the processor authorized and will capture shortly (Checkout.com): the capture is pending.
        capture_pending: bool,
        card: Option<CardSummary>,
    },
    Declined {
        code: DeclineCode,
        /// The processor's own code (Stripe's `decline_code`, a response code, ...).
        raw_code: String,
        card: Option<CardSummary>,
    },
    /// The issuer wants the cardholder authenticated (3-D Secure) first: the shopper goes to `redirect_url`, then
    /// back to our return URL, and the processor says how it ended.
    RequiresAction {
        processor_reference: String,
        redirect_url: String,
        card: Option<CardSummary>,
    },
    /// The processor accepted the request but the outcome comes later: the charge stays pending and
    /// recovery asks.
    Pending {
        processor_reference: Option<String>,
    },
    /// The processor account refused the request as set up (no raw card data access, a revoked key):
    /// the charge fails and the account records `detail` for its owner.
    Misconfigured {
        detail: String,
        card: Option<CardSummary>,
    },
    /// The vault refused the token (unknown, already used, expired, another merchant's).
    TokenRejected {
        detail: String,
    },
    /// The request certainly never reached the processor: safe to send to another account.
    NotSent {
        detail: String,
    },
    Unknown {
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationOutcome {
    /// Done; with the processor's id for what it made, where it makes one (a refund's id).
    Succeeded {
        reference: Option<String>,
    },
    Failed {
        code: String,
    },
    /// Accepted; the processor says later how it ended (Checkout.com's 202 with an action id).
    Pending {
        reference: Option<String>,
    },
    Unknown {
        detail: String,
    },
}

/// What the processor knows of an operation we asked for (a refund by our refund id; a capture or void by our
/// attempt id where the processor keeps actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationLookup {
    Succeeded {
        reference: String,
    },
    Failed {
        code: String,
    },
    /// Asked for, not finished yet (or its state could not be read): ask again later.
    Pending,
    /// The processor never received it: safe to send again.
    NotFound,
    Unknown {
        detail: String,
    },
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
        code: DeclineCode,
        raw_code: String,
    },
    /// Still waiting for the cardholder's authentication.
    RequiresAction,
    /// The processor never received the request: it is safe to treat it as not made.
    NotFound,
    Unknown {
        detail: String,
    },
}
