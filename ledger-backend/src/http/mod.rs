//! The HTTP surface. Each resource module owns its routes; this root only merges them and adds the
//! layers every request passes through: request id and log span, body limit, and problem+json for the
//! requests no route takes.

pub mod api;
mod api_keys;
mod apple_pay;
mod authentication;
mod balance;
mod charges;
pub mod dashboard;
mod edge_auth;
mod error;
mod events;
mod health;
pub(crate) mod json;
mod metadata;
pub mod openapi;
pub mod operator;
mod pagination;
mod path_id;
mod payouts;
mod problem_only;
mod processors;
pub mod public_api;
mod reconciliation;
mod refunds;
pub(crate) mod request_id;
pub mod schemas;
mod webhooks;

pub use edge_auth::{Caller, MerchantCaller};
pub use error::ApiError;
pub use json::ApiJson;

use crate::domain::api_keys::Pepper;
use axum::Router;
use paygate_core::ErrorCode;
use paygate_core::signature::edge::EdgeSecret;
use sqlx::PgPool;
use std::sync::Arc;

/// The largest request body any endpoint takes. Payment objects are small; anything bigger is abuse.
pub const BODY_BYTES_MAX: usize = paygate_core::limits::BODY_BYTES_MAX;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Connections that act for no merchant, for work before a request's scope is known (`db::unscoped`).
    pub unscoped_pool: PgPool,
    /// The current edge signing secret first, then the previous one while a rotation overlaps.
    pub edge_secrets: Arc<Vec<EdgeSecret>>,
    /// The pepper of API-key hashes, shared with the edge.
    pub pepper: Pepper,
    pub processors: Arc<crate::processors::Processors>,
    /// `PAYGATE_OPERATOR_TOKEN`: the operator API exists only when it is set.
    pub operator_token: Option<operator::OperatorToken>,
    /// The keys webhook signing secrets are sealed under.
    pub secrets_keys: Arc<paygate_core::sealed::DataKeys>,
}

/// Everything under `/v1`, from every resource module.
pub fn v1_endpoints() -> Vec<api::Endpoint> {
    [
        api_keys::endpoints(),
        balance::endpoints(),
        charges::endpoints(),
        refunds::endpoints(),
        events::endpoints(),
        webhooks::endpoints(),
        processors::endpoints(),
        reconciliation::endpoints(),
        payouts::endpoints(),
        apple_pay::endpoints(),
        authentication::endpoints(),
    ]
    .into_iter()
    .flatten()
    .map(|mut endpoint| {
        let public_path = format!("/v1{}", endpoint.path);
        endpoint.idempotency_key = paygate_core::idempotency::requires_key(endpoint.method.as_str(), &public_path);
        endpoint
    })
    .collect()
}

/// The unsigned endpoints at the root: health, readiness, and the OpenAPI document.
pub fn root_endpoints() -> Vec<api::Endpoint> {
    let mut endpoints = health::endpoints();
    endpoints.push(
        api::Endpoint::new(
            axum::http::Method::GET,
            "/openapi.json",
            "getOpenApi",
            "This document",
            api::Answer::Inline(200, || serde_json::json!({ "type": "object" })),
            axum::routing::get(openapi::serve),
        )
        .tag("meta"),
    );
    endpoints.push(
        api::Endpoint::new(
            axum::http::Method::GET,
            paygate_core::internal::PUBLIC_OPENAPI_PATH,
            "getPublicOpenApi",
            "The public API's document, which the edge serves at /v1/openapi.json",
            api::Answer::Inline(200, || serde_json::json!({ "type": "object" })),
            axum::routing::get(public_api::serve),
        )
        .tag("meta"),
    );
    endpoints
}

pub fn router(state: AppState) -> Router {
    // Everything under /v1 is for the edge only: the middleware rejects what it did not sign, unknown
    // /v1 paths included, so an unsigned caller learns nothing about which routes exist.
    let v1 = api::router(v1_endpoints())
        .fallback(|| async { ApiError::Code(ErrorCode::RouteNotFound) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge_auth::verify));
    let operator = operator::router(state.clone());
    // The merchant dashboard: HTML for people, also only through the edge (its own error pages, not problems).
    let dashboard = dashboard::router(state.clone());
    api::router(root_endpoints())
        .nest("/v1", v1)
        .nest("/operator", operator)
        .nest(paygate_core::internal::DASHBOARD_PREFIX, dashboard)
        .fallback(|| async { ApiError::Code(ErrorCode::RouteNotFound) })
        .method_not_allowed_fallback(|| async { ApiError::Code(ErrorCode::MethodNotAllowed) })
        .with_state(state)
        // Extractors refuse larger bodies; our JSON extractor answers that as a 413 problem.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(problem_only::enforce))
        .layer(axum::middleware::from_fn(request_id::propagate))
}
