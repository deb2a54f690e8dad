//! Configuration from the environment, read once at start-up. Secrets never have defaults.

use crate::domain::api_keys::Pepper;
use paygate_core::signature::edge::EdgeSecret;
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
    /// `PAYGATE_EDGE_SECRET` (hex, ≥ 32 bytes), then `PAYGATE_EDGE_SECRET_PREVIOUS` during a rotation.
    pub edge_secrets: Vec<EdgeSecret>,
    /// `PAYGATE_API_KEY_PEPPER` (hex, ≥ 32 bytes), shared with the edge.
    pub pepper: Pepper,
    /// `PAYGATE_EDGE_URL`: where the edge's vault-forward endpoint lives.
    pub edge_url: String,
    /// `PAYGATE_PUBLIC_URL`: where browsers reach the edge (default `PAYGATE_EDGE_URL`): 3-D Secure's return
    /// URLs, which processors send shoppers back to, start with it.
    pub public_url: String,
    /// `PAYGATE_SANDBOX_URL`: the sandbox acquirer, for capture, void and refund.
    pub sandbox_url: String,
    /// `PAYGATE_STRIPE_URL`: Stripe's API (`https://api.stripe.com`; the local fake in development and tests).
    pub stripe_url: String,
    /// `PAYGATE_CHECKOUT_TEST_URL` and `PAYGATE_CHECKOUT_LIVE_URL`: Checkout.com's sandbox
    /// (`https://api.sandbox.checkout.com`) and live (`https://api.checkout.com`) hosts.
    pub checkout_test_url: String,
    pub checkout_live_url: String,
    /// `PAYGATE_PROCESSOR_TIMEOUT_MS`: every processor and vault call gives up after this.
    pub processor_timeout: std::time::Duration,
    /// `PAYGATE_OPERATOR_TOKEN`: enables the operator API (pricing); absent, that API does not exist.
    pub operator_token: Option<crate::http::operator::OperatorToken>,
    /// `PAYGATE_SECRETS_KEYS` (`"1:<64 hex>"`, several during a rotation): the keys webhook signing secrets
    /// are sealed under at rest; never in the database.
    pub secrets_keys: paygate_core::sealed::DataKeys,
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
        let mut edge_secrets =
            vec![edge_secret("PAYGATE_EDGE_SECRET")?.ok_or(ConfigError::Missing("PAYGATE_EDGE_SECRET"))?];
        edge_secrets.extend(edge_secret("PAYGATE_EDGE_SECRET_PREVIOUS")?);
        let pepper = pepper_from_env()?;
        let edge_url = std::env::var("PAYGATE_EDGE_URL").unwrap_or_else(|_| "http://127.0.0.1:8787".to_owned());
        let public_url = std::env::var("PAYGATE_PUBLIC_URL").unwrap_or_else(|_| edge_url.clone());
        let sandbox_url = std::env::var("PAYGATE_SANDBOX_URL").unwrap_or_else(|_| "http://127.0.0.1:8082".to_owned());
        let url = |name: &str, default: &str| {
            std::env::var(name).unwrap_or_else(|_| default.to_owned()).trim_end_matches('/').to_owned()
        };
        let stripe_url = url("PAYGATE_STRIPE_URL", "https://api.stripe.com");
        let checkout_test_url = url("PAYGATE_CHECKOUT_TEST_URL", "https://api.sandbox.checkout.com");
        let checkout_live_url = url("PAYGATE_CHECKOUT_LIVE_URL", "https://api.checkout.com");
        let timeout_ms = match std::env::var("PAYGATE_PROCESSOR_TIMEOUT_MS") {
            Ok(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name: "PAYGATE_PROCESSOR_TIMEOUT_MS",
                reason: format!("{v:?} is not a number of milliseconds"),
            })?,
            Err(_) => crate::processors::PROCESSOR_TIMEOUT_MS,
        };
        let processor_timeout = std::time::Duration::from_millis(timeout_ms);
        let operator_token = match std::env::var("PAYGATE_OPERATOR_TOKEN") {
            Ok(token) => Some(crate::http::operator::OperatorToken::new(&token).ok_or(ConfigError::Invalid {
                name: "PAYGATE_OPERATOR_TOKEN",
                reason: "must be at least 32 characters".into(),
            })?),
            Err(_) => None,
        };
        let secrets_keys = secrets_keys_from_env()?;
        Ok(Config {
            database_url,
            listen_addr,
            db_connections_max,
            edge_secrets,
            pepper,
            edge_url,
            public_url,
            sandbox_url,
            stripe_url,
            checkout_test_url,
            checkout_live_url,
            processor_timeout,
            operator_token,
            secrets_keys,
        })
    }
}

/// Reads a hex-encoded edge signing secret; `None` when the variable is unset or empty.
fn edge_secret(name: &'static str) -> Result<Option<EdgeSecret>, ConfigError> {
    let Some(text) = std::env::var(name).ok().filter(|v| !v.is_empty()) else { return Ok(None) };
    let invalid = |reason: &str| ConfigError::Invalid { name, reason: reason.to_owned() };
    let bytes = paygate_core::hex::decode(text.trim()).ok_or_else(|| invalid("not hexadecimal"))?;
    EdgeSecret::new(&bytes).map(Some).map_err(|e| invalid(&e.to_string()))
}

/// Reads `PAYGATE_API_KEY_PEPPER`; the CLI's key commands need it without the rest of the config.
pub fn pepper_from_env() -> Result<Pepper, ConfigError> {
    let name = "PAYGATE_API_KEY_PEPPER";
    let text = std::env::var(name).map_err(|_| ConfigError::Missing(name))?;
    let invalid = |reason: &str| ConfigError::Invalid { name, reason: reason.to_owned() };
    let bytes = paygate_core::hex::decode(text.trim()).ok_or_else(|| invalid("not hexadecimal"))?;
    Pepper::new(bytes).ok_or_else(|| invalid("must be at least 32 bytes (64 hex characters)"))
}

/// `PAYGATE_SECRETS_KEYS`, required wherever secrets are sealed or opened (`serve`, `work`, `migrate`).
pub fn secrets_keys_from_env() -> Result<paygate_core::sealed::DataKeys, ConfigError> {
    let name = "PAYGATE_SECRETS_KEYS";
    let text = std::env::var(name).map_err(|_| ConfigError::Missing(name))?;
    paygate_core::sealed::DataKeys::parse(&text).map_err(|e| ConfigError::Invalid { name, reason: e.to_string() })
}
