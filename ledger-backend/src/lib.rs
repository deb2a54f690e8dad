//! `paygate-ledger`: the backend behind the edge. It owns the charge state machine, the double-entry
//! ledger, the audit log and webhook delivery, all on PostgreSQL. It is stateless: any number of API
//! instances and workers may run against one database.

pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod processors;
pub mod sandbox;
pub mod startup;
pub mod telemetry;
pub mod wire;

use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A bound, ready-to-serve API instance.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port, as the tests do) and builds the app over `state`.
    pub async fn bind(addr: SocketAddr, state: http::AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server { listener, router: http::router(state) })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(no_delay(self.listener), self.router).with_graceful_shutdown(shutdown).await
    }
}

/// `listener` with Nagle's algorithm off on every connection it accepts. axum leaves it on, and a response
/// written in two segments (head, then body) then waits for the peer's delayed ACK: about 40 ms per
/// request on Linux, which the benchmark showed as 80 ms per charge with idle CPUs.
pub fn no_delay(listener: TcpListener) -> impl axum::serve::Listener<Addr = SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY");
        }
    })
}
