//! Meeting slots: the earliest times inside everyone's working hours and outside what keeps them
//! busy.
//!
//! The search goes day by day: each person's working period of a day (from their
//! [`Calendar`]: zone, hours, working weekdays, holidays, away days) is intersected with
//! everyone else's, busy times are cut out, and starts are placed on the quarter hour. It looks
//! at most [`MAX_DAYS`] days ahead, whatever `to` says. Working periods that start or end in a
//! daylight-saving gap or fold follow [`Calendar`]'s rules.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::calendar::Calendar;

/// One person's availability.
#[derive(Debug, Clone)]
pub struct Person {
    /// Zone, working hours and days, holidays and away days.
    pub calendar: Calendar,
    /// Times they are busy (standups), as instants `[start, end)`; in any order, may overlap.
    pub busy: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Starts fall on the quarter hour (UTC :00, :15, :30, :45).
const GRID_SECONDS: i64 = 15 * 60;

/// The longest stretch searched, in days from `from`.
pub const MAX_DAYS: i64 = 60;

/// An interval of instants, `[start, end)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The `count` earliest starts in `[from, to)` (searching at most [`MAX_DAYS`] days), on the
/// quarter hour, where everyone is working for the whole `duration` and nobody is busy.
///
/// The starts do not overlap one another: after a slot the next one is at least `duration`
/// later (30 minutes from 14:00 gives 14:00, 14:30, 15:00), so they are real alternatives.
/// Nobody, an empty or reversed range, or a duration that is not positive give nothing.
pub fn earliest_slots(
    people: &[Person],
    duration: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    count: usize,
) -> Vec<DateTime<Utc>> {
    let Some((from, to)) = search_range(from, to) else {
        return Vec::new();
    };
    if people.is_empty() || duration <= Duration::zero() || count == 0 {
        return Vec::new();
    }
    let mut free = vec![(from, to)];
    for person in people {
        free = intersect(&free, &person.calendar.periods_between(from, to));
    }
    for busy in people.iter().flat_map(|p| p.busy.iter()) {
        free = subtract(&free, *busy);
    }
    starts(&free, duration, count)
}

/// `[from, to)` cut to [`MAX_DAYS`] and to years calendars can compute with; `None` if empty.
fn search_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Span> {
    let day = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
    };
    let from = from.max(day(1, 1, 2)?);
    let to = to
        .min(day(9999, 1, 1)?)
        .min(from.checked_add_signed(Duration::days(MAX_DAYS))?);
    (from < to).then_some((from, to))
}

/// Up to `count` grid starts that fit `duration` inside the free spans, one after another.
fn starts(free: &[Span], duration: Duration, count: usize) -> Vec<DateTime<Utc>> {
    let mut slots = Vec::new();
    for &(start, end) in free {
        let mut next = on_grid(start);
        while let Some(at) = next.filter(|_| slots.len() < count) {
            let Some(finish) = at.checked_add_signed(duration).filter(|f| *f <= end) else {
                break;
            };
            slots.push(at);
            next = on_grid(finish);
        }
    }
    slots
}

/// The parts of two sorted, disjoint interval lists that overlap.
fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let start = x.0.max(y.0);
        let end = x.1.min(y.1);
        if start < end {
            out.push((start, end));
        }
        if x.1 < y.1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The intervals with `cut` taken out; an empty or reversed `cut` takes nothing.
fn subtract(spans: &[Span], cut: Span) -> Vec<Span> {
    if cut.0 >= cut.1 {
        return spans.to_vec();
    }
    let mut out = Vec::new();
    for &(start, end) in spans {
        if cut.1 <= start || end <= cut.0 {
            out.push((start, end));
            continue;
        }
        if start < cut.0 {
            out.push((start, cut.0));
        }
        if cut.1 < end {
            out.push((cut.1, end));
        }
    }
    out
}

/// The first quarter hour at or after `at`.
fn on_grid(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
    let up = t.checked_add(GRID_SECONDS - 1)?.div_euclid(GRID_SECONDS) * GRID_SECONDS;
    DateTime::<Utc>::from_timestamp(up, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WorkingHours;
    use chrono::NaiveDate;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn person(tz: chrono_tz::Tz) -> Person {
        Person {
            calendar: Calendar::new(tz, WorkingHours::default()),
            busy: Vec::new(),
        }
    }

    /// Slots in the week of Tue 24 – Fri 27 Nov 2026 (winter on both sides of the Atlantic).
    fn late_november(team: &[Person], minutes: i64, count: usize) -> Vec<DateTime<Utc>> {
        let (from, to) = (utc("2026-11-24T00:00:00Z"), utc("2026-11-28T00:00:00Z"));
        earliest_slots(team, Duration::minutes(minutes), from, to, count)
    }

    #[test]
    fn new_york_and_berlin_meet_in_the_morning_of_new_york() {
        // In winter 09:00–17:00 Berlin (UTC+1) = 08:00–16:00Z, New York (UTC−5) = 14:00–22:00Z:
        // 14:00–16:00Z = 15:00–17:00 Berlin = 09:00–11:00 New York.
        let team = [person(New_York), person(Berlin)];
        let slots = late_november(&team, 30, 5);
        assert_eq!(
            slots,
            [
                utc("2026-11-24T14:00:00Z"),
                utc("2026-11-24T14:30:00Z"),
                utc("2026-11-24T15:00:00Z"),
                utc("2026-11-24T15:30:00Z"),
                utc("2026-11-25T14:00:00Z"),
            ]
        );
        let first = slots.first().expect("a slot");
        assert_eq!(first.with_timezone(&New_York).format("%H:%M").to_string(), "09:00");
        assert_eq!(first.with_timezone(&Berlin).format("%H:%M").to_string(), "15:00");
    }

    #[test]
    fn a_day_someone_is_away_is_skipped() {
        let mut ny = person(New_York);
        ny.calendar.away.push((date("2026-11-24"), date("2026-11-24")));
        let mut berlin = person(Berlin);
        berlin.calendar.holidays.insert(date("2026-11-25"));
        // Tuesday New York is away, Wednesday is a Berlin holiday: Thursday 14:00Z.
        assert_eq!(late_november(&[ny, berlin], 60, 1), [utc("2026-11-26T14:00:00Z")]);
    }

    #[test]
    fn busy_times_are_avoided() {
        let mut berlin = person(Berlin);
        // A standup 14:00–14:15Z daily and a 15:00–15:45Z call on Tuesday.
        for day in 24..=27 {
            let at = utc(&format!("2026-11-{day}T14:00:00Z"));
            berlin.busy.push((at, at + Duration::minutes(15)));
        }
        berlin
            .busy
            .push((utc("2026-11-24T15:00:00Z"), utc("2026-11-24T15:45:00Z")));
        let team = [person(New_York), berlin];
        // Tuesday's free time is 14:15–15:00 and 15:45–16:00Z: one 45-minute slot, then
        // Wednesday from 14:15Z.
        assert_eq!(
            late_november(&team, 45, 3),
            [
                utc("2026-11-24T14:15:00Z"),
                utc("2026-11-25T14:15:00Z"),
                utc("2026-11-25T15:00:00Z")
            ]
        );
    }

    #[test]
    fn no_overlap_gives_nothing() {
        // Auckland 09:00–17:00 NZDT (UTC+13) = 20:00–04:00Z; London 09:00–17:00 GMT = 09–17Z.
        let team = [person(chrono_tz::Pacific::Auckland), person(chrono_tz::Europe::London)];
        assert!(late_november(&team, 15, 3).is_empty());
    }

    #[test]
    fn a_meeting_longer_than_any_overlap_gives_nothing() {
        let team = [person(New_York), person(Berlin)];
        assert_eq!(late_november(&team, 120, 1), [utc("2026-11-24T14:00:00Z")]);
        assert!(late_november(&team, 135, 1).is_empty());
        assert!(late_november(&team, 180, 3).is_empty());
    }

    #[test]
    fn the_overlap_follows_each_zones_clock_changes() {
        let team = [person(New_York), person(Berlin)];
        let longest = |day: &str| {
            let from = utc(&format!("{day}T00:00:00Z"));
            let fits =
                |h: i64| !earliest_slots(&team, Duration::hours(h), from, from + Duration::days(1), 1).is_empty();
            (1..=8).take_while(|h| fits(*h)).last()
        };
        // Mon 9 Mar: New York on EDT (13:00–21:00Z), Berlin still CET (08:00–16:00Z): 3 hours.
        assert_eq!(longest("2026-03-09"), Some(3));
        // Mon 30 Mar: Berlin on CEST too (07:00–15:00Z): 13:00–15:00Z, 2 hours.
        assert_eq!(longest("2026-03-30"), Some(2));
        // Mon 26 Oct: Berlin back on CET, New York still EDT: 3 hours again.
        assert_eq!(longest("2026-10-26"), Some(3));
        // Mon 2 Nov: both on standard time, 2 hours.
        assert_eq!(longest("2026-11-02"), Some(2));
    }

    #[test]
    fn starts_fall_on_the_quarter_hour() {
        let mut kolkata = person(chrono_tz::Asia::Kolkata);
        kolkata.calendar.hours = WorkingHours::parse("09:10-18:00").expect("hours");
        // 09:10 IST = 03:40Z: the first quarter hour is 03:45Z (09:15 IST).
        let slots = late_november(&[kolkata.clone()], 30, 1);
        assert_eq!(slots, [utc("2026-11-24T03:45:00Z")]);
        // From 05:07:30.5Z on: 05:15Z.
        let from = utc("2026-11-24T05:07:30.500Z");
        let later = earliest_slots(&[kolkata], Duration::minutes(30), from, from + Duration::hours(1), 5);
        assert_eq!(later, [utc("2026-11-24T05:15:00Z")]);
    }

    #[test]
    fn the_search_is_bounded_and_odd_input_gives_nothing() {
        let team = [person(New_York), person(Berlin)];
        let from = utc("2026-11-24T00:00:00Z");
        let far = from + Duration::days(3650);
        let all = earliest_slots(&team, Duration::minutes(15), from, far, usize::MAX);
        assert!(all.iter().all(|at| *at < from + Duration::days(MAX_DAYS)));
        assert!(all.len() > 300, "{}", all.len());
        let mut nobody_works = person(Berlin);
        nobody_works.calendar.workdays = [false; 7];
        assert!(earliest_slots(&[nobody_works], Duration::minutes(15), from, far, 3).is_empty());
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert!(earliest_slots(&team, Duration::minutes(15), max, min, 3).is_empty());
        assert!(earliest_slots(&team, Duration::minutes(15), from, from, 3).is_empty());
        assert!(earliest_slots(&team, Duration::zero(), from, far, 3).is_empty());
        assert!(earliest_slots(&team, Duration::minutes(-30), from, far, 3).is_empty());
        assert!(earliest_slots(&team, Duration::MAX, from, far, 3).is_empty());
        assert!(earliest_slots(&team, Duration::minutes(15), from, far, 0).is_empty());
        assert!(earliest_slots(&[], Duration::minutes(15), from, far, 3).is_empty());
        for (a, b) in [
            (min, max),
            (max - Duration::days(1), max),
            (min, min + Duration::days(90)),
        ] {
            let _ = earliest_slots(&team, Duration::minutes(15), a, b, 3);
        }
        // A reversed busy interval takes nothing out.
        let mut odd = person(New_York);
        odd.busy
            .push((utc("2026-11-24T16:00:00Z"), utc("2026-11-24T15:00:00Z")));
        assert_eq!(
            late_november(&[odd, person(Berlin)], 60, 2),
            [utc("2026-11-24T14:00:00Z"), utc("2026-11-24T15:00:00Z")]
        );
    }
}
