//! SLA targets: the team's per priority, a client's where it has its own, and the spans of
//! business time they are written in (`30m`, `2h`, `1h30m`, `1.5h`, `3d`).

use std::collections::HashMap;

use super::Priority;

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
}
