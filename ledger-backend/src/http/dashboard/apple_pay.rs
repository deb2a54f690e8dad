//! Apple Pay domains: the web domains whose pages may show the Apple Pay button (each must also serve the
//! association file the edge answers); registered and removed as with the API.

use super::chrome::{Chrome, Nav, when};
use super::pages::{PageError, render};
use super::session::{Act, Signed};
use crate::domain::apple_pay_domains::{self, DomainError};
use crate::domain::dashboard::Permission;
use crate::domain::page::Page;
use crate::http::AppState;
use crate::http::path_id::PathId;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::id::ApplePayDomainKind;

pub struct DomainRow {
    pub id: String,
    pub domain_name: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/apple_pay.html")]
struct ApplePayPage {
    chrome: Chrome,
    domains: Vec<DomainRow>,
    can_manage: bool,
    error: Option<String>,
}

async fn apple_pay_page(state: &AppState, signed: &Signed, status: StatusCode, error: Option<String>) -> Response {
    let page = Page { limit: 100, ..Page::default() };
    let listed = signed.act(apple_pay_domains::list(&state.pool, signed.session.scope(), &page, None)).await;
    let domains = match listed {
        Ok((domains, _)) => domains,
        Err(error) => return PageError::internal(error).page(signed.lang),
    };
    let page = ApplePayPage {
        chrome: Chrome::new(signed, Nav::ApplePay),
        domains: domains
            .iter()
            .map(|d| DomainRow { id: d.id.clone(), domain_name: d.domain_name.clone(), created: when(d.created) })
            .collect(),
        can_manage: signed.session.role.allows(Permission::ManageIntegration),
        error,
    };
    render(status, &page)
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    apple_pay_page(&state, &signed, StatusCode::OK, None).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DomainForm {
    domain_name: String,
}

pub async fn register(State(state): State<AppState>, act: Act<DomainForm>) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    let domain = act.form.domain_name.trim().to_owned();
    match signed.act(apple_pay_domains::register(&state.pool, signed.session.scope(), &domain)).await {
        Ok(_) => Redirect::to("/dashboard/apple-pay").into_response(),
        Err(error @ DomainError::Invalid) => {
            apple_pay_page(&state, signed, StatusCode::BAD_REQUEST, Some(error.to_string())).await
        }
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}

pub async fn remove(
    State(state): State<AppState>,
    PathId(id): PathId<ApplePayDomainKind>,
    act: Act<Vec<(String, String)>>,
) -> Response {
    let signed = &act.signed;
    if !signed.session.role.allows(Permission::ManageIntegration) {
        return PageError::NotAllowed.page(signed.lang);
    }
    match signed.act(apple_pay_domains::remove(&state.pool, signed.session.scope(), id)).await {
        Ok(Some(_)) => Redirect::to("/dashboard/apple-pay").into_response(),
        Ok(None) => PageError::NotFound.page(signed.lang),
        Err(error) => PageError::internal(error).page(signed.lang),
    }
}
