//! `/v1/payouts`: what reached the merchant's bank, booked by reconciliation from the processors' reports.

use super::api::{Answer, Endpoint, PAGINATION};
use super::pagination;
use super::path_id::PathId;
use super::{ApiError, AppState, MerchantCaller};
use crate::domain::settlement::payouts;
use crate::wire::{List, Payout};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use paygate_core::ErrorCode;
use paygate_core::id::{PayoutId, PayoutKind};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::GET,
            "/payouts",
            "listPayouts",
            "Payouts to your bank, newest first",
            Answer::List("Payout"),
            get(list),
        )
        .query(&PAGINATION)
        .tag("payouts"),
        Endpoint::new(
            Method::GET,
            "/payouts/{id}",
            "getPayout",
            "One payout",
            Answer::Object(200, "Payout"),
            get(retrieve),
        )
        .tag("payouts"),
    ]
}

async fn list(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Payout>>, ApiError> {
    let page = pagination::page_only(query.as_deref(), |c| PayoutId::parse(c).is_ok())?;
    let (rows, has_more) = payouts::list(&state.pool, caller.scope(), &page).await?;
    Ok(Json(List::page((rows.iter().map(Payout::from).collect(), has_more))))
}

async fn retrieve(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<PayoutKind>,
) -> Result<Json<Payout>, ApiError> {
    let payout = payouts::get(&state.pool, caller.scope(), id).await?;
    payout.map(|p| Json(Payout::from(&p))).ok_or(ApiError::Code(ErrorCode::ResourceNotFound))
}
