//! What a fake's account can be told to suffer on its next requests (the control API's `faults`), shared by
//! every fake: the transport-level misbehaviours a connector must survive.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;

/// A misbehaviour the next request to an account suffers, taken in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// Processed, but the answer comes only after `delay_ms`.
    Slow { delay_ms: u64 },
    /// A 500 (the service's own failure) without processing.
    ServerError,
    /// A 429: rate-limited before processing (documented by Stripe and Checkout.com as not processed).
    RateLimited,
    /// The connection breaks before the request is processed.
    ResetBefore,
    /// Processed, then the connection breaks before the answer is complete.
    ResetAfter,
}

/// An answer that breaks off: the status line goes out, then the connection fails mid-body, so the client
/// sees a broken connection rather than an answer.
pub fn broken() -> Response {
    let failing =
        futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("connection reset")) });
    Response::builder().status(StatusCode::OK).body(Body::from_stream(failing)).unwrap()
}
