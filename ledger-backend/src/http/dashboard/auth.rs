//! Signing up, in and out, and switching what the session shows (test or live data).

use super::chrome::{Chrome, Nav, Plain};
use super::i18n::Lang;
use super::pages::{PageError, render};
use super::session::{self, Act, PRE_SESSION_COOKIE, PreSessionForm, Signed};
use crate::domain::dashboard::accounts::{self, AccountError, SignUp};
use crate::domain::dashboard::sessions::{self, random_text};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use paygate_core::Mode;

#[derive(Template)]
#[template(path = "dashboard/sign_in.html")]
struct SignInPage {
    plain: Plain,
    csrf: String,
    email: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "dashboard/sign_up.html")]
struct SignUpPage {
    plain: Plain,
    csrf: String,
    email: String,
    business_name: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/welcome.html")]
struct WelcomePage {
    chrome: Chrome,
    publishable_key: String,
    secret_key: String,
}

/// A form page before sign-in, with a fresh pre-session token in its cookie and its form.
fn with_pre_session(status: StatusCode, page: impl FnOnce(String) -> Response) -> Response {
    let token = random_text();
    let mut response = page(token.clone());
    *response.status_mut() = status;
    response.headers_mut().append(header::SET_COOKIE, session::pre_session_cookie(&token));
    response
}

pub async fn sign_in_page(headers: HeaderMap) -> Response {
    let lang = Lang::from_request(&headers);
    with_pre_session(StatusCode::OK, |csrf| {
        render(StatusCode::OK, &SignInPage { plain: Plain::new(lang), csrf, email: String::new(), error: None })
    })
}

pub async fn sign_up_page(headers: HeaderMap) -> Response {
    let lang = Lang::from_request(&headers);
    with_pre_session(StatusCode::OK, |csrf| {
        let page = SignUpPage {
            plain: Plain::new(lang),
            csrf,
            email: String::new(),
            business_name: String::new(),
            error: None,
        };
        render(StatusCode::OK, &page)
    })
}

#[derive(serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in(State(state): State<AppState>, posted: PreSessionForm<SignInForm>) -> Response {
    let PreSessionForm { form, lang, presented_session } = posted;
    match accounts::sign_in(&state.pool, &form.email, form.password).await {
        Ok(signed_in) => {
            // A session the browser held before is ended: nobody can plant a session and ride it in.
            if let Some(old) = presented_session
                && let Err(error) = sessions::revoke(&state.pool, &old, false).await
            {
                tracing::warn!(%error, "could not revoke the session a sign-in replaced");
            }
            let next = if signed_in.needs_second_factor { "/dashboard/sign-in/code" } else { "/dashboard/overview" };
            signed_in_response(&signed_in.token, next)
        }
        Err(error) => {
            let (status, message) = match error {
                AccountError::Throttled => (StatusCode::TOO_MANY_REQUESTS, throttled(lang)),
                AccountError::NoTeam => (StatusCode::FORBIDDEN, no_team(lang)),
                AccountError::Database(error) => return PageError::internal(error).page(lang),
                _ => (StatusCode::UNAUTHORIZED, wrong_credentials(lang)),
            };
            with_pre_session(status, |csrf| {
                let page =
                    SignInPage { plain: Plain::new(lang), csrf, email: form.email.clone(), error: Some(message) };
                render(status, &page)
            })
        }
    }
}

fn wrong_credentials(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "The email address or the password is wrong.",
        Lang::Ar => "البريد الإلكتروني أو كلمة المرور غير صحيحة.",
    }
}

fn throttled(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Too many failed sign-ins for this address. Try again in 15 minutes.",
        Lang::Ar => "محاولات دخول فاشلة كثيرة لهذا العنوان. حاول مجددًا بعد ١٥ دقيقة.",
    }
}

fn no_team(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "This account no longer belongs to any team.",
        Lang::Ar => "هذا الحساب لم يعد ينتمي إلى أي فريق.",
    }
}

/// The new session's cookie (the pre-session one deleted) and a redirect to `to`.
fn signed_in_response(token: &sessions::SessionToken, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, session::session_cookie(token));
    response.headers_mut().append(header::SET_COOKIE, session::expired_cookie(PRE_SESSION_COOKIE));
    response
}

#[derive(serde::Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    business_name: String,
}

pub async fn sign_up(State(state): State<AppState>, posted: PreSessionForm<SignUpForm>) -> Response {
    let PreSessionForm { form, lang, .. } = posted;
    let (email, business_name) = (form.email.clone(), form.business_name.clone());
    let signed_up = accounts::sign_up(
        &state.pool,
        &state.pepper,
        SignUp { email: form.email, password: form.password, business_name: form.business_name },
    )
    .await;
    let signed_up = match signed_up {
        Ok(signed_up) => signed_up,
        Err(AccountError::Database(error)) => return PageError::internal(error).page(lang),
        Err(error) => {
            return with_pre_session(StatusCode::BAD_REQUEST, |csrf| {
                let page =
                    SignUpPage { plain: Plain::new(lang), csrf, email, business_name, error: Some(error.to_string()) };
                render(StatusCode::BAD_REQUEST, &page)
            });
        }
    };
    // The keys are shown on this answer only: nothing keeps them to show again.
    let session = match sessions::find(&state.pool, &signed_up.token).await {
        Ok(Some(session)) => session,
        Ok(None) => return PageError::internal("a new session was not found").page(lang),
        Err(error) => return PageError::internal(error).page(lang),
    };
    let signed = Signed { session, lang };
    let page = WelcomePage {
        chrome: Chrome::new(&signed, Nav::ApiKeys),
        publishable_key: signed_up.publishable_key.expose().to_owned(),
        secret_key: signed_up.secret_key.expose().to_owned(),
    };
    let mut response = render(StatusCode::CREATED, &page);
    response.headers_mut().append(header::SET_COOKIE, session::session_cookie(&signed_up.token));
    response.headers_mut().append(header::SET_COOKIE, session::expired_cookie(PRE_SESSION_COOKIE));
    response
}

#[derive(serde::Deserialize)]
pub struct SignOutForm {
    /// `on` from the "everywhere" checkbox: every session of the user ends.
    everywhere: Option<String>,
}

pub async fn sign_out(State(state): State<AppState>, act: Act<SignOutForm>) -> Response {
    let everywhere = act.form.everywhere.is_some();
    if let Err(error) = sessions::revoke(&state.pool, &act.signed.session.token, everywhere).await {
        return PageError::internal(error).page(act.signed.lang);
    }
    let mut response = Redirect::to("/dashboard/sign-in").into_response();
    response.headers_mut().append(header::SET_COOKIE, session::expired_cookie(session::SESSION_COOKIE));
    response
}

#[derive(serde::Deserialize)]
pub struct ModeForm {
    mode: String,
}

/// Test or live data. Live only once the merchant has it (its owner completed the business profile).
pub async fn switch_mode(State(state): State<AppState>, act: Act<ModeForm>) -> Response {
    let session = &act.signed.session;
    let Some(mode) = Mode::parse(&act.form.mode) else { return PageError::NotFound.page(act.signed.lang) };
    if mode == Mode::Live && !session.live_enabled {
        return PageError::NotAllowed.page(act.signed.lang);
    }
    match sessions::set(&state.pool, &session.token, session.merchant_id, mode, true).await {
        Ok(true) => Redirect::to("/dashboard/overview").into_response(),
        Ok(false) => Redirect::to("/dashboard/sign-in").into_response(),
        Err(error) => PageError::internal(error).page(act.signed.lang),
    }
}
