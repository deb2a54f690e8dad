//! What the fakes' 3-D Secure pages share: the page (the payment and three buttons: approve, fail, abandon, with
//! the ids tests press), the answers for a payment that is not waiting, the decision form and the way back.
//! Each fake decides what approve and fail do to its own books.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// What the customer decided (`decision=approve|fail|abandon`, as the form posts it).
#[derive(serde::Deserialize)]
pub struct Decision {
    pub decision: String,
}

pub fn document(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"
    ))
}

/// The authentication page for `amount` (minor units) of `currency`, with the processor's own button labels.
pub fn page(title: &str, amount: i64, currency: &str, approve: &str, fail: &str) -> Response {
    let body = format!(
        "<h1>{title}</h1><p>{amount} {currency}</p><form method=\"post\">\
         <button id=\"approve\" name=\"decision\" value=\"approve\">{approve}</button>\
         <button id=\"fail\" name=\"decision\" value=\"fail\">{fail}</button>\
         <button id=\"abandon\" name=\"decision\" value=\"abandon\">Abandon</button></form>"
    );
    document(title, &body).into_response()
}

/// A payment whose authentication is decided, cancelled or lapsed.
pub fn over() -> Response {
    (StatusCode::CONFLICT, document("Done", "<h1>This authentication is over</h1>")).into_response()
}

pub fn not_found() -> Response {
    (StatusCode::NOT_FOUND, document("Not found", "<h1>No such payment</h1>")).into_response()
}

pub fn abandoned() -> Response {
    document("Abandoned", "<h1>Authentication abandoned</h1>").into_response()
}

pub fn unknown_decision() -> Response {
    (StatusCode::BAD_REQUEST, document("Bad request", "<h1>Unknown decision</h1>")).into_response()
}

/// Back to the merchant's URL with the processor's own query (`payment_intent=…`, `cko-session-id=…`), or a page
/// when it gave none.
pub fn back(url: Option<String>, query: &str) -> Response {
    match url {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{url}{separator}{query}")).into_response()
        }
        None => document("Done", "<h1>Authentication done</h1>").into_response(),
    }
}
