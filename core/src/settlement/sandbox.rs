//! The sandbox acquirer's daily settlement report, our own format: one line per settled movement, amounts in
//! minor units already (it is ours: no decimals to convert), our ids in their own columns.

use super::amounts::{currency, timestamp};
use super::reader::{FieldError, Fields, Layout};
use super::{ReportRow, RowKind, Signed};

/// The columns, in the order the sandbox writes them.
pub const COLUMNS: [&str; 11] = [
    "row_id",
    "created_utc",
    "type",
    "charge_id",
    "refund_id",
    "payment_reference",
    "currency",
    "amount",
    "fee",
    "net",
    "payout_id",
];

pub fn layout() -> Layout {
    Layout { required: &["row_id", "created_utc", "type", "currency", "amount", "fee", "net"], convert }
}

fn kind(row_type: &str) -> RowKind {
    match row_type {
        "capture" => RowKind::Capture,
        "refund" => RowKind::Refund,
        "fee" => RowKind::Fee,
        "payout" => RowKind::Payout,
        "payout_failure" => RowKind::PayoutFailure,
        other => RowKind::Unknown(other.to_owned()),
    }
}

fn minor(fields: &Fields<'_>, column: &'static str) -> Result<i64, FieldError> {
    let bound = crate::money::AMOUNT_MINOR_MAX;
    fields
        .need(column)?
        .parse::<i64>()
        .ok()
        .filter(|n| (-bound..=bound).contains(n))
        .ok_or_else(|| FieldError::new(column, format!("is not an integer of minor units within ±{bound}")))
}

fn convert(fields: &Fields<'_>) -> Result<ReportRow, FieldError> {
    let settlement = currency(fields.need("currency")?, "currency")?;
    let (gross, fee, net) = (minor(fields, "amount")?, minor(fields, "fee")?, minor(fields, "net")?);
    if gross.checked_sub(fee) != Some(net) {
        return Err(FieldError::new("net", "net is not amount − fee"));
    }
    let raw_type = fields.need("type")?.to_owned();
    let kind = kind(&raw_type);
    let presentment =
        matches!(kind, RowKind::Capture | RowKind::Refund).then_some(Signed { minor: gross, currency: settlement });
    Ok(ReportRow {
        line: fields.line,
        row_key: fields.need("row_id")?.to_owned(),
        raw_type,
        presentment,
        settlement_currency: settlement,
        gross,
        fee,
        net,
        our_charge: fields.owned("charge_id"),
        our_refund: fields.owned("refund_id"),
        processor_payment: fields.owned("payment_reference"),
        processor_object: None,
        payout: fields.owned("payout_id"),
        occurred_at: Some(timestamp(fields.need("created_utc")?, "created_utc", 0)?),
        kind,
    })
}
