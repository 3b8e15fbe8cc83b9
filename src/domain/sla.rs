//! SLA targets: the team's per priority, a client's where it has its own, and the spans of
//! business time they are written in (`30m`, `2h`, `1h30m`, `1.5h`, `3d`).

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use super::calendar::Calendar;
use super::{Priority, Status};

/// The longest target keel takes: 10,000 business hours.
const MAX_SECONDS: i64 = 10_000 * 3600;

/// One priority's two targets, in business seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response: i64,
    pub resolution: i64,
}

/// Where a client's target for a priority comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The team's default.
    Team,
    /// Set in chat with `client sla`.
    Chat,
    /// The configuration's `[clients.<key>.sla]`, which wins over chat.
    Config,
}

/// Every target in force: the team's, and the clients' own.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaBook {
    team: HashMap<Priority, Targets>,
    clients: HashMap<i64, HashMap<Priority, (Targets, Origin)>>,
}

impl SlaBook {
    /// The team's targets; `team` must hold every priority (one missing counts as no target).
    pub fn new(team: HashMap<Priority, Targets>) -> SlaBook {
        SlaBook {
            team,
            clients: HashMap::new(),
        }
    }

    /// Gives a client its own targets for a priority, unless the configuration set them.
    pub fn set(&mut self, client: i64, priority: Priority, targets: Targets, origin: Origin) {
        let own = self.clients.entry(client).or_default();
        if own.get(&priority).is_some_and(|(_, o)| *o == Origin::Config) && origin != Origin::Config {
            return;
        }
        own.insert(priority, (targets, origin));
    }

    /// The targets a task of this client and priority is held to, and where they come from.
    pub fn of(&self, client: Option<i64>, priority: Priority) -> (Targets, Origin) {
        client
            .and_then(|c| self.clients.get(&c))
            .and_then(|own| own.get(&priority))
            .copied()
            .unwrap_or_else(|| {
                let none = Targets {
                    first_response: 0,
                    resolution: 0,
                };
                (self.team.get(&priority).copied().unwrap_or(none), Origin::Team)
            })
    }

    /// The targets a task is held to.
    pub fn targets(&self, client: Option<i64>, priority: Priority) -> Targets {
        self.of(client, priority).0
    }

    /// The shortest target of all, in business seconds (0 when there is none).
    pub fn shortest(&self) -> i64 {
        self.team
            .values()
            .copied()
            .chain(self.clients.values().flat_map(|own| own.values().map(|(t, _)| *t)))
            .flat_map(|t| [t.first_response, t.resolution])
            .filter(|s| *s > 0)
            .min()
            .unwrap_or(0)
    }
}

/// Reads a span of business time: `30m`, `2h`, `1h30m`, `1.5h`, `3d` (a day is 24 business
/// hours, as the team's default targets count them), or a bare number of hours. At least a
/// minute, at most 10,000 hours.
pub fn parse_span(text: &str) -> Option<i64> {
    let text = text.trim().to_lowercase();
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    if let Ok(hours) = text.parse::<f64>() {
        return within((hours * 3600.0).round());
    }
    let mut total = 0.0;
    let mut number = String::new();
    let mut last_unit = 0;
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let (rank, seconds) = match c {
            'd' => (3, 86_400.0),
            'h' => (2, 3600.0),
            'm' => (1, 60.0),
            _ => return None,
        };
        // Units come largest first, each once: `1h30m`, not `30m1h` or `1h1h`.
        if last_unit != 0 && rank >= last_unit {
            return None;
        }
        last_unit = rank;
        total += std::mem::take(&mut number).parse::<f64>().ok()? * seconds;
    }
    if !number.is_empty() {
        return None;
    }
    within(total.round())
}

fn within(seconds: f64) -> Option<i64> {
    (seconds.is_finite() && (60.0..=MAX_SECONDS as f64).contains(&seconds)).then_some(seconds as i64)
}

/// A span the way `parse_span` reads it back: `30m`, `2h`, `1h30m`, `120h`.
pub fn show_span(seconds: i64) -> String {
    let (h, m) = (seconds / 3600, (seconds % 3600) / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

/// Where one SLA clock of a client request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Stopped within the target, after `used` business seconds.
    Met { used: i64 },
    /// Past the target: stopped late, or still running.
    Missed { used: i64 },
    /// Running, with `left` business seconds to go.
    Running { left: i64 },
    /// The task waits on the client: the resolution clock stands still with `left` to go.
    Paused { left: i64 },
}

fn utc(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

/// A request's two clocks at `now`, first response then resolution, counted in `calendar`'s
/// business time. `changes` are its status changes `(at, to)`, oldest first; the resolution clock
/// leaves out the time spent waiting on the client and stops at done or cancelled.
pub fn clocks(
    calendar: &Calendar,
    targets: Targets,
    created: i64,
    first_response: Option<i64>,
    changes: &[(i64, Status)],
    now: i64,
) -> (Clock, Clock) {
    let business = |from: i64, to: i64| calendar.business_seconds_between(utc(from), utc(to.max(from)));
    let (mut waited, mut waiting_since, mut stopped) = (0, None, None);
    for (at, to) in changes.iter().filter(|(at, _)| *at <= now) {
        if let Some(since) = waiting_since.take() {
            waited += business(since, *at);
        }
        stopped = (!to.is_active()).then_some(*at);
        if *to == Status::Waiting {
            waiting_since = Some(*at);
        }
    }
    let stopped_or = |used: i64, target: i64, stopped: bool| match (stopped, used <= target) {
        (true, true) => Clock::Met { used },
        (_, false) => Clock::Missed { used },
        (false, true) => Clock::Running { left: target - used },
    };
    let first = match first_response.filter(|a| *a <= now).or(stopped) {
        Some(at) => stopped_or(business(created, at), targets.first_response, true),
        None => stopped_or(business(created, now), targets.first_response, false),
    };
    let end = stopped.unwrap_or(now);
    let used = business(created, end) - waited - waiting_since.map_or(0, |since| business(since, end));
    let resolution = match (waiting_since, stopped_or(used, targets.resolution, stopped.is_some())) {
        (Some(_), Clock::Running { left }) => Clock::Paused { left },
        (_, clock) => clock,
    };
    (first, resolution)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_write_them() {
        for (text, seconds) in [
            ("30m", 1800),
            ("2h", 7200),
            ("1h30m", 5400),
            ("1.5h", 5400),
            ("3d", 3 * 86_400),
            ("8", 8 * 3600),
            ("0.25", 900),
            ("2H", 7200),
        ] {
            assert_eq!(parse_span(text), Some(seconds), "{text}");
            assert_eq!(parse_span(&show_span(seconds)), Some(seconds), "{text} shown back");
        }
        for text in [
            "", "0", "30s", "m", "h2", "30m1h", "1h1h", "-2h", "soon", "10001h", "NaN", "inf",
        ] {
            assert_eq!(parse_span(text), None, "{text}");
        }
    }

    #[test]
    fn a_clients_targets_win_over_the_teams_and_the_configurations_over_chat() {
        let t = |f, r| Targets {
            first_response: f,
            resolution: r,
        };
        let mut book = SlaBook::new(Priority::ALL.iter().map(|p| (*p, t(3600, 4 * 3600))).collect());
        book.set(7, Priority::Urgent, t(1800, 7200), Origin::Chat);
        assert_eq!(book.of(Some(7), Priority::Urgent), (t(1800, 7200), Origin::Chat));
        assert_eq!(book.of(Some(7), Priority::High), (t(3600, 4 * 3600), Origin::Team));
        assert_eq!(book.of(None, Priority::Urgent), (t(3600, 4 * 3600), Origin::Team));
        book.set(7, Priority::Urgent, t(600, 3600), Origin::Config);
        book.set(7, Priority::Urgent, t(1200, 3600), Origin::Chat);
        assert_eq!(book.of(Some(7), Priority::Urgent), (t(600, 3600), Origin::Config));
        assert_eq!(book.shortest(), 600);
    }

    #[test]
    fn clocks_count_business_time_and_stand_still_while_waiting() {
        let cal = Calendar::new(chrono_tz::UTC, super::super::WorkingHours::default());
        let h = 3600;
        // Mon 7 Dec 2026, 09:00Z; hours 09:00–17:00.
        let mon9 = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a time")
            .and_utc()
            .timestamp();
        let tue9 = mon9 + 24 * h;
        let targets = Targets {
            first_response: 4 * h,
            resolution: 8 * h,
        };
        let open = [(mon9, Status::Open)];
        assert_eq!(
            clocks(&cal, targets, mon9, None, &open, mon9 + 2 * h),
            (Clock::Running { left: 2 * h }, Clock::Running { left: 6 * h })
        );
        // Nobody answered by Tuesday 10:00: nine business hours, both missed.
        assert_eq!(
            clocks(&cal, targets, mon9, None, &open, tue9 + h),
            (Clock::Missed { used: 9 * h }, Clock::Missed { used: 9 * h })
        );
        // Answered at 10:00; waiting on the client from 12:00 to Tuesday 10:00 (six business
        // hours); done Tuesday 12:00: eleven business hours less six.
        let changes = [
            (mon9, Status::Open),
            (mon9 + 3 * h, Status::Waiting),
            (tue9 + h, Status::InProgress),
            (tue9 + 3 * h, Status::Done),
        ];
        let (first, resolution) = clocks(&cal, targets, mon9, Some(mon9 + h), &changes, tue9 + 8 * h);
        assert_eq!(first, Clock::Met { used: h });
        assert_eq!(resolution, Clock::Met { used: 5 * h });
        // Still waiting on Tuesday 09:30: three business hours used, the clock stands still.
        let (_, resolution) = clocks(&cal, targets, mon9, Some(mon9 + h), &changes, tue9 + h / 2);
        assert_eq!(resolution, Clock::Paused { left: 5 * h });
    }
}
