//! Adyen's Settlement details report (docs.adyen.com …/settlement-details-report), one file per payout batch.
//! Its layouts differ (the 21-column form, Adyen's 30-column default with `Payment Method Variant` and
//! `Modification Merchant Reference` before `Batch Number`), so only names count. Debit and credit are separate
//! unsigned columns; gross is in the payment's currency (GC), net and fees in the payout's (NC).

use super::amounts::{amount_or_zero, currency, timestamp};
use super::reader::{FieldError, Fields, Layout};
use super::{ReportRow, RowKind, Signed};
use crate::id::{ChargeId, RefundId};

pub fn layout() -> Layout {
    Layout { required: &["Type", "Net Currency", "Net Debit (NC)", "Net Credit (NC)", "Batch Number"], convert }
}

fn kind(record_type: &str) -> RowKind {
    match record_type {
        "Settled" | "SettledBulk" => RowKind::Capture,
        "Refunded" | "RefundedBulk" => RowKind::Refund,
        "RefundedReversed" => RowKind::RefundFailure,
        "Chargeback" | "SecondChargeback" => RowKind::Dispute,
        "ChargebackReversed" => RowKind::DisputeReversal,
        "Fee" | "MiscCosts" | "InvoiceDeduction" | "PaymentCost" => RowKind::Fee,
        "MerchantPayout" => RowKind::Payout,
        "DepositCorrection" | "Balancetransfer" => RowKind::Adjustment,
        other => RowKind::Unknown(other.to_owned()),
    }
}

/// The UTC offset of the zone abbreviations Adyen writes in `TimeZone` (others leave the time unknown).
fn offset_of(zone: &str) -> Option<i64> {
    match zone {
        "UTC" | "GMT" => Some(0),
        "CET" | "BST" | "WAT" => Some(3_600),
        "CEST" | "EET" | "SAST" => Some(7_200),
        "EEST" | "MSK" => Some(10_800),
        _ => None,
    }
}

fn convert(fields: &Fields<'_>) -> Result<ReportRow, FieldError> {
    let raw_type = fields.need("Type")?.to_owned();
    let settlement = currency(fields.need("Net Currency")?, "Net Currency")?;
    let net = amount_or_zero(fields.get("Net Credit (NC)"), "Net Credit (NC)", settlement)?
        - amount_or_zero(fields.get("Net Debit (NC)"), "Net Debit (NC)", settlement)?;
    let mut fee = 0;
    for column in ["Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)"] {
        fee += amount_or_zero(fields.get(column), column, settlement)?;
    }
    let presentment = match fields.get("Gross Currency") {
        Some(code) => {
            let gross_currency = currency(code, "Gross Currency")?;
            let minor = amount_or_zero(fields.get("Gross Credit (GC)"), "Gross Credit (GC)", gross_currency)?
                - amount_or_zero(fields.get("Gross Debit (GC)"), "Gross Debit (GC)", gross_currency)?;
            Some(Signed { minor, currency: gross_currency })
        }
        None => None,
    };
    // Gross in the payout's currency is the net before fees (a chargeback's fee is a debit beside it).
    let gross = net + fee;
    let psp = fields.owned("Psp Reference");
    let modification = fields.owned("Modification Reference");
    let batch = fields.need("Batch Number")?.to_owned();
    let occurred_at = match (fields.get("Creation Date"), fields.get("TimeZone").and_then(offset_of)) {
        (Some(text), Some(offset)) => Some(timestamp(text, "Creation Date", offset)?),
        _ => None,
    };
    let row_key =
        format!("{raw_type}:{}:{}:{batch}", psp.as_deref().unwrap_or(""), modification.as_deref().unwrap_or(""));
    let ours = |column: &str, valid: fn(&str) -> bool| fields.get(column).filter(|v| valid(v)).map(str::to_owned);
    Ok(ReportRow {
        line: fields.line,
        row_key,
        kind: kind(&raw_type),
        raw_type,
        presentment,
        settlement_currency: settlement,
        gross,
        fee,
        net,
        our_charge: ours("Merchant Reference", |v| ChargeId::parse(v).is_ok()),
        our_refund: ours("Modification Merchant Reference", |v| RefundId::parse(v).is_ok()),
        processor_payment: psp,
        processor_object: modification,
        payout: Some(batch),
        occurred_at,
    })
}
