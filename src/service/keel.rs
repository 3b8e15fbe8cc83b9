//! The core of the use cases: the store, the clock and the settings every handler and job
//! works with.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::kpi::WeekCache;
use crate::settings::Settings;
use crate::store::Store;

/// What became of an inbound event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// First sighting: processed and committed.
    Processed,
    /// Seen before: nothing changed.
    Duplicate,
}

/// The core: store, clock and settings, and the chart weeks measured so far.
#[derive(Clone)]
pub struct Keel {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub chart_weeks: Arc<WeekCache>,
    /// Notified after a commit that scheduled jobs to run soon, so the scheduler wakes for
    /// them rather than at its next planned time.
    pub jobs_added: Arc<Notify>,
}

impl Keel {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> Keel {
        Keel {
            store,
            clock,
            settings,
            chart_weeks: Arc::default(),
            jobs_added: Arc::default(),
        }
    }
}
