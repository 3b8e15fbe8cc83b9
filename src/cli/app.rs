//! What every command that runs the core starts from: the configuration checked, the database
//! open, and the core built on them (chat, run, tick and kpi start the same way).

use std::sync::Arc;

use super::failure::{environment, Failure};
use crate::clock::Clock;
use crate::config::Config;
use crate::service::{Keel, Settings};
use crate::store::Store;

/// Refuses a configuration with a problem, in one line.
pub(super) fn check(config: &Config) -> Result<(), Failure> {
    match config.problems().first() {
        Some(first) => Err(environment(format!(
            "invalid configuration: {first} (see keel config check)"
        ))),
        None => Ok(()),
    }
}

/// Opens (and migrates) the configured database.
pub(super) async fn open(config: &Config) -> Result<Store, Failure> {
    Store::open(&config.database_url)
        .await
        .map_err(|e| environment(e.to_string()))
}

/// The core on the configured database, with this clock and the configuration's settings.
pub(super) async fn core(config: &Config, clock: Arc<dyn Clock>) -> Result<Keel, Failure> {
    let store = open(config).await?;
    Ok(Keel::new(store, clock, Settings::from_config(config)))
}
