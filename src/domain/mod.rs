//! keel's domain types: pure values that parse from text once and cannot hold invalid states.

pub mod calendar;
pub mod cron;
pub mod due;
pub mod event;
pub mod hours;
pub mod projection;
pub mod sla;
pub mod slots;

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

pub use hours::WorkingHours;

/// A task's short id, shown as `#12`. Per deployment, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub i64);

impl TaskId {
    /// Reads `#12` or `12`.
    pub fn parse(text: &str) -> Result<TaskId, DomainError> {
        let digits = text.trim().strip_prefix('#').unwrap_or(text.trim());
        match digits.parse::<i64>() {
            Ok(n) if n > 0 && !digits.starts_with('+') => Ok(TaskId(n)),
            _ => Err(DomainError::TaskId(truncate(text.trim(), 40))),
        }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// User-facing errors of the value parsers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("\"{0}\" is not a task id (try \"#12\")")]
    TaskId(String),
    #[error("\"{0}\" is not a priority (try low, normal, high or urgent)")]
    Priority(String),
    #[error("\"{0}\" is not a status (try open, in-progress, waiting, done or cancelled)")]
    Status(String),
    #[error("\"{0}\" is not a client key (use 2 to 32 lowercase letters, digits or dashes, like \"acme\")")]
    ClientKey(String),
    #[error("\"{0}\" is not a role (try member, lead or admin)")]
    Role(String),
    #[error("\"{0}\" is not a time zone I know (try \"Europe/Berlin\" or \"America/New_York\")")]
    TimeZone(String),
    #[error("\"{0}\" are not working hours (try \"09:00-17:00\")")]
    Hours(String),
}

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $err:ident, { $($variant:ident => $word:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used in commands, storage and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(text: &str) -> Result<Self, DomainError> {
                match text.trim().to_lowercase().as_str() {
                    $($word $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(DomainError::$err(truncate(text.trim(), 40))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

word_enum!(
    /// How urgent a task is; orders SLA targets.
    Priority, Priority, {
        Low => "low" | "p4",
        Normal => "normal" | "p3" | "medium",
        High => "high" | "p2",
        Urgent => "urgent" | "p1" | "asap" | "critical",
    }
);

word_enum!(
    /// Where a task stands.
    Status, Status, {
        Open => "open",
        InProgress => "in-progress" | "in_progress" | "inprogress" | "started",
        Waiting => "waiting",
        Done => "done",
        Cancelled => "cancelled" | "canceled",
    }
);

word_enum!(
    /// How a task came to be.
    Source, Status, {
        Mention => "mention",
        Slash => "slash",
        Reaction => "reaction",
        Shortcut => "shortcut",
        Auto => "auto",
        Email => "email",
        Playbook => "playbook",
        Cli => "cli",
    }
);

word_enum!(
    /// What a team member may do beyond task work.
    Role, Role, {
        Member => "member",
        Lead => "lead",
        Admin => "admin",
    }
);

impl Status {
    /// Open, in progress or waiting: work that is not finished.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::InProgress | Status::Waiting)
    }
}

impl Role {
    /// Leads and admins set up clients, standups and playbooks.
    pub fn is_lead(self) -> bool {
        matches!(self, Role::Lead | Role::Admin)
    }
}

/// A client's short key (`acme`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey(String);

impl ClientKey {
    /// 2–32 lowercase ASCII letters, digits or dashes, starting with a letter.
    pub fn parse(text: &str) -> Result<ClientKey, DomainError> {
        let key = text.trim().to_lowercase();
        let ok = (2..=32).contains(&key.len())
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(ClientKey(key))
        } else {
            Err(DomainError::ClientKey(truncate(text.trim(), 40)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads an IANA time zone name (`Europe/Berlin`).
pub fn parse_tz(text: &str) -> Result<chrono_tz::Tz, DomainError> {
    text.trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| DomainError::TimeZone(truncate(text.trim(), 40)))
}

/// Characters that change how a line reads without being seen: bidirectional overrides and
/// isolates (U+202E turns the rest of a line around), zero-width spaces, the BOM, soft hyphens.
/// Zero-width (non-)joiners stay: scripts and emoji sequences need them.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Control characters (NUL, CR, ESC …) and invisible ones: never part of a name, a key or a
/// label, and never echoed back.
pub fn is_unprintable(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// The longest name keel keeps for a person (Slack allows 80 characters, Matrix more).
pub const NAME_CHARS: usize = 100;

/// A person's name as a platform gave it, made safe to store and to show on one line: control
/// characters become spaces, invisible ones go, whitespace is collapsed, and it is cut to
/// [`NAME_CHARS`]. PostgreSQL refuses NUL in text, so a name must never carry one.
pub fn clean_name(name: &str) -> String {
    let visible: String = name
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = collapsed.chars().take(NAME_CHARS).collect();
    if cut.is_empty() {
        "someone".to_string()
    } else {
        cut
    }
}

/// Shortens user text for echoing it back on one line: control characters become spaces and
/// invisible ones are dropped.
pub fn truncate(text: &str, max_chars: usize) -> String {
    let mut shown = text
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| if c.is_control() { ' ' } else { c });
    let cut: String = shown.by_ref().take(max_chars).collect();
    if shown.next().is_some() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_parse_with_or_without_hash() {
        assert_eq!(TaskId::parse("#12"), Ok(TaskId(12)));
        assert_eq!(TaskId::parse("7"), Ok(TaskId(7)));
        assert!(TaskId::parse("#0").is_err());
        assert!(TaskId::parse("#-3").is_err());
        assert!(TaskId::parse("#+3").is_err());
        assert!(TaskId::parse("#abc").is_err());
        assert!(TaskId::parse("#99999999999999999999").is_err());
        assert_eq!(TaskId(12).to_string(), "#12");
    }

    #[test]
    fn priorities_and_statuses_read_their_words_and_aliases() {
        assert_eq!("P1".parse::<Priority>(), Ok(Priority::Urgent));
        assert_eq!("asap".parse::<Priority>(), Ok(Priority::Urgent));
        assert_eq!("high".parse::<Priority>(), Ok(Priority::High));
        assert!("soonish".parse::<Priority>().is_err());
        assert_eq!("in-progress".parse::<Status>(), Ok(Status::InProgress));
        assert_eq!(Status::InProgress.to_string(), "in-progress");
        assert!(Priority::Urgent > Priority::High);
    }

    #[test]
    fn client_keys_are_short_lowercase_slugs() {
        assert_eq!(ClientKey::parse("Acme").unwrap().as_str(), "acme");
        assert!(ClientKey::parse("acme-eu2").is_ok());
        assert!(ClientKey::parse("a").is_err());
        assert!(ClientKey::parse("1acme").is_err());
        assert!(ClientKey::parse("ac me").is_err());
        assert!(ClientKey::parse("acme'; drop table tasks;--").is_err());
    }

    #[test]
    fn names_and_echoes_are_one_clean_line() {
        assert_eq!(clean_name("bo\u{0}b\r\n  \u{202e}smith\u{200b}"), "bo b smith");
        assert_eq!(clean_name("\u{0}\u{202e}"), "someone");
        assert_eq!(clean_name(&"é".repeat(500)).chars().count(), NAME_CHARS);
        assert_eq!(clean_name("Lea 👩\u{200d}💻"), "Lea 👩\u{200d}💻", "joiners stay");
        assert_eq!(truncate("ab\u{202e}c\u{1b}[31m", 40), "abc [31m");
        assert!(is_unprintable('\u{0}') && is_unprintable('\u{202e}') && !is_unprintable('é'));
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(parse_tz("Europe/Berlin").is_ok());
        assert_eq!(
            parse_tz("Mars/Olympus").unwrap_err().to_string(),
            "\"Mars/Olympus\" is not a time zone I know (try \"Europe/Berlin\" or \"America/New_York\")"
        );
    }
}
