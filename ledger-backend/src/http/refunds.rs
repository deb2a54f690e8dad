//! `/v1/refunds`: create (Idempotency-Key required), retrieve, list a charge's refunds.

use super::api::{Answer, Endpoint, PAGINATION, QueryParam};
use super::charges::idempotency_key;
use super::pagination;
use super::path_id::PathId;
use super::schemas::{id, metadata, minor_amount, one_of_strings, request};
use super::{ApiError, AppState, MerchantCaller};
use crate::domain::idempotency::KeyUse;
use crate::domain::refunds::{self, NewRefund, RefundContext, RefundError};
use crate::wire::{List, Refund};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use paygate_core::id::{ChargeId, RefundId};
use paygate_core::{Amount, ErrorCode};
use serde_json::{Map, Value, json};

const LIST_QUERY: [QueryParam; 4] =
    [("charge", "The charge whose refunds to list (required)"), PAGINATION[0], PAGINATION[1], PAGINATION[2]];
const REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::POST,
            "/refunds",
            "createRefund",
            "Refund a captured charge, wholly or in part; several refunds may add up to the capture",
            Answer::Object(201, "Refund"),
            post(create_refund),
        )
        .body(create_schema)
        .tag("refunds"),
        Endpoint::new(
            Method::GET,
            "/refunds",
            "listRefunds",
            "The refunds of one charge, newest first",
            Answer::List("Refund"),
            get(list_refunds),
        )
        .query(&LIST_QUERY)
        .tag("refunds"),
        Endpoint::new(
            Method::GET,
            "/refunds/{id}",
            "getRefund",
            "One refund",
            Answer::Object(200, "Refund"),
            get(get_refund),
        )
        .tag("refunds"),
    ]
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRefundBody {
    charge: String,
    amount: Option<i64>,
    reason: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
}

impl From<RefundError> for ApiError {
    fn from(error: RefundError) -> Self {
        match error {
            // The charge named in the body does not exist for this caller: name the parameter.
            RefundError::ChargeNotFound => ApiError::Param {
                code: ErrorCode::ResourceNotFound,
                param: "charge".into(),
                detail: "no such charge".into(),
            },
            RefundError::NotFound => ApiError::Code(ErrorCode::ResourceNotFound),
            RefundError::IdempotencyKeyReused => ApiError::Code(ErrorCode::IdempotencyKeyReused),
            RefundError::Transition(e) => super::charges::transition_problem(e),
            RefundError::Charge(e) => e.into(),
            RefundError::Database(e) => ApiError::from(e),
        }
    }
}

fn create_schema() -> Value {
    let mut amount = minor_amount("At most what is left to refund; all of it when absent");
    amount["minimum"] = json!(1);
    request(
        &[("charge", id("ch")), ("amount", amount), ("reason", one_of_strings(&REASONS)), ("metadata", metadata())],
        &["charge"],
    )
}

fn validate(body: CreateRefundBody) -> Result<NewRefund, ApiError> {
    let charge_id = ChargeId::parse(&body.charge).map_err(|e| ApiError::invalid("charge", e.to_string()))?;
    let amount = body
        .amount
        .map(|minor| Amount::positive(minor).map_err(|e| ApiError::invalid("amount", e.to_string())))
        .transpose()?;
    if let Some(reason) = &body.reason
        && !REASONS.contains(&reason.as_str())
    {
        return Err(ApiError::invalid("reason", "reason must be duplicate, fraudulent or requested_by_customer"));
    }
    super::metadata::check(&body.metadata)?;
    Ok(NewRefund { charge_id, amount, reason: body.reason, metadata: body.metadata })
}

async fn create_refund(
    State(state): State<AppState>,
    caller: MerchantCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Refund>), ApiError> {
    let key = idempotency_key(&headers)?;
    let new = validate(super::json::required::<CreateRefundBody>(&headers, &body)?)?;
    let request_id = super::request_id::current().unwrap_or_default();
    let fingerprint = paygate_core::idempotency::fingerprint("POST", "/v1/refunds", &body);
    let ctx = RefundContext {
        pool: &state.pool,
        processors: &state.processors,
        scope: caller.scope(),
        request_id: &request_id,
        key: KeyUse { key: key.as_str(), fingerprint: &fingerprint, object_type: "refund" },
    };
    let (refund, replayed) = refunds::create(&ctx, &new).await?;
    let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(Refund::from(&refund))))
}

async fn get_refund(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<paygate_core::id::RefundKind>,
) -> Result<Json<Refund>, ApiError> {
    let scope = caller.scope();
    Ok(Json(Refund::from(&refunds::get(&state.pool, scope, id).await?)))
}

async fn list_refunds(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Refund>>, ApiError> {
    let (page, filters) = pagination::parse(query.as_deref().unwrap_or(""), |c| RefundId::parse(c).is_ok())?;
    let mut charge = None;
    for (name, value) in filters {
        match name.as_str() {
            "charge" => charge = Some(ChargeId::parse(&value).map_err(|e| ApiError::invalid("charge", e.to_string()))?),
            _ => return Err(pagination::unknown(&name)),
        }
    }
    let charge = charge.ok_or_else(|| ApiError::Param {
        code: ErrorCode::ParameterMissing,
        param: "charge".into(),
        detail: "list refunds by charge: ?charge=ch_…".into(),
    })?;
    let (rows, has_more) = refunds::of_charge(&state.pool, caller.scope(), charge, &page).await?;
    Ok(Json(List::page((rows.iter().map(Refund::from).collect(), has_more))))
}
