//! Checkout.com's reports (checkout.com/docs/reporting, Reports API): a payout closes a batch of processed
//! captures and refunds per currency, and its "financial actions by payout" report lists them, one CSV file
//! per report (`reports::render`, modelled on the documented financial-action fields).
//!
//! - `GET /reports?created_after=…&created_before=…&limit=…&pagination_token=…` (ISO 8601 times, `limit`
//!   1–100, default 100): the account's reports, oldest first, with `_links.next` while more remain;
//! - `GET /reports/{id}/files/{file_id}`: the file, `text/csv` **[unverified: the real API may redirect to
//!   a signed URL]**.
//!
//! Control (not Checkout.com's): `POST /_fake/accounts/{key}/payouts` pays out now.
//! Fees: an interchange fee of 1.5% on captures (this fake's pricing, not Checkout.com's).

use super::payments::{Refused, invalid};
use super::state::{ActionKind, Books, now_ms};
use crate::reports::{self, Format, Kind, Movement};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub account: String,
    pub created_ms: u64,
    pub payout: String,
    pub from_ms: u64,
    pub file: String,
    pub csv: String,
}

pub const LIMIT_MAX: usize = 100;

pub fn fee_of(captured: i64) -> i64 {
    captured * 15 / 1_000
}

/// `2026-11-01T09:15:02.123Z`.
pub fn iso(ms: u64) -> String {
    format!("{}.{:03}Z", reports::utc((ms / 1_000) as i64).replace(' ', "T"), ms % 1_000)
}

/// Unix milliseconds of `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn parse_iso(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (time, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut time = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    let midnight = paygate_core::time::unix_seconds_of(i32::try_from(year).ok()?, month as u8, day as u8);
    u64::try_from((midnight + hour * 3_600 + minute * 60 + second) * 1_000 + millis).ok()
}

/// Pays out every processed capture and refund of `account` not paid out yet: a payout and its report per
/// currency. The ids of the payouts made.
pub fn pay_out(books: &mut Books, account: &str) -> Vec<String> {
    let now = now_ms();
    let mut batches: BTreeMap<String, Vec<Movement>> = BTreeMap::new();
    let mut taken = Vec::new();
    for payment in books.payments.values().filter(|p| p.account == account) {
        for action in &payment.actions {
            let kind = match action.kind {
                ActionKind::Capture => Kind::Capture { authorized: payment.amount },
                ActionKind::Refund => Kind::Refund,
                _ => continue,
            };
            if !action.approved || action.processed_at_ms > now || books.paid_out.contains(&action.id) {
                continue;
            }
            let refund = action.kind == ActionKind::Refund;
            let movement = Movement {
                key: action.id.clone(),
                kind,
                charge: payment.reference.clone(),
                refund: if refund { action.reference.clone() } else { None },
                payment: Some(payment.id.clone()),
                object: Some(action.id.clone()),
                currency: payment.currency.clone(),
                exponent: paygate_core::Currency::parse(&payment.currency).map(|c| c.exponent()).unwrap_or(2),
                amount: if refund { -action.amount } else { action.amount },
                fee: if refund { 0 } else { fee_of(action.amount) },
                payout: None,
                at: (action.processed_at_ms / 1_000) as i64,
            };
            taken.push(action.id.clone());
            batches.entry(payment.currency.clone()).or_default().push(movement);
        }
    }
    books.paid_out.extend(taken);
    let mut payouts = Vec::new();
    for (_, mut movements) in batches {
        let payout = books.id("po");
        movements.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
        for movement in &mut movements {
            movement.payout = Some(payout.clone());
        }
        let from_ms = movements.first().map(|m| m.at as u64 * 1_000).unwrap_or(now);
        if let Some(paid) = reports::payout_of(&movements, &payout, (now / 1_000) as i64) {
            movements.push(paid);
        }
        let report = Report {
            id: books.id("rpt"),
            account: account.to_owned(),
            created_ms: now,
            payout: payout.clone(),
            from_ms,
            file: books.id("file"),
            csv: reports::render(Format::CheckoutFinancialActions, &movements),
        };
        books.reports.push(report);
        payouts.push(payout);
    }
    payouts
}

fn to_json(report: &Report, origin: &str) -> Value {
    json!({
        "id": report.id, "created_on": iso(report.created_ms), "last_modified_on": iso(report.created_ms),
        "type": "FinancialActions", "description": "Financial actions by payout ID",
        "account": { "client_id": "cli_fake", "entity_id": "ent_fake" },
        "tags": [format!("payout_id:{}", report.payout)],
        "from": iso(report.from_ms), "to": iso(report.created_ms),
        "files": [{
            "id": report.file, "filename": format!("financial-actions_{}.csv", report.payout), "format": "CSV",
            "_links": { "self": { "href": format!("{origin}/reports/{}/files/{}", report.id, report.file) } },
        }],
    })
}

/// `GET /reports`.
pub fn list(books: &Books, account: &str, query: &str, origin: &str) -> Result<(u16, Value), Refused> {
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let time = |name: &str, code: &'static str| match params.get(name) {
        None => Ok(None),
        Some(text) => parse_iso(text).map(Some).ok_or_else(|| invalid(&[code])),
    };
    let after = time("created_after", "created_after_invalid")?.unwrap_or(0);
    let before = time("created_before", "created_before_invalid")?.unwrap_or(u64::MAX);
    let limit = match params.get("limit") {
        None => LIMIT_MAX,
        Some(text) => {
            text.parse().ok().filter(|l| (1..=LIMIT_MAX).contains(l)).ok_or_else(|| invalid(&["limit_invalid"]))?
        }
    };
    let mut found: Vec<&super::reports::Report> = books
        .reports
        .iter()
        .filter(|r| r.account == account && r.created_ms >= after && r.created_ms < before)
        .collect();
    found.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
    // The token is the id of the first report of the next page.
    let start = match params.get("pagination_token") {
        None => 0,
        Some(token) => {
            found.iter().position(|r| &r.id == token).ok_or_else(|| invalid(&["pagination_token_invalid"]))?
        }
    };
    let page: Vec<Value> = found.iter().skip(start).take(limit).map(|r| to_json(r, origin)).collect();
    let mut links = json!({ "self": { "href": format!("{origin}/reports?{query}") } });
    if let Some(next) = found.get(start + limit) {
        let mut rest: Vec<(String, String)> =
            params.iter().filter(|(k, _)| *k != "pagination_token").map(|(k, v)| (k.clone(), v.clone())).collect();
        rest.push(("pagination_token".into(), next.id.clone()));
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(rest).finish();
        links["next"] = json!({ "href": format!("{origin}/reports?{query}") });
    }
    Ok((200, json!({ "count": page.len(), "limit": limit, "data": page, "_links": links })))
}

/// `GET /reports/{id}/files/{file_id}`: the CSV, for the report's own account only.
pub fn file<'a>(books: &'a Books, account: &str, id: &str, file: &str) -> Option<&'a str> {
    books.reports.iter().find(|r| r.id == id && r.file == file && r.account == account).map(|r| r.csv.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_and_read_as_iso_8601_with_milliseconds() {
        assert_eq!(iso(1_793_524_502_123), "2026-11-01T09:15:02.123Z");
        assert_eq!(parse_iso("2026-11-01T09:15:02.123Z"), Some(1_793_524_502_123));
        assert_eq!(parse_iso("2026-11-01T09:15:02Z"), Some(1_793_524_502_000));
        assert_eq!(parse_iso("2024-02-29T00:00:00.5Z"), Some(1_709_164_800_500));
        assert_eq!(parse_iso("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso("yesterday"), None);
    }
}
