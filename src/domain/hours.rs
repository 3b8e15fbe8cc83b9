//! A person's working hours (`09:00-17:00`), read in their own time zone.

use std::fmt;

use chrono::NaiveTime;

use super::{truncate, DomainError};

/// The part of a day someone works; the start is before the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl WorkingHours {
    /// Reads `09:00-17:00` (also `9-17`, `9:30 – 17:30`).
    pub fn parse(text: &str) -> Result<WorkingHours, DomainError> {
        let err = || DomainError::Hours(truncate(text.trim(), 40));
        let normalised = text.replace(['–', '—'], "-");
        let (from, to) = normalised.split_once('-').ok_or_else(err)?;
        let start = parse_clock(from).ok_or_else(err)?;
        let end = parse_clock(to).ok_or_else(err)?;
        if start >= end {
            return Err(err());
        }
        Ok(WorkingHours { start, end })
    }

    /// Minutes after midnight of the start and end, as stored.
    pub fn to_minutes(self) -> (i64, i64) {
        (minutes(self.start), minutes(self.end))
    }

    /// The inverse of [`WorkingHours::to_minutes`]; falls back to the default on bad values.
    pub fn from_minutes(start: i64, end: i64) -> WorkingHours {
        let at = |m: i64| NaiveTime::from_num_seconds_from_midnight_opt((m * 60) as u32, 0);
        match (at(start), at(end)) {
            (Some(start), Some(end)) if start < end => WorkingHours { start, end },
            _ => WorkingHours::default(),
        }
    }
}

fn minutes(t: NaiveTime) -> i64 {
    use chrono::Timelike;
    i64::from(t.hour() * 60 + t.minute())
}

fn parse_clock(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    let (h, m) = match text.split_once(':') {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None => (text.parse::<u32>().ok()?, 0),
    };
    if h == 24 && m == 0 {
        return NaiveTime::from_hms_opt(23, 59, 0);
    }
    NaiveTime::from_hms_opt(h, m, 0)
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_spellings() {
        assert_eq!(WorkingHours::parse("09:00-17:00").unwrap().to_string(), "09:00-17:00");
        assert_eq!(WorkingHours::parse("9-17").unwrap().to_string(), "09:00-17:00");
        assert_eq!(
            WorkingHours::parse(" 9:30 – 18:15 ").unwrap().to_string(),
            "09:30-18:15"
        );
        assert!(WorkingHours::parse("17:00-09:00").is_err());
        assert!(WorkingHours::parse("25:00-26:00").is_err());
        assert!(WorkingHours::parse("all day").is_err());
        let h = WorkingHours::parse("08:00-16:30").unwrap();
        let (s, e) = h.to_minutes();
        assert_eq!(WorkingHours::from_minutes(s, e), h);
    }
}
