//! Stripe's `balance_change_from_activity.itemized.3` (docs.stripe.com/reports/balance): one line per balance
//! transaction, amounts in major units of `currency`, fee positive, net = gross − fee. Payouts themselves are
//! not in it (each row names its `automatic_payout_id`). Our ids arrive in the optional metadata columns the
//! report run asks for; `payment_intent_id` and `source_id` are the processor's fallbacks.

use super::amounts::{amount, currency, timestamp};
use super::reader::{FieldError, Fields, Layout};
use super::{ReportRow, RowKind, Signed};
use crate::id::{ChargeId, RefundId};

/// The metadata keys Paygate plants in every PaymentIntent and refund it creates at Stripe.
pub const METADATA_CHARGE: &str = "paygate_charge_id";
pub const METADATA_ATTEMPT: &str = "paygate_attempt_id";
pub const METADATA_REFUND: &str = "paygate_refund_id";

/// The optional columns a report run asks for, besides the defaults, so rows carry our ids.
pub const EXTRA_COLUMNS: [&str; 3] =
    ["payment_intent_id", "payment_metadata[paygate_charge_id]", "refund_metadata[paygate_refund_id]"];

pub fn layout() -> Layout {
    Layout {
        required: &["balance_transaction_id", "created_utc", "currency", "gross", "fee", "net", "reporting_category"],
        convert,
    }
}

fn kind(category: &str) -> RowKind {
    match category {
        "charge" | "payment" => RowKind::Capture,
        "partial_capture_reversal" => RowKind::CaptureReversal,
        "refund" => RowKind::Refund,
        "refund_failure" => RowKind::RefundFailure,
        "dispute" => RowKind::Dispute,
        "dispute_reversal" => RowKind::DisputeReversal,
        "fee" => RowKind::Fee,
        "payout" => RowKind::Payout,
        "payout_reversal" => RowKind::PayoutFailure,
        "other_adjustment" => RowKind::Adjustment,
        other => RowKind::Unknown(other.to_owned()),
    }
}

fn convert(fields: &Fields<'_>) -> Result<ReportRow, FieldError> {
    let settlement = currency(fields.need("currency")?, "currency")?;
    let gross = amount(fields.need("gross")?, "gross", settlement)?;
    let fee = amount(fields.need("fee")?, "fee", settlement)?;
    let net = amount(fields.need("net")?, "net", settlement)?;
    if gross.checked_sub(fee) != Some(net) {
        return Err(FieldError::new("net", "net is not gross − fee"));
    }
    let raw_type = fields.need("reporting_category")?.to_owned();
    // What the customer saw: its sign is the row's (Stripe's sample prints it unsigned on refunds). Where the
    // report leaves it out (a partial capture's reversal, a run without the column), nothing was converted: the
    // gross is what the customer paid or got back.
    let presentment = match (fields.get("customer_facing_amount"), fields.get("customer_facing_currency")) {
        (Some(text), Some(code)) => {
            let currency = currency(code, "customer_facing_currency")?;
            let minor = amount(text, "customer_facing_amount", currency)?.abs();
            Signed { minor: if gross < 0 { -minor } else { minor }, currency }
        }
        _ => Signed { minor: gross, currency: settlement },
    };
    let presentment = Some(presentment);
    let source = fields.owned("source_id");
    let ours = |column: &str, valid: fn(&str) -> bool| fields.get(column).filter(|v| valid(v)).map(str::to_owned);
    let kind = kind(&raw_type);
    let is_refund = matches!(kind, RowKind::Refund | RowKind::RefundFailure);
    // A payout reversal's source is the payout it reverses.
    let payout = if kind == RowKind::PayoutFailure { source.clone() } else { fields.owned("automatic_payout_id") };
    Ok(ReportRow {
        line: fields.line,
        row_key: fields.need("balance_transaction_id")?.to_owned(),
        raw_type,
        presentment,
        settlement_currency: settlement,
        gross,
        fee,
        net,
        our_charge: ours("payment_metadata[paygate_charge_id]", |v| ChargeId::parse(v).is_ok()),
        our_refund: ours("refund_metadata[paygate_refund_id]", |v| RefundId::parse(v).is_ok()),
        processor_payment: fields.owned("payment_intent_id"),
        // A refund row's source is Stripe's refund (`re_…`), which we keep as the refund's processor reference.
        processor_object: if is_refund { source } else { source.or_else(|| fields.owned("charge_id")) },
        payout,
        occurred_at: Some(timestamp(fields.need("created_utc")?, "created_utc", 0)?),
        kind,
    })
}
