//! The command grammar: text addressed to keel → one [`Command`].
//!
//! [`SPECS`] is the single table of commands: the parser dispatches on it and `help` is printed
//! from it, so the two cannot drift apart.
//!
//! `spec` holds the table, `tokenizer` splits a line into words, `args` reads each command's
//! arguments and `help` prints the table.

mod args;
mod help;
mod spec;
mod tokenizer;

use chrono_tz::Tz;

use crate::domain::sla::Targets;
use crate::domain::{ClientKey, Priority, Role, Status, TaskId, WorkingHours};

pub use args::{channel_ref, person};
pub use help::help;
pub use spec::{specs_named, Allowed, Spec, SPECS};
pub use tokenizer::Args;

/// The longest note, reason or comment (`note`, `done`, `cancel`, `escalate`): a few pages,
/// more than anyone types into a chat. A longer one is refused rather than cut, so nothing that
/// was said is lost without the speaker knowing.
pub const NOTE_CHARS: usize = 10_000;

/// The longest holiday name.
pub const HOLIDAY_NAME_CHARS: usize = 100;

/// Which tasks `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    Mine,
    Open,
    Overdue,
    Waiting,
    All,
}

/// A client's lifecycle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Signed,
    Live,
    Churned,
}

/// What `client sla` does besides showing the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaChange {
    /// `client sla <key> <priority> <first-response> <resolution>`.
    Set { priority: Priority, targets: Targets },
    /// `client sla <key> reset`: back to the team's targets.
    Reset,
}

/// Everything keel can be asked to do, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help {
        topic: Option<String>,
    },
    Track {
        text: String,
    },
    List {
        scope: ListScope,
        client: Option<ClientKey>,
        owner: Option<String>,
    },
    Show {
        task: TaskId,
    },
    Assign {
        task: TaskId,
        who: String,
    },
    Take {
        task: TaskId,
    },
    SetStatus {
        task: TaskId,
        status: Status,
        note: Option<String>,
    },
    Due {
        task: TaskId,
        date: String,
    },
    Priority {
        task: TaskId,
        level: Priority,
    },
    Note {
        task: TaskId,
        text: String,
    },
    /// `reply #N <text>`: an answer by mail to the client who mailed the request.
    Reply {
        task: TaskId,
        text: String,
    },
    Snooze {
        task: TaskId,
        date: String,
    },
    Escalate {
        task: TaskId,
        why: Option<String>,
    },
    ClientAdd {
        key: ClientKey,
        name: String,
        channels: Vec<String>,
        owner: Option<String>,
    },
    ClientList,
    ClientShow {
        key: ClientKey,
    },
    ClientOwner {
        key: ClientKey,
        owner: String,
    },
    /// `client channel <key> add|remove #channel`.
    ClientChannel {
        key: ClientKey,
        add: bool,
        channel: String,
    },
    /// `client email <key> [add|remove] <address or domain>`.
    ClientEmail {
        key: ClientKey,
        add: bool,
        address: String,
    },
    ClientRename {
        key: ClientKey,
        name: String,
    },
    /// `client sla <key> [reset | <priority> <first-response> <resolution>]`.
    ClientSla {
        key: ClientKey,
        change: Option<SlaChange>,
    },
    ClientStage {
        key: ClientKey,
        stage: Lifecycle,
        date: Option<String>,
    },
    Away {
        until: String,
    },
    Back,
    Tz {
        tz: Tz,
    },
    Hours {
        hours: WorkingHours,
    },
    Role {
        who: String,
        role: Role,
    },
    StandupSet {
        cron: String,
        questions: Vec<String>,
        channel: Option<String>,
    },
    StandupNow,
    StandupSkip {
        date: String,
    },
    StandupOff,
    HolidayAdd {
        date: String,
        name: String,
    },
    HolidayList,
    HolidayRemove {
        date: String,
    },
    Meet {
        people: Vec<String>,
        minutes: i64,
        when: MeetWhen,
    },
    Kpi {
        range: KpiRange,
    },
    /// `kpi weekly here`: the weekly summary goes to this channel.
    KpiWeeklyHere,
    /// `dashboard`: a sign-in link to the web dashboard, to the speaker alone.
    Dashboard,
    PlaybookRun {
        name: String,
        /// A client key, or `@member` for a playbook about a person.
        target: String,
    },
    PlaybookList,
    SurveyNps {
        client: String,
    },
}

/// The period `kpi` reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiRange {
    /// The last 7 days, today included.
    Week,
    /// The last 30 days, today included.
    Month,
    /// Whole days, both included.
    Days(chrono::NaiveDate, chrono::NaiveDate),
    /// An ISO week, `2026-W47`.
    IsoWeek(String),
}

/// Where `meet` looks for slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetWhen {
    /// The next 14 days.
    Soon,
    ThisWeek,
    NextWeek,
}

/// Why text addressed to keel is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The first word names no command: the text is a request to track, or a typo.
    NotACommand,
    /// A known command with wrong arguments: a one-line explanation with the usage.
    Usage(String),
}

/// Parses text addressed to keel (the address already removed).
pub fn parse(text: &str) -> Result<(Command, &'static Spec), ParseError> {
    let mut args = Args::new(text);
    let spec = find_spec(&args).ok_or(ParseError::NotACommand)?;
    for _ in 0..spec.name.split(' ').count() {
        args.next();
    }
    let command = (spec.parse)(&mut args).map_err(|why| ParseError::Usage(format!("{why} (usage: {})", spec.usage)))?;
    Ok((command, spec))
}

/// The spec a text starts with, if any (`client add` before `client`).
fn find_spec(args: &Args) -> Option<&'static Spec> {
    let first = args.peek(0)?.to_lowercase();
    let second = args.peek(1).map(|w| w.to_lowercase());
    SPECS.iter().find(|spec| match spec.name.split_once(' ') {
        Some((a, b)) => first == a && second.as_deref() == Some(b),
        None => first == spec.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Command {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}")).0
    }

    fn usage(text: &str) -> String {
        match parse(text).map(|(c, _)| c) {
            Err(ParseError::Usage(u)) => u,
            other => panic!("{text}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn reads_every_command() {
        assert_eq!(ok("take #3"), Command::Take { task: TaskId(3) });
        assert_eq!(
            ok("assign #3 @bob"),
            Command::Assign {
                task: TaskId(3),
                who: "bob".into()
            }
        );
        assert_eq!(
            ok("ASSIGN 3 <@U42>"),
            Command::Assign {
                task: TaskId(3),
                who: "U42".into()
            }
        );
        assert_eq!(
            ok("done #4 shipped in 1.2"),
            Command::SetStatus {
                task: TaskId(4),
                status: Status::Done,
                note: Some("shipped in 1.2".into())
            }
        );
        assert_eq!(
            ok("due #4 next friday"),
            Command::Due {
                task: TaskId(4),
                date: "next friday".into()
            }
        );
        assert_eq!(
            ok("priority #4 p1"),
            Command::Priority {
                task: TaskId(4),
                level: Priority::Urgent
            }
        );
        assert_eq!(
            ok("list overdue for acme @lea"),
            Command::List {
                scope: ListScope::Overdue,
                client: Some(ClientKey::parse("acme").unwrap()),
                owner: Some("lea".into())
            }
        );
        assert_eq!(
            ok("list"),
            Command::List {
                scope: ListScope::Open,
                client: None,
                owner: None
            }
        );
        assert_eq!(
            ok("client add acme \"Acme Corp\" #acme #acme-ops owner @lea"),
            Command::ClientAdd {
                key: ClientKey::parse("acme").unwrap(),
                name: "Acme Corp".into(),
                channels: vec!["acme".into(), "acme-ops".into()],
                owner: Some("lea".into())
            }
        );
        assert_eq!(
            ok("client add acme “Acme Corp”").clone(),
            Command::ClientAdd {
                key: ClientKey::parse("acme").unwrap(),
                name: "Acme Corp".into(),
                channels: vec![],
                owner: None
            }
        );
        assert_eq!(ok("client list"), Command::ClientList);
        assert_eq!(ok("away until monday"), Command::Away { until: "monday".into() });
        assert_eq!(
            ok("hours 8-16").clone(),
            Command::Hours {
                hours: WorkingHours::parse("08:00-16:00").unwrap()
            }
        );
        assert_eq!(
            ok("track the export is broken"),
            Command::Track {
                text: "the export is broken".into()
            }
        );
    }

    #[test]
    fn reads_client_sla_targets() {
        let acme = ClientKey::parse("acme").unwrap();
        assert_eq!(
            ok("client sla acme urgent 30m 2h"),
            Command::ClientSla {
                key: acme.clone(),
                change: Some(SlaChange::Set {
                    priority: Priority::Urgent,
                    targets: Targets {
                        first_response: 1800,
                        resolution: 7200
                    }
                })
            }
        );
        assert_eq!(
            ok("client sla acme"),
            Command::ClientSla {
                key: acme.clone(),
                change: None
            }
        );
        assert_eq!(
            ok("client sla acme RESET"),
            Command::ClientSla {
                key: acme,
                change: Some(SlaChange::Reset)
            }
        );
        for bad in [
            "client sla acme soonish 1h 2h",
            "client sla acme urgent 1h",
            "client sla acme urgent 30s 2h",
            "client sla acme urgent 1h 2h 3h",
        ] {
            assert!(matches!(parse(bad), Err(ParseError::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn unknown_words_are_not_commands() {
        assert_eq!(parse("the export is broken").err(), Some(ParseError::NotACommand));
        assert_eq!(parse("").err(), Some(ParseError::NotACommand));
        assert_eq!(parse("client").err(), Some(ParseError::NotACommand));
    }

    #[test]
    fn bad_arguments_explain_themselves_in_one_line() {
        assert_eq!(usage("assign #3"), "who? name them like @lea (usage: assign #N @who)");
        assert_eq!(
            usage("take three"),
            "\"three\" is not a task id (try \"#12\") (usage: take #N)"
        );
        assert!(usage("priority #2 soonish").starts_with("\"soonish\" is not a priority"));
        assert!(usage("client add ACME! \"x\"").contains("is not a client key"));
        assert!(usage("tz Mars/Olympus").contains("is not a time zone"));
        assert!(usage("show #2 please").contains("I did not expect \"please\""));
        for text in ["assign", "due #3", "note #1", "client show", "help frobnicate"] {
            assert!(!usage(text).contains('\n'));
        }
    }
}
