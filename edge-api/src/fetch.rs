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

/// The whole body of an answer the edge fetched (from the backend, a processor or one of our objects), in
/// one native read. workers-rs reads a fetched body chunk by chunk through a stream reader, a round trip
/// between WebAssembly and JavaScript per chunk; under load that showed as a tenth of the edge's CPU.
pub async fn body(response: Response) -> worker::Result<Vec<u8>> {
    let native: worker::web_sys::Response = response.into();
    let buffer = wasm_bindgen_futures::JsFuture::from(native.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The body of a fetched answer as JSON `T`.
pub async fn json<T: serde::de::DeserializeOwned>(response: Response) -> worker::Result<T> {
    Ok(serde_json::from_slice(&body(response).await?)?)
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

/// Whether a TCP (and, for https, TLS) connection to `url`'s host opens within `timeout`. workerd reports a
/// refused connection and one lost mid-request alike ("Network connection lost"), so a failed fetch can
/// never prove a request was not sent; a failed probe, made before the request, can. Used only where that
/// proof buys something: before a processor call that has a failover behind it.
pub async fn reachable(url: &str, timeout: Duration) -> Result<(), String> {
    let parsed = worker::Url::parse(url).map_err(|e| e.to_string())?;
    let host = parsed.host_str().ok_or("no host")?.to_owned();
    let port = parsed.port_or_known_default().ok_or("no port")?;
    let transport = if parsed.scheme() == "https" { worker::SecureTransport::On } else { worker::SecureTransport::Off };
    let mut socket =
        worker::Socket::builder().secure_transport(transport).connect(host, port).map_err(|e| e.to_string())?;
    let opened = match select(Box::pin(socket.opened()), Delay::from(timeout)).await {
        Either::Left((Ok(_), _)) => Ok(()),
        Either::Left((Err(error), _)) => Err(error.to_string()),
        Either::Right(_) => Err("the connection did not open in time".to_owned()),
    };
    let _ = socket.close().await;
    opened
}
