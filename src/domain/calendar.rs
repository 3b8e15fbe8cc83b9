//! Business-hours arithmetic: working days and hours in a time zone, minus holidays and away days.
//!
//! Day boundaries are local to the calendar's zone. A working period's start or end that falls in
//! a daylight-saving gap moves to the first instant after the gap; one that happens twice takes
//! the earlier instant, so a working day across a change is an hour longer or shorter in real
//! time. Every loop goes day by day and stops after ten years, so no input can make it spin.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::WorkingHours;

/// How far any search looks ahead (days).
const HORIZON_DAYS: i64 = 3660;

/// A person's (or the team's) working time.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    pub hours: WorkingHours,
    /// Working weekdays, Monday first.
    pub workdays: [bool; 7],
    /// Dates in `tz` nobody works.
    pub holidays: BTreeSet<NaiveDate>,
    /// Inclusive date ranges in `tz` when this person is away.
    pub away: Vec<(NaiveDate, NaiveDate)>,
}

impl Calendar {
    /// Monday to Friday, no holidays, never away.
    pub fn new(tz: Tz, hours: WorkingHours) -> Calendar {
        Calendar {
            tz,
            hours,
            workdays: [true, true, true, true, true, false, false],
            holidays: BTreeSet::new(),
            away: Vec::new(),
        }
    }

    /// The local date of an instant (the UTC date at the very ends of chrono's range).
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.local(at.naive_utc()).unwrap_or(at.naive_utc()).date()
    }

    /// A working weekday that is neither a holiday nor an away day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        let weekday = date.weekday().num_days_from_monday() as usize;
        self.workdays.get(weekday).copied().unwrap_or(false)
            && !self.holidays.contains(&date)
            && !self.away.iter().any(|(from, to)| *from <= date && date <= *to)
    }

    /// True inside working hours on a working day.
    pub fn is_business_time(&self, at: DateTime<Utc>) -> bool {
        self.period(self.local_date(at))
            .is_some_and(|(start, end)| start <= at && at < end)
    }

    /// `at` when it is business time, else the start of the next working period.
    pub fn next_business_moment(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.periods_from(at).next().map(|(start, _)| start.max(at))
    }

    /// Business seconds in `[from, to)`; 0 when `to` is not after `from`.
    pub fn business_seconds_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        for (start, end) in self.periods_from(from) {
            if start >= to {
                break;
            }
            total += (end.min(to) - start.max(from)).num_seconds().max(0);
        }
        total
    }

    /// The instant at which `seconds` business seconds have passed since `from`; 0 (or less) gives
    /// [`Calendar::next_business_moment`]. Exactly using up a period gives that period's end, not
    /// the next start. `None` when the time does not fit in the horizon.
    pub fn add_business_seconds(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let mut left = seconds.max(0);
        for (start, end) in self.periods_from(from) {
            let start = start.max(from);
            let available = (end - start).num_seconds();
            if left <= available {
                return Some(start + Duration::seconds(left));
            }
            left -= available;
        }
        None
    }

    /// The working periods that overlap `[from, to)`, clipped to it, in order.
    pub fn periods_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.periods_from(from)
            .take_while(|(start, _)| *start < to)
            .map(|(start, end)| (start.max(from), end.min(to)))
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// Working periods that end after `at`, in order, within the horizon.
    fn periods_from(&self, at: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = self.local_date(at);
        (0..HORIZON_DAYS)
            .filter_map(move |n| first.checked_add_signed(Duration::days(n)))
            .filter_map(|day| self.period(day))
            .filter(move |(_, end)| *end > at)
    }

    /// The working period of a day, as instants.
    fn period(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(day) {
            return None;
        }
        let start = self.instant(day.and_time(self.hours.start))?;
        let end = self.instant(day.and_time(self.hours.end))?;
        (end > start).then_some((start, end))
    }

    /// A local time as an instant: the earlier of two, or the first instant after a gap.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            LocalResult::None => self.gap_end(local),
        }
    }

    /// The first whole second whose local time is at or after `local`, found by halving the two
    /// days around it (18 steps): for a time skipped by a gap, the instant the gap ends.
    fn gap_end(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let reads = |secs: i64| self.local(DateTime::from_timestamp(secs, 0)?.naive_utc());
        let guess = local.and_utc().timestamp();
        let (mut before, mut after) = (guess - 86_400, guess + 86_400);
        while after - before > 1 {
            let mid = before + (after - before) / 2;
            if reads(mid)? < local {
                before = mid;
            } else {
                after = mid;
            }
        }
        DateTime::from_timestamp(after, 0)
    }

    /// A UTC wall time read in the calendar's zone; `None` past the ends of chrono's range.
    fn local(&self, utc: NaiveDateTime) -> Option<NaiveDateTime> {
        utc.checked_add_offset(self.tz.offset_from_utc_datetime(&utc).fix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    fn nine_to_five(tz: Tz) -> Calendar {
        Calendar::new(tz, WorkingHours::default())
    }

    #[test]
    fn friday_afternoon_plus_two_hours_is_monday_morning() {
        // Berlin in November is UTC+1: Fri 27 Nov 16:00 CET = 15:00Z; one hour left on Friday,
        // one more from Monday 09:00 CET → Mon 30 Nov 10:00 CET = 09:00Z.
        let cal = nine_to_five(chrono_tz::Europe::Berlin);
        let at = cal.add_business_seconds(utc("2026-11-27T15:00:00Z"), 2 * 3600);
        assert_eq!(at, Some(utc("2026-11-30T09:00:00Z")));
        assert_eq!(
            cal.business_seconds_between(utc("2026-11-27T15:00:00Z"), utc("2026-11-30T09:00:00Z")),
            2 * 3600
        );
    }

    #[test]
    fn holidays_and_away_days_are_skipped() {
        let mut cal = nine_to_five(chrono_tz::UTC);
        cal.holidays
            .insert(NaiveDate::from_ymd_opt(2026, 12, 25).expect("date"));
        // Thu 24 Dec 16:00 + 2 h: 1 h on Thursday, Friday is a holiday → Mon 28 Dec 10:00.
        assert_eq!(
            cal.add_business_seconds(utc("2026-12-24T16:00:00Z"), 7200),
            Some(utc("2026-12-28T10:00:00Z"))
        );
        cal.away.push((
            NaiveDate::from_ymd_opt(2026, 12, 28).expect("date"),
            NaiveDate::from_ymd_opt(2026, 12, 29).expect("date"),
        ));
        // Away Mon–Tue: the second hour lands on Wed 30 Dec 10:00.
        assert_eq!(
            cal.add_business_seconds(utc("2026-12-24T16:00:00Z"), 7200),
            Some(utc("2026-12-30T10:00:00Z"))
        );
        assert!(!cal.is_business_time(utc("2026-12-29T12:00:00Z")));
        assert_eq!(
            cal.next_business_moment(utc("2026-12-24T18:00:00Z")),
            Some(utc("2026-12-30T09:00:00Z"))
        );
    }

    #[test]
    fn a_weekend_counts_nothing() {
        let cal = nine_to_five(chrono_tz::UTC);
        // Fri 17:00 → Mon 09:00: nothing; Fri 16:00 → Mon 10:00: 2 h.
        assert_eq!(
            cal.business_seconds_between(utc("2026-11-27T17:00:00Z"), utc("2026-11-30T09:00:00Z")),
            0
        );
        assert_eq!(
            cal.business_seconds_between(utc("2026-11-27T16:00:00Z"), utc("2026-11-30T10:00:00Z")),
            7200
        );
    }

    #[test]
    fn a_working_day_across_a_dst_change_is_shorter_or_longer() {
        // Hours 00:30–04:30 every day in New York: on Sun 8 Mar 2026 the clock jumps 02:00→03:00,
        // so that day has 3 real hours; on Sun 1 Nov 01:00–02:00 happens twice: 5 real hours.
        let mut cal = Calendar::new(
            chrono_tz::America::New_York,
            WorkingHours::parse("00:30-04:30").expect("hours"),
        );
        cal.workdays = [true; 7];
        let day = |from: &str, to: &str| cal.business_seconds_between(utc(from), utc(to));
        assert_eq!(day("2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"), 3 * 3600);
        assert_eq!(day("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), 5 * 3600);
        // Berlin 09:00–17:00 across 29 Mar: 08:00Z–16:00Z on Friday, 07:00Z–15:00Z on Monday.
        let berlin = nine_to_five(chrono_tz::Europe::Berlin);
        assert!(berlin.is_business_time(utc("2026-03-27T08:00:00Z")));
        assert!(!berlin.is_business_time(utc("2026-03-30T06:59:00Z")));
        assert!(berlin.is_business_time(utc("2026-03-30T07:00:00Z")));
        assert_eq!(
            berlin.business_seconds_between(utc("2026-03-27T15:00:00Z"), utc("2026-03-30T08:00:00Z")),
            2 * 3600
        );
    }

    #[test]
    fn berlin_days_across_both_changes() {
        // Hours 01:00–04:00 every day. Sun 29 Mar 2026: 02:00 CET jumps to 03:00 CEST, so
        // 01:00 CET (00:00Z) – 04:00 CEST (02:00Z) is 2 real hours. Sun 25 Oct: 03:00 CEST falls
        // back to 02:00 CET, so 01:00 CEST (23:00Z on the 24th) – 04:00 CET (03:00Z) is 4 hours.
        let mut cal = Calendar::new(
            chrono_tz::Europe::Berlin,
            WorkingHours::parse("01:00-04:00").expect("hours"),
        );
        cal.workdays = [true; 7];
        let day = |from: &str, to: &str| cal.business_seconds_between(utc(from), utc(to));
        assert_eq!(day("2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"), 2 * 3600);
        assert_eq!(day("2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"), 4 * 3600);
        assert_eq!(day("2026-10-25T12:00:00Z", "2026-10-26T12:00:00Z"), 3 * 3600);
        // Berlin 09:00–17:00 across 25 Oct: Fri 23 Oct 16:00 CEST = 14:00Z, one hour left;
        // Mon 26 Oct 09:00 CET = 08:00Z, so one more hour ends at 09:00Z.
        let team = nine_to_five(chrono_tz::Europe::Berlin);
        assert_eq!(
            team.add_business_seconds(utc("2026-10-23T14:00:00Z"), 2 * 3600),
            Some(utc("2026-10-26T09:00:00Z"))
        );
    }

    #[test]
    fn a_start_in_a_gap_is_the_gap_end_and_a_repeated_one_the_first() {
        // New York, 8 Mar 2026: 02:00 EST (07:00Z) jumps to 03:00 EDT, so 02:30:15 does not exist
        // and the day starts at the jump, 07:00:00Z. 1 Nov: 01:30 happens at 05:30Z (EDT) and
        // 06:30Z (EST); the earlier counts.
        let at = |h, m, s| chrono::NaiveTime::from_hms_opt(h, m, s).expect("time");
        let mut cal = Calendar::new(
            chrono_tz::America::New_York,
            WorkingHours {
                start: at(2, 30, 15),
                end: at(5, 0, 0),
            },
        );
        cal.workdays = [true; 7];
        assert_eq!(
            cal.next_business_moment(utc("2026-03-08T00:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        cal.hours.start = at(1, 30, 0);
        assert_eq!(
            cal.next_business_moment(utc("2026-11-01T00:00:00Z")),
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let cal = nine_to_five(chrono_tz::Asia::Tokyo);
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        for at in [min, max] {
            let _ = (
                cal.local_date(at),
                cal.is_business_time(at),
                cal.next_business_moment(at),
            );
            let _ = cal.add_business_seconds(at, i64::MAX);
        }
        // Counting stops at the horizon: at most 3,660 days of 8 hours.
        assert!(cal.business_seconds_between(min, max) <= 3660 * 8 * 3600);
        assert_eq!(cal.add_business_seconds(utc("2026-01-01T00:00:00Z"), i64::MAX), None);
    }

    #[test]
    fn kolkata_half_hour_offset() {
        // 09:00 IST = 03:30Z.
        let cal = nine_to_five(chrono_tz::Asia::Kolkata);
        assert!(!cal.is_business_time(utc("2026-11-24T03:29:00Z")));
        assert!(cal.is_business_time(utc("2026-11-24T03:30:00Z")));
        assert_eq!(
            cal.next_business_moment(utc("2026-11-24T00:00:00Z")),
            Some(utc("2026-11-24T03:30:00Z"))
        );
    }

    #[test]
    fn adding_and_counting_agree() {
        let cal = nine_to_five(chrono_tz::America::New_York);
        for (start, seconds) in [
            ("2026-03-06T20:00:00Z", 3600),
            ("2026-03-06T15:00:00Z", 40 * 3600),
            ("2026-10-30T12:00:00Z", 17 * 3600 + 60),
            ("2026-12-31T23:00:00Z", 1),
        ] {
            let from = utc(start);
            let to = cal.add_business_seconds(from, seconds).expect("reachable");
            assert_eq!(cal.business_seconds_between(from, to), seconds, "from {start}");
        }
    }

    #[test]
    fn no_working_day_at_all_gives_up_quickly() {
        let mut cal = nine_to_five(chrono_tz::UTC);
        cal.workdays = [false; 7];
        assert_eq!(cal.add_business_seconds(utc("2026-01-01T00:00:00Z"), 1), None);
        assert_eq!(cal.next_business_moment(utc("2026-01-01T00:00:00Z")), None);
        assert_eq!(
            cal.business_seconds_between(utc("2026-01-01T00:00:00Z"), utc("2030-01-01T00:00:00Z")),
            0
        );
    }
}
