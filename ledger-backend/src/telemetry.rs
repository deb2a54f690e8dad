//! Structured JSON logs on stdout, one object per line, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests start many apps in one process) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).try_init();
}
