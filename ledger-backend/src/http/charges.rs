//! `/v1/charges`: create (Idempotency-Key required), retrieve, list. The handlers parse and validate
//! the wire format into domain values, naming the parameter at fault, then call `domain::charges`.

use super::api::{Answer, Endpoint, PAGINATION, QueryParam};
use super::path_id::PathId;
use super::schemas::{boolean, described, id, metadata, minor_amount, request};
use super::{ApiError, AppState, MerchantCaller, pagination};
use crate::domain::charges::{self, ChargeError, CreateContext, ListFilter, MadaRule, NewCharge, Operation};
use crate::domain::page::Page;
use crate::wire::{Charge, List};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use paygate_core::id::TokenId;
use paygate_core::idempotency::{self, IdempotencyKey};
use paygate_core::money::AmountError;
use paygate_core::{Amount, Currency, ErrorCode, text};
use serde_json::{Map, Value, json};

const DESCRIPTION_CHARS_MAX: usize = 1_000;
/// Card networks print at most 22 characters on the statement.
const STATEMENT_DESCRIPTOR_CHARS_MAX: usize = 22;

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const UNIX_TIME_MIN: i64 = -62_135_596_800;
const UNIX_TIME_MAX: i64 = 253_402_300_799;

const LIST_QUERY: [QueryParam; 6] = [
    PAGINATION[0],
    PAGINATION[1],
    PAGINATION[2],
    ("status", "Only charges in this status"),
    ("created_gte", "Only charges created at or after this Unix time"),
    ("created_lte", "Only charges created at or before this Unix time"),
];

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::POST,
            "/charges",
            "createCharge",
            "Charge a vaulted card: authorize, and capture too unless `capture` is false",
            Answer::Object(201, "Charge"),
            post(create_charge),
        )
        .body(create_schema)
        .tag("charges"),
        Endpoint::new(
            Method::GET,
            "/charges",
            "listCharges",
            "The caller's charges, newest first",
            Answer::List("Charge"),
            get(list_charges),
        )
        .query(&LIST_QUERY)
        .tag("charges"),
        Endpoint::new(
            Method::GET,
            "/charges/{id}",
            "getCharge",
            "One charge",
            Answer::Object(200, "Charge"),
            get(get_charge),
        )
        .tag("charges"),
        Endpoint::new(
            Method::POST,
            "/charges/{id}/capture",
            "captureCharge",
            "Capture an authorized charge, wholly or in part (the rest is released)",
            Answer::ObjectOrAccepted("Charge"),
            post(capture_charge),
        )
        .optional_body(capture_schema)
        .tag("charges"),
        Endpoint::new(
            Method::POST,
            "/charges/{id}/void",
            "voidCharge",
            "Release an authorization without capturing",
            Answer::ObjectOrAccepted("Charge"),
            post(void_charge),
        )
        .tag("charges"),
    ]
}

impl From<ChargeError> for ApiError {
    fn from(error: ChargeError) -> Self {
        match error {
            ChargeError::NotFound => ApiError::Code(ErrorCode::ResourceNotFound),
            ChargeError::IdempotencyKeyReused => ApiError::Code(ErrorCode::IdempotencyKeyReused),
            ChargeError::OperationInFlight => ApiError::Code(ErrorCode::IdempotencyInFlight),
            ChargeError::Transition(e) => transition_problem(e),
            ChargeError::ProcessorRefused(detail) => {
                ApiError::Param { code: ErrorCode::ProcessingError, param: String::new(), detail }
            }
            ChargeError::ProcessorUnknown(_) => ApiError::Code(ErrorCode::UpstreamError),
            ChargeError::NoProcessor => ApiError::Code(ErrorCode::ProcessorNotConfigured),
            ChargeError::VaultUnavailable(_) => ApiError::Code(ErrorCode::ServiceUnavailable),
            ChargeError::WalletMismatch { param, .. } => ApiError::invalid(param, error.to_string()),
            ChargeError::Mada(rule) => {
                let code = match rule {
                    MadaRule::CaptureRequired => ErrorCode::ParameterInvalid,
                    MadaRule::NoAccount => ErrorCode::ProcessorNotConfigured,
                    MadaRule::NoVoid | MadaRule::NoLaterCapture => ErrorCode::InvalidState,
                };
                ApiError::Param { code, param: rule.param().to_owned(), detail: rule.to_string() }
            }
            ChargeError::Account(crate::domain::processors::accounts::AccountError::Database(e)) => ApiError::from(e),
            // An account the charge names cannot be opened (its credentials' key is gone): ours to fix.
            ChargeError::Account(e) => ApiError::Internal(format!("processor account unusable: {e}")),
            ChargeError::Journal(crate::domain::journal::JournalError::Database(e)) | ChargeError::Database(e) => {
                ApiError::from(e)
            }
            // Our own posting rule refused: a bug of ours, never the caller's (logged with the 500).
            ChargeError::Journal(crate::domain::journal::JournalError::Posting(e)) => {
                ApiError::Internal(format!("ledger posting refused: {e}"))
            }
        }
    }
}

pub(super) fn transition_problem(error: paygate_core::charge::TransitionError) -> ApiError {
    use paygate_core::charge::TransitionError as T;
    let (code, param) = match error {
        T::InvalidTransition { .. } => (ErrorCode::InvalidState, ""),
        T::ZeroAmount => (ErrorCode::ParameterInvalid, "amount"),
        T::CaptureExceedsAuthorization { .. } | T::RefundExceedsCapture { .. } | T::RevertExceedsRefunded { .. } => {
            (ErrorCode::AmountTooLarge, "amount")
        }
    };
    ApiError::Param { code, param: param.to_owned(), detail: error.to_string() }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateChargeBody {
    amount: i64,
    currency: String,
    source: String,
    #[serde(default = "default_capture")]
    capture: bool,
    description: Option<String>,
    statement_descriptor: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
}

fn default_capture() -> bool {
    true
}

fn create_schema() -> serde_json::Value {
    let positive = |what: &str| {
        let mut schema = minor_amount(what);
        schema["minimum"] = json!(1);
        schema
    };
    let text = |max: usize| json!({ "type": "string", "maxLength": max });
    request(
        &[
            ("amount", positive("In the currency's minor unit")),
            ("currency", json!({ "type": "string", "description": "ISO 4217 code (case-insensitive)" })),
            ("source", described(id("tok"), "A token from `@paygate/js` (or `POST /v1/tokens`), single use")),
            ("capture", described(boolean(), "`false` only authorizes: capture later, or void (default `true`)")),
            ("description", described(text(DESCRIPTION_CHARS_MAX), "Yours, shown in the dashboard")),
            (
                "statement_descriptor",
                described(
                    text(STATEMENT_DESCRIPTOR_CHARS_MAX),
                    "What the shopper's statement shows, where the processor allows it",
                ),
            ),
            ("metadata", metadata()),
        ],
        &["amount", "currency", "source"],
    )
}

fn capture_schema() -> serde_json::Value {
    let mut amount = minor_amount("At most the authorized amount; the whole of it when absent");
    amount["minimum"] = json!(1);
    request(&[("amount", amount)], &[])
}

fn validate(body: CreateChargeBody) -> Result<NewCharge, ApiError> {
    let amount = Amount::positive(body.amount).map_err(|e| match e {
        AmountError::TooLarge => {
            ApiError::Param { code: ErrorCode::AmountTooLarge, param: "amount".into(), detail: e.to_string() }
        }
        other => ApiError::invalid("amount", other.to_string()),
    })?;
    let currency = Currency::parse(&body.currency).map_err(|e| ApiError::invalid("currency", e.to_string()))?;
    let source = TokenId::parse(&body.source).map_err(|e| ApiError::invalid("source", e.to_string()))?;
    let text = |value: Option<String>, param: &'static str, max: usize| match value {
        Some(v) => {
            text::single_line(&v, max).map(|()| Some(v)).map_err(|e| ApiError::invalid(param, format!("{param} {e}")))
        }
        None => Ok(None),
    };
    let description = text(body.description, "description", DESCRIPTION_CHARS_MAX)?;
    let statement_descriptor = text(body.statement_descriptor, "statement_descriptor", STATEMENT_DESCRIPTOR_CHARS_MAX)?;
    super::metadata::check(&body.metadata)?;
    Ok(NewCharge {
        amount,
        currency,
        source,
        capture: body.capture,
        description,
        statement_descriptor,
        metadata: body.metadata,
    })
}

/// The Idempotency-Key of a money-moving request: required, with the syntax core defines for edge and
/// backend alike.
pub fn idempotency_key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let value = headers.get(idempotency::HEADER).ok_or(ApiError::Code(ErrorCode::IdempotencyKeyMissing))?;
    IdempotencyKey::parse(value.as_bytes()).map_err(|error| ApiError::Param {
        code: ErrorCode::IdempotencyKeyInvalid,
        param: "Idempotency-Key".into(),
        detail: error.to_string(),
    })
}

async fn create_charge(
    State(state): State<AppState>,
    caller: MerchantCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Charge>), ApiError> {
    let key = idempotency_key(&headers)?;
    let new = validate(super::json::required::<CreateChargeBody>(&headers, &body)?)?;
    let request_id = super::request_id::current().unwrap_or_default();
    let ctx = CreateContext {
        pool: &state.pool,
        processors: &state.processors,
        scope: caller.scope(),
        request_id: &request_id,
        idempotency_key: key.as_str(),
        fingerprint: &idempotency::fingerprint("POST", "/v1/charges", &body),
    };
    let (charge, replayed) = charges::create(&ctx, &new).await?;
    let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(Charge::from(&charge))))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    amount: Option<i64>,
}

async fn capture_charge(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::ChargeKind>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Charge>), ApiError> {
    // The body is optional: no body captures the whole authorization.
    let body: CaptureBody = super::json::optional(&headers, &body)?;
    let amount = body
        .amount
        .map(|minor| Amount::positive(minor).map_err(|e| ApiError::invalid("amount", e.to_string())))
        .transpose()?;
    let scope = caller.scope();
    let charge = charges::operate(&state.pool, &state.processors, scope, id, Operation::Capture { amount }).await?;
    Ok(accepted_or_done(&charge))
}

/// 202 while the processor has accepted the operation but not confirmed it (`pending_operation` says which),
/// 200 once it is done.
fn accepted_or_done(charge: &charges::ChargeRecord) -> (StatusCode, Json<Charge>) {
    let status = if charge.pending_operation.is_some() { StatusCode::ACCEPTED } else { StatusCode::OK };
    (status, Json(Charge::from(charge)))
}

async fn void_charge(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::ChargeKind>,
) -> Result<(StatusCode, Json<Charge>), ApiError> {
    let scope = caller.scope();
    let charge = charges::operate(&state.pool, &state.processors, scope, id, Operation::Void).await?;
    Ok(accepted_or_done(&charge))
}

async fn get_charge(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::ChargeKind>,
) -> Result<Json<Charge>, ApiError> {
    let scope = caller.scope();
    Ok(Json(Charge::from(&charges::get(&state.pool, scope, id).await?)))
}

async fn list_charges(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Charge>>, ApiError> {
    let (page, filter) = list_filter(query.as_deref().unwrap_or(""))?;
    let (rows, has_more) = charges::list(&state.pool, caller.scope(), &page, &filter).await?;
    Ok(Json(List::page((rows.iter().map(Charge::from).collect(), has_more))))
}

fn list_filter(query: &str) -> Result<(Page, ListFilter), ApiError> {
    let (page, filters) = pagination::parse(query, |c| paygate_core::id::ChargeId::parse(c).is_ok())?;
    let mut filter = ListFilter::default();
    for (name, value) in filters {
        // Unix seconds from year 1 to 9999: PostgreSQL's timestamps hold these, and no charge is outside them.
        let unix_time = || {
            value.parse::<i64>().ok().filter(|t| (UNIX_TIME_MIN..=UNIX_TIME_MAX).contains(t)).ok_or_else(|| {
                ApiError::invalid(&name, format!("{name} is Unix seconds, {UNIX_TIME_MIN} to {UNIX_TIME_MAX}"))
            })
        };
        match name.as_str() {
            "status" => {
                paygate_core::charge::ChargeStatus::parse(&value)
                    .ok_or_else(|| ApiError::invalid("status", "unknown status"))?;
                filter.status = Some(value);
            }
            "created_gte" => filter.created_gte = Some(unix_time()?),
            "created_lte" => filter.created_lte = Some(unix_time()?),
            _ => return Err(pagination::unknown(&name)),
        }
    }
    Ok((page, filter))
}
