//! Meeting slots: the earliest times inside everyone's working hours and outside what keeps them
//! busy.

use chrono::{DateTime, Duration, Utc};

use super::calendar::Calendar;

/// One person's availability.
#[derive(Debug, Clone)]
pub struct Person {
    pub calendar: Calendar,
    /// Times they are busy (standups), as instants.
    pub busy: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Starts fall on the quarter hour.
const GRID_SECONDS: i64 = 15 * 60;

/// The `count` earliest starts in `[from, to)`, on the quarter hour and not overlapping one
/// another, where everyone is working for the whole `duration` and nobody is busy.
pub fn earliest_slots(
    people: &[Person],
    duration: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    count: usize,
) -> Vec<DateTime<Utc>> {
    let Some(first) = people.first() else {
        return Vec::new();
    };
    if duration <= Duration::zero() || to <= from {
        return Vec::new();
    }
    let mut free = first.calendar.periods_between(from, to);
    for person in people.iter().skip(1) {
        free = intersect(&free, &person.calendar.periods_between(from, to));
    }
    for person in people {
        for busy in &person.busy {
            free = subtract(&free, *busy);
        }
    }
    let mut slots = Vec::new();
    for (start, end) in free {
        let mut at = on_grid(start);
        while at + duration <= end && slots.len() < count {
            slots.push(at);
            at = on_grid(at + duration);
        }
        if slots.len() == count {
            break;
        }
    }
    slots
}

type Span = (DateTime<Utc>, DateTime<Utc>);

/// The parts of two sorted interval lists that overlap.
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

/// The intervals with `cut` taken out.
fn subtract(spans: &[Span], cut: Span) -> Vec<Span> {
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
fn on_grid(at: DateTime<Utc>) -> DateTime<Utc> {
    let t = at.timestamp();
    let up = (t + GRID_SECONDS - 1).div_euclid(GRID_SECONDS) * GRID_SECONDS;
    DateTime::<Utc>::from_timestamp(up, 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WorkingHours;
    use chrono::NaiveDate;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    fn person(tz: chrono_tz::Tz) -> Person {
        Person {
            calendar: Calendar::new(tz, WorkingHours::default()),
            busy: Vec::new(),
        }
    }

    #[test]
    fn new_york_and_berlin_meet_in_the_morning_of_new_york() {
        // In winter 09:00–17:00 Berlin = 08:00–16:00Z, New York = 14:00–22:00Z: 14:00–16:00Z.
        let team = [person(chrono_tz::America::New_York), person(chrono_tz::Europe::Berlin)];
        let slots = earliest_slots(
            &team,
            Duration::minutes(30),
            utc("2026-11-24T00:00:00Z"),
            utc("2026-11-28T00:00:00Z"),
            3,
        );
        assert_eq!(
            slots,
            [
                utc("2026-11-24T14:00:00Z"),
                utc("2026-11-24T14:30:00Z"),
                utc("2026-11-24T15:00:00Z")
            ]
        );
    }

    #[test]
    fn away_days_and_busy_times_are_avoided() {
        let mut ny = person(chrono_tz::America::New_York);
        ny.calendar.away.push((
            NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
            NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
        ));
        let mut berlin = person(chrono_tz::Europe::Berlin);
        berlin
            .busy
            .push((utc("2026-11-25T14:00:00Z"), utc("2026-11-25T15:00:00Z")));
        let slots = earliest_slots(
            &[ny, berlin],
            Duration::hours(1),
            utc("2026-11-24T00:00:00Z"),
            utc("2026-11-28T00:00:00Z"),
            2,
        );
        // Tuesday: New York away. Wednesday 14–15Z busy: 15:00–16:00Z; then Thursday 14:00Z.
        assert_eq!(slots, [utc("2026-11-25T15:00:00Z"), utc("2026-11-26T14:00:00Z")]);
    }

    #[test]
    fn no_overlap_or_too_long_gives_nothing() {
        let team = [person(chrono_tz::Pacific::Auckland), person(chrono_tz::Europe::London)];
        let none = earliest_slots(
            &team,
            Duration::minutes(30),
            utc("2026-11-24T00:00:00Z"),
            utc("2026-11-28T00:00:00Z"),
            3,
        );
        assert!(none.is_empty(), "{none:?}");
        let pair = [person(chrono_tz::America::New_York), person(chrono_tz::Europe::Berlin)];
        let long = earliest_slots(
            &pair,
            Duration::hours(3),
            utc("2026-11-24T00:00:00Z"),
            utc("2026-11-28T00:00:00Z"),
            3,
        );
        assert!(long.is_empty());
    }
}
