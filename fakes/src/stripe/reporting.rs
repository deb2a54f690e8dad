//! Stripe's balance and its reports (docs.stripe.com/reports/api): every capture and refund makes a balance
//! transaction; a report run of `balance_change_from_activity.itemized.3` lists those created in its interval
//! as a CSV file, which is downloaded from the files host with the secret key.
//!
//! - `GET /v1/reporting/report_types/{type}`: `data_available_start` (the account's first day) and
//!   `data_available_end` (now, to the second: this fake has no lag; Stripe prepares data twice a day);
//! - `POST /v1/reporting/report_runs` `{report_type, parameters[interval_start], parameters[interval_end],
//!   parameters[timezone], parameters[columns][N]}`: bounds outside the data available, an empty interval,
//!   an unknown column or parameter are 400s, as on Stripe; the run is `pending`, then `succeeded` once
//!   `report_run_delay_ms` (an account setting, 0 by default) has passed, with the file as `result`;
//! - `GET /v1/reporting/report_runs/{id}`; `GET /v1/files/{id}/contents` (`text/csv`);
//! - automatic payouts when told (`POST /_fake/accounts/{key}/payouts`): a report run after them names each
//!   row's payout.
//!
//! Fees are Stripe's standard card pricing (2.9% + 30 in minor units), on the amount captured.

use super::errors::StripeError;
use super::form::Params;
use super::state::{Books, Intent, Refund, now, now_ms};
use crate::reports::{self, Format, Kind, Movement};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

pub const REPORT_TYPE: &str = "balance_change_from_activity.itemized.3";

/// The report's default columns, in Stripe's order.
const DEFAULT_COLUMNS: [&str; 16] = [
    "balance_transaction_id",
    "created_utc",
    "created",
    "available_on_utc",
    "available_on",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "customer_facing_amount",
    "customer_facing_currency",
    "automatic_payout_id",
    "automatic_payout_effective_at_utc",
];

/// The optional columns this fake can add (Stripe has more: customer and invoice fields, card details...),
/// besides `payment_metadata[KEY]` and `refund_metadata[KEY]` for any key.
const OPTIONAL_COLUMNS: [&str; 1] = ["payment_intent_id"];

/// One balance transaction of an account, with the metadata of its payment and refund (for the metadata
/// columns).
#[derive(Debug, Clone)]
pub struct BalanceTransaction {
    pub account: String,
    pub movement: Movement,
    pub payment_metadata: BTreeMap<String, String>,
    pub refund_metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct ReportRun {
    pub id: String,
    pub account: String,
    pub created: u64,
    pub ready_at_ms: u64,
    pub interval_start: i64,
    pub interval_end: i64,
    pub columns: Vec<String>,
    pub file: String,
}

/// A report run's file: its account and content.
#[derive(Debug, Clone)]
pub struct File {
    pub account: String,
    pub csv: String,
}

fn exponent(currency: &str) -> u8 {
    paygate_core::Currency::parse(&currency.to_ascii_uppercase()).map(|c| c.exponent()).unwrap_or(2)
}

/// Stripe's standard card pricing on `captured`, never more than it.
pub fn fee_of(captured: i64) -> i64 {
    (captured * 29 / 1_000 + 30).min(captured)
}

/// A capture's balance transaction: the whole authorization as gross, the part given back as a
/// `partial_capture_reversal` (the report writes both rows).
pub fn record_capture(books: &mut Books, intent: &Intent) {
    let key = books.id("txn");
    let movement = Movement {
        key,
        kind: Kind::Capture { authorized: intent.amount },
        charge: None,
        refund: None,
        payment: Some(intent.id.clone()),
        object: intent.latest_charge.clone(),
        currency: intent.currency.to_ascii_uppercase(),
        exponent: exponent(&intent.currency),
        amount: intent.amount_received,
        fee: fee_of(intent.amount_received),
        payout: None,
        at: now() as i64,
    };
    let transaction = BalanceTransaction {
        account: intent.account.clone(),
        movement,
        payment_metadata: intent.metadata.clone(),
        refund_metadata: BTreeMap::new(),
    };
    books.balance.push(transaction);
}

pub fn record_refund(books: &mut Books, refund: &Refund) {
    let movement = Movement {
        key: format!("txn_{}", refund.id.trim_start_matches("re_")),
        kind: Kind::Refund,
        charge: None,
        refund: None,
        payment: Some(refund.payment_intent.clone()),
        object: Some(refund.id.clone()),
        currency: refund.currency.to_ascii_uppercase(),
        exponent: exponent(&refund.currency),
        amount: -refund.amount,
        fee: 0,
        payout: None,
        at: refund.created as i64,
    };
    let transaction = BalanceTransaction {
        account: refund.account.clone(),
        movement,
        payment_metadata: books.intents.get(&refund.payment_intent).map(|i| i.metadata.clone()).unwrap_or_default(),
        refund_metadata: refund.metadata.clone(),
    };
    books.balance.push(transaction);
}

/// Pays out the account's balance transactions not paid out yet, one automatic payout per currency (as Stripe's
/// payout schedule does); their report rows then name it in `automatic_payout_id`. The payouts' ids.
pub fn pay_out(books: &mut Books, account: &str) -> Vec<String> {
    let mut currencies: Vec<String> = books
        .balance
        .iter()
        .filter(|t| t.account == account && t.movement.payout.is_none())
        .map(|t| t.movement.currency.clone())
        .collect();
    currencies.sort();
    currencies.dedup();
    let mut payouts = Vec::new();
    for currency in currencies {
        let payout = books.id("po");
        for transaction in books.balance.iter_mut() {
            if transaction.account == account
                && transaction.movement.payout.is_none()
                && transaction.movement.currency == currency
            {
                transaction.movement.payout = Some(payout.clone());
            }
        }
        payouts.push(payout);
    }
    payouts
}

/// The first second of the day the account's first balance transaction may fall in.
fn data_available_start(books: &Books, account: &str) -> i64 {
    let registered = books.accounts.get(account).map(|a| a.registered).unwrap_or(0) as i64;
    registered - registered.rem_euclid(86_400)
}

pub fn report_type(books: &Books, account: &str, id: &str) -> Result<(u16, Value), StripeError> {
    if id != REPORT_TYPE {
        return Err(StripeError::no_such("reporting.report_type", id));
    }
    let now = now();
    Ok((
        200,
        json!({
            "id": REPORT_TYPE, "object": "reporting.report_type", "name": "Itemized balance change from activity",
            "data_available_start": data_available_start(books, account), "data_available_end": now,
            "default_columns": DEFAULT_COLUMNS, "livemode": account.starts_with("sk_live_"), "updated": now,
            "version": 3,
        }),
    ))
}

fn run_json(run: &ReportRun, books: &Books, files_origin: &str) -> Value {
    let ready = now_ms() >= run.ready_at_ms;
    let result = ready.then(|| {
        let size = books.files.get(&run.file).map(|f| f.csv.len()).unwrap_or(0);
        json!({
            "id": run.file, "object": "file", "created": run.created, "expires_at": run.created + 7 * 86_400,
            "filename": format!("{}.csv", run.id), "purpose": "finance_report_run", "size": size,
            "title": format!("{REPORT_TYPE} {}", run.id), "type": "csv",
            "url": format!("{files_origin}/v1/files/{}/contents", run.file),
        })
    });
    json!({
        "id": run.id, "object": "reporting.report_run", "created": run.created, "error": null,
        "livemode": run.account.starts_with("sk_live_"),
        "parameters": { "interval_start": run.interval_start, "interval_end": run.interval_end, "columns": run.columns },
        "report_type": REPORT_TYPE, "result": result,
        "status": if ready { "succeeded" } else { "pending" },
        "succeeded_at": ready.then_some(run.created),
    })
}

fn interval_bound(params: &Params, name: &str) -> Result<Option<i64>, StripeError> {
    params.integer(&format!("parameters[{name}]"))
}

/// The columns asked for (`parameters[columns][0]`, `[1]`, ...), in their index order; the defaults when none.
fn columns_of(params: &Params) -> Result<Vec<String>, StripeError> {
    let mut indexed = Vec::new();
    for (key, value) in params.pairs() {
        let Some(index) = key.strip_prefix("parameters[columns][").and_then(|k| k.strip_suffix(']')) else { continue };
        let index: usize = index.parse().map_err(|_| {
            StripeError::invalid_request("parameter_unknown", Some(key), &format!("Received unknown parameter: {key}"))
        })?;
        let known =
            DEFAULT_COLUMNS.contains(&value) || OPTIONAL_COLUMNS.contains(&value) || metadata_column(value).is_some();
        if !known {
            return Err(StripeError::invalid_request(
                "parameter_invalid_string",
                Some(key),
                &format!("Invalid column: {value} is not a column of {REPORT_TYPE}"),
            ));
        }
        indexed.push((index, value.to_owned()));
    }
    indexed.sort();
    if indexed.is_empty() {
        return Ok(DEFAULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
    }
    Ok(indexed.into_iter().map(|(_, c)| c).collect())
}

/// `payment_metadata[KEY]` → (payment, KEY); `refund_metadata[KEY]` → (refund, KEY).
fn metadata_column(column: &str) -> Option<(bool, &str)> {
    let inner = |prefix: &str| column.strip_prefix(prefix).and_then(|c| c.strip_suffix(']')).filter(|k| !k.is_empty());
    inner("payment_metadata[").map(|k| (true, k)).or_else(|| inner("refund_metadata[").map(|k| (false, k)))
}

pub fn create_run(books: &mut Books, account: &str, params: &Params) -> Result<(u16, Value), StripeError> {
    params.only(
        &["report_type", "parameters[interval_start]", "parameters[interval_end]", "parameters[timezone]"],
        &["parameters[columns]["],
    )?;
    let report_type = params.required("report_type")?;
    if report_type != REPORT_TYPE {
        return Err(StripeError::invalid_request(
            "parameter_invalid_string",
            Some("report_type"),
            &format!("Invalid report_type: {report_type} is not a report type this account can run"),
        ));
    }
    if params.get("parameters[timezone]").is_some_and(|tz| tz != "Etc/UTC" && tz != "UTC") {
        return Err(StripeError::invalid_request(
            "parameter_invalid_string",
            Some("parameters[timezone]"),
            "This fake writes reports in UTC only",
        ));
    }
    let available_start = data_available_start(books, account);
    let available_end = now() as i64;
    let start = interval_bound(params, "interval_start")?.unwrap_or(available_start);
    let end = interval_bound(params, "interval_end")?.unwrap_or(available_end);
    let refuse = |param: &str, message: String| {
        Err(StripeError::invalid_request("parameter_invalid_integer", Some(param), &message))
    };
    if start < available_start {
        return refuse(
            "parameters[interval_start]",
            format!("interval_start must be on or after data_available_start ({available_start})"),
        );
    }
    if end > available_end {
        return refuse(
            "parameters[interval_end]",
            format!("interval_end must be on or before data_available_end ({available_end})"),
        );
    }
    if end <= start {
        return refuse("parameters[interval_end]", "interval_end must be after interval_start".into());
    }
    let columns = columns_of(params)?;
    let mut transactions: Vec<&BalanceTransaction> =
        books.balance.iter().filter(|t| t.account == account && (start..end).contains(&t.movement.at)).collect();
    transactions.sort_by_key(|t| t.movement.at);
    let csv = project(&transactions, &columns);
    let file = books.id("file");
    books.files.insert(file.clone(), File { account: account.to_owned(), csv });
    let delay_ms = books.accounts.get(account).map(|a| a.report_run_delay_ms).unwrap_or(0);
    let run = ReportRun {
        id: books.id("frr"),
        account: account.to_owned(),
        created: now(),
        ready_at_ms: now_ms() + delay_ms,
        interval_start: start,
        interval_end: end,
        columns,
        file,
    };
    let mut body = run_json(&run, books, "");
    // A new run is always pending, however fast it will be.
    body["status"] = json!("pending");
    body["result"] = Value::Null;
    body["succeeded_at"] = Value::Null;
    books.report_runs.insert(run.id.clone(), run);
    Ok((200, body))
}

pub fn retrieve_run(books: &Books, account: &str, id: &str, files_origin: &str) -> Result<(u16, Value), StripeError> {
    match books.report_runs.get(id) {
        Some(run) if run.account == account => Ok((200, run_json(run, books, files_origin))),
        _ => Err(StripeError::no_such("reporting.report_run", id)),
    }
}

/// A file's content, for its own account only.
pub fn contents<'a>(books: &'a Books, account: &str, id: &str) -> Result<&'a str, StripeError> {
    match books.files.get(id) {
        Some(file) if file.account == account => Ok(&file.csv),
        _ => Err(StripeError::no_such("file", id)),
    }
}

/// The report of `transactions` with `columns`, in their order: the full report as `reports` writes it, cut
/// down, with the metadata columns filled from each row's balance transaction (a quoted value where it holds
/// a comma or a quote).
fn project(transactions: &[&BalanceTransaction], columns: &[String]) -> String {
    let movements: Vec<Movement> = transactions.iter().map(|t| t.movement.clone()).collect();
    let by_key: HashMap<&str, &BalanceTransaction> =
        transactions.iter().map(|t| (t.movement.key.as_str(), *t)).collect();
    let full = reports::render(Format::StripeItemized3, &movements);
    let mut lines = full.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name);
    let key_at = at("balance_transaction_id").unwrap_or(0);
    let mut out = columns.join(",") + "\n";
    for line in lines {
        // The rendered values hold no commas (ids, amounts, times, categories).
        let cells: Vec<&str> = line.split(',').collect();
        let key = cells.get(key_at).copied().unwrap_or("");
        let transaction = by_key.get(key.trim_end_matches("_reversal"));
        let row: Vec<String> = columns
            .iter()
            .map(|column| match (metadata_column(column), transaction) {
                (Some((payment, name)), Some(t)) => {
                    let map = if payment { &t.payment_metadata } else { &t.refund_metadata };
                    quoted(map.get(name).map(String::as_str).unwrap_or(""))
                }
                (Some(_), None) => String::new(),
                (None, _) => at(column).and_then(|i| cells.get(i)).map(|c| (*c).to_owned()).unwrap_or_default(),
            })
            .collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

fn quoted(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}
