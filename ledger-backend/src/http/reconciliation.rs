//! `/v1/settlement_reports` (upload a processor's report: imported, then reconciled), `/v1/reconciliation/runs`
//! and `/v1/reconciliation/exceptions` (list with filters, read, acknowledge, resolve, export as CSV).

use super::api::{Answer, Endpoint, PAGINATION, QueryParam};
use super::pagination;
use super::path_id::PathId;
use super::schemas::{array, integer, nullable, request, string};
use super::{ApiError, ApiJson, AppState, MerchantCaller};
use crate::domain::processors::accounts::{self, AccountError};
use crate::domain::settlement::exceptions::{self, ExceptionError, Filters};
use crate::domain::settlement::import::{self, ImportError, Request, Source};
use crate::domain::settlement::matching::{self, MatchError};
use crate::wire::{List, ReconciliationException, ReconciliationRun};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use paygate_core::ErrorCode;
use paygate_core::id::{ProcessorAccountId, ReconciliationExceptionKind, ReconciliationRunKind};
use paygate_core::settlement::ReportFormat;
use serde_json::{Value, json};

const EXCEPTIONS_QUERY: [QueryParam; 7] = [
    PAGINATION[0],
    PAGINATION[1],
    PAGINATION[2],
    ("category", "Only this category (missing_in_processor, amount_mismatch, ...)"),
    ("state", "Only exceptions in this state: open, acknowledged or resolved"),
    ("processor_account", "Only this processor account's"),
    ("charge", "Only those about this charge"),
];

const EXPORT_QUERY: [QueryParam; 4] =
    [EXCEPTIONS_QUERY[3], EXCEPTIONS_QUERY[4], EXCEPTIONS_QUERY[5], EXCEPTIONS_QUERY[6]];

pub fn endpoints() -> Vec<Endpoint> {
    let tag = "reconciliation";
    vec![
        Endpoint::new(
            Method::POST,
            "/settlement_reports",
            "uploadSettlementReport",
            "Upload a processor's settlement report for one of your processor accounts: it is imported (the same file again is a no-op) and reconciled",
            Answer::Inline(201, uploaded_schema),
            // The one route that takes more than the usual body (`core::limits`).
            post(upload).layer(axum::extract::DefaultBodyLimit::max(paygate_core::limits::REPORT_UPLOAD_BYTES_MAX)),
        )
        .body(upload_schema)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/reconciliation/runs",
            "listReconciliationRuns",
            "Reconciliation runs, newest first, each with its exceptions per category",
            Answer::List("ReconciliationRun"),
            get(list_runs),
        )
        .query(&PAGINATION)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/reconciliation/runs/{id}",
            "getReconciliationRun",
            "One reconciliation run",
            Answer::Object(200, "ReconciliationRun"),
            get(get_run),
        )
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/reconciliation/exceptions",
            "listReconciliationExceptions",
            "Discrepancies reconciliation found, newest first",
            Answer::List("ReconciliationException"),
            get(list_exceptions),
        )
        .query(&EXCEPTIONS_QUERY)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/reconciliation/exceptions.csv",
            "exportReconciliationExceptions",
            "The exceptions matching the filters as CSV, oldest first (at most 100,000)",
            Answer::Csv,
            get(export),
        )
        .query(&EXPORT_QUERY)
        .tag(tag),
        Endpoint::new(
            Method::GET,
            "/reconciliation/exceptions/{id}",
            "getReconciliationException",
            "One exception",
            Answer::Object(200, "ReconciliationException"),
            get(get_exception),
        )
        .tag(tag),
        Endpoint::new(
            Method::POST,
            "/reconciliation/exceptions/{id}/acknowledge",
            "acknowledgeReconciliationException",
            "Mark an exception as being looked at, with an optional note",
            Answer::Object(200, "ReconciliationException"),
            post(acknowledge),
        )
        .body(note_schema)
        .tag(tag),
        Endpoint::new(
            Method::POST,
            "/reconciliation/exceptions/{id}/resolve",
            "resolveReconciliationException",
            "Resolve an exception with a note saying why; it stays resolved unless a later run finds its inputs changed",
            Answer::Object(200, "ReconciliationException"),
            post(resolve),
        )
        .body(resolve_schema)
        .tag(tag),
    ]
}

impl From<ExceptionError> for ApiError {
    fn from(error: ExceptionError) -> Self {
        match error {
            ExceptionError::NotFound => ApiError::Code(ErrorCode::ResourceNotFound),
            ExceptionError::Invalid(field, reason) => ApiError::invalid(field, reason),
            ExceptionError::Database(e) => ApiError::from(e),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Account(AccountError::NotFound) => ApiError::invalid("account", "no such processor account"),
            ImportError::Account(e) => ApiError::from(e),
            ImportError::Header(e) => ApiError::invalid("content", e.to_string()),
            ImportError::Period(reason) => ApiError::invalid("period", format!("period {reason}")),
            ImportError::Io(e) => ApiError::invalid("content", e.to_string()),
            ImportError::Database(e) => ApiError::from(e),
        }
    }
}

impl From<MatchError> for ApiError {
    fn from(error: MatchError) -> Self {
        match error {
            MatchError::NotFound | MatchError::NoSuchReport => ApiError::Code(ErrorCode::ResourceNotFound),
            MatchError::Journal(e) => ApiError::Internal(e.to_string()),
            MatchError::Booking(e) => ApiError::Internal(e),
            MatchError::Database(e) => ApiError::from(e),
        }
    }
}

fn upload_schema() -> Value {
    let formats: Vec<&str> = ReportFormat::ALL.iter().map(|f| f.as_str()).collect();
    request(
        &[
            ("account", json!({ "type": "string", "description": "The processor account (pa_…) the report is of" })),
            (
                "format",
                json!({ "type": "string", "enum": formats, "description": "Defaults to the account's processor's report" }),
            ),
            (
                "period",
                json!({ "type": "string", "maxLength": 100, "description": "The batch, payout or interval it covers" }),
            ),
            (
                "content",
                json!({ "type": "string", "description": "The report file (CSV, UTF-8) as the processor gave it" }),
            ),
        ],
        &["account", "content"],
    )
}

fn uploaded_schema() -> Value {
    let refusal = json!({ "type": "object", "properties": { "line": integer(), "field": nullable(string()), "reason": string() } });
    json!({ "type": "object", "required": ["object", "id", "new", "rows_read", "rows_refused", "refusals", "run"], "properties": {
        "object": { "const": "settlement_report" }, "id": string(), "new": { "type": "boolean" },
        "rows_read": integer(), "rows_refused": integer(), "refusals": array(refusal),
        "run": super::schemas::reference("ReconciliationRun") } })
}

fn note_schema() -> Value {
    request(&[("note", json!({ "type": "string", "maxLength": 1000 }))], &[])
}

fn resolve_schema() -> Value {
    let accounts: Vec<&str> = paygate_core::ledger::AccountKind::ALL.iter().map(|k| k.as_str()).collect();
    let correction = json!({ "type": "object", "additionalProperties": false,
        "required": ["debit", "credit", "amount", "currency"],
        "description": "A correcting journal entry in your ledger: amount moved from credit to debit (never an authorization hold)",
        "properties": { "debit": { "type": "string", "enum": accounts }, "credit": { "type": "string", "enum": accounts },
                        "amount": super::schemas::minor_amount("Minor units"), "currency": super::schemas::currency() } });
    request(&[("note", json!({ "type": "string", "maxLength": 1000 })), ("correction", correction)], &["note"])
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadBody {
    account: String,
    format: Option<String>,
    period: Option<String>,
    content: String,
}

async fn upload(
    State(state): State<AppState>,
    caller: MerchantCaller,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: UploadBody = super::json::required(&headers, &body)?;
    let scope = caller.scope();
    let account = ProcessorAccountId::parse(&body.account)
        .map_err(|_| ApiError::invalid("account", "account must be a processor account id (pa_…)"))?;
    let format = match &body.format {
        Some(name) => ReportFormat::parse(name).ok_or_else(|| {
            let names: Vec<&str> = ReportFormat::ALL.iter().map(|f| f.as_str()).collect();
            ApiError::invalid("format", format!("format must be one of: {}", names.join(", ")))
        })?,
        None => {
            let record = accounts::get(&state.pool, scope, account).await.map_err(|e| match e {
                AccountError::NotFound => ApiError::invalid("account", "no such processor account"),
                other => ApiError::from(other),
            })?;
            ReportFormat::of_connector(record.connector.0)
        }
    };
    let request = Request { account, format, source: Source::Upload, period: body.period };
    let content = body.content.into_bytes();
    let imported = import::import(&state.pool, scope, request, || Ok(content.as_slice())).await?;
    let now = crate::ids::unix_seconds_now();
    let summary = matching::run(&state.pool, scope, account, Some(&imported.report), now).await?;
    let run_id = paygate_core::id::ReconciliationRunId::parse(&summary.run)
        .map_err(|e| ApiError::Internal(format!("the run's id: {e}")))?;
    let run = exceptions::get_run(&state.pool, scope, run_id).await?;
    let refusals: Vec<Value> =
        imported.refusals.iter().map(|r| json!({ "line": r.line, "field": r.field, "reason": r.reason })).collect();
    let answer = json!({
        "object": "settlement_report", "id": imported.report, "new": imported.new, "rows_read": imported.rows_read,
        "rows_refused": imported.rows_refused, "refusals": refusals,
        "run": run.as_ref().map(|r| crate::wire::to_value(&ReconciliationRun::from(r))),
    });
    Ok((if imported.new { StatusCode::CREATED } else { StatusCode::OK }, Json(answer)))
}

async fn list_runs(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<ReconciliationRun>>, ApiError> {
    let is_cursor = |c: &str| paygate_core::id::ReconciliationRunId::parse(c).is_ok();
    let page = pagination::page_only(query.as_deref(), is_cursor)?;
    let (rows, has_more) = exceptions::list_runs(&state.pool, caller.scope(), &page).await?;
    Ok(Json(List::page((rows.iter().map(ReconciliationRun::from).collect(), has_more))))
}

async fn get_run(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ReconciliationRunKind>,
) -> Result<Json<ReconciliationRun>, ApiError> {
    let run = exceptions::get_run(&state.pool, caller.scope(), id).await?;
    run.map(|r| Json(ReconciliationRun::from(&r))).ok_or(ApiError::Code(ErrorCode::ResourceNotFound))
}

/// The exception filters of a query string (the paging parameters are taken out first).
fn filters(pairs: Vec<(String, String)>) -> Result<Filters, ApiError> {
    let mut filters = Filters::default();
    for (name, value) in pairs {
        match name.as_str() {
            "category" if matching::CATEGORIES.contains(&value.as_str()) => filters.category = Some(value),
            "category" => {
                return Err(ApiError::invalid(
                    "category",
                    format!("category must be one of: {}", matching::CATEGORIES.join(", ")),
                ));
            }
            "state" if exceptions::STATES.contains(&value.as_str()) => filters.state = Some(value),
            "state" => return Err(ApiError::invalid("state", "state must be open, acknowledged or resolved")),
            "processor_account" => filters.account = Some(value),
            "charge" => filters.charge = Some(value),
            _ => return Err(pagination::unknown(&name)),
        }
    }
    Ok(filters)
}

async fn list_exceptions(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<ReconciliationException>>, ApiError> {
    let is_cursor = |c: &str| paygate_core::id::ReconciliationExceptionId::parse(c).is_ok();
    let (page, pairs) = pagination::parse(query.as_deref().unwrap_or(""), is_cursor)?;
    let (rows, has_more) = exceptions::list(&state.pool, caller.scope(), &filters(pairs)?, &page).await?;
    Ok(Json(List::page((rows.iter().map(ReconciliationException::from).collect(), has_more))))
}

async fn export(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (_, pairs) = pagination::parse(query.as_deref().unwrap_or(""), |_| false)?;
    let rows = exceptions::export(&state.pool, caller.scope(), &filters(pairs)?).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "processor_account",
        "category",
        "subject",
        "charge",
        "refund",
        "settlement_report",
        "line",
        "currency",
        "expected_amount",
        "actual_amount",
        "detail",
        "state",
        "note",
        "resolved_by",
        "opened",
        "last_seen",
    ];
    let csv_error = |e: csv::Error| ApiError::Internal(format!("writing the export: {e}"));
    writer.write_record(header).map_err(csv_error)?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for e in &rows {
        writer
            .write_record([
                e.id.clone(),
                e.processor_account_id.clone(),
                e.category.clone(),
                e.subject.clone(),
                text(&e.charge_id),
                text(&e.refund_id),
                text(&e.report_id),
                number(e.line),
                text(&e.currency),
                number(e.expected_amount),
                number(e.actual_amount),
                e.detail.clone(),
                e.state.clone(),
                text(&e.note),
                text(&e.resolved_by),
                paygate_core::time::rfc3339(e.opened_at),
                paygate_core::time::rfc3339(e.last_seen_at),
            ])
            .map_err(csv_error)?;
    }
    let body = writer.into_inner().map_err(|e| ApiError::Internal(format!("writing the export: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

async fn get_exception(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ReconciliationExceptionKind>,
) -> Result<Json<ReconciliationException>, ApiError> {
    Ok(Json(ReconciliationException::from(&exceptions::get(&state.pool, caller.scope(), id).await?)))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    note: Option<String>,
    correction: Option<CorrectionBody>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    debit: String,
    credit: String,
    amount: i64,
    currency: String,
}

impl CorrectionBody {
    fn parse(self) -> Result<exceptions::Correction, ApiError> {
        let account = |name: &str, text: &str| {
            paygate_core::ledger::AccountKind::parse(text).ok_or_else(|| {
                ApiError::invalid(&format!("correction.{name}"), format!("correction.{name} is not a ledger account"))
            })
        };
        Ok(exceptions::Correction {
            debit: account("debit", &self.debit)?,
            credit: account("credit", &self.credit)?,
            amount: paygate_core::money::Amount::positive(self.amount)
                .map_err(|e| ApiError::invalid("correction.amount", format!("correction.amount: {e}")))?,
            currency: paygate_core::Currency::parse(&self.currency)
                .map_err(|e| ApiError::invalid("correction.currency", format!("correction.currency: {e}")))?,
        })
    }
}

async fn acknowledge(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ReconciliationExceptionKind>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ReconciliationException>, ApiError> {
    // The body is optional: acknowledging needs no note.
    let body: NoteBody = super::json::optional(&headers, &body)?;
    let record = exceptions::work(&state.pool, caller.scope(), id, "acknowledged", body.note, None).await?;
    Ok(Json(ReconciliationException::from(&record)))
}

async fn resolve(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ReconciliationExceptionKind>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Json<ReconciliationException>, ApiError> {
    let correction = body.correction.map(CorrectionBody::parse).transpose()?;
    let record = exceptions::work(&state.pool, caller.scope(), id, "resolved", body.note, correction).await?;
    Ok(Json(ReconciliationException::from(&record)))
}
