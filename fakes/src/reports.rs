//! Settlement reports as the processors write them, from a list of money movements: Stripe's
//! `balance_change_from_activity.itemized.3` (its documented default columns plus the optional id and metadata
//! columns a report run may ask for), Checkout.com's financial actions by payout (modelled on the documented
//! financial-action fields, one line per breakdown item: `docs/processors/checkout.md`), and the sandbox
//! acquirer's daily report. Written here, by hand, independently of the reader in `paygate-core`: a
//! misunderstanding of a format must show up as a failing test.
//!
//! Tests and the reconciliation benchmark build movements (from the ledger's charges and refunds, or at
//! random), inject faults into them, and render them in each format.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `amount` captured of `authorized` (Stripe reports the authorized amount, then gives back the rest).
    Capture {
        authorized: i64,
    },
    Refund,
    /// The batch paid to the merchant's bank (`amount` negative). Stripe's itemized report has none.
    Payout,
    /// A row type the reader does not know (`climate_order`, `reserve_hold`...).
    Unknown(String),
}

/// One movement of money in a processor's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The processor's id of the movement (a balance transaction, an action, a row): stable, unique.
    pub key: String,
    pub kind: Kind,
    /// Our ids, as planted in the processor's objects.
    pub charge: Option<String>,
    pub refund: Option<String>,
    /// The processor's payment (`pi_…`, `pay_…`, the sandbox's authorization) and object (`re_…`, `act_…`).
    pub payment: Option<String>,
    pub object: Option<String>,
    /// ISO code, upper case, and its exponent.
    pub currency: String,
    pub exponent: u8,
    /// Signed minor units as it moves the merchant's processor balance: captures positive, refunds negative.
    pub amount: i64,
    /// The processor's fee on it, positive when charged.
    pub fee: i64,
    pub payout: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    StripeItemized3,
    CheckoutFinancialActions,
    SandboxDaily,
}

/// The processor's keys of the rows `movement` becomes in `format` (as a reader keys them), the row that says
/// what the customer paid first.
pub fn row_keys(format: Format, movement: &Movement) -> Vec<String> {
    match (format, &movement.kind) {
        (Format::StripeItemized3, Kind::Payout) => vec![],
        (Format::StripeItemized3, Kind::Capture { authorized }) if *authorized > movement.amount => {
            vec![movement.key.clone(), format!("{}_reversal", movement.key)]
        }
        (Format::CheckoutFinancialActions, _) if movement.fee != 0 => {
            vec![format!("{}:Gross", movement.key), format!("{}:Interchange Fee", movement.key)]
        }
        (Format::CheckoutFinancialActions, _) => vec![format!("{}:Gross", movement.key)],
        _ => vec![movement.key.clone()],
    }
}

/// `minor` in major units with `exponent` decimals, signed (`-30.00`).
pub fn major(minor: i64, exponent: u8) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let digits = minor.unsigned_abs().to_string();
    if exponent == 0 {
        return format!("{sign}{digits}");
    }
    let width = usize::from(exponent) + 1;
    let padded = format!("{digits:0>width$}");
    let split = padded.len() - usize::from(exponent);
    format!("{sign}{}.{}", &padded[..split], &padded[split..])
}

/// `YYYY-MM-DD HH:MM:SS` of Unix seconds, UTC.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rest / 3_600, rest % 3_600 / 60, rest % 60)
}

pub fn render(format: Format, movements: &[Movement]) -> String {
    match format {
        Format::StripeItemized3 => stripe(movements),
        Format::CheckoutFinancialActions => checkout(movements),
        Format::SandboxDaily => sandbox(movements),
    }
}

fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

/// Stripe: 16 default columns in the documented order, then `payment_intent_id` and the metadata columns.
/// Currency lower case, amounts in major units; the `created`/`available_on` columns repeat the UTC ones (a
/// report run without a timezone).
fn stripe(movements: &[Movement]) -> String {
    let mut out = String::from(
        "balance_transaction_id,created_utc,created,available_on_utc,available_on,currency,gross,fee,net,\
         reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,\
         automatic_payout_id,automatic_payout_effective_at_utc,payment_intent_id,\
         payment_metadata[paygate_charge_id],refund_metadata[paygate_refund_id]\n",
    );
    for m in movements {
        let currency = m.currency.to_ascii_lowercase();
        let at = utc(m.at);
        let available = utc(m.at + 2 * 86_400);
        let payout_at = m.payout.as_ref().map(|_| utc(m.at + 3 * 86_400)).unwrap_or_default();
        let mut line = |key: &str, gross: i64, fee: i64, category: &str, source: &str| {
            let _ = writeln!(
                out,
                "{key},{at},{at},{available},{available},{currency},{},{},{},{category},{source},,{},{currency},{},{payout_at},{},{},{}",
                major(gross, m.exponent),
                major(fee, m.exponent),
                major(gross - fee, m.exponent),
                major(gross.abs(), m.exponent),
                text(&m.payout),
                text(&m.payment),
                if category == "refund" { "" } else { text(&m.charge) },
                text(&m.refund),
            );
        };
        match &m.kind {
            Kind::Capture { authorized } => {
                let source = m.object.clone().unwrap_or_else(|| format!("ch_{}", m.key));
                line(&m.key, *authorized, m.fee, "charge", &source);
                if *authorized > m.amount {
                    line(&format!("{}_reversal", m.key), m.amount - authorized, 0, "partial_capture_reversal", &source);
                }
            }
            Kind::Refund => line(&m.key, m.amount, m.fee, "refund", text(&m.object)),
            Kind::Unknown(name) => line(&m.key, m.amount, m.fee, name, ""),
            Kind::Payout => {}
        }
    }
    out
}

fn checkout(movements: &[Movement]) -> String {
    let mut out = String::from(
        "payout_id,payment_id,action_id,action_type,reference,processed_on,breakdown_type,processing_currency,\
         processing_currency_amount,holding_currency,holding_currency_amount\n",
    );
    for m in movements {
        let action_type = match &m.kind {
            Kind::Capture { .. } => "Capture",
            Kind::Refund => "Refund",
            Kind::Payout => "Payout",
            Kind::Unknown(name) => name.as_str(),
        };
        let reference = if m.kind == Kind::Refund { text(&m.refund) } else { text(&m.charge) };
        let at = utc(m.at).replace(' ', "T") + "Z";
        let c = &m.currency;
        let _ = writeln!(
            out,
            "{},{},{},{action_type},{reference},{at},Gross,{c},{},{c},{}",
            text(&m.payout),
            text(&m.payment),
            m.key,
            major(m.amount, m.exponent),
            major(m.amount, m.exponent)
        );
        if m.fee != 0 {
            let _ = writeln!(
                out,
                "{},{},{},{action_type},{reference},{at},Interchange Fee,{c},,{c},{}",
                text(&m.payout),
                text(&m.payment),
                m.key,
                major(-m.fee, m.exponent)
            );
        }
    }
    out
}

fn sandbox(movements: &[Movement]) -> String {
    let mut out = String::from(
        "row_id,created_utc,type,charge_id,refund_id,payment_reference,currency,amount,fee,net,payout_id\n",
    );
    for m in movements {
        let kind = match &m.kind {
            Kind::Capture { .. } => "capture",
            Kind::Refund => "refund",
            Kind::Payout => "payout",
            Kind::Unknown(name) => name.as_str(),
        };
        let _ = writeln!(
            out,
            "{},{},{kind},{},{},{},{},{},{},{},{}",
            m.key,
            utc(m.at),
            text(&m.charge),
            text(&m.refund),
            text(&m.payment),
            m.currency,
            m.amount,
            m.fee,
            m.amount - m.fee,
            text(&m.payout)
        );
    }
    out
}

/// The payout closing a batch: what its movements in the batch's currency (the one most of them are in) net to,
/// paid out; a movement listed twice is paid once.
pub fn payout_of(movements: &[Movement], payout: &str, at: i64) -> Option<Movement> {
    let mut seen = std::collections::HashSet::new();
    let batch: Vec<&Movement> = movements
        .iter()
        .filter(|m| m.payout.as_deref() == Some(payout) && m.kind != Kind::Payout && seen.insert(m.key.as_str()))
        .collect();
    let mut counts = std::collections::BTreeMap::new();
    for m in &batch {
        *counts.entry(m.currency.as_str()).or_insert(0) += 1;
    }
    let currency = counts.iter().max_by_key(|(_, n)| **n).map(|(c, _)| *c)?;
    let batch: Vec<&Movement> = batch.into_iter().filter(|m| m.currency == currency).collect();
    let first = batch.first()?;
    let net: i64 = batch.iter().map(|m| m.amount - m.fee).sum();
    Some(Movement {
        key: payout.to_owned(),
        kind: Kind::Payout,
        charge: None,
        refund: None,
        payment: None,
        object: None,
        currency: first.currency.clone(),
        exponent: first.exponent,
        amount: -net,
        fee: 0,
        payout: Some(payout.to_owned()),
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_times_are_written_as_the_processors_write_them() {
        assert_eq!(major(-3_000, 2), "-30.00");
        assert_eq!(major(7, 2), "0.07");
        assert_eq!(major(12_345, 3), "12.345");
        assert_eq!(major(1_500, 0), "1500");
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_793_524_502), "2026-11-01 09:15:02");
    }
}
