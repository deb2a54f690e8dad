//! The operator API, for the people who run Paygate (never merchant keys, never through the edge):
//! `GET|POST /operator/merchants/{id}/pricing`. It exists only when `PAYGATE_OPERATOR_TOKEN` is set, and
//! answers only `Authorization: Bearer <that token>`, compared in constant time. It belongs on the
//! operators' network, like the backend itself; the edge forwards nothing under `/operator`.

use super::path_id::PathId;
use super::{ApiError, ApiJson, AppState};
use crate::domain::pricing::{self, PricedCurrency, PricingChangeError};
use crate::domain::tenancy::{self, Scope};
use crate::wire::{List, Price};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use paygate_core::Amount;
use paygate_core::ErrorCode;
use paygate_core::id::{MerchantId, MerchantKind};
use paygate_core::ledger::Pricing;
use sha2::{Digest, Sha256};

/// The shared operator secret, kept only as its SHA-256 so comparisons take the same time for any guess.
#[derive(Clone)]
pub struct OperatorToken([u8; 32]);

/// Long enough that guessing is hopeless; generate with `openssl rand -hex 32`.
pub const OPERATOR_TOKEN_CHARS_MIN: usize = 32;

impl OperatorToken {
    pub fn new(token: &str) -> Option<Self> {
        (token.len() >= OPERATOR_TOKEN_CHARS_MIN).then(|| OperatorToken(Sha256::digest(token.as_bytes()).into()))
    }

    fn accepts(&self, presented: &[u8]) -> bool {
        paygate_core::signature::constant_time_eq(&self.0, &Sha256::digest(presented))
    }
}

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(***)")
    }
}

pub fn router(state: AppState) -> axum::Router<AppState> {
    axum::Router::new()
        .route("/merchants/{id}/pricing", get(history).post(set))
        .fallback(|| async { ApiError::Code(ErrorCode::RouteNotFound) })
        .layer(axum::middleware::from_fn_with_state(state, require_operator))
}

async fn require_operator(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.operator_token else {
        // Not configured: the API does not exist.
        return ApiError::Code(ErrorCode::RouteNotFound).into_response();
    };
    let presented = request.headers().get("authorization").and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match presented {
        Some(presented) if token.accepts(presented) => {
            crate::domain::actor::scope("operator:api".to_owned(), next.run(request)).await
        }
        Some(_) => ApiError::Code(ErrorCode::ApiKeyInvalid).into_response(),
        None => ApiError::Code(ErrorCode::AuthenticationRequired).into_response(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPricing {
    /// An ISO 4217 code, or `*` for every currency without its own price.
    currency: String,
    basis_points: i64,
    fixed_minor: i64,
}

/// Validates an operator's price the same way for the API and the CLI.
pub fn parse_price(currency: &str, basis_points: i64, fixed_minor: i64) -> Result<(PricedCurrency, Pricing), ApiError> {
    let currency = PricedCurrency::parse(currency).map_err(|e| ApiError::invalid("currency", e.to_string()))?;
    let bps_invalid = || ApiError::invalid("basis_points", "basis_points is 0 to 10000 (100 %)");
    let basis_points = u16::try_from(basis_points).map_err(|_| bps_invalid())?;
    let fixed = Amount::new(fixed_minor).map_err(|e| ApiError::invalid("fixed_minor", e.to_string()))?;
    let pricing = Pricing::new(basis_points, fixed).map_err(|_| bps_invalid())?;
    Ok((currency, pricing))
}

async fn set(
    State(state): State<AppState>,
    PathId(merchant): PathId<MerchantKind>,
    ApiJson(body): ApiJson<SetPricing>,
) -> Result<(StatusCode, Json<Price>), ApiError> {
    let (currency, price) = parse_price(&body.currency, body.basis_points, body.fixed_minor)?;
    let actor = crate::domain::actor::current();
    let work = pricing::set(&state.pool, merchant, currency, price, &actor);
    let row = tenancy::scope(pricing_scope(merchant), work).await.map_err(|e| match e {
        PricingChangeError::UnknownMerchant => ApiError::Code(ErrorCode::ResourceNotFound),
        PricingChangeError::Database(e) => ApiError::from(e),
    })?;
    Ok((StatusCode::CREATED, Json(Price::from(&row))))
}

async fn history(
    State(state): State<AppState>,
    PathId(merchant): PathId<MerchantKind>,
) -> Result<Json<List<Price>>, ApiError> {
    let work = async {
        let exists = crate::domain::merchants::exists(&state.pool, merchant).await?;
        Ok::<_, sqlx::Error>(if exists { Some(pricing::history(&state.pool, merchant).await?) } else { None })
    };
    let rows =
        tenancy::scope(pricing_scope(merchant), work).await?.ok_or(ApiError::Code(ErrorCode::ResourceNotFound))?;
    // A merchant's whole price history: complete by construction.
    Ok(Json(List::whole(rows.iter().map(Price::from).collect())))
}

/// The operator acts on one merchant's prices, which belong to both modes; their audit rows are in live
/// (`pricing::set`). Row-level security lets the API's connection reach exactly that merchant.
fn pricing_scope(merchant: MerchantId) -> Scope {
    Scope { merchant_id: merchant, mode: paygate_core::Mode::Live }
}
