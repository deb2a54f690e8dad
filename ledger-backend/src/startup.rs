//! The one place that wires the backend's parts together from its configuration: the API's state (pools,
//! secrets, the processors and the vault client) and the jobs' processors. `main`, the integration tests and
//! the benchmarks all build through here, so wiring in a new part happens once.

use crate::config::Config;
use crate::http::AppState;
use crate::processors::{ConnectorUrls, Processors, VaultForward};
use sqlx::PgPool;
use std::sync::Arc;

/// The API's state over `pool` (which should act as `db::Role::Api`).
pub fn app_state(pool: PgPool, config: &Config) -> AppState {
    AppState {
        // The replay guard's statement is one per request, short: a quarter of the API's connections.
        unscoped_pool: crate::db::unscoped(&pool, (config.db_connections_max / 4).max(2)),
        pool,
        edge_secrets: Arc::new(config.edge_secrets.clone()),
        pepper: config.pepper.clone(),
        processors: processors(config),
        operator_token: config.operator_token.clone(),
        secrets_keys: Arc::new(config.secrets_keys.clone()),
    }
}

/// The processors (vault client, executor, connector URLs, credential keys), as the API and the jobs use them.
pub fn processors(config: &Config) -> Arc<Processors> {
    let signing_secret = config.edge_secrets.first().cloned().expect("Config always holds the current edge secret");
    let urls = ConnectorUrls {
        sandbox: config.sandbox_url.clone(),
        stripe: config.stripe_url.clone(),
        checkout_test: config.checkout_test_url.clone(),
        checkout_live: config.checkout_live_url.clone(),
    };
    Arc::new(Processors::new(
        VaultForward::new(&config.edge_url, signing_secret, config.processor_timeout),
        urls,
        config.processor_timeout,
        config.secrets_keys.clone(),
        config.public_url.trim_end_matches('/'),
    ))
}
