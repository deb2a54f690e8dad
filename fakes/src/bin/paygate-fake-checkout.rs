//! `paygate-fake-checkout`: the local fake of Checkout.com's API for `make dev` and the stack tests (see
//! `paygate_fakes::checkout`). Listens on `CHECKOUT_FAKE_LISTEN_ADDR` (default 127.0.0.1:8084); accounts from
//! `CHECKOUT_FAKE_ACCOUNTS` (comma-separated secret keys).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("CHECKOUT_FAKE_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8084".to_owned());
    let accounts = std::env::var("CHECKOUT_FAKE_ACCOUNTS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .collect();
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("fake Checkout.com listening on {}", listener.local_addr()?);
    paygate_fakes::checkout::serve(listener, accounts, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
