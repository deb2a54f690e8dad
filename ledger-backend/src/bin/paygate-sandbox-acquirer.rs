//! `paygate-sandbox-acquirer`: the sandbox card network of test mode and local development.
//! Listens on `SANDBOX_LISTEN_ADDR` (default 127.0.0.1:8082). See `paygate_ledger::sandbox`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("SANDBOX_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8082".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("sandbox acquirer listening on {}", listener.local_addr()?);
    paygate_ledger::sandbox::serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
