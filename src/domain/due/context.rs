//! The clock and place a date phrase is read in.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// The clock and place a date phrase is read in.
#[derive(Debug, Clone, Copy)]
pub struct DueContext {
    /// The current instant.
    pub now: DateTime<Utc>,
    /// The speaker's time zone: "today", "friday" and "3pm" are local to it.
    pub tz: Tz,
    /// Local time "morning" and "first thing" mean (the start of the working day, e.g. 09:00).
    pub day_start: NaiveTime,
    /// Local time a date without a time resolves to (the end of the working day, e.g. 17:00).
    pub day_end: NaiveTime,
}

impl DueContext {
    /// The local calendar date of `now`.
    pub(super) fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive()
    }
}
