//! Processors' settlement reports, read into one row type. Each format is read by header name (never by
//! position: the column set is chosen when a report is run), one row at a time from any `Read` (memory stays
//! flat in the file's size), amounts converted to signed minor units with the currency's exponent (no floats).
//! A row that cannot be read is an error naming its line and field; it never stops the rows after it.
//!
//! Pure: the backend stages the rows in PostgreSQL and matches them there (`ledger-backend/src/reconciliation`).

mod adyen;
mod amounts;
pub mod checkout;
mod reader;
pub mod sandbox;
pub mod stripe;

pub use amounts::signed_minor;
pub use reader::{HeaderError, RowError, Rows};

use crate::money::Currency;

/// The report formats Paygate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    /// Stripe `balance_change_from_activity.itemized.3`, any column set that holds the required ones.
    StripeItemized3,
    /// Adyen's Settlement details report (`settlement_detail_report_batch_<n>.csv`), any of its layouts.
    AdyenSettlementDetails,
    /// Checkout.com's financial actions by payout, one line per breakdown item.
    CheckoutFinancialActions,
    /// The sandbox acquirer's daily settlement report.
    SandboxDaily,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::StripeItemized3,
        ReportFormat::AdyenSettlementDetails,
        ReportFormat::CheckoutFinancialActions,
        ReportFormat::SandboxDaily,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::StripeItemized3 => "stripe_itemized_3",
            ReportFormat::AdyenSettlementDetails => "adyen_settlement_details",
            ReportFormat::CheckoutFinancialActions => "checkout_financial_actions",
            ReportFormat::SandboxDaily => "sandbox_daily",
        }
    }

    pub fn parse(text: &str) -> Option<ReportFormat> {
        ReportFormat::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The report a connector's processor gives (Adyen's has no connector yet: named explicitly).
    pub fn of_connector(connector: crate::processor::ConnectorKind) -> ReportFormat {
        use crate::processor::ConnectorKind;
        match connector {
            ConnectorKind::Sandbox => ReportFormat::SandboxDaily,
            ConnectorKind::Stripe => ReportFormat::StripeItemized3,
            ConnectorKind::Checkout => ReportFormat::CheckoutFinancialActions,
        }
    }
}

/// What a report row records, in our words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKind {
    /// Money captured from the cardholder (Stripe `charge`, Adyen `Settled`, Checkout.com `Capture`).
    Capture,
    /// The uncaptured part of a partial capture given back (Stripe `partial_capture_reversal`).
    CaptureReversal,
    Refund,
    /// A refund the processor could not complete, its money back (Stripe `refund_failure`, Adyen `RefundedReversed`).
    RefundFailure,
    /// A chargeback taking money back (Stripe `dispute`, Adyen `Chargeback`).
    Dispute,
    /// A chargeback reversed in the merchant's favour.
    DisputeReversal,
    /// A fee not tied to one payment (Stripe `fee`, Adyen `Fee`/`MiscCosts`/`InvoiceDeduction`).
    Fee,
    /// Money leaving the processor balance for the merchant's bank (Adyen `MerchantPayout`).
    Payout,
    /// A payout the bank returned, its money back in the processor balance; `payout` names it (Stripe
    /// `payout_reversal`, the sandbox's `payout_failure`).
    PayoutFailure,
    /// A correction or transfer the processor made (Adyen `DepositCorrection`, Stripe `other_adjustment`).
    Adjustment,
    /// A row type we do not know: kept with its processor's name, reported as `unknown_row_type`.
    Unknown(String),
}

impl RowKind {
    pub fn as_str(&self) -> &str {
        match self {
            RowKind::Capture => "capture",
            RowKind::CaptureReversal => "capture_reversal",
            RowKind::Refund => "refund",
            RowKind::RefundFailure => "refund_failure",
            RowKind::Dispute => "dispute",
            RowKind::DisputeReversal => "dispute_reversal",
            RowKind::Fee => "fee",
            RowKind::Payout => "payout",
            RowKind::PayoutFailure => "payout_failure",
            RowKind::Adjustment => "adjustment",
            RowKind::Unknown(_) => "unknown",
        }
    }
}

/// A signed amount in minor units of `currency`: positive is money credited to the merchant's processor balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    pub minor: i64,
    pub currency: Currency,
}

/// One report row, whatever the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// The processor's own key for the row, stable across re-runs of the report (Stripe's balance transaction;
    /// for formats without one, the fields that identify it): the same key twice is a duplicate.
    pub row_key: String,
    pub kind: RowKind,
    /// The processor's name for the row type, as written.
    pub raw_type: String,
    /// What the cardholder paid or got back, in the payment's currency: compared with our ledger.
    pub presentment: Option<Signed>,
    /// In the settlement currency: the gross movement, the processor's fee (positive: charged to the merchant)
    /// and the net (`gross - fee`).
    pub settlement_currency: Currency,
    pub gross: i64,
    pub fee: i64,
    pub net: i64,
    /// Our ids as we planted them (metadata, reference): a charge (`ch_…`) and a refund (`re_…`).
    pub our_charge: Option<String>,
    pub our_refund: Option<String>,
    /// The processor's payment (`pi_…`, `pay_…`, a PSP reference) and the row's own object (a capture or refund
    /// action, a Stripe `re_…`): how a row finds its object when ours are missing.
    pub processor_payment: Option<String>,
    pub processor_object: Option<String>,
    /// The payout (batch) the row is part of, once paid out.
    pub payout: Option<String>,
    /// When the processor recorded it, Unix seconds UTC, when the report says.
    pub occurred_at: Option<i64>,
}

/// Reads `input` as `format`: the header is checked at once (a missing required column is named), then rows
/// come one at a time.
pub fn read<R: std::io::Read>(format: ReportFormat, input: R) -> Result<Rows<R>, HeaderError> {
    let convert = match format {
        ReportFormat::StripeItemized3 => stripe::layout(),
        ReportFormat::AdyenSettlementDetails => adyen::layout(),
        ReportFormat::CheckoutFinancialActions => checkout::layout(),
        ReportFormat::SandboxDaily => sandbox::layout(),
    };
    Rows::new(input, convert)
}
