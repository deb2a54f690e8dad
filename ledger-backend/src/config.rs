//! Configuration from the environment, read once at start-up. Secrets never have defaults.

use std::net::SocketAddr;
use std::time::Duration;

/// Connections per instance. Postgres handles a few hundred in all; several instances share that.
pub const DB_CONNECTIONS_MAX: u32 = 32;
/// A request that waits longer than this for a connection gets a 503 instead of queueing forever.
pub const DB_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const LISTEN_ADDR_DEFAULT: &str = "127.0.0.1:8081";

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub listen_addr: SocketAddr,
    pub db_connections_max: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let database_url = std::env::var("DATABASE_URL").map_err(|_| ConfigError::Missing("DATABASE_URL"))?;
        let listen = std::env::var("PAYGATE_LISTEN_ADDR").unwrap_or_else(|_| LISTEN_ADDR_DEFAULT.to_owned());
        let listen_addr = listen.parse().map_err(|e: std::net::AddrParseError| ConfigError::Invalid {
            name: "PAYGATE_LISTEN_ADDR",
            reason: e.to_string(),
        })?;
        let db_connections_max = match std::env::var("PAYGATE_DB_CONNECTIONS_MAX") {
            Ok(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name: "PAYGATE_DB_CONNECTIONS_MAX",
                reason: format!("{v:?} is not a positive integer"),
            })?,
            Err(_) => DB_CONNECTIONS_MAX,
        };
        Ok(Config { database_url, listen_addr, db_connections_max })
    }
}
