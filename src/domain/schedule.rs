//! Cron schedules read in a time zone (`croner`, which fires a daily job exactly once on both
//! daylight-saving change days: a time inside the spring-forward gap runs at the first instant
//! after it, an ambiguous fall-back time runs once).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use thiserror::Error;

use super::truncate;

/// A standard 5-field cron expression: minute, hour, day of month, month, day of week.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    text: String,
}

/// Why a cron expression was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("\"{0}\" is not a cron schedule with 5 fields (minute hour day month weekday), like \"0 9 * * 1-5\"")]
    Fields(String),
    #[error("\"{0}\" is not a cron schedule I can read: {1}")]
    Invalid(String, String),
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let text = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.split(' ').count() != 5 || text.chars().any(char::is_control) {
            return Err(ScheduleError::Fields(truncate(expr.trim(), 40)));
        }
        let cron = croner::Cron::from_str(&text)
            .map_err(|e| ScheduleError::Invalid(truncate(&text, 40), truncate(&e.to_string(), 80)))?;
        Ok(Schedule { cron, text })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `after`, the expression read in `tz`.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}
