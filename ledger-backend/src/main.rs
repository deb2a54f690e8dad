//! The `paygate-ledger` command: `serve` the API, `migrate` the database.

use paygate_ledger::http::AppState;
use paygate_ledger::{Server, config::Config, db, telemetry};
use std::process::ExitCode;

const USAGE: &str = "usage: paygate-ledger <serve|migrate>

  serve     migrate the database, then serve the API on PAYGATE_LISTEN_ADDR (default 127.0.0.1:8081)
  migrate   apply pending migrations and exit

environment: DATABASE_URL and PAYGATE_EDGE_SECRET (hex, shared with the edge) are required;
PAYGATE_EDGE_SECRET_PREVIOUS (during a rotation), PAYGATE_LISTEN_ADDR, PAYGATE_DB_CONNECTIONS_MAX, RUST_LOG";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "serve" => serve().await,
        "migrate" => migrate().await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "{command} failed");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn migrate() -> Result<(), AnyError> {
    let database_url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is required")?;
    let pool = db::connect(&database_url, 1).await?;
    db::migrate(&pool).await?;
    db::partitions::ensure(&pool, paygate_ledger::ids::unix_seconds_now()).await?;
    tracing::info!("migrations applied, partitions ready");
    Ok(())
}

async fn serve() -> Result<(), AnyError> {
    let config = Config::from_env()?;
    let pool = db::connect(&config.database_url, config.db_connections_max).await?;
    db::migrate(&pool).await?;
    db::partitions::ensure(&pool, paygate_ledger::ids::unix_seconds_now()).await?;
    let state = AppState { pool, edge_secrets: std::sync::Arc::new(config.edge_secrets) };
    let server = Server::bind(config.listen_addr, state).await?;
    tracing::info!(addr = %server.local_addr()?, "serving");
    server.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = interrupt => {}, _ = terminate => {} }
}
