//! The command grammar: text addressed to keel → one [`Command`].
//!
//! [`SPECS`] is the single table of commands: the parser dispatches on it and `help` is printed
//! from it, so the two cannot drift apart.

use chrono_tz::Tz;

use crate::domain::{is_unprintable, parse_tz, ClientKey, DomainError, Priority, Role, Status, TaskId, WorkingHours};

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

fn parse_kpi(a: &mut Args) -> Result<Command, String> {
    let Some(text) = a.rest() else {
        return Ok(Command::Kpi { range: KpiRange::Week });
    };
    let text = text.trim().to_lowercase();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let range = match text.as_str() {
        "week" => KpiRange::Week,
        "month" => KpiRange::Month,
        t if t.contains("..") => {
            let (from, to) = t.split_once("..").unwrap_or_default();
            match (day(from), day(to)) {
                (Some(from), Some(to)) if from <= to => KpiRange::Days(from, to),
                (Some(_), Some(_)) => return Err("the period ends before it starts".into()),
                _ => {
                    return Err(format!(
                        "\"{}\" is not a period of dates (try 2026-11-01..2026-11-30)",
                        crate::domain::truncate(t, 40)
                    ))
                }
            }
        }
        t if t.len() <= 9 && t.contains("-w") => KpiRange::IsoWeek(t.to_uppercase()),
        t => {
            return Err(format!(
                "\"{}\" is not a period (try week, month, 2026-11-01..2026-11-30 or 2026-W47)",
                crate::domain::truncate(t, 40)
            ))
        }
    };
    Ok(Command::Kpi { range })
}

/// Where `meet` looks for slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetWhen {
    /// The next 14 days.
    Soon,
    ThisWeek,
    NextWeek,
}

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Team members and client users.
    Everyone,
    /// Team members only.
    Team,
    /// Leads and admins.
    Leads,
    /// Admins.
    Admins,
}

/// One command's definition: its name, usage line, help text, who may run it, and its parser.
pub struct Spec {
    pub name: &'static str,
    pub usage: &'static str,
    pub about: &'static str,
    /// What running it does, for refusals: "only team members can {does}".
    pub does: &'static str,
    pub allowed: Allowed,
    parse: fn(&mut Args) -> Result<Command, String>,
}

/// Why text addressed to keel is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The first word names no command: the text is a request to track, or a typo.
    NotACommand,
    /// A known command with wrong arguments: a one-line explanation with the usage.
    Usage(String),
}

/// The command table. Order is the order of `help`.
pub static SPECS: &[Spec] = &[
    Spec {
        name: "help",
        usage: "help [command]",
        about: "list commands, or show how to use one",
        does: "get help",
        allowed: Allowed::Everyone,
        parse: parse_help,
    },
    Spec {
        name: "track",
        usage: "track <text>",
        about: "record a request as a new task (dates, priority, @owner and \"for <client>\" are understood)",
        does: "open requests",
        allowed: Allowed::Everyone,
        parse: parse_track,
    },
    Spec {
        name: "list",
        usage: "list [mine|open|overdue|waiting|all] [for <client>] [@owner]",
        about: "list tasks, oldest first",
        does: "list tasks",
        allowed: Allowed::Everyone,
        parse: parse_list,
    },
    Spec {
        name: "show",
        usage: "show #N",
        about: "a task's card and timeline",
        does: "see task details",
        allowed: Allowed::Team,
        parse: parse_show,
    },
    Spec {
        name: "assign",
        usage: "assign #N @who",
        about: "make someone the task's owner",
        does: "assign tasks",
        allowed: Allowed::Team,
        parse: parse_assign,
    },
    Spec {
        name: "take",
        usage: "take #N",
        about: "become the task's owner",
        does: "take tasks",
        allowed: Allowed::Team,
        parse: parse_take,
    },
    Spec {
        name: "start",
        usage: "start #N",
        about: "mark the task in progress",
        does: "change task status",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::InProgress, false),
    },
    Spec {
        name: "wait",
        usage: "wait #N",
        about: "mark the task waiting on the client (pauses the resolution clock)",
        does: "change task status",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Waiting, false),
    },
    Spec {
        name: "done",
        usage: "done #N [note]",
        about: "mark the task done",
        does: "close tasks",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Done, true),
    },
    Spec {
        name: "cancel",
        usage: "cancel #N [why]",
        about: "cancel the task",
        does: "cancel tasks",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Cancelled, true),
    },
    Spec {
        name: "reopen",
        usage: "reopen #N",
        about: "open a done or cancelled task again",
        does: "reopen tasks",
        allowed: Allowed::Team,
        parse: |a| status(a, Status::Open, false),
    },
    Spec {
        name: "due",
        usage: "due #N <date>",
        about: "set the due date (\"friday\", \"2026-12-01\", \"in 3 days\", \"tomorrow 3pm\")",
        does: "change due dates",
        allowed: Allowed::Team,
        parse: parse_due,
    },
    Spec {
        name: "priority",
        usage: "priority #N <low|normal|high|urgent>",
        about: "set the priority",
        does: "change priorities",
        allowed: Allowed::Team,
        parse: parse_priority,
    },
    Spec {
        name: "note",
        usage: "note #N <text>",
        about: "add a note to the task's timeline",
        does: "add notes",
        allowed: Allowed::Team,
        parse: parse_note,
    },
    Spec {
        name: "snooze",
        usage: "snooze #N <date>",
        about: "no nudges about the task until the date",
        does: "snooze tasks",
        allowed: Allowed::Team,
        parse: parse_snooze,
    },
    Spec {
        name: "escalate",
        usage: "escalate #N [why]",
        about: "notify the client's owner and the leads",
        does: "escalate tasks",
        allowed: Allowed::Team,
        parse: parse_escalate,
    },
    Spec {
        name: "client add",
        usage: "client add <key> \"<name>\" [#channel…] [owner @who]",
        about: "add a client and its shared channels",
        does: "add clients",
        allowed: Allowed::Leads,
        parse: parse_client_add,
    },
    Spec {
        name: "client list",
        usage: "client list",
        about: "list clients",
        does: "list clients",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::ClientList),
    },
    Spec {
        name: "client show",
        usage: "client show <key>",
        about: "a client's card",
        does: "see client details",
        allowed: Allowed::Team,
        parse: parse_client_show,
    },
    Spec {
        name: "client signed",
        usage: "client signed <key> [date]",
        about: "record the contract signature (default: today)",
        does: "record client signatures",
        allowed: Allowed::Leads,
        parse: |a| client_stage(a, Lifecycle::Signed),
    },
    Spec {
        name: "client live",
        usage: "client live <key> [date]",
        about: "record the go-live (default: today)",
        does: "record go-lives",
        allowed: Allowed::Leads,
        parse: |a| client_stage(a, Lifecycle::Live),
    },
    Spec {
        name: "client churned",
        usage: "client churned <key> [date]",
        about: "record that the client left (default: today)",
        does: "record churn",
        allowed: Allowed::Leads,
        parse: |a| client_stage(a, Lifecycle::Churned),
    },
    Spec {
        name: "away",
        usage: "away until <date>",
        about: "you are away until the date (no nudges, no standups)",
        does: "set availability",
        allowed: Allowed::Team,
        parse: parse_away,
    },
    Spec {
        name: "back",
        usage: "back",
        about: "you are back",
        does: "set availability",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::Back),
    },
    Spec {
        name: "tz",
        usage: "tz <Area/City>",
        about: "set your time zone",
        does: "set a time zone",
        allowed: Allowed::Team,
        parse: parse_tz_cmd,
    },
    Spec {
        name: "hours",
        usage: "hours 09:00-17:00",
        about: "set your working hours",
        does: "set working hours",
        allowed: Allowed::Team,
        parse: parse_hours,
    },
    Spec {
        name: "role",
        usage: "role @who <member|lead|admin>",
        about: "set a team member's role",
        does: "set roles",
        allowed: Allowed::Admins,
        parse: parse_role,
    },
    Spec {
        name: "standup set",
        usage: "standup set \"<cron>\" [questions \"q1\" \"q2\" …] [in #channel]",
        about: "run the team's standup on a cron schedule, read in each member's own time zone",
        does: "set up standups",
        allowed: Allowed::Leads,
        parse: parse_standup_set,
    },
    Spec {
        name: "standup now",
        usage: "standup now",
        about: "ask everyone the standup questions now",
        does: "start standups",
        allowed: Allowed::Leads,
        parse: |a| a.finish(Command::StandupNow),
    },
    Spec {
        name: "standup skip",
        usage: "standup skip <date>",
        about: "no standup that day",
        does: "skip standups",
        allowed: Allowed::Leads,
        parse: |a| {
            let date = a.rest().ok_or_else(|| "which day?".to_string())?;
            Ok(Command::StandupSkip { date })
        },
    },
    Spec {
        name: "standup off",
        usage: "standup off",
        about: "stop the standup",
        does: "stop standups",
        allowed: Allowed::Leads,
        parse: |a| a.finish(Command::StandupOff),
    },
    Spec {
        name: "meet",
        usage: "meet @a @b [@c …] 30m [this week|next week]",
        about: "the three earliest slots inside everyone's working hours, in each person's time zone",
        does: "find meeting slots",
        allowed: Allowed::Team,
        parse: parse_meet,
    },
    Spec {
        name: "playbook run",
        usage: "playbook run <name> for <client|@member>",
        about: "create a playbook's tasks with their due dates and owners (onboarding, coordinator, …)",
        does: "run playbooks",
        allowed: Allowed::Leads,
        parse: |a| {
            let name = a.next().ok_or_else(|| "which playbook? (playbook list)".to_string())?;
            match a.next() {
                Some(w) if w.eq_ignore_ascii_case("for") => {}
                _ => return Err("for which client or member?".into()),
            }
            let target = a.next().ok_or_else(|| "for which client or member?".to_string())?;
            let target = match person(&target) {
                Some(member) => format!("@{member}"),
                None => ClientKey::parse(&target).map_err(|e| e.to_string())?.to_string(),
            };
            a.finish(Command::PlaybookRun {
                name: name.to_lowercase(),
                target,
            })
        },
    },
    Spec {
        name: "playbook list",
        usage: "playbook list",
        about: "the playbooks keel knows",
        does: "list playbooks",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::PlaybookList),
    },
    Spec {
        name: "survey nps",
        usage: "survey nps <client>",
        about: "ask the client's contacts the 0–10 question now (one open question per contact)",
        does: "send surveys",
        allowed: Allowed::Leads,
        parse: |a| {
            let client = a.client()?.to_string();
            a.finish(Command::SurveyNps { client })
        },
    },
    Spec {
        name: "kpi",
        usage: "kpi [week|month|<from>..<to>|2026-W47]",
        about: "the KPI summary: what needs attention first, then the figures against the period before",
        does: "see KPIs",
        allowed: Allowed::Team,
        parse: parse_kpi,
    },
    Spec {
        name: "holiday add",
        usage: "holiday add <YYYY-MM-DD> [name]",
        about: "a team holiday: no standups, nudges or SLA clock that day",
        does: "add holidays",
        allowed: Allowed::Leads,
        parse: |a| {
            let date = a.next().ok_or_else(|| "which day?".to_string())?;
            let name = a.rest().unwrap_or_default();
            if name.chars().count() > HOLIDAY_NAME_CHARS || name.chars().any(is_unprintable) {
                return Err(format!(
                    "a holiday's name can be at most {HOLIDAY_NAME_CHARS} printable characters"
                ));
            }
            Ok(Command::HolidayAdd { date, name })
        },
    },
    Spec {
        name: "holiday list",
        usage: "holiday list",
        about: "the team's holidays",
        does: "list holidays",
        allowed: Allowed::Team,
        parse: |a| a.finish(Command::HolidayList),
    },
    Spec {
        name: "holiday remove",
        usage: "holiday remove <YYYY-MM-DD>",
        about: "remove a team holiday",
        does: "remove holidays",
        allowed: Allowed::Leads,
        parse: |a| {
            let date = a.next().ok_or_else(|| "which day?".to_string())?;
            a.finish(Command::HolidayRemove { date })
        },
    },
];

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

/// Looks up a command by name for `help <command>` (`client` lists every `client …`).
pub fn specs_named(topic: &str) -> Vec<&'static Spec> {
    let topic = topic.trim().to_lowercase();
    SPECS
        .iter()
        .filter(|s| s.name == topic || s.name.split(' ').next() == Some(topic.as_str()))
        .collect()
}

/// Tokens of a command line, with quotes grouping words, and the raw rest for free text.
pub struct Args<'a> {
    text: &'a str,
    tokens: Vec<(usize, usize, String)>,
    pos: usize,
}

impl<'a> Args<'a> {
    fn new(text: &'a str) -> Args<'a> {
        Args {
            text,
            tokens: tokenize(text),
            pos: 0,
        }
    }

    fn peek(&self, ahead: usize) -> Option<&str> {
        self.tokens.get(self.pos + ahead).map(|(_, _, t)| t.as_str())
    }

    fn next(&mut self) -> Option<String> {
        let token = self.tokens.get(self.pos).map(|(_, _, t)| t.clone());
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    /// The unparsed rest of the line, as typed.
    fn rest(&mut self) -> Option<String> {
        let (start, _, _) = self.tokens.get(self.pos)?;
        let rest = self.text[*start..].trim().to_string();
        self.pos = self.tokens.len();
        Some(rest).filter(|r| !r.is_empty())
    }

    fn task(&mut self) -> Result<TaskId, String> {
        let token = self.next().ok_or_else(|| "which task? name it like #12".to_string())?;
        TaskId::parse(&token).map_err(|e| e.to_string())
    }

    fn who(&mut self) -> Result<String, String> {
        let token = self.next().ok_or_else(|| "who? name them like @lea".to_string())?;
        person(&token).ok_or_else(|| {
            format!(
                "\"{}\" is not a person (name them like @lea)",
                crate::domain::truncate(&token, 40)
            )
        })
    }

    fn client(&mut self) -> Result<ClientKey, String> {
        let token = self
            .next()
            .ok_or_else(|| "which client? name it by its key, like acme".to_string())?;
        ClientKey::parse(&token).map_err(|e| e.to_string())
    }

    fn finish(&mut self, command: Command) -> Result<Command, String> {
        match self.rest() {
            None => Ok(command),
            Some(extra) => Err(format!("I did not expect \"{}\"", crate::domain::truncate(&extra, 40))),
        }
    }
}

/// Splits on whitespace; "double quotes" (straight or curly) group words. Keeps byte spans.
fn tokenize(text: &str) -> Vec<(usize, usize, String)> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if matches!(c, '"' | '“' | '”') {
            chars.next();
            let mut word = String::new();
            let mut end = text.len();
            for (i, c) in chars.by_ref() {
                if matches!(c, '"' | '“' | '”') {
                    end = i + c.len_utf8();
                    break;
                }
                word.push(c);
            }
            tokens.push((start, end, word));
            continue;
        }
        let mut end = text.len();
        let mut word = String::new();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            word.push(c);
            chars.next();
        }
        tokens.push((start, end, word));
    }
    tokens
}

/// A person reference: `@lea`, `<@U123>`, or a Matrix id `@lea:example.org`. Returns the name
/// without the sigil.
pub fn person(token: &str) -> Option<String> {
    let token = token.trim().trim_end_matches([',', '.', ':', ';', '!', '?']);
    let inner = token
        .strip_prefix("<@")
        .and_then(|t| t.strip_suffix('>'))
        .map(|t| t.split('|').next().unwrap_or(t))
        .or_else(|| token.strip_prefix('@'))?;
    let valid =
        !inner.is_empty() && inner.len() <= 255 && inner.chars().all(|c| !c.is_whitespace() && !is_unprintable(c));
    valid.then(|| inner.to_string())
}

fn parse_help(a: &mut Args) -> Result<Command, String> {
    let topic = a.rest();
    if let Some(t) = &topic {
        if specs_named(t).is_empty() {
            return Err(format!("there is no command \"{}\"", crate::domain::truncate(t, 40)));
        }
    }
    Ok(Command::Help { topic })
}

fn parse_track(a: &mut Args) -> Result<Command, String> {
    let text = a.rest().ok_or_else(|| "what should I track?".to_string())?;
    Ok(Command::Track { text })
}

fn parse_list(a: &mut Args) -> Result<Command, String> {
    let mut scope = None;
    let mut client = None;
    let mut owner = None;
    while let Some(word) = a.next() {
        let lower = word.to_lowercase();
        let named_scope = match lower.as_str() {
            "mine" => Some(ListScope::Mine),
            "open" => Some(ListScope::Open),
            "overdue" => Some(ListScope::Overdue),
            "waiting" => Some(ListScope::Waiting),
            "all" => Some(ListScope::All),
            _ => None,
        };
        if let Some(s) = named_scope {
            if scope.replace(s).is_some() {
                return Err("name one of mine, open, overdue, waiting or all".into());
            }
        } else if lower == "for" {
            client = Some(a.client()?);
        } else if let Some(p) = person(&word) {
            owner = Some(p);
        } else {
            return Err(format!(
                "I did not understand \"{}\"",
                crate::domain::truncate(&word, 40)
            ));
        }
    }
    Ok(Command::List {
        scope: scope.unwrap_or(ListScope::Open),
        client,
        owner,
    })
}

fn parse_show(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    a.finish(Command::Show { task })
}

fn parse_assign(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let who = a.who()?;
    a.finish(Command::Assign { task, who })
}

fn parse_take(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    a.finish(Command::Take { task })
}

fn status(a: &mut Args, status: Status, with_note: bool) -> Result<Command, String> {
    let task = a.task()?;
    let note = if with_note { a.rest() } else { None };
    let what = if status == Status::Cancelled {
        "a reason"
    } else {
        "a note"
    };
    let note = note.map(|n| free_text(n, what)).transpose()?;
    a.finish(Command::SetStatus { task, status, note })
}

/// A note or reason as typed, or why it is too long.
fn free_text(text: String, what: &str) -> Result<String, String> {
    let chars = text.chars().count();
    if chars > NOTE_CHARS {
        return Err(format!(
            "{what} can be at most {} characters (this one has {})",
            thousands(NOTE_CHARS),
            thousands(chars)
        ));
    }
    Ok(text)
}

/// `10000` → `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn parse_due(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let date = a.rest().ok_or_else(|| "when? give a date".to_string())?;
    Ok(Command::Due { task, date })
}

fn parse_priority(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let level = a.next().ok_or_else(|| "which priority?".to_string())?;
    let level = level.parse::<Priority>().map_err(|e: DomainError| e.to_string())?;
    a.finish(Command::Priority { task, level })
}

fn parse_note(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let text = a.rest().ok_or_else(|| "what is the note?".to_string())?;
    let text = free_text(text, "a note")?;
    Ok(Command::Note { task, text })
}

fn parse_snooze(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let date = a.rest().ok_or_else(|| "until when? give a date".to_string())?;
    Ok(Command::Snooze { task, date })
}

fn parse_escalate(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let why = a.rest().map(|w| free_text(w, "a reason")).transpose()?;
    Ok(Command::Escalate { task, why })
}

fn parse_client_add(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let name = a.next().ok_or_else(|| "what is the client's name?".to_string())?;
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(is_unprintable) {
        return Err("the client's name must be 1 to 200 printable characters".into());
    }
    let mut channels = Vec::new();
    let mut owner = None;
    while let Some(word) = a.next() {
        if word.eq_ignore_ascii_case("owner") {
            owner = Some(a.who()?);
        } else if let Some(channel) = channel_ref(&word) {
            channels.push(channel);
        } else {
            return Err(format!(
                "\"{}\" is not a channel (name it like #acme)",
                crate::domain::truncate(&word, 40)
            ));
        }
    }
    Ok(Command::ClientAdd {
        key,
        name,
        channels,
        owner,
    })
}

/// A channel reference: `#acme`, Slack's `<#C123|acme>`, or a Matrix room id/alias.
pub fn channel_ref(token: &str) -> Option<String> {
    let token = token.trim().trim_end_matches([',', ';']);
    if token.len() > 255 || token.chars().any(|c| c.is_whitespace() || is_unprintable(c)) {
        return None;
    }
    if let Some(inner) = token.strip_prefix("<#").and_then(|t| t.strip_suffix('>')) {
        return inner.split('|').next().filter(|s| !s.is_empty()).map(str::to_string);
    }
    // Matrix room ids: `!opaque:server`, or from room version 12 on just `!opaque`.
    if token.len() > 1 && token.starts_with('!') {
        return Some(token.to_string());
    }
    if token.starts_with('#') && token.contains(':') {
        return Some(token.to_string());
    }
    let name = token.strip_prefix('#')?;
    let valid = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| name.to_string())
}

fn parse_client_show(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    a.finish(Command::ClientShow { key })
}

fn client_stage(a: &mut Args, stage: Lifecycle) -> Result<Command, String> {
    let key = a.client()?;
    let date = a.rest();
    Ok(Command::ClientStage { key, stage, date })
}

fn parse_away(a: &mut Args) -> Result<Command, String> {
    match a.next() {
        Some(w) if w.eq_ignore_ascii_case("until") => {}
        _ => return Err("say until when".into()),
    }
    let until = a.rest().ok_or_else(|| "until when? give a date".to_string())?;
    Ok(Command::Away { until })
}

fn parse_tz_cmd(a: &mut Args) -> Result<Command, String> {
    let name = a.next().ok_or_else(|| "which time zone?".to_string())?;
    let tz = parse_tz(&name).map_err(|e| e.to_string())?;
    a.finish(Command::Tz { tz })
}

fn parse_hours(a: &mut Args) -> Result<Command, String> {
    let text = a.rest().ok_or_else(|| "which hours?".to_string())?;
    let hours = WorkingHours::parse(&text).map_err(|e| e.to_string())?;
    Ok(Command::Hours { hours })
}

fn parse_standup_set(a: &mut Args) -> Result<Command, String> {
    let cron = a
        .next()
        .ok_or_else(|| "when? give a cron schedule such as \"0 9 * * 1-5\"".to_string())?;
    crate::domain::schedule::Schedule::parse(&cron).map_err(|e| e.to_string())?;
    let mut questions = Vec::new();
    let mut channel = None;
    while let Some(word) = a.next() {
        if word.eq_ignore_ascii_case("questions") {
            while let Some(q) = a.peek(0).map(str::to_string) {
                if q.eq_ignore_ascii_case("in") {
                    break;
                }
                a.next();
                let q = q.trim().to_string();
                if q.is_empty() || q.chars().count() > 200 || q.chars().any(is_unprintable) {
                    return Err("each question must be 1 to 200 printable characters".into());
                }
                questions.push(q);
            }
            if questions.is_empty() {
                return Err("which questions? quote each one".into());
            }
        } else if word.eq_ignore_ascii_case("in") {
            let target = a.next().ok_or_else(|| "in which channel?".to_string())?;
            channel = Some(channel_ref(&target).ok_or_else(|| {
                format!(
                    "\"{}\" is not a channel (name it like #standup)",
                    crate::domain::truncate(&target, 40)
                )
            })?);
        } else {
            return Err(format!("I don't know \"{}\" here", crate::domain::truncate(&word, 40)));
        }
    }
    if questions.len() > 10 {
        return Err("at most 10 questions".into());
    }
    Ok(Command::StandupSet {
        cron,
        questions,
        channel,
    })
}

fn parse_meet(a: &mut Args) -> Result<Command, String> {
    let mut people = Vec::new();
    let mut minutes = None;
    let mut when = MeetWhen::Soon;
    while let Some(word) = a.next() {
        let lower = word.to_lowercase();
        if let Some(p) = person(&word) {
            people.push(p);
        } else if let Some(m) = meeting_minutes(&lower) {
            minutes = Some(m);
        } else if lower == "this" || lower == "next" {
            match a.next().map(|w| w.to_lowercase()).as_deref() {
                Some("week") if lower == "this" => when = MeetWhen::ThisWeek,
                Some("week") => when = MeetWhen::NextWeek,
                _ => return Err("say \"this week\" or \"next week\"".into()),
            }
        } else {
            return Err(format!("I don't know \"{}\" here", crate::domain::truncate(&word, 40)));
        }
    }
    if people.is_empty() {
        return Err("with whom? name them like @lea".into());
    }
    let minutes = minutes.ok_or_else(|| "how long? say 30m or 1h".to_string())?;
    Ok(Command::Meet { people, minutes, when })
}

/// `30m`, `45min`, `1h`, `1h30m`, `90m` → minutes (5 to 480).
fn meeting_minutes(text: &str) -> Option<i64> {
    let (hours, rest) = match text.split_once('h') {
        Some((h, rest)) => (h.parse::<i64>().ok()?, rest),
        None => (0, text),
    };
    let rest = rest.trim_end_matches("min").trim_end_matches('m');
    let mins = if rest.is_empty() { 0 } else { rest.parse::<i64>().ok()? };
    let total = hours * 60 + mins;
    (5..=480).contains(&total).then_some(total)
}

fn parse_role(a: &mut Args) -> Result<Command, String> {
    let who = a.who()?;
    let role = a.next().ok_or_else(|| "which role?".to_string())?;
    let role = role.parse::<Role>().map_err(|e| e.to_string())?;
    a.finish(Command::Role { who, role })
}

/// The help text: every command, or the commands under one name.
pub fn help(topic: Option<&str>, for_client: bool) -> String {
    let specs: Vec<&Spec> = match topic {
        Some(t) => specs_named(t),
        None => SPECS.iter().collect(),
    };
    let visible: Vec<&Spec> = specs
        .into_iter()
        .filter(|s| !for_client || s.allowed == Allowed::Everyone)
        .collect();
    if topic.is_some() {
        return visible
            .iter()
            .map(|s| format!("{} — {}", s.usage, s.about))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = String::from("Commands (after @keel, /keel, !keel, or on their own in a direct message):\n");
    for s in visible {
        out.push_str(&format!("  {} — {}\n", s.usage, s.about));
    }
    out.push_str("Anything else after @keel (or /keel) becomes a task.");
    out
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

    #[test]
    fn help_comes_from_the_table() {
        let all = help(None, false);
        for spec in SPECS {
            assert!(all.contains(spec.usage), "{} missing from help", spec.name);
        }
        let client = help(None, true);
        assert!(client.contains("track <text>"));
        assert!(!client.contains("assign #N"));
        assert!(help(Some("client"), false).contains("client add"));
        assert_eq!(help(Some("take"), false), "take #N — become the task's owner");
    }
}
