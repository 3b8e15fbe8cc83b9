//! Structured logs on stderr: text or JSON, level from the configuration (`RUST_LOG` wins).

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Installs the global subscriber once.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
