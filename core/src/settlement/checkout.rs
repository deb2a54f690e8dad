//! Checkout.com's financial actions by payout. Checkout.com documents the fields of a financial action
//! (`GET /financial-actions`: `payment_id, action_id, action_type, reference, processed_on, breakdown[
//! {breakdown_type, processing_currency, processing_currency_amount, holding_currency, holding_currency_amount,
//! fx_rate_applied}]`) but not the report's CSV column names **[unverified]**, so this file is modelled on those
//! fields: one line per breakdown item, the payout's id beside it. The `Gross` item carries the action's amount
//! (signed as it moves the holding balance); items named `… Fee` carry fees, negative as they are debited.

use super::amounts::{amount, currency, timestamp};
use super::reader::{FieldError, Fields, Layout};
use super::{ReportRow, RowKind, Signed};
use crate::id::{ChargeId, RefundId};

/// The columns, in the order our fake writes them.
pub const COLUMNS: [&str; 11] = [
    "payout_id",
    "payment_id",
    "action_id",
    "action_type",
    "reference",
    "processed_on",
    "breakdown_type",
    "processing_currency",
    "processing_currency_amount",
    "holding_currency",
    "holding_currency_amount",
];

pub fn layout() -> Layout {
    Layout {
        required: &["action_id", "action_type", "breakdown_type", "holding_currency", "holding_currency_amount"],
        convert,
    }
}

fn kind(action_type: &str) -> RowKind {
    match action_type {
        "Capture" => RowKind::Capture,
        "Refund" => RowKind::Refund,
        "Chargeback" => RowKind::Dispute,
        "Chargeback Reversal" => RowKind::DisputeReversal,
        "Payout" => RowKind::Payout,
        other => RowKind::Unknown(other.to_owned()),
    }
}

fn convert(fields: &Fields<'_>) -> Result<ReportRow, FieldError> {
    let action_type = fields.need("action_type")?.to_owned();
    let breakdown = fields.need("breakdown_type")?;
    let holding = currency(fields.need("holding_currency")?, "holding_currency")?;
    let moved = amount(fields.need("holding_currency_amount")?, "holding_currency_amount", holding)?;
    let (gross, fee, presentment) = if breakdown == "Gross" {
        let presentment = match (fields.get("processing_currency"), fields.get("processing_currency_amount")) {
            (Some(code), Some(text)) => {
                let processing = currency(code, "processing_currency")?;
                Some(Signed { minor: amount(text, "processing_currency_amount", processing)?, currency: processing })
            }
            _ => None,
        };
        (moved, 0, presentment)
    } else if breakdown.ends_with("Fee") {
        (0, -moved, None)
    } else {
        return Err(FieldError::new("breakdown_type", format!("{breakdown} is neither Gross nor a fee")));
    };
    let action = fields.need("action_id")?.to_owned();
    let reference = fields.get("reference");
    let kind = kind(&action_type);
    let is_refund = kind == RowKind::Refund;
    Ok(ReportRow {
        line: fields.line,
        row_key: format!("{action}:{breakdown}"),
        raw_type: action_type,
        presentment,
        settlement_currency: holding,
        gross,
        fee,
        net: gross - fee,
        // The payment's reference is our charge id; a refund's is our refund id.
        our_charge: reference.filter(|r| !is_refund && ChargeId::parse(r).is_ok()).map(str::to_owned),
        our_refund: reference.filter(|r| is_refund && RefundId::parse(r).is_ok()).map(str::to_owned),
        processor_payment: fields.owned("payment_id"),
        processor_object: Some(action),
        payout: fields.owned("payout_id"),
        occurred_at: fields.get("processed_on").map(|t| timestamp(t, "processed_on", 0)).transpose()?,
        kind,
    })
}
