//! The second factor: turning a TOTP app on (a new key, confirmed with a code) and off (with a code), and the
//! sign-in's second step.

use super::chrome::{Chrome, Nav, Plain};
use super::pages::{PageError, render};
use super::session::{Act, Pending, PendingForm, Signed};
use crate::domain::dashboard::accounts::AccountError;
use crate::domain::dashboard::second_factor::{self, SecondFactorError};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template)]
#[template(path = "dashboard/security.html")]
struct SecurityPage {
    chrome: Chrome,
    enabled: bool,
    /// A new key to set up (base32) and its `otpauth://` URL.
    setup_key: String,
    setup_url: String,
    notice: Option<String>,
    error: Option<String>,
}

fn security_page(
    signed: &Signed,
    status: StatusCode,
    enabled: bool,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let (setup_key, setup_url) =
        if enabled { Default::default() } else { second_factor::new_setup(&signed.session.email) };
    let page = SecurityPage { chrome: Chrome::new(signed, Nav::Team), enabled, setup_key, setup_url, notice, error };
    render(status, &page)
}

pub async fn page(signed: Signed) -> Response {
    let enabled = signed.session.has_totp;
    security_page(&signed, StatusCode::OK, enabled, None, None)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    key: String,
}

/// What a refused code or key shows, or the error page for what the person cannot fix.
fn refused(error: SecondFactorError) -> Result<String, PageError> {
    match error {
        SecondFactorError::WrongCode
        | SecondFactorError::BadSecret
        | SecondFactorError::NotEnabled
        | SecondFactorError::AlreadyOn => Ok(error.to_string()),
        SecondFactorError::Account(AccountError::Throttled) => Ok(AccountError::Throttled.to_string()),
        error => Err(PageError::internal(error)),
    }
}

pub async fn enable(State(state): State<AppState>, act: Act<CodeForm>) -> Response {
    let signed = &act.signed;
    let session = &signed.session;
    match signed
        .act(second_factor::enable(&state.pool, &state.secrets_keys, session, &act.form.key, &act.form.code))
        .await
    {
        Ok(()) => security_page(signed, StatusCode::OK, true, Some(signed.lang.labels().done.to_owned()), None),
        Err(error) => match refused(error) {
            Ok(message) => security_page(signed, StatusCode::BAD_REQUEST, false, None, Some(message)),
            Err(page) => page.page(signed.lang),
        },
    }
}

pub async fn disable(State(state): State<AppState>, act: Act<CodeForm>) -> Response {
    let signed = &act.signed;
    match signed.act(second_factor::disable(&state.pool, &state.secrets_keys, &signed.session, &act.form.code)).await {
        Ok(()) => security_page(signed, StatusCode::OK, false, Some(signed.lang.labels().done.to_owned()), None),
        Err(error) => match refused(error) {
            Ok(message) => security_page(signed, StatusCode::BAD_REQUEST, true, None, Some(message)),
            Err(page) => page.page(signed.lang),
        },
    }
}

#[derive(Template)]
#[template(path = "dashboard/sign_in_code.html")]
struct CodePage {
    plain: Plain,
    csrf: String,
    error: Option<String>,
}

pub async fn code_page(pending: Pending) -> Response {
    render(
        StatusCode::OK,
        &CodePage { plain: Plain::new(pending.lang), csrf: pending.session.csrf_token.clone(), error: None },
    )
}

pub async fn verify(State(state): State<AppState>, posted: PendingForm<CodeForm>) -> Response {
    let PendingForm { pending, form } = posted;
    match second_factor::verify(&state.pool, &state.secrets_keys, &pending.session, &form.code).await {
        Ok(token) => {
            let mut response = Redirect::to("/dashboard/overview").into_response();
            response.headers_mut().append(axum::http::header::SET_COOKIE, super::session::session_cookie(&token));
            response
        }
        Err(error) => match refused(error) {
            Ok(message) => {
                let page = CodePage {
                    plain: Plain::new(pending.lang),
                    csrf: pending.session.csrf_token.clone(),
                    error: Some(message),
                };
                render(StatusCode::UNAUTHORIZED, &page)
            }
            Err(page) => page.page(pending.lang),
        },
    }
}
