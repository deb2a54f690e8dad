//! The sandbox's 3-D Secure authentication page, standing in for an issuer's challenge: `GET /authentications/{id}`
//! shows the payment and three buttons; `POST` with `decision=approve|fail|abandon` decides. Approve authorizes
//! (and captures, when the authorization asked to), fail declines `authentication_failed`; both send the browser
//! back to the caller's `return_url` (303). Abandon leaves the authorization waiting, as a shopper who closes the
//! window does. Once decided (or voided), the page refuses another decision.

use super::reports::MovementKind;
use super::server::Shared;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title}</title><style>body{{font:16px/1.5 \
         system-ui,sans-serif;margin:1.5rem;color:#1d2330}}button{{font:inherit;padding:.5rem 1rem;margin:.25rem \
         .5rem .25rem 0;border-radius:6px;border:1px solid #5d6677;background:#fff;cursor:pointer}}\
         button[value=approve]{{background:#0b7a5a;color:#fff;border-color:#0b7a5a}}</style></head><body>{body}\
         </body></html>"
    )
}

fn over() -> Response {
    (StatusCode::CONFLICT, Html(document("Authentication over", "<h1>This authentication is over</h1>")))
        .into_response()
}

pub async fn page(State(books): State<Shared>, Path(id): Path<String>) -> Response {
    let books = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(auth) = books.authorizations.get(&id) else {
        return (StatusCode::NOT_FOUND, Html(document("Not found", "<h1>No such authentication</h1>"))).into_response();
    };
    if auth.status != "requires_action" {
        return over();
    }
    let amount = format!("{} {}", auth.amount, escape(&auth.currency));
    let body = format!(
        "<h1>Sandbox 3-D Secure</h1><p>Confirm the payment of <strong>{amount}</strong> (minor units) to merchant \
         <code>{merchant}</code>.</p><p>A real issuer would ask for a code or its app here.</p>\
         <form method=\"post\"><button id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>\
         <button id=\"fail\" name=\"decision\" value=\"fail\">Fail authentication</button>\
         <button id=\"abandon\" name=\"decision\" value=\"abandon\">Abandon</button></form>",
        merchant = escape(&auth.merchant),
    );
    Html(document("Sandbox 3-D Secure", &body)).into_response()
}

#[derive(serde::Deserialize)]
pub struct Decision {
    decision: String,
}

pub async fn decide(
    State(books): State<Shared>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Decision>,
) -> Response {
    let mut guard = books.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let books = &mut *guard;
    let Some(auth) = books.authorizations.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, Html(document("Not found", "<h1>No such authentication</h1>"))).into_response();
    };
    if auth.status != "requires_action" || auth.voided {
        return over();
    }
    match form.decision.as_str() {
        "approve" => {
            auth.status = "approved";
            if auth.capture_requested {
                auth.captured = auth.amount;
            }
        }
        "fail" => {
            auth.status = "declined";
            auth.decline_code = Some("authentication_failed");
        }
        "abandon" => {
            let body = "<h1>Authentication abandoned</h1><p>Nothing was decided; you may close this window.</p>";
            return Html(document("Authentication abandoned", body)).into_response();
        }
        _ => {
            return (StatusCode::BAD_REQUEST, Html(document("Bad request", "<h1>Unknown decision</h1>")))
                .into_response();
        }
    }
    auth.redirect_url = None;
    let auth = auth.clone();
    if auth.captured > 0 {
        books.moved(&auth, MovementKind::Capture, auth.captured, format!("cap_{id}"), None);
    }
    match auth.return_url {
        Some(url) => Redirect::to(&url).into_response(),
        None => Html(document("Done", "<h1>Authentication done</h1>")).into_response(),
    }
}
