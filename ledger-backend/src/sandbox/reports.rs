//! The sandbox acquirer's settlement report: every capture and refund it made for a merchant, in our own
//! daily format (`paygate_core::settlement::sandbox`), over an interval of at most a day that has passed.
//! Each report pays its movements out at once, one payout per currency (the sandbox settles daily, in full),
//! with a fee of 1% on captures. The same interval asked twice gives the same file, ids included.

use paygate_core::settlement::sandbox::COLUMNS;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The longest interval one report covers.
pub const INTERVAL_MAX_SECONDS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    Capture,
    Refund,
}

/// A capture or refund as it moved the merchant's balance at the acquirer.
#[derive(Debug, Clone)]
pub struct Movement {
    pub row_id: String,
    pub merchant: String,
    pub kind: MovementKind,
    /// Our charge id and refund id, as the caller planted them.
    pub charge: Option<String>,
    pub refund: Option<String>,
    /// The acquirer's authorization id.
    pub authorization: String,
    pub currency: String,
    /// Positive for captures, positive for refunds too (the report signs them).
    pub amount: i64,
    /// Unix seconds.
    pub at: i64,
}

pub fn fee_of(movement: &Movement) -> i64 {
    match movement.kind {
        MovementKind::Capture => movement.amount / 100,
        MovementKind::Refund => 0,
    }
}

fn utc(seconds: i64) -> String {
    paygate_core::time::rfc3339(seconds).replace('T', " ").trim_end_matches('Z').to_owned()
}

/// The report of `merchant`'s movements in `[from, to)`, each currency's closed by its payout when it nets to
/// money owed to the merchant (a currency whose refunds outweigh its captures is carried, unpaid).
pub fn render<'a>(movements: impl Iterator<Item = &'a Movement>, merchant: &str, from: i64, to: i64) -> String {
    let mut selected: Vec<&Movement> =
        movements.filter(|m| m.merchant == merchant && (from..to).contains(&m.at)).collect();
    selected.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.row_id.cmp(&b.row_id)));
    let signed = |m: &Movement| if m.kind == MovementKind::Refund { -m.amount } else { m.amount };
    let mut nets: BTreeMap<&str, i64> = BTreeMap::new();
    for m in &selected {
        *nets.entry(m.currency.as_str()).or_default() += signed(m) - fee_of(m);
    }
    let payout_of =
        |currency: &str| (nets[currency] > 0).then(|| format!("sbxpo_{to}_{}", currency.to_ascii_lowercase()));
    let mut out = COLUMNS.join(",") + "\n";
    for m in &selected {
        let kind = if m.kind == MovementKind::Refund { "refund" } else { "capture" };
        let (amount, fee) = (signed(m), fee_of(m));
        let _ = writeln!(
            out,
            "{},{},{kind},{},{},{},{},{amount},{fee},{},{}",
            m.row_id,
            utc(m.at),
            m.charge.as_deref().unwrap_or(""),
            m.refund.as_deref().unwrap_or(""),
            m.authorization,
            m.currency,
            amount - fee,
            payout_of(&m.currency).unwrap_or_default(),
        );
    }
    for (currency, net) in &nets {
        if let Some(payout) = payout_of(currency) {
            let _ = writeln!(out, "{payout},{},payout,,,,{currency},{},0,{},{payout}", utc(to - 1), -net, -net);
        }
    }
    out
}
