//! The charge lifecycle (docs/design.md §3) as a pure function: given a charge's status and amounts and an
//! action, answer the new status and amounts or the business reason it cannot happen. The backend
//! persists the answer with a conditional update, so the rule lives here once and the database only
//! guards it (a second line, never the only one).
//!
//! ```text
//! pending ──authorize──▶ authorized ──capture(≤ authorized)──▶ captured ──refund──▶ partially_refunded ──▶ refunded
//!  │ │ └──fail──▶ failed     ├──void──▶ voided                      └──refund(all)──────────────────────────▶ refunded
//!  │ │                       └──expire──▶ expired
//!  │ └──require_action──▶ requires_action ──authorize──▶ authorized
//!  │                            └──fail (declined, failed or abandoned authentication)──▶ failed
//! ```
//! Terminal: failed, voided, expired, refunded. A refund that the processor later fails is reverted,
//! which gives its amount back to the refundable balance. `requires_action` waits for the cardholder's
//! authentication (3-D Secure): nothing is authorized, so nothing is booked, until the processor says so.

use crate::money::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Pending,
    /// The processor asks for the cardholder's authentication (3-D Secure) before it authorizes.
    RequiresAction,
    Authorized,
    Captured,
    PartiallyRefunded,
    Refunded,
    Failed,
    Voided,
    Expired,
}

impl ChargeStatus {
    pub const ALL: [ChargeStatus; 9] = [
        ChargeStatus::Pending,
        ChargeStatus::RequiresAction,
        ChargeStatus::Authorized,
        ChargeStatus::Captured,
        ChargeStatus::PartiallyRefunded,
        ChargeStatus::Refunded,
        ChargeStatus::Failed,
        ChargeStatus::Voided,
        ChargeStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Pending => "pending",
            ChargeStatus::RequiresAction => "requires_action",
            ChargeStatus::Authorized => "authorized",
            ChargeStatus::Captured => "captured",
            ChargeStatus::PartiallyRefunded => "partially_refunded",
            ChargeStatus::Refunded => "refunded",
            ChargeStatus::Failed => "failed",
            ChargeStatus::Voided => "voided",
            ChargeStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<ChargeStatus> {
        ChargeStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, ChargeStatus::Failed | ChargeStatus::Voided | ChargeStatus::Expired | ChargeStatus::Refunded)
    }
}

/// The money a charge has moved so far. Invariant: refunded ≤ captured ≤ authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChargeAmounts {
    pub authorized: Amount,
    pub captured: Amount,
    pub refunded: Amount,
}

impl ChargeAmounts {
    /// What may still be refunded.
    pub fn refundable(self) -> Amount {
        self.captured.checked_sub(self.refunded).unwrap_or(Amount::ZERO)
    }

    fn holds(self) -> bool {
        self.refunded <= self.captured && self.captured <= self.authorized
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeAction {
    /// The processor approved an authorization of this amount.
    Authorize {
        amount: Amount,
    },
    /// The processor wants the cardholder authenticated first.
    RequireAction,
    /// The processor declined, or the charge could not be attempted.
    Fail,
    /// Capture `amount` of the authorization; the rest is released.
    Capture {
        amount: Amount,
    },
    Void,
    /// The authorization was not captured in time.
    Expire,
    Refund {
        amount: Amount,
    },
    /// A refund the processor failed: its amount becomes refundable again.
    RevertRefund {
        amount: Amount,
    },
}

impl ChargeAction {
    pub fn name(self) -> &'static str {
        match self {
            ChargeAction::Authorize { .. } => "authorize",
            ChargeAction::RequireAction => "require_action",
            ChargeAction::Fail => "fail",
            ChargeAction::Capture { .. } => "capture",
            ChargeAction::Void => "void",
            ChargeAction::Expire => "expire",
            ChargeAction::Refund { .. } => "refund",
            ChargeAction::RevertRefund { .. } => "revert_refund",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} a charge that is {}", from.as_str())]
    InvalidTransition { from: ChargeStatus, action: &'static str },
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("capture of {requested:?} exceeds the authorized {authorized:?}")]
    CaptureExceedsAuthorization { authorized: Amount, requested: Amount },
    #[error("refund of {requested:?} exceeds the refundable {refundable:?}")]
    RefundExceedsCapture { refundable: Amount, requested: Amount },
    #[error("reverting {requested:?} exceeds the refunded {refunded:?}")]
    RevertExceedsRefunded { refunded: Amount, requested: Amount },
}

/// Applies `action` to a charge in `status` with `amounts`.
pub fn transition(
    status: ChargeStatus,
    amounts: ChargeAmounts,
    action: ChargeAction,
) -> Result<(ChargeStatus, ChargeAmounts), TransitionError> {
    use ChargeAction as A;
    use ChargeStatus as S;
    let invalid = TransitionError::InvalidTransition { from: status, action: action.name() };
    let positive = |amount: Amount| if amount.is_zero() { Err(TransitionError::ZeroAmount) } else { Ok(amount) };
    let next = match (status, action) {
        (S::Pending | S::RequiresAction, A::Authorize { amount }) => {
            (S::Authorized, ChargeAmounts { authorized: positive(amount)?, ..ChargeAmounts::default() })
        }
        (S::Pending, A::RequireAction) => (S::RequiresAction, amounts),
        (S::Pending | S::RequiresAction, A::Fail) => (S::Failed, amounts),
        (S::Authorized, A::Capture { amount }) => {
            if positive(amount)? > amounts.authorized {
                return Err(TransitionError::CaptureExceedsAuthorization {
                    authorized: amounts.authorized,
                    requested: amount,
                });
            }
            (S::Captured, ChargeAmounts { captured: amount, ..amounts })
        }
        (S::Authorized, A::Void) => (S::Voided, amounts),
        (S::Authorized, A::Expire) => (S::Expired, amounts),
        (S::Captured | S::PartiallyRefunded, A::Refund { amount }) => {
            let refundable = amounts.refundable();
            if positive(amount)? > refundable {
                return Err(TransitionError::RefundExceedsCapture { refundable, requested: amount });
            }
            // Cannot overflow: refunded + amount ≤ captured ≤ AMOUNT_MINOR_MAX.
            let refunded = amounts.refunded.checked_add(amount).ok_or(invalid)?;
            let status = if refunded == amounts.captured { S::Refunded } else { S::PartiallyRefunded };
            (status, ChargeAmounts { refunded, ..amounts })
        }
        (S::PartiallyRefunded | S::Refunded, A::RevertRefund { amount }) => {
            let refunded = amounts
                .refunded
                .checked_sub(positive(amount)?)
                .ok_or(TransitionError::RevertExceedsRefunded { refunded: amounts.refunded, requested: amount })?;
            let status = if refunded.is_zero() { S::Captured } else { S::PartiallyRefunded };
            (status, ChargeAmounts { refunded, ..amounts })
        }
        _ => return Err(invalid),
    };
    // The invariant must hold whatever the input; a violation here is a bug in this function.
    assert!(next.1.holds(), "charge amounts invariant broken: {:?}", next.1);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChargeAction as A;
    use ChargeStatus as S;

    fn amt(minor: i64) -> Amount {
        Amount::new(minor).unwrap()
    }

    fn authorized(minor: i64) -> ChargeAmounts {
        ChargeAmounts { authorized: amt(minor), ..Default::default() }
    }

    #[test]
    fn the_happy_path_with_partial_capture_and_refunds() {
        let (s, a) = transition(S::Pending, ChargeAmounts::default(), A::Authorize { amount: amt(1000) }).unwrap();
        assert_eq!((s, a), (S::Authorized, authorized(1000)));
        let (s, a) = transition(s, a, A::Capture { amount: amt(800) }).unwrap();
        assert_eq!((s, a.captured), (S::Captured, amt(800)));
        let (s, a) = transition(s, a, A::Refund { amount: amt(300) }).unwrap();
        assert_eq!((s, a.refunded, a.refundable()), (S::PartiallyRefunded, amt(300), amt(500)));
        let (s, a) = transition(s, a, A::Refund { amount: amt(500) }).unwrap();
        assert_eq!((s, a.refundable()), (S::Refunded, Amount::ZERO));
        let (s, a) = transition(s, a, A::RevertRefund { amount: amt(500) }).unwrap();
        assert_eq!((s, a.refunded), (S::PartiallyRefunded, amt(300)));
        let (s, _) = transition(s, a, A::RevertRefund { amount: amt(300) }).unwrap();
        assert_eq!(s, S::Captured);
    }

    #[test]
    fn amounts_beyond_what_is_allowed_are_refused() {
        let a = authorized(1000);
        assert_eq!(
            transition(S::Authorized, a, A::Capture { amount: amt(1001) }),
            Err(TransitionError::CaptureExceedsAuthorization { authorized: amt(1000), requested: amt(1001) })
        );
        assert_eq!(transition(S::Authorized, a, A::Capture { amount: amt(0) }), Err(TransitionError::ZeroAmount));
        let captured = ChargeAmounts { captured: amt(600), refunded: amt(100), ..a };
        assert_eq!(
            transition(S::PartiallyRefunded, captured, A::Refund { amount: amt(501) }),
            Err(TransitionError::RefundExceedsCapture { refundable: amt(500), requested: amt(501) })
        );
        assert_eq!(
            transition(S::PartiallyRefunded, captured, A::RevertRefund { amount: amt(101) }),
            Err(TransitionError::RevertExceedsRefunded { refunded: amt(100), requested: amt(101) })
        );
    }

    /// Every (status, action) pair not on the diagram is refused, and the terminal states accept
    /// nothing but a refund revert on `refunded`.
    #[test]
    fn every_forbidden_transition_is_refused() {
        let allowed = |s: S, a: &A| {
            matches!(
                (s, a),
                (S::Pending, A::Authorize { .. } | A::Fail | A::RequireAction)
                    | (S::RequiresAction, A::Authorize { .. } | A::Fail)
                    | (S::Authorized, A::Capture { .. } | A::Void | A::Expire)
                    | (S::Captured | S::PartiallyRefunded, A::Refund { .. })
                    | (S::PartiallyRefunded | S::Refunded, A::RevertRefund { .. })
            )
        };
        let actions = [
            A::Authorize { amount: amt(10) },
            A::RequireAction,
            A::Fail,
            A::Capture { amount: amt(10) },
            A::Void,
            A::Expire,
            A::Refund { amount: amt(10) },
            A::RevertRefund { amount: amt(10) },
        ];
        // Amounts each status can really have.
        let amounts_of = |status: S| {
            let (captured, refunded) = match status {
                S::Pending | S::RequiresAction | S::Failed => return ChargeAmounts::default(),
                S::Authorized | S::Voided | S::Expired => (0, 0),
                S::Captured => (100, 0),
                S::PartiallyRefunded => (100, 50),
                S::Refunded => (100, 100),
            };
            ChargeAmounts { authorized: amt(100), captured: amt(captured), refunded: amt(refunded) }
        };
        for status in ChargeStatus::ALL {
            let amounts = amounts_of(status);
            for action in actions {
                let result = transition(status, amounts, action);
                if allowed(status, &action) {
                    assert!(result.is_ok(), "{status:?} {action:?}: {result:?}");
                } else {
                    assert_eq!(
                        result,
                        Err(TransitionError::InvalidTransition { from: status, action: action.name() }),
                        "{status:?} {action:?}"
                    );
                }
            }
            if status.is_terminal() && status != S::Refunded {
                assert!(actions.iter().all(|a| transition(status, amounts, *a).is_err()));
            }
        }
    }

    #[test]
    fn an_authentication_ends_authorized_or_failed_and_moves_no_money_before() {
        let (s, a) = transition(S::Pending, ChargeAmounts::default(), A::RequireAction).unwrap();
        assert_eq!((s, a), (S::RequiresAction, ChargeAmounts::default()));
        assert_eq!(transition(s, a, A::Authorize { amount: amt(500) }).unwrap(), (S::Authorized, authorized(500)));
        assert_eq!(transition(s, a, A::Fail).unwrap().0, S::Failed);
        assert!(!S::RequiresAction.is_terminal());
        // Asked again, the answer is the same: the state is entered once.
        assert!(transition(s, a, A::RequireAction).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for status in ChargeStatus::ALL {
            assert_eq!(ChargeStatus::parse(status.as_str()), Some(status));
        }
    }
}
