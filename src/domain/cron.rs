//! Cron schedules read in a time zone (`croner`, which fires a daily job exactly once on both
//! daylight-saving change days: a time inside the spring-forward gap runs at the first instant
//! after it, an ambiguous fall-back time runs once, at its earlier instant).
//!
//! Jobs that are not at a fixed time of day (`*/15 * * * *`, `0 * * * *`) follow the clock: they
//! skip the missing hour and run in both halves of the repeated one.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use thiserror::Error;

use super::truncate;

/// A standard 5-field cron expression: minute, hour, day of month, month, day of week.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    text: String,
}

/// Why a cron expression was refused; each message is one line and quotes at most 40 characters.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("\"{0}\" is not a cron schedule with 5 fields (minute hour day month weekday), like \"0 9 * * 1-5\"")]
    Fields(String),
    #[error("\"{0}\" is not a cron schedule I can read: {1}")]
    Invalid(String, String),
    #[error("\"{0}\" never runs: no month has that day")]
    Never(String),
}

impl Schedule {
    /// Reads a 5-field expression such as `0 9 * * 1-5` or `30 8 * * MON-FRI`. Seconds and
    /// years (6 or 7 fields), `@daily`-style nicknames, control characters and schedules that
    /// never run (`0 0 30 2 *`) are refused.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let text = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.split(' ').count() != 5 || text.chars().any(|c| c.is_control() || c == '@') {
            return Err(ScheduleError::Fields(truncate(expr.trim(), 40)));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(&text)
            .map_err(|e| ScheduleError::Invalid(truncate(&text, 40), reason(&e)))?;
        let schedule = Schedule { cron, text };
        if schedule.next_after(Tz::UTC, DateTime::UNIX_EPOCH).is_none() {
            return Err(ScheduleError::Never(truncate(&schedule.text, 40)));
        }
        Ok(schedule)
    }

    /// The expression as read, with runs of white space made single spaces.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `after`, the expression read in `tz`; `None` when the
    /// schedule never matches again (such as `0 0 30 2 *`).
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner searches years 1 to 5000 and panics on instants whose local time chrono cannot
        // hold: start no earlier than year 1, and give up near the end.
        let (first, last) = search_bounds()?;
        if after >= last {
            return None;
        }
        let mut from = after.max(first).with_timezone(&tz);
        // croner counts whole seconds; a fractional `after` could yield its own second.
        for _ in 0..2 {
            let next = self.cron.find_next_occurrence(&from, false).ok()?;
            if next.with_timezone(&Utc) > after {
                return Some(next.with_timezone(&Utc));
            }
            from = next;
        }
        None
    }
}

/// The instants `next_after` searches between: 2 Jan 0001 and 1 Dec 4999 (UTC).
fn search_bounds() -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = NaiveDate::from_ymd_opt(1, 1, 2)?.and_hms_opt(0, 0, 0)?.and_utc();
    let last = NaiveDate::from_ymd_opt(4999, 12, 1)?.and_hms_opt(0, 0, 0)?.and_utc();
    Some((first, last))
}

/// croner's complaint, on one line, short and without the input (which the message quotes).
fn reason(error: &CronError) -> String {
    match error {
        CronError::IllegalCharacters(_) => "use digits, * , - / and names like MON or JAN".to_string(),
        CronError::ComponentError(text) | CronError::InvalidPattern(text) => {
            truncate(text.trim_end_matches('.'), 80).to_lowercase()
        }
        other => truncate(&other.to_string(), 80),
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;
    fn from_str(text: &str) -> Result<Schedule, ScheduleError> {
        Schedule::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Datelike, NaiveTime, TimeZone, Timelike, Weekday};
    use chrono_tz::America::New_York;
    use chrono_tz::Asia::Kolkata;
    use chrono_tz::Europe::Berlin;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    fn cron(text: &str) -> Schedule {
        Schedule::parse(text).expect("schedule")
    }

    /// The runs after `from`, one by one.
    fn runs(schedule: &Schedule, tz: Tz, from: &str, n: usize) -> Vec<DateTime<Utc>> {
        let mut at = utc(from);
        let mut out = Vec::new();
        for _ in 0..n {
            at = schedule.next_after(tz, at).expect("a next run");
            out.push(at);
        }
        out
    }

    #[test]
    fn reads_five_fields_and_refuses_the_rest() {
        assert_eq!(cron("0 9 * * 1-5").as_str(), "0 9 * * 1-5");
        assert_eq!(cron("  0   9 * *\tMON-FRI ").as_str(), "0 9 * * MON-FRI");
        assert!("*/15 8-17 1,15 JAN-MAR SUN".parse::<Schedule>().is_ok());
        for bad in [
            "",
            "0 9 * *",
            "0 0 9 * * 1-5",
            "0 0 9 * * 1-5 2026",
            "@daily",
            "99 99 * * *",
            "0 9 * * 8",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Schedule::parse("0 0 9 * * 1-5").unwrap_err().to_string(),
            "\"0 0 9 * * 1-5\" is not a cron schedule with 5 fields (minute hour day month weekday), like \"0 9 * * 1-5\""
        );
        assert_eq!(
            Schedule::parse("61 9 * * *").unwrap_err().to_string(),
            "\"61 9 * * *\" is not a cron schedule I can read: number out of bounds"
        );
        assert_eq!(
            Schedule::parse("0 9 * * WORKDAYS").unwrap_err().to_string(),
            "\"0 9 * * WORKDAYS\" is not a cron schedule I can read: use digits, * , - / and names like MON or JAN"
        );
    }

    #[test]
    fn next_after_is_strictly_after() {
        let daily = cron("0 9 * * *");
        // 09:00 UTC exactly is not after itself; a moment later neither.
        assert_eq!(
            daily.next_after(chrono_tz::UTC, utc("2026-06-01T09:00:00Z")),
            Some(utc("2026-06-02T09:00:00Z"))
        );
        assert_eq!(
            daily.next_after(chrono_tz::UTC, utc("2026-06-01T09:00:00.500Z")),
            Some(utc("2026-06-02T09:00:00Z"))
        );
        assert_eq!(
            daily.next_after(chrono_tz::UTC, utc("2026-06-01T08:59:59.900Z")),
            Some(utc("2026-06-01T09:00:00Z"))
        );
    }

    #[test]
    fn new_york_spring_forward_runs_a_gap_time_once_at_three() {
        // 8 Mar 2026: 02:00 EST jumps to 03:00 EDT. Sat 7th 02:30 EST (UTC−5) = 07:30Z;
        // Sun 8th 02:30 does not exist → 03:00 EDT (UTC−4) = 07:00Z; Mon 9th 02:30 EDT = 06:30Z.
        let got = runs(&cron("30 2 * * *"), New_York, "2026-03-07T00:00:00Z", 3);
        assert_eq!(
            got,
            [
                utc("2026-03-07T07:30:00Z"),
                utc("2026-03-08T07:00:00Z"),
                utc("2026-03-09T06:30:00Z")
            ]
        );
    }

    #[test]
    fn new_york_fall_back_runs_a_repeated_time_once() {
        // 1 Nov 2026: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice. Sat 31 Oct
        // 01:30 EDT (UTC−4) = 05:30Z; Sun 1st only the first 01:30 EDT = 05:30Z (not 06:30Z);
        // Mon 2nd 01:30 EST (UTC−5) = 06:30Z.
        let got = runs(&cron("30 1 * * *"), New_York, "2026-10-31T00:00:00Z", 3);
        assert_eq!(
            got,
            [
                utc("2026-10-31T05:30:00Z"),
                utc("2026-11-01T05:30:00Z"),
                utc("2026-11-02T06:30:00Z")
            ]
        );
        // Asked from inside the repeated hour, it waits for Monday.
        assert_eq!(
            cron("30 1 * * *").next_after(New_York, utc("2026-11-01T05:45:00Z")),
            Some(utc("2026-11-02T06:30:00Z"))
        );
    }

    #[test]
    fn berlin_changes_run_half_past_two_once() {
        let half_past_two = cron("30 2 * * *");
        // 29 Mar 2026: 02:00 CET jumps to 03:00 CEST. Sat 28th 02:30 CET (UTC+1) = 01:30Z;
        // Sun 29th → 03:00 CEST (UTC+2) = 01:00Z; Mon 30th 02:30 CEST = 00:30Z.
        assert_eq!(
            runs(&half_past_two, Berlin, "2026-03-28T00:00:00Z", 3),
            [
                utc("2026-03-28T01:30:00Z"),
                utc("2026-03-29T01:00:00Z"),
                utc("2026-03-30T00:30:00Z")
            ]
        );
        // 25 Oct 2026: 03:00 CEST falls back to 02:00 CET, 02:30 happens twice. Sat 24th 02:30
        // CEST = 00:30Z; Sun 25th the first, 02:30 CEST = 00:30Z (not 01:30Z); Mon 26th 02:30
        // CET = 01:30Z.
        assert_eq!(
            runs(&half_past_two, Berlin, "2026-10-24T00:00:00Z", 3),
            [
                utc("2026-10-24T00:30:00Z"),
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-26T01:30:00Z")
            ]
        );
    }

    #[test]
    fn weekday_mornings_stay_at_nine_local_across_changes() {
        let nine = cron("0 9 * * 1-5");
        // New York: Fri 6 Mar 09:00 EST = 14:00Z, Mon 9 Mar 09:00 EDT = 13:00Z;
        // Fri 30 Oct 09:00 EDT = 13:00Z, Mon 2 Nov 09:00 EST = 14:00Z.
        assert_eq!(
            runs(&nine, New_York, "2026-03-06T00:00:00Z", 2),
            [utc("2026-03-06T14:00:00Z"), utc("2026-03-09T13:00:00Z")]
        );
        assert_eq!(
            runs(&nine, New_York, "2026-10-30T00:00:00Z", 2),
            [utc("2026-10-30T13:00:00Z"), utc("2026-11-02T14:00:00Z")]
        );
        // Berlin: Fri 27 Mar 09:00 CET = 08:00Z, Mon 30 Mar 09:00 CEST = 07:00Z;
        // Fri 23 Oct 09:00 CEST = 07:00Z, Mon 26 Oct 09:00 CET = 08:00Z.
        assert_eq!(
            runs(&nine, Berlin, "2026-03-27T00:00:00Z", 2),
            [utc("2026-03-27T08:00:00Z"), utc("2026-03-30T07:00:00Z")]
        );
        assert_eq!(
            runs(&nine, Berlin, "2026-10-23T00:00:00Z", 2),
            [utc("2026-10-23T07:00:00Z"), utc("2026-10-26T08:00:00Z")]
        );
        // Kolkata (UTC+05:30, no changes): 09:00 IST = 03:30Z, Fri 6 Mar then Mon 9 Mar.
        assert_eq!(
            runs(&nine, Kolkata, "2026-03-06T00:00:00Z", 2),
            [utc("2026-03-06T03:30:00Z"), utc("2026-03-09T03:30:00Z")]
        );
    }

    /// Every run of `schedule` in local 2026, by local date.
    fn year_2026(schedule: &Schedule, tz: Tz) -> BTreeMap<NaiveDate, Vec<NaiveTime>> {
        let start = tz.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("start");
        let end = tz.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().expect("end");
        // Just before local midnight, so a run at 00:00 would count.
        let mut at = start.with_timezone(&Utc) - chrono::Duration::seconds(1);
        let mut days: BTreeMap<NaiveDate, Vec<NaiveTime>> = BTreeMap::new();
        for _ in 0..1000 {
            let next = schedule.next_after(tz, at).expect("a next run");
            assert!(next > at, "{} in {tz}: {next} after {at}", schedule.as_str());
            if next >= end {
                return days;
            }
            let local = next.with_timezone(&tz);
            days.entry(local.date_naive()).or_default().push(local.time());
            at = next;
        }
        panic!("{} in {tz}: too many runs", schedule.as_str());
    }

    #[test]
    fn a_whole_year_runs_once_on_each_matching_local_day() {
        let zones = [New_York, Berlin, Kolkata];
        let gap_day = |tz: Tz| {
            if tz == New_York {
                NaiveDate::from_ymd_opt(2026, 3, 8)
            } else if tz == Berlin {
                NaiveDate::from_ymd_opt(2026, 3, 29)
            } else {
                None
            }
        };
        let weekday = |d: NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        // (schedule, weekdays only, hour, minute)
        let cases = [
            ("30 2 * * *", false, 2, 30),
            ("30 1 * * *", false, 1, 30),
            ("0 9 * * 1-5", true, 9, 0),
        ];
        for (expr, weekdays_only, hour, minute) in cases {
            let matching = |d: NaiveDate| !weekdays_only || weekday(d);
            for tz in zones {
                let days = year_2026(&cron(expr), tz);
                let expected: Vec<NaiveDate> = NaiveDate::from_ymd_opt(2026, 1, 1)
                    .expect("day")
                    .iter_days()
                    .take_while(|d| d.year() == 2026)
                    .filter(|d| matching(*d))
                    .collect();
                assert_eq!(days.keys().copied().collect::<Vec<_>>(), expected, "{expr} in {tz}");
                for (day, times) in &days {
                    let [time] = times.as_slice() else {
                        panic!("{expr} in {tz} ran {times:?} on {day}");
                    };
                    // Only 02:30 on a spring-forward day moves, to 03:00.
                    let want = if hour == 2 && gap_day(tz) == Some(*day) {
                        (3, 0)
                    } else {
                        (hour, minute)
                    };
                    assert_eq!((time.hour(), time.minute()), want, "{expr} in {tz} on {day}");
                }
            }
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let odd = [
            "",
            " ",
            "* * * * * * *",
            "* * * * * *",
            "99 99 * * *",
            "0 9 * * MON-FRI",
            "0 0 30 2 *",
            "0 0 31 4 *",
            "0 0 29 2 *",
            "0 0 L * *",
            "0 0 * * 5#5",
            "0 0 15W * *",
            "*/0 * * * *",
            "-1 * * * *",
            "1-0 * * * *",
            "5/ * * * *",
            "? ? ? ? ?",
            "0 9 * * 1-5\n0 10 * * *",
            "٠ ٩ * * *",
            "0 9 * * 月",
            "🕘 9 * * *",
            "0\u{0} 9 * * *",
            "0 9 * * 1-5 ; rm -rf /",
            "999999999999999999999 * * * *",
        ];
        let instants = [
            DateTime::<Utc>::MIN_UTC,
            utc("1970-01-01T00:00:00Z"),
            utc("2026-03-08T07:00:00Z"),
            utc("0001-01-01T23:00:00Z"),
            utc("4999-11-30T23:59:59Z"),
            utc("4999-12-31T23:59:59Z"),
            DateTime::<Utc>::MAX_UTC,
        ];
        for text in odd {
            let Ok(schedule) = Schedule::parse(text) else {
                let message = Schedule::parse(text).unwrap_err().to_string();
                assert!(!message.contains('\n'), "{message}");
                continue;
            };
            for tz in [New_York, Kolkata, chrono_tz::Pacific::Kiritimati] {
                for at in instants {
                    if let Some(next) = schedule.next_after(tz, at) {
                        assert!(next > at, "{text:?} in {tz}");
                    }
                }
            }
        }
        let long = "1,".repeat(500) + "x * * * *";
        let message = Schedule::parse(&long).map(|_| ()).unwrap_err().to_string();
        assert!(message.chars().count() < 200, "{message}");
    }

    #[test]
    fn a_schedule_that_never_runs_is_refused() {
        assert_eq!(
            Schedule::parse("0 0 30 2 *").map(|_| ()).unwrap_err().to_string(),
            "\"0 0 30 2 *\" never runs: no month has that day"
        );
        assert!(Schedule::parse("0 0 31 4,6 *").is_err());
        // 29 February comes every fourth year; the 31st only in long months.
        let leap = cron("0 0 29 2 *");
        assert_eq!(
            leap.next_after(Berlin, utc("2026-01-01T00:00:00Z")),
            Some(utc("2028-02-28T23:00:00Z"))
        );
        assert_eq!(
            cron("0 12 31 * *").next_after(chrono_tz::UTC, utc("2026-04-01T00:00:00Z")),
            Some(utc("2026-05-31T12:00:00Z"))
        );
    }
}
