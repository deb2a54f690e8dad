//! Every request carries a `Request-Id`: the edge's, when it sent a well-formed one, otherwise a new
//! `req_…`. It is echoed on every response, written into problem bodies and attached to the log span,
//! so a merchant's support ticket leads straight to the log lines.

use crate::ids::new_id;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use paygate_core::id::{RequestId, RequestKind};
use paygate_core::signature::edge::HEADER_REQUEST_ID;
use tracing::Instrument;

tokio::task_local! {
    /// The id of the request being handled, for error bodies built deep inside a handler.
    static CURRENT: String;
}

/// The current request's id, when called while a request is being handled.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

pub async fn propagate(request: Request, next: Next) -> Response {
    let incoming = request.headers().get(HEADER_REQUEST_ID).and_then(|v| v.to_str().ok());
    let id = match incoming.and_then(|v| RequestId::parse(v).ok()) {
        Some(valid) => valid.to_string(),
        None => new_id::<RequestKind>().to_string(),
    };
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = CURRENT
        .scope(id.clone(), async move {
            let response = next.run(request).await;
            tracing::info!(status = response.status().as_u16(), "answered");
            response
        })
        .instrument(span)
        .await;
    if let Ok(header) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER_REQUEST_ID, header);
    }
    response
}
