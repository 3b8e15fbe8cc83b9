//! A KPI period: whole days `[first 00:00, last + 1 00:00)` in the team's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub first: NaiveDate,
    /// The last day, inclusive.
    pub last: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Local midnight of `day` (the first instant of the day when midnight falls in a DST gap).
fn midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    for minutes in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&(naive + Duration::minutes(minutes))).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&naive)
}

impl Period {
    /// The days `first..=last`.
    pub fn days(first: NaiveDate, last: NaiveDate, tz: Tz) -> Result<Period, String> {
        if last < first {
            return Err(format!("the period ends ({last}) before it starts ({first})"));
        }
        if (last - first).num_days() > 3660 {
            return Err("a period is at most ten years long".into());
        }
        let next = last.succ_opt().ok_or("the period ends too late")?;
        Ok(Period {
            first,
            last,
            from: midnight(first, tz),
            to: midnight(next, tz),
        })
    }

    /// An ISO week, `2026-W47` (Monday to Sunday).
    pub fn iso_week(text: &str, tz: Tz) -> Result<Period, String> {
        let bad = || {
            format!(
                "\"{}\" is not an ISO week (try 2026-W47)",
                crate::domain::truncate(text, 40)
            )
        };
        let (year, week) = text.trim().split_once(['-', ' ']).ok_or_else(bad)?;
        let week = week.trim_start_matches(['W', 'w']);
        let year: i32 = year.parse().map_err(|_| bad())?;
        let week: u32 = week.parse().map_err(|_| bad())?;
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
        Period::days(monday, monday + Duration::days(6), tz)
    }

    /// The last full ISO week before the one `now` is in (what the Monday summary reports).
    pub fn last_week(now: DateTime<Utc>, tz: Tz) -> Period {
        let today = now.with_timezone(&tz).date_naive();
        let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64 + 7);
        Period::days(monday, monday + Duration::days(6), tz).unwrap_or_else(|_| Period::trailing(now, tz, 7))
    }

    /// The `days` days up to and including today.
    pub fn trailing(now: DateTime<Utc>, tz: Tz, days: i64) -> Period {
        let today = now.with_timezone(&tz).date_naive();
        let first = today - Duration::days(days.max(1) - 1);
        Period {
            first,
            last: today,
            from: midnight(first, tz),
            to: midnight(today.succ_opt().unwrap_or(today), tz),
        }
    }

    /// The period of the same length just before this one.
    pub fn previous(&self, tz: Tz) -> Period {
        let length = (self.last - self.first).num_days() + 1;
        let last = self.first - Duration::days(1);
        Period::days(last - Duration::days(length - 1), last, tz).unwrap_or_else(|_| self.clone())
    }

    /// The ISO week label when the period is one (`2026-W47`), else `first..last`.
    pub fn label(&self) -> String {
        let week = self.first.iso_week();
        if self.first.weekday() == Weekday::Mon && (self.last - self.first).num_days() == 6 {
            format!("{}-W{:02}", week.year(), week.week())
        } else {
            format!("{}..{}", self.first, self.last)
        }
    }

    /// The moment figures "at the end of the period" are taken: its end, or now while it runs.
    pub fn as_of(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.to.min(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_days_and_previous_periods() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let w = Period::iso_week("2026-W47", tz).unwrap();
        assert_eq!(w.first.to_string(), "2026-11-16");
        assert_eq!(w.last.to_string(), "2026-11-22");
        assert_eq!(w.from.to_rfc3339(), "2026-11-15T23:00:00+00:00");
        assert_eq!(w.label(), "2026-W47");
        let p = w.previous(tz);
        assert_eq!(
            (p.first.to_string(), p.last.to_string()),
            ("2026-11-09".into(), "2026-11-15".into())
        );
        assert_eq!(p.to, w.from);
        assert!(Period::iso_week("2026-W54", tz).is_err());
        assert!(Period::iso_week("last week", tz).is_err());
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        assert_eq!(Period::last_week(now, tz), w);
        let t = Period::trailing(now, tz, 7);
        assert_eq!(
            (t.first.to_string(), t.last.to_string()),
            ("2026-11-19".into(), "2026-11-25".into())
        );
        assert_eq!(t.label(), "2026-11-19..2026-11-25");
        // A month across the October DST change is 31 days and one hour long.
        let october = Period::days(
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            tz,
        )
        .unwrap();
        assert_eq!((october.to - october.from).num_hours(), 31 * 24 + 1);
        assert!(Period::days(october.last, october.first, tz).is_err());
    }
}
