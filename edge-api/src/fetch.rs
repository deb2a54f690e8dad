//! One way to call out with a deadline, for every outbound call the edge makes: the backend, a processor
//! behind the vault, Apple's validation server. Each caller decides what a failure means for its answer.

use futures_util::future::{Either, select};
use std::time::Duration;
use worker::{Delay, Response};

/// How an outbound call ended.
pub enum Sent {
    Answered(Response),
    /// No answer at all (refused, reset, DNS): the error is for the log, never for the caller.
    Unreachable(worker::Error),
    TimedOut,
}

/// Waits for `sent` at most `timeout`.
pub async fn within<F>(sent: F, timeout: Duration) -> Sent
where
    F: Future<Output = worker::Result<Response>>,
{
    match select(Box::pin(sent), Delay::from(timeout)).await {
        Either::Left((Ok(response), _)) => Sent::Answered(response),
        Either::Left((Err(error), _)) => Sent::Unreachable(error),
        Either::Right(_) => Sent::TimedOut,
    }
}
