//! Structured logs on stderr: text or JSON, level from the configuration (`RUST_LOG` wins).

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// matrix-sdk reports expected answers (a 404 for account data never set, no key backup) as
/// errors and warnings on every sync; they are noise unless asked for by name.
const QUIET: &[&str] = &["matrix_sdk::http_client=off", "matrix_sdk_crypto::backups=error"];

/// Installs the global subscriber once.
pub fn init(config: &LogConfig) {
    let wanted = std::env::var("RUST_LOG").unwrap_or_else(|_| config.level.clone());
    let mut directives = wanted.clone();
    if !wanted.contains("matrix_sdk") {
        for quiet in QUIET {
            directives.push(',');
            directives.push_str(quiet);
        }
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if config.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
