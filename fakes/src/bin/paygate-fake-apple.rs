//! `paygate-fake-apple`: a local stand-in of Apple's Apple Pay servers for `make dev` and the stack tests (see
//! `paygate_fakes::apple::server`). Listens on `APPLE_FAKE_LISTEN_ADDR` (default 127.0.0.1:8085).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("APPLE_FAKE_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8085".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("fake Apple listening on {}", listener.local_addr()?);
    paygate_fakes::apple::server::serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
