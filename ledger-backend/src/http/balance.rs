//! `GET /v1/balance`: the caller's balance in its mode.

use super::{ApiError, AppState, MerchantCaller};
use crate::domain::balance::{self, Balance};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new().route("/balance", get(get_balance))
}

async fn get_balance(State(state): State<AppState>, caller: MerchantCaller) -> Result<Json<Balance>, ApiError> {
    Ok(Json(balance::of(&state.pool, caller.merchant_id, caller.mode).await?))
}
