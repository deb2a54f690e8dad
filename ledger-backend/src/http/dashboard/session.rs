//! Who is calling the dashboard: the session cookie, read and checked on every request, and the guards every
//! state-changing request passes (CSRF token, same-origin fetch metadata).
//!
//! Cookies: `__Host-pg_session` (the session token: HttpOnly, Secure, SameSite=Lax, path `/`, no domain; the
//! `__Host-` prefix makes the browser refuse it from anywhere but this origin over HTTPS), and before sign-in
//! `__Host-pg_csrf` (a double-submit token for the sign-in and sign-up forms, so nobody can sign a victim in to
//! an account of theirs). Page scripts never see either.

use super::i18n::Lang;
use crate::domain::dashboard::sessions::{self, IDLE, Session, SessionToken};
use crate::domain::{actor, tenancy};
use crate::http::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

pub const SESSION_COOKIE: &str = "__Host-pg_session";
pub const PRE_SESSION_COOKIE: &str = "__Host-pg_csrf";
/// The form field (or `X-CSRF-Token` header, which htmx sends) that carries the session's CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for the session token (rotated at every sign-in).
pub fn session_cookie(token: &SessionToken) -> HeaderValue {
    let value = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={}",
        token.expose(),
        sessions::ABSOLUTE.as_secs()
    );
    HeaderValue::from_str(&value).expect("a session token is a valid header value")
}

/// `Set-Cookie` that deletes cookie `name`.
pub fn expired_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0"))
        .expect("a cookie name is a valid header value")
}

/// `Set-Cookie` for the pre-session CSRF token of the sign-in and sign-up forms.
pub fn pre_session_cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{PRE_SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        IDLE.as_secs()
    ))
    .expect("a random token is a valid header value")
}

/// A signed-in user with every factor given: the extractor of every page behind sign-in. Without a live session
/// the browser is sent to the sign-in page.
pub struct Signed {
    pub session: Session,
    pub lang: Lang,
}

/// The live session of the request's cookie, verified or not.
async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, Response> {
    let token = cookie(&parts.headers, SESSION_COOKIE).and_then(|v| SessionToken::parse(&v));
    let Some(token) = token else { return Ok(None) };
    sessions::find(&state.pool, &token).await.map_err(|error| {
        tracing::error!(%error, "dashboard session lookup failed");
        internal()
    })
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request(&parts.headers);
        match session_of(parts, state).await? {
            Some(session) if session.verified => Ok(Signed { session, lang }),
            // A password given, the second factor still owed: only its page.
            Some(_) => Err(Redirect::to("/dashboard/sign-in/code").into_response()),
            None => Err(to_sign_in()),
        }
    }
}

/// A session that has given its password and still owes its second factor (the code page's extractor).
pub struct Pending {
    pub session: Session,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for Pending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request(&parts.headers);
        match session_of(parts, state).await? {
            Some(session) if !session.verified => Ok(Pending { session, lang }),
            Some(_) => Err(Redirect::to("/dashboard/overview").into_response()),
            None => Err(to_sign_in()),
        }
    }
}

/// The second-factor form of a pending session, with its CSRF token, from a same-origin page.
pub struct PendingForm<T> {
    pub pending: Pending,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for PendingForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let pending = Pending::from_request_parts(&mut parts, state).await?;
        let (fields, body) = form_fields(&parts.headers, body).await?;
        if !pending.session.csrf_matches(&sent_token(&parts.headers, &fields)) {
            return Err(forbidden());
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|_| bad_form())?;
        Ok(PendingForm { pending, form })
    }
}

/// A same-origin form's body and its fields.
async fn form_fields(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(Vec<(String, String)>, axum::body::Bytes), Response> {
    if !same_origin(headers) {
        return Err(forbidden());
    }
    let body = axum::body::to_bytes(body, crate::http::BODY_BYTES_MAX).await.map_err(|_| bad_form())?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| bad_form())?;
    Ok((fields, body))
}

/// The CSRF token a request sends: htmx's header, or the form's field.
fn sent_token(headers: &HeaderMap, fields: &[(String, String)]) -> String {
    headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| fields.iter().find(|(name, _)| name == CSRF_FIELD).map(|(_, v)| v.clone()))
        .unwrap_or_default()
}

impl Signed {
    /// Runs `work` as this user (the audit log's actor) in the session's merchant and mode (row-level
    /// security confines every query to them), exactly like an API request of that merchant.
    pub async fn act<F: Future>(&self, work: F) -> F::Output {
        let actor = self.session.user_id.to_string();
        tenancy::scope(self.session.scope(), actor::scope(actor, work)).await
    }
}

/// A state-changing request of a signed-in user: the session, and the form `T`, accepted only with the
/// session's CSRF token (form field `csrf` or header `X-CSRF-Token`) from a same-origin page.
pub struct Act<T> {
    pub signed: Signed,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Act<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let (fields, body) = form_fields(&parts.headers, body).await?;
        if !signed.session.csrf_matches(&sent_token(&parts.headers, &fields)) {
            tracing::warn!(user = %signed.session.user_id, "dashboard request without its CSRF token refused");
            return Err(forbidden());
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|_| bad_form())?;
        Ok(Act { signed, form })
    }
}

/// A form posted before sign-in (sign-in, sign-up): accepted only from a same-origin page that carries the
/// pre-session token its cookie holds.
pub struct PreSessionForm<T> {
    pub form: T,
    pub lang: Lang,
    /// The cookie a sign-in replaces (revoked so that no session fixation can survive it).
    pub presented_session: Option<SessionToken>,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PreSessionForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let (fields, body) = form_fields(&parts.headers, body).await?;
        let sent = fields.iter().find(|(name, _)| name == CSRF_FIELD).map(|(_, v)| v.as_str()).unwrap_or("");
        let expected = cookie(&parts.headers, PRE_SESSION_COOKIE).unwrap_or_default();
        use subtle::ConstantTimeEq;
        if expected.len() < 32 || !bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) {
            return Err(forbidden());
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|_| bad_form())?;
        let presented_session = cookie(&parts.headers, SESSION_COOKIE).and_then(|v| SessionToken::parse(&v));
        Ok(PreSessionForm { form, lang: Lang::from_request(&parts.headers), presented_session })
    }
}

/// Fetch metadata: a browser says where a request comes from (`Sec-Fetch-Site`); anything but our own origin
/// (or a browser too old to say) is refused for state-changing requests.
fn same_origin(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => site == "same-origin",
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/dashboard/sign-in").into_response()
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "This form has expired or did not come from the dashboard. Reload the page and try again.")
        .into_response()
}

fn bad_form() -> Response {
    (StatusCode::BAD_REQUEST, "The form could not be read.").into_response()
}

fn internal() -> Response {
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "x__Host-pg_session=evil; __Host-pg_session=good; other=1".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("good"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn only_same_origin_or_silent_browsers_may_change_things() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers));
        headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&headers));
        for site in ["cross-site", "same-site", "none"] {
            headers.insert("sec-fetch-site", site.parse().unwrap());
            assert!(!same_origin(&headers), "{site}");
        }
    }
}
