//! `GET /v1/balance`: the caller's balance in its mode.

use super::api::{Answer, Endpoint};
use super::{ApiError, AppState, MerchantCaller};
use crate::domain::balance::{self, Balance};
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;

pub fn endpoints() -> Vec<Endpoint> {
    let summary = "The caller's balance per currency: pending (captured less fees and refunds) and available";
    vec![
        Endpoint::new(Method::GET, "/balance", "getBalance", summary, Answer::Object(200, "Balance"), get(get_balance))
            .tag("balance"),
    ]
}

async fn get_balance(State(state): State<AppState>, caller: MerchantCaller) -> Result<Json<Balance>, ApiError> {
    Ok(Json(balance::of(&state.pool, caller.merchant_id, caller.mode).await?))
}
