//! Rendering: a template to an HTML answer, and the dashboard's error pages (HTML, never a problem document:
//! a person reads them).

use super::chrome::Plain;
use super::i18n::Lang;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// `template` as a `status` page.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a dashboard template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// Unknown, or another merchant's or mode's: the same answer.
    NotFound,
    /// The user's role does not allow it.
    NotAllowed,
    /// Ours: logged, and the user told only that.
    Internal(String),
}

impl PageError {
    pub fn internal(error: impl std::fmt::Display) -> PageError {
        PageError::Internal(error.to_string())
    }

    pub fn page(&self, lang: Lang) -> Response {
        let t = lang.labels();
        let (status, title, message) = match self {
            PageError::NotFound => (StatusCode::NOT_FOUND, t.not_found, t.not_found),
            PageError::NotAllowed => (StatusCode::FORBIDDEN, t.error_title, t.not_allowed_for_role),
            PageError::Internal(error) => {
                tracing::error!(%error, "dashboard page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, t.error_title, t.error_title)
            }
        };
        render(status, &ErrorPage { plain: Plain::new(lang), title, message })
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage {
    plain: Plain,
    title: &'static str,
    message: &'static str,
}
