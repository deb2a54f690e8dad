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

/// The longest authentication page URL we store and hand to a shop (`charges.next_action_url`).
pub const REDIRECT_URL_CHARS_MAX: usize = 2048;

impl AuthorizeOutcome {
    /// An authentication the shopper could not be sent to (a page that is not http(s), or longer than we keep) is
    /// a demand we cannot meet: declined `authentication_required`, never a charge stuck or a failed write.
    pub fn with_usable_redirect(self) -> AuthorizeOutcome {
        match self {
            AuthorizeOutcome::RequiresAction { ref redirect_url, ref card, .. }
                if !(redirect_url.starts_with("https://") || redirect_url.starts_with("http://"))
                    || redirect_url.len() > REDIRECT_URL_CHARS_MAX =>
            {
                AuthorizeOutcome::Declined {
                    code: DeclineCode::AuthenticationRequired,
                    raw_code: "redirect_url_unusable".into(),
                    card: card.clone(),
                }
            }
            other => other,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authentication_page_we_cannot_send_anyone_to_is_a_decline() {
        let action = |url: &str| AuthorizeOutcome::RequiresAction {
            processor_reference: "pi_1".into(),
            redirect_url: url.into(),
            card: None,
        };
        assert_eq!(
            action("https://hooks.stripe.com/3ds").with_usable_redirect(),
            action("https://hooks.stripe.com/3ds")
        );
        for bad in ["javascript:alert(1)", "/relative", &format!("https://x.test/{}", "a".repeat(2048))] {
            assert!(matches!(
                action(bad).with_usable_redirect(),
                AuthorizeOutcome::Declined { code: DeclineCode::AuthenticationRequired, .. }
            ));
        }
    }
}
