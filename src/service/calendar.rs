//! Whose time it is: each member's time zone and calendar, and the team's holidays.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::keel::Keel;
use crate::domain::calendar::Calendar;
use crate::domain::parse_tz;
use crate::store::jobs;
use crate::store::people::Member;
use crate::store::Conn;

/// A member's time zone: their own, else the team's.
pub fn member_tz(keel: &Keel, member: &Member) -> Tz {
    member
        .tz
        .as_deref()
        .and_then(|tz| parse_tz(tz).ok())
        .unwrap_or(keel.settings.team_tz)
}

/// A member's calendar: their zone and hours, the team's holidays, their away days from `now`.
pub(crate) fn member_calendar(keel: &Keel, now: DateTime<Utc>, m: &Member, holidays: &BTreeSet<NaiveDate>) -> Calendar {
    let mut cal = Calendar::new(member_tz(keel, m), m.hours);
    cal.holidays = holidays.clone();
    if let Some(until) = m.away_until.and_then(|u| Utc.timestamp_opt(u, 0).single()) {
        let from = cal.local_date(now);
        let to = cal.local_date(until);
        if to >= from {
            cal.away.push((from, to));
        }
    }
    cal
}

/// The team's holidays: configured and added with `holiday add`.
pub(crate) async fn team_holidays(conn: &mut Conn, keel: &Keel) -> anyhow::Result<BTreeSet<NaiveDate>> {
    let mut holidays = keel.settings.holidays.clone();
    for (day, _) in jobs::holidays(conn).await? {
        if let Ok(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
            holidays.insert(d);
        }
    }
    Ok(holidays)
}
