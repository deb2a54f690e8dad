//! `/v1/apple_pay/domains`: the web domains a merchant registered for Apple Pay. The edge asks Apple for a
//! merchant session only for these (it reads this list, filtered by `domain_name`, before asking).

use super::api::{Answer, Endpoint, PAGINATION, QueryParam};
use super::pagination;
use super::path_id::PathId;
use super::schemas::request;
use super::{ApiError, ApiJson, AppState, MerchantCaller};
use crate::domain::apple_pay_domains::{self, DomainError};
use crate::wire::{ApplePayDomain, Deleted, List};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use paygate_core::ErrorCode;
use paygate_core::id::{ApplePayDomainId, ApplePayDomainKind};
use serde_json::{Value, json};

const LIST_QUERY: [QueryParam; 4] =
    [PAGINATION[0], PAGINATION[1], PAGINATION[2], ("domain_name", "Only this domain (any case)")];

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::POST,
            "/apple_pay/domains",
            "registerApplePayDomain",
            "Register a domain your pages show Apple Pay on (it must serve Apple's domain-association file); registering it again answers the first registration",
            Answer::Object(201, "ApplePayDomain"),
            post(register),
        )
        .body(register_schema)
        .tag("apple_pay"),
        Endpoint::new(
            Method::GET,
            "/apple_pay/domains",
            "listApplePayDomains",
            "Your registered domains, newest first; `domain_name` finds one",
            Answer::List("ApplePayDomain"),
            get(list),
        )
        .query(&LIST_QUERY)
        .tag("apple_pay"),
        Endpoint::new(
            Method::GET,
            "/apple_pay/domains/{id}",
            "getApplePayDomain",
            "One registered domain",
            Answer::Object(200, "ApplePayDomain"),
            get(retrieve),
        )
        .tag("apple_pay"),
        Endpoint::new(
            Method::DELETE,
            "/apple_pay/domains/{id}",
            "removeApplePayDomain",
            "Stop showing Apple Pay on a domain",
            Answer::Object(200, "ApplePayDomain"),
            delete(remove),
        )
        .tag("apple_pay"),
    ]
}

fn register_schema() -> Value {
    request(
        &[("domain_name", json!({ "type": "string", "maxLength": 253, "examples": ["shop.example.com"] }))],
        &["domain_name"],
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    domain_name: String,
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid => ApiError::invalid("domain_name", error.to_string()),
            DomainError::Database(e) => ApiError::from(e),
        }
    }
}

async fn register(
    State(state): State<AppState>,
    caller: MerchantCaller,
    ApiJson(body): ApiJson<Register>,
) -> Result<(StatusCode, Json<ApplePayDomain>), ApiError> {
    let (record, new) = apple_pay_domains::register(&state.pool, caller.scope(), &body.domain_name).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(ApplePayDomain::from(&record))))
}

async fn list(
    State(state): State<AppState>,
    caller: MerchantCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<List<ApplePayDomain>>, ApiError> {
    let (page, pairs) = pagination::parse(query.as_deref().unwrap_or(""), |c| ApplePayDomainId::parse(c).is_ok())?;
    let mut domain_name = None;
    for (name, value) in pairs {
        match name.as_str() {
            "domain_name" => domain_name = Some(apple_pay_domains::normalized(&value)?),
            _ => return Err(pagination::unknown(&name)),
        }
    }
    let (rows, has_more) = apple_pay_domains::list(&state.pool, caller.scope(), &page, domain_name.as_deref()).await?;
    Ok(Json(List::page((rows.iter().map(ApplePayDomain::from).collect(), has_more))))
}

async fn retrieve(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ApplePayDomainKind>,
) -> Result<Json<ApplePayDomain>, ApiError> {
    let found = apple_pay_domains::get(&state.pool, caller.scope(), id).await?;
    found.map(|d| Json(ApplePayDomain::from(&d))).ok_or(ApiError::Code(ErrorCode::ResourceNotFound))
}

async fn remove(
    State(state): State<AppState>,
    caller: MerchantCaller,
    PathId(id): PathId<ApplePayDomainKind>,
) -> Result<Json<Deleted<ApplePayDomain>>, ApiError> {
    let removed = apple_pay_domains::remove(&state.pool, caller.scope(), id).await?;
    let record = removed.ok_or(ApiError::Code(ErrorCode::ResourceNotFound))?;
    Ok(Json(Deleted { object: ApplePayDomain::from(&record), deleted: true }))
}
