//! The one place that wires the backend's parts together from its configuration: the API's state (pools,
//! secrets, the processors and the vault client) and the jobs' connector. `main`, the integration tests and
//! the benchmarks all build through here, so wiring in a new part happens once.

use crate::config::Config;
use crate::http::{AppState, Processors};
use crate::processors::sandbox::SandboxConnector;
use crate::processors::{Connector, VaultForward};
use sqlx::PgPool;
use std::sync::Arc;

/// The API's state over `pool` (which should act as `db::Role::Api`).
pub fn app_state(pool: PgPool, config: &Config) -> AppState {
    let signing_secret = config.edge_secrets.first().cloned().expect("Config always holds the current edge secret");
    let processors = Processors {
        vault: VaultForward::new(&config.edge_url, signing_secret, config.processor_timeout),
        sandbox: connector(config),
    };
    AppState {
        pool,
        edge_secrets: Arc::new(config.edge_secrets.clone()),
        pepper: config.pepper.clone(),
        processors: Arc::new(processors),
        operator_token: config.operator_token.clone(),
        secrets_keys: Arc::new(config.secrets_keys.clone()),
    }
}

/// The processor connector for test mode's sandbox acquirer, as the API and the jobs use it.
pub fn connector(config: &Config) -> Connector {
    Connector::Sandbox(SandboxConnector::new(&config.sandbox_url, config.processor_timeout))
}
