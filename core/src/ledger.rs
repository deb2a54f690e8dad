//! Double-entry posting rules (docs/design.md §4) and merchant pricing. Each business event becomes one
//! journal transaction: a list of postings that sums to zero (debits positive, credits negative), in
//! the charge's currency. The backend writes them as entries; the database re-checks the balance.
//!
//! Every account belongs to one (merchant, mode, currency): there is no platform-wide account that
//! every charge would write to, so one busy merchant cannot make a hot row for all the others, and the
//! backend never updates balance rows: balances are sums of immutable entries.
//!
//! Chart of accounts and the events that move them:
//! - authorize A: hold `authorization_receivable` / `authorization_payable` (two-phase pending hold)
//! - capture C of A: release the whole hold; `processor_receivable` +C; `merchant_pending` −(C−fee);
//!   `fee_revenue` −fee (the uncaptured rest is simply released)
//! - void / expire: release the hold
//! - refund R: `merchant_pending` +R, `processor_receivable` −R (fees are not returned on refunds)
//! - refund reverted (processor failed it): the opposite of the refund
//! - settle (reconciliation): `cash` +net, `processor_receivable` −gross, `processor_fees` +proc_fee;
//!   `merchant_pending` +payout, `merchant_available` −payout
//! - a refund settled: `processor_receivable` +R, `cash` −R; `merchant_available` +R, `merchant_pending` −R
//! - a processor fee not tied to a payment: `processor_fees` +F, `cash` −F
//! - paid out to the merchant's bank: `merchant_available` +P, `cash` −P
//! - an operator's correction (resolving a reconciliation exception): one account debited, another credited

use crate::money::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    AuthorizationReceivable,
    AuthorizationPayable,
    ProcessorReceivable,
    MerchantPending,
    MerchantAvailable,
    FeeRevenue,
    ProcessorFees,
    Cash,
}

impl AccountKind {
    pub const ALL: [AccountKind; 8] = [
        AccountKind::AuthorizationReceivable,
        AccountKind::AuthorizationPayable,
        AccountKind::ProcessorReceivable,
        AccountKind::MerchantPending,
        AccountKind::MerchantAvailable,
        AccountKind::FeeRevenue,
        AccountKind::ProcessorFees,
        AccountKind::Cash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::AuthorizationReceivable => "authorization_receivable",
            AccountKind::AuthorizationPayable => "authorization_payable",
            AccountKind::ProcessorReceivable => "processor_receivable",
            AccountKind::MerchantPending => "merchant_pending",
            AccountKind::MerchantAvailable => "merchant_available",
            AccountKind::FeeRevenue => "fee_revenue",
            AccountKind::ProcessorFees => "processor_fees",
            AccountKind::Cash => "cash",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One line of a journal transaction: positive debits, negative credits, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountKind,
    pub amount_minor: i64,
}

/// What happened, in the terms the ledger needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerEvent {
    Authorized {
        amount: Amount,
    },
    Captured {
        authorized: Amount,
        captured: Amount,
        fee: Amount,
    },
    /// Void or expiry: the hold is released, nothing moves.
    Released {
        authorized: Amount,
    },
    Refunded {
        amount: Amount,
    },
    RefundReverted {
        amount: Amount,
    },
    /// The processor paid out `gross − processor_fee`; the merchant's `payout` becomes available.
    Settled {
        gross: Amount,
        processor_fee: Amount,
        payout: Amount,
    },
    /// The processor took a refund out of what it pays: it leaves the merchant's available balance.
    RefundSettled {
        amount: Amount,
    },
    /// A processor fee not tied to one payment (a monthly fee, Radar): ours to pay.
    ProcessorFee {
        amount: Amount,
    },
    /// Money sent to the merchant's bank.
    PaidOut {
        amount: Amount,
    },
    /// A payout the bank returned: the money is the merchant's available balance again.
    PayoutFailed {
        amount: Amount,
    },
    /// An operator's correction: `amount` from `credit` to `debit`. Never an authorization hold (those belong
    /// to the charge lifecycle alone).
    Adjustment {
        debit: AccountKind,
        credit: AccountKind,
        amount: Amount,
    },
}

impl LedgerEvent {
    /// Every kind of journal transaction, as stored (`kind` of each event).
    pub const KINDS: [&'static str; 11] = [
        "authorization",
        "capture",
        "release",
        "refund",
        "refund_reversal",
        "settlement",
        "refund_settlement",
        "processor_fee",
        "payout",
        "payout_failure",
        "adjustment",
    ];

    /// The journal transaction's kind, as stored.
    pub fn kind(self) -> &'static str {
        match self {
            LedgerEvent::Authorized { .. } => "authorization",
            LedgerEvent::Captured { .. } => "capture",
            LedgerEvent::Released { .. } => "release",
            LedgerEvent::Refunded { .. } => "refund",
            LedgerEvent::RefundReverted { .. } => "refund_reversal",
            LedgerEvent::Settled { .. } => "settlement",
            LedgerEvent::RefundSettled { .. } => "refund_settlement",
            LedgerEvent::ProcessorFee { .. } => "processor_fee",
            LedgerEvent::PaidOut { .. } => "payout",
            LedgerEvent::PayoutFailed { .. } => "payout_failure",
            LedgerEvent::Adjustment { .. } => "adjustment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error("the fee exceeds the captured amount")]
    FeeExceedsCapture,
    #[error("the capture exceeds the authorization")]
    CaptureExceedsAuthorization,
    #[error("the settlement's parts do not add up")]
    SettlementMismatch,
    #[error("a correction moves money between two different accounts, neither an authorization hold")]
    InvalidAdjustment,
}

/// The postings of `event`, balanced by construction (and checked again before returning).
pub fn postings(event: LedgerEvent) -> Result<Vec<Posting>, PostingError> {
    use AccountKind as K;
    let p = |account, amount_minor| Posting { account, amount_minor };
    let lines = match event {
        LedgerEvent::Authorized { amount } => {
            vec![p(K::AuthorizationReceivable, amount.minor()), p(K::AuthorizationPayable, -amount.minor())]
        }
        LedgerEvent::Released { authorized } => {
            vec![p(K::AuthorizationPayable, authorized.minor()), p(K::AuthorizationReceivable, -authorized.minor())]
        }
        LedgerEvent::Captured { authorized, captured, fee } => {
            if captured > authorized {
                return Err(PostingError::CaptureExceedsAuthorization);
            }
            let net = captured.checked_sub(fee).ok_or(PostingError::FeeExceedsCapture)?;
            let mut lines = vec![
                p(K::AuthorizationPayable, authorized.minor()),
                p(K::AuthorizationReceivable, -authorized.minor()),
                p(K::ProcessorReceivable, captured.minor()),
                p(K::MerchantPending, -net.minor()),
            ];
            if !fee.is_zero() {
                lines.push(p(K::FeeRevenue, -fee.minor()));
            }
            lines
        }
        LedgerEvent::Refunded { amount } => {
            vec![p(K::MerchantPending, amount.minor()), p(K::ProcessorReceivable, -amount.minor())]
        }
        LedgerEvent::RefundReverted { amount } => {
            vec![p(K::ProcessorReceivable, amount.minor()), p(K::MerchantPending, -amount.minor())]
        }
        LedgerEvent::Settled { gross, processor_fee, payout } => {
            let net = gross.checked_sub(processor_fee).ok_or(PostingError::SettlementMismatch)?;
            vec![
                p(K::Cash, net.minor()),
                p(K::ProcessorFees, processor_fee.minor()),
                p(K::ProcessorReceivable, -gross.minor()),
                p(K::MerchantPending, payout.minor()),
                p(K::MerchantAvailable, -payout.minor()),
            ]
        }
        LedgerEvent::RefundSettled { amount } => vec![
            p(K::ProcessorReceivable, amount.minor()),
            p(K::Cash, -amount.minor()),
            p(K::MerchantAvailable, amount.minor()),
            p(K::MerchantPending, -amount.minor()),
        ],
        LedgerEvent::ProcessorFee { amount } => vec![p(K::ProcessorFees, amount.minor()), p(K::Cash, -amount.minor())],
        LedgerEvent::PaidOut { amount } => vec![p(K::MerchantAvailable, amount.minor()), p(K::Cash, -amount.minor())],
        LedgerEvent::PayoutFailed { amount } => {
            vec![p(K::Cash, amount.minor()), p(K::MerchantAvailable, -amount.minor())]
        }
        LedgerEvent::Adjustment { debit, credit, amount } => {
            let hold = |k: AccountKind| matches!(k, K::AuthorizationReceivable | K::AuthorizationPayable);
            if debit == credit || hold(debit) || hold(credit) || amount.is_zero() {
                return Err(PostingError::InvalidAdjustment);
            }
            vec![p(debit, amount.minor()), p(credit, -amount.minor())]
        }
    };
    let lines: Vec<Posting> = lines.into_iter().filter(|l| l.amount_minor != 0).collect();
    // Every rule above balances by construction; this guards the rules themselves.
    assert!(is_balanced(&lines), "unbalanced postings for {event:?}: {lines:?}");
    Ok(lines)
}

/// True when the postings sum to zero. Amounts are bounded by `AMOUNT_MINOR_MAX`, so an `i128` sum
/// of any realistic number of lines cannot overflow.
pub fn is_balanced(lines: &[Posting]) -> bool {
    lines.iter().map(|l| i128::from(l.amount_minor)).sum::<i128>() == 0
}

/// The basis points of a merchant's percentage fee cannot exceed 100 %.
pub const BASIS_POINTS_MAX: u16 = 10_000;

/// A merchant's price for a captured charge: `basis_points` of the amount plus `fixed`, never more
/// than the amount itself. Both may be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pricing {
    basis_points: u16,
    fixed: Amount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("basis points must be between 0 and 10000")]
    BasisPointsOutOfRange,
}

impl Pricing {
    pub fn new(basis_points: u16, fixed: Amount) -> Result<Self, PricingError> {
        if basis_points > BASIS_POINTS_MAX {
            return Err(PricingError::BasisPointsOutOfRange);
        }
        Ok(Pricing { basis_points, fixed })
    }

    pub fn basis_points(self) -> u16 {
        self.basis_points
    }

    pub fn fixed(self) -> Amount {
        self.fixed
    }

    /// The fee on a capture of `amount`: the percentage rounded half up to the minor unit, plus the
    /// fixed part, capped at `amount` so the merchant's net is never negative.
    pub fn fee(self, amount: Amount) -> Amount {
        let percentage = (i128::from(amount.minor()) * i128::from(self.basis_points) + 5_000) / 10_000;
        // percentage ≤ amount ≤ AMOUNT_MINOR_MAX, so it fits i64.
        let total = (percentage as i64).saturating_add(self.fixed.minor());
        Amount::new(total.min(amount.minor())).unwrap_or(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amt(minor: i64) -> Amount {
        Amount::new(minor).unwrap()
    }

    fn balance(lines: &[Posting], account: AccountKind) -> i64 {
        lines.iter().filter(|l| l.account == account).map(|l| l.amount_minor).sum()
    }

    #[test]
    fn fees_round_half_up_and_never_exceed_the_amount() {
        let pricing = Pricing::new(290, amt(30)).unwrap(); // 2.9 % + 0.30
        assert_eq!(pricing.fee(amt(10_000)), amt(320));
        assert_eq!(pricing.fee(amt(50)), amt(31)); // 1.45 rounds to 1, plus 30
        assert_eq!(pricing.fee(amt(20)), amt(20)); // capped
        assert_eq!(Pricing::default().fee(amt(10_000)), Amount::ZERO);
        assert_eq!(Pricing::new(10_001, Amount::ZERO), Err(PricingError::BasisPointsOutOfRange));
        assert_eq!(Pricing::new(10_000, Amount::ZERO).unwrap().fee(amt(999_999_999_999)), amt(999_999_999_999));
    }

    #[test]
    fn capture_releases_the_whole_hold_and_books_net_and_fee() {
        use AccountKind as K;
        let mut journal = postings(LedgerEvent::Authorized { amount: amt(1_000) }).unwrap();
        journal.extend(
            postings(LedgerEvent::Captured { authorized: amt(1_000), captured: amt(800), fee: amt(53) }).unwrap(),
        );
        assert_eq!(balance(&journal, K::AuthorizationReceivable), 0);
        assert_eq!(balance(&journal, K::AuthorizationPayable), 0);
        assert_eq!(balance(&journal, K::ProcessorReceivable), 800);
        assert_eq!(balance(&journal, K::MerchantPending), -747);
        assert_eq!(balance(&journal, K::FeeRevenue), -53);
        journal.extend(postings(LedgerEvent::Refunded { amount: amt(300) }).unwrap());
        assert_eq!(balance(&journal, K::MerchantPending), -447);
        assert_eq!(balance(&journal, K::ProcessorReceivable), 500);
        assert!(is_balanced(&journal));
    }

    #[test]
    fn settlement_moves_the_merchants_money_from_pending_to_available_and_a_payout_empties_it() {
        use AccountKind as K;
        let mut journal = postings(LedgerEvent::Authorized { amount: amt(1_000) }).unwrap();
        journal.extend(
            postings(LedgerEvent::Captured { authorized: amt(1_000), captured: amt(1_000), fee: amt(50) }).unwrap(),
        );
        journal.extend(postings(LedgerEvent::Refunded { amount: amt(200) }).unwrap());
        // The processor reports the capture (its fee 29) and the refund; then a monthly fee of 7; then pays out.
        let settled = LedgerEvent::Settled { gross: amt(1_000), processor_fee: amt(29), payout: amt(950) };
        journal.extend(postings(settled).unwrap());
        journal.extend(postings(LedgerEvent::RefundSettled { amount: amt(200) }).unwrap());
        journal.extend(postings(LedgerEvent::ProcessorFee { amount: amt(7) }).unwrap());
        assert_eq!(balance(&journal, K::MerchantPending), 0, "nothing left pending");
        assert_eq!(balance(&journal, K::MerchantAvailable), -750, "950 settled less the 200 refunded");
        assert_eq!(balance(&journal, K::ProcessorReceivable), 0, "the processor owes nothing more");
        journal.extend(postings(LedgerEvent::PaidOut { amount: amt(750) }).unwrap());
        assert_eq!(balance(&journal, K::MerchantAvailable), 0);
        // The bank returns the payout: available again, and paid out again later.
        journal.extend(postings(LedgerEvent::PayoutFailed { amount: amt(750) }).unwrap());
        assert_eq!(balance(&journal, K::MerchantAvailable), -750);
        journal.extend(postings(LedgerEvent::PaidOut { amount: amt(750) }).unwrap());
        assert_eq!(balance(&journal, K::MerchantAvailable), 0);
        // What is left in cash is our margin: our fee 50, less the processor's 29 and 7.
        assert_eq!(balance(&journal, K::Cash), 14);
        assert_eq!(balance(&journal, K::FeeRevenue) + balance(&journal, K::ProcessorFees), -14);
        assert!(is_balanced(&journal));
    }

    #[test]
    fn impossible_events_are_refused() {
        let over = LedgerEvent::Captured { authorized: amt(10), captured: amt(11), fee: Amount::ZERO };
        assert_eq!(postings(over), Err(PostingError::CaptureExceedsAuthorization));
        let fee = LedgerEvent::Captured { authorized: amt(10), captured: amt(10), fee: amt(11) };
        assert_eq!(postings(fee), Err(PostingError::FeeExceedsCapture));
        let settle = LedgerEvent::Settled { gross: amt(10), processor_fee: amt(11), payout: amt(5) };
        assert_eq!(postings(settle), Err(PostingError::SettlementMismatch));
        use AccountKind as K;
        for (debit, credit, amount) in [
            (K::Cash, K::Cash, amt(5)),
            (K::AuthorizationPayable, K::Cash, amt(5)),
            (K::Cash, K::AuthorizationReceivable, amt(5)),
            (K::Cash, K::ProcessorFees, Amount::ZERO),
        ] {
            assert_eq!(
                postings(LedgerEvent::Adjustment { debit, credit, amount }),
                Err(PostingError::InvalidAdjustment)
            );
        }
        let fix =
            postings(LedgerEvent::Adjustment { debit: K::ProcessorFees, credit: K::Cash, amount: amt(7) }).unwrap();
        assert_eq!(
            fix,
            vec![
                Posting { account: K::ProcessorFees, amount_minor: 7 },
                Posting { account: K::Cash, amount_minor: -7 }
            ]
        );
    }

    #[test]
    fn every_event_kind_is_listed() {
        use AccountKind as K;
        let events = [
            LedgerEvent::Authorized { amount: amt(1) },
            LedgerEvent::Captured { authorized: amt(1), captured: amt(1), fee: Amount::ZERO },
            LedgerEvent::Released { authorized: amt(1) },
            LedgerEvent::Refunded { amount: amt(1) },
            LedgerEvent::RefundReverted { amount: amt(1) },
            LedgerEvent::Settled { gross: amt(1), processor_fee: Amount::ZERO, payout: amt(1) },
            LedgerEvent::RefundSettled { amount: amt(1) },
            LedgerEvent::ProcessorFee { amount: amt(1) },
            LedgerEvent::PaidOut { amount: amt(1) },
            LedgerEvent::PayoutFailed { amount: amt(1) },
            LedgerEvent::Adjustment { debit: K::Cash, credit: K::ProcessorFees, amount: amt(1) },
        ];
        let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds, LedgerEvent::KINDS);
    }

    #[test]
    fn account_names_round_trip() {
        for kind in AccountKind::ALL {
            assert_eq!(AccountKind::parse(kind.as_str()), Some(kind));
        }
    }
}
