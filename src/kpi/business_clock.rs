//! Business time as a running total over a range, so the business seconds between two instants
//! are two binary searches instead of a walk over the days.

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::calendar::Calendar;

/// The team's working periods over a range, each with the business seconds before it.
pub struct BusinessClock {
    periods: Vec<(i64, i64)>,
    /// Business seconds before each period.
    before: Vec<i64>,
}

fn instant(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

impl BusinessClock {
    /// The clock of `calendar` over `[from, to)`.
    pub fn new(calendar: &Calendar, from: i64, to: i64) -> BusinessClock {
        let periods: Vec<(i64, i64)> = calendar
            .periods_between(instant(from), instant(to))
            .into_iter()
            .map(|(s, e)| (s.timestamp(), e.timestamp()))
            .collect();
        let mut before = Vec::with_capacity(periods.len());
        let mut total = 0;
        for (s, e) in &periods {
            before.push(total);
            total += e - s;
        }
        BusinessClock { periods, before }
    }

    /// Business seconds from the range's start to `t`.
    fn at(&self, t: i64) -> i64 {
        match self.periods.partition_point(|(s, _)| *s <= t) {
            0 => 0,
            k => self.before[k - 1] + (t.min(self.periods[k - 1].1) - self.periods[k - 1].0),
        }
    }

    /// Business seconds in `[from, to)`.
    pub fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            0
        } else {
            self.at(to) - self.at(from)
        }
    }
}
