//! The merchant dashboard: server-rendered HTML (askama templates, compile-time checked and auto-escaped) with
//! htmx, served under `/dashboard` and reached only through the edge, on the API's origin. Every page runs
//! inside its session's tenancy scope with the user as the audit log's actor, and calls the same domain
//! functions as the API: a capture here is the API's capture. No SQL here: the domain holds it.
//!
//! Every answer carries a strict CSP (no inline script or style, no eval, nothing from elsewhere, no framing)
//! and the usual security headers; pages are never cached.

mod apple_pay;
mod assets;
mod audit;
mod auth;
mod charges;
mod chrome;
mod i18n;
mod keys;
mod money;
mod overview;
mod pages;
mod processors;
mod reconciliation;
mod security;
mod session;
mod team;
mod webhooks;

use super::AppState;
use axum::Router;
use axum::extract::{RawQuery, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pages::PageError;

pub use session::SESSION_COOKIE;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One path of the dashboard: its methods (for the tests' cross-tenant matrix, which must cover every path
/// with an id) and its handlers.
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    handler: axum::routing::MethodRouter<AppState>,
}

fn route(
    path: &'static str,
    methods: &'static [&'static str],
    handler: axum::routing::MethodRouter<AppState>,
) -> Route {
    Route { path, methods, handler }
}

/// Every route of the dashboard, under `/dashboard`.
pub fn routes() -> Vec<Route> {
    vec![
        route("/", &["GET"], get(home)),
        route("/sign-in", &["GET", "POST"], get(auth::sign_in_page).post(auth::sign_in)),
        route("/sign-up", &["GET", "POST"], get(auth::sign_up_page).post(auth::sign_up)),
        route("/sign-in/code", &["GET", "POST"], get(security::code_page).post(security::verify)),
        route("/sign-out", &["POST"], post(auth::sign_out)),
        route("/security", &["GET"], get(security::page)),
        route("/security/enable", &["POST"], post(security::enable)),
        route("/security/disable", &["POST"], post(security::disable)),
        route("/mode", &["POST"], post(auth::switch_mode)),
        route("/language", &["GET"], get(language)),
        route("/overview", &["GET"], get(overview::page)),
        route("/charges", &["GET"], get(charges::list)),
        route("/charges.csv", &["GET"], get(charges::export)),
        route("/charges/views", &["POST"], post(charges::save_view)),
        route("/charges/views/{id}/delete", &["POST"], post(charges::delete_view)),
        route("/charges/{id}", &["GET"], get(charges::page)),
        route("/charges/{id}/capture", &["POST"], post(charges::capture)),
        route("/charges/{id}/void", &["POST"], post(charges::void)),
        route("/charges/{id}/refund", &["POST"], post(charges::refund)),
        route("/refunds", &["GET"], get(money::refunds)),
        route("/balance", &["GET"], get(money::balance)),
        route("/webhooks", &["GET", "POST"], get(webhooks::list).post(webhooks::create)),
        route("/webhooks/{id}", &["GET", "POST"], get(webhooks::page).post(webhooks::update)),
        route("/webhooks/{id}/enable", &["POST"], post(webhooks::enable)),
        route("/webhooks/{id}/disable", &["POST"], post(webhooks::disable)),
        route("/webhooks/{id}/rotate", &["POST"], post(webhooks::rotate)),
        route("/webhooks/{id}/delete", &["POST"], post(webhooks::delete)),
        route("/webhooks/{id}/test", &["POST"], post(webhooks::send_test)),
        route("/webhooks/{id}/redeliver", &["POST"], post(webhooks::redeliver)),
        route("/reconciliation", &["GET"], get(reconciliation::page)),
        route("/reconciliation/exceptions/{id}/acknowledge", &["POST"], post(reconciliation::acknowledge)),
        route("/reconciliation/exceptions/{id}/resolve", &["POST"], post(reconciliation::resolve)),
        route("/audit", &["GET"], get(audit::page)),
        route("/team", &["GET"], get(team::page)),
        route("/team/switch", &["POST"], post(team::switch)),
        route("/team/invite", &["POST"], post(team::invite)),
        route("/team/invitations/revoke", &["POST"], post(team::revoke_invitation)),
        route("/team/role", &["POST"], post(team::set_role)),
        route("/team/remove", &["POST"], post(team::remove)),
        route("/settings/profile", &["POST"], post(team::update_profile)),
        route("/settings/live", &["POST"], post(team::enable_live)),
        route("/join", &["GET", "POST"], get(team::join).post(team::accept)),
        route("/processors", &["GET", "POST"], get(processors::page).post(processors::create)),
        route("/processors/{id}/enable", &["POST"], post(processors::enable)),
        route("/processors/{id}/disable", &["POST"], post(processors::disable)),
        route("/routing", &["POST"], post(processors::replace_routing)),
        route("/apple-pay", &["GET", "POST"], get(apple_pay::page).post(apple_pay::register)),
        route("/apple-pay/{id}/remove", &["POST"], post(apple_pay::remove)),
        route("/keys", &["GET", "POST"], get(keys::page).post(keys::create)),
        route("/keys/{id}/revoke", &["POST"], post(keys::revoke)),
        route("/keys/{id}/roll", &["POST"], post(keys::roll)),
        route("/assets/{name}", &["GET"], get(assets::serve)),
    ]
}

pub fn router(state: AppState) -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| router.route(route.path, route.handler))
        .fallback(|headers: HeaderMap| async move { PageError::NotFound.page(i18n::Lang::from_request(&headers)) })
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn_with_state(state, super::edge_auth::verify))
}

async fn home() -> Redirect {
    Redirect::to("/dashboard/overview")
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LanguageQuery {
    lang: String,
}

/// Remembers the language in a cookie and goes back where the switch was clicked.
async fn language(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query: LanguageQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let lang = if query.lang == "ar" { "ar" } else { "en" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| referer.find("/dashboard/").map(|at| referer[at..].to_owned()))
        .filter(|path| !path.contains("//") && !path.contains('\\'))
        .unwrap_or_else(|| "/dashboard/overview".to_owned());
    let cookie = format!("{}={lang}; Path=/dashboard; Secure; SameSite=Lax; Max-Age=31536000", i18n::COOKIE);
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/dashboard/assets/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, "content-security-policy", CONTENT_SECURITY_POLICY);
    set(headers, "x-frame-options", "DENY");
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cross-origin-resource-policy", "same-origin");
    set(headers, "permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()");
    if !is_asset {
        // Pages hold a merchant's data: never kept by the browser or anything between.
        set(headers, "cache-control", "no-store");
    }
    response
}
