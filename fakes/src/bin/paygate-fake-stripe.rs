//! `paygate-fake-stripe`: the local fake of Stripe's API for `make dev` and the stack tests (see
//! `paygate_fakes::stripe`). Listens on `STRIPE_FAKE_LISTEN_ADDR` (default 127.0.0.1:8083). Accounts from
//! `STRIPE_FAKE_ACCOUNTS`: comma-separated secret keys, each optionally `:no_raw_card_data`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("STRIPE_FAKE_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8083".to_owned());
    let accounts = std::env::var("STRIPE_FAKE_ACCOUNTS")
        .unwrap_or_default()
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| match entry.trim().split_once(':') {
            Some((key, "no_raw_card_data")) => (key.to_owned(), false),
            _ => (entry.trim().to_owned(), true),
        })
        .collect();
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("fake Stripe listening on {}", listener.local_addr()?);
    paygate_fakes::stripe::serve(listener, accounts, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
