//! `paygate-fakes`: stateful local fakes of the outside world Paygate talks to, for tests and `make dev`
//! only. Each speaks its service's documented wire format (sources in `docs/processors/`), keeps state in
//! memory, refuses what the real service refuses, and can be told to misbehave (slow answers, 5xx, broken
//! connections) through a control API of its own under `/_fake/`. A fake never shares code with the
//! connector that calls it: a misunderstanding of the wire format must show up as a failing test, not
//! be copied into both sides.

pub mod apple;
pub mod checkout;
pub mod control;
pub mod faults;
pub mod reports;
pub mod stripe;
mod three_d_secure;
mod webhooks;

/// Accepted connections get `TCP_NODELAY`, as the backend's own do (small answers, no Nagle delay).
pub fn no_delay(listener: tokio::net::TcpListener) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    })
}
