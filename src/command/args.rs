//! Each command's argument parser, the typed readers they share (a task id, a person, a client
//! key) and the person and channel references chat platforms write.

use super::tokenizer::Args;
use super::{Command, KpiRange, Lifecycle, ListScope, MeetWhen, SlaChange, HOLIDAY_NAME_CHARS, NOTE_CHARS};
use crate::domain::sla::{parse_span, Targets};
use crate::domain::{is_unprintable, parse_tz, ClientKey, DomainError, Priority, Role, Status, TaskId, WorkingHours};

/// Readers for the typed arguments commands share.
impl Args<'_> {
    pub(super) fn task(&mut self) -> Result<TaskId, String> {
        let token = self.next().ok_or_else(|| "which task? name it like #12".to_string())?;
        TaskId::parse(&token).map_err(|e| e.to_string())
    }

    pub(super) fn who(&mut self) -> Result<String, String> {
        let token = self.next().ok_or_else(|| "who? name them like @lea".to_string())?;
        person(&token).ok_or_else(|| {
            format!(
                "\"{}\" is not a person (name them like @lea)",
                crate::domain::truncate(&token, 40)
            )
        })
    }

    pub(super) fn client(&mut self) -> Result<ClientKey, String> {
        let token = self
            .next()
            .ok_or_else(|| "which client? name it by its key, like acme".to_string())?;
        ClientKey::parse(&token).map_err(|e| e.to_string())
    }

    pub(super) fn finish(&mut self, command: Command) -> Result<Command, String> {
        match self.rest() {
            None => Ok(command),
            Some(extra) => Err(format!("I did not expect \"{}\"", crate::domain::truncate(&extra, 40))),
        }
    }
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

pub(super) fn parse_track(a: &mut Args) -> Result<Command, String> {
    let text = a.rest().ok_or_else(|| "what should I track?".to_string())?;
    Ok(Command::Track { text })
}

pub(super) fn parse_list(a: &mut Args) -> Result<Command, String> {
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

pub(super) fn parse_show(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    a.finish(Command::Show { task })
}

pub(super) fn parse_assign(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let who = a.who()?;
    a.finish(Command::Assign { task, who })
}

pub(super) fn parse_take(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    a.finish(Command::Take { task })
}

pub(super) fn status(a: &mut Args, status: Status, with_note: bool) -> Result<Command, String> {
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

pub(super) fn parse_due(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let date = a.rest().ok_or_else(|| "when? give a date".to_string())?;
    Ok(Command::Due { task, date })
}

pub(super) fn parse_priority(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let level = a.next().ok_or_else(|| "which priority?".to_string())?;
    let level = level.parse::<Priority>().map_err(|e: DomainError| e.to_string())?;
    a.finish(Command::Priority { task, level })
}

pub(super) fn parse_note(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let text = a.rest().ok_or_else(|| "what is the note?".to_string())?;
    let text = free_text(text, "a note")?;
    Ok(Command::Note { task, text })
}

pub(super) fn parse_reply(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let text = a
        .rest()
        .ok_or_else(|| "what is the answer? reply #N <text>".to_string())?;
    let text = free_text(text, "an answer")?;
    Ok(Command::Reply { task, text })
}

pub(super) fn parse_snooze(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let date = a.rest().ok_or_else(|| "until when? give a date".to_string())?;
    Ok(Command::Snooze { task, date })
}

pub(super) fn parse_escalate(a: &mut Args) -> Result<Command, String> {
    let task = a.task()?;
    let why = a.rest().map(|w| free_text(w, "a reason")).transpose()?;
    Ok(Command::Escalate { task, why })
}

/// A client's name as written: 1 to 200 printable characters.
fn client_name(a: &mut Args) -> Result<String, String> {
    let name = a.next().ok_or_else(|| "what is the client's name?".to_string())?;
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(is_unprintable) {
        return Err("the client's name must be 1 to 200 printable characters".into());
    }
    Ok(name)
}

pub(super) fn parse_client_add(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let name = client_name(a)?;
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

pub(super) fn parse_client_owner(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let owner = a.who()?;
    a.finish(Command::ClientOwner { key, owner })
}

pub(super) fn parse_client_channel(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let add = match a.next().map(|w| w.to_lowercase()).as_deref() {
        Some("add") => true,
        Some("remove") => false,
        _ => return Err("add or remove? client channel <key> add|remove #channel".into()),
    };
    let word = a
        .next()
        .ok_or_else(|| "which channel? name it like #acme".to_string())?;
    let channel = channel_ref(&word).ok_or_else(|| {
        format!(
            "\"{}\" is not a channel (name it like #acme)",
            crate::domain::truncate(&word, 40)
        )
    })?;
    a.finish(Command::ClientChannel { key, add, channel })
}

pub(super) fn parse_client_rename(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let name = client_name(a)?;
    a.finish(Command::ClientRename { key, name })
}

pub(super) fn parse_client_show(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    a.finish(Command::ClientShow { key })
}

pub(super) fn parse_client_sla(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let change = match a.next() {
        None => None,
        Some(word) if word.eq_ignore_ascii_case("reset") => Some(SlaChange::Reset),
        Some(word) => {
            let priority: Priority = word.parse().map_err(|e: DomainError| e.to_string())?;
            let mut span = |what: &str| {
                let token = a
                    .next()
                    .ok_or_else(|| format!("what is the {what} target? write it like 30m, 2h or 1h30m"))?;
                parse_span(&token).ok_or_else(|| {
                    format!(
                        "\"{}\" is not a span of business time like 30m, 2h or 1h30m",
                        crate::domain::truncate(&token, 40)
                    )
                })
            };
            let first_response = span("first-response")?;
            let resolution = span("resolution")?;
            let targets = Targets {
                first_response,
                resolution,
            };
            Some(SlaChange::Set { priority, targets })
        }
    };
    a.finish(Command::ClientSla { key, change })
}

pub(super) fn client_stage(a: &mut Args, stage: Lifecycle) -> Result<Command, String> {
    let key = a.client()?;
    let date = a.rest();
    Ok(Command::ClientStage { key, stage, date })
}

pub(super) fn parse_away(a: &mut Args) -> Result<Command, String> {
    match a.next() {
        Some(w) if w.eq_ignore_ascii_case("until") => {}
        _ => return Err("say until when".into()),
    }
    let until = a.rest().ok_or_else(|| "until when? give a date".to_string())?;
    Ok(Command::Away { until })
}

pub(super) fn parse_tz_cmd(a: &mut Args) -> Result<Command, String> {
    let name = a.next().ok_or_else(|| "which time zone?".to_string())?;
    let tz = parse_tz(&name).map_err(|e| e.to_string())?;
    a.finish(Command::Tz { tz })
}

pub(super) fn parse_hours(a: &mut Args) -> Result<Command, String> {
    let text = a.rest().ok_or_else(|| "which hours?".to_string())?;
    let hours = WorkingHours::parse(&text).map_err(|e| e.to_string())?;
    Ok(Command::Hours { hours })
}

/// The standup's schedule when `standup set` names none.
pub const DEFAULT_STANDUP: &str = "0 9 * * 1-5";

pub(super) fn parse_standup_set(a: &mut Args) -> Result<Command, String> {
    // Without a schedule: PRODUCT.md's default, 09:00 Monday to Friday in each member's zone.
    let cron = match a.peek(0) {
        None => DEFAULT_STANDUP.to_string(),
        Some(w) if w.eq_ignore_ascii_case("questions") || w.eq_ignore_ascii_case("in") => DEFAULT_STANDUP.to_string(),
        Some(_) => a.next().unwrap_or_default(),
    };
    crate::domain::cron::Schedule::parse(&cron).map_err(|e| e.to_string())?;
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

pub(super) fn parse_meet(a: &mut Args) -> Result<Command, String> {
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

pub(super) fn parse_role(a: &mut Args) -> Result<Command, String> {
    let who = a.who()?;
    let role = a.next().ok_or_else(|| "which role?".to_string())?;
    let role = role.parse::<Role>().map_err(|e| e.to_string())?;
    a.finish(Command::Role { who, role })
}

pub(super) fn parse_kpi(a: &mut Args) -> Result<Command, String> {
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

pub(super) fn parse_standup_skip(a: &mut Args) -> Result<Command, String> {
    let date = a.rest().ok_or_else(|| "which day?".to_string())?;
    Ok(Command::StandupSkip { date })
}

pub(super) fn parse_playbook_run(a: &mut Args) -> Result<Command, String> {
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
}

pub(super) fn parse_survey_nps(a: &mut Args) -> Result<Command, String> {
    let client = a.client()?.to_string();
    a.finish(Command::SurveyNps { client })
}

pub(super) fn parse_holiday_add(a: &mut Args) -> Result<Command, String> {
    let date = a.next().ok_or_else(|| "which day?".to_string())?;
    let name = a.rest().unwrap_or_default();
    if name.chars().count() > HOLIDAY_NAME_CHARS || name.chars().any(is_unprintable) {
        return Err(format!(
            "a holiday's name can be at most {HOLIDAY_NAME_CHARS} printable characters"
        ));
    }
    Ok(Command::HolidayAdd { date, name })
}

pub(super) fn parse_holiday_remove(a: &mut Args) -> Result<Command, String> {
    let date = a.next().ok_or_else(|| "which day?".to_string())?;
    a.finish(Command::HolidayRemove { date })
}

pub(super) fn parse_client_email(a: &mut Args) -> Result<Command, String> {
    let key = a.client()?;
    let mut word = a
        .next()
        .ok_or_else(|| "which address or domain? client email <key> [add|remove] bob@acme.com|acme.com".to_string())?;
    let mut add = true;
    if matches!(word.to_lowercase().as_str(), "add" | "remove") {
        add = word.eq_ignore_ascii_case("add");
        word = a
            .next()
            .ok_or_else(|| "which address or domain? e.g. bob@acme.com or acme.com".to_string())?;
    }
    let address = word
        .trim()
        .trim_start_matches('@')
        .trim_end_matches([',', ';'])
        .to_lowercase();
    let domain = address.rsplit_once('@').map_or(address.as_str(), |(_, d)| d);
    let fits = |c: char| c.is_ascii_alphanumeric() || "-._+@".contains(c);
    let well_formed = address.len() <= 254
        && address.chars().all(fits)
        && address.matches('@').count() <= 1
        && !address.starts_with('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    if !well_formed {
        return Err(format!(
            "\"{}\" is not an address like bob@acme.com or a domain like acme.com",
            crate::domain::truncate(&word, 60)
        ));
    }
    a.finish(Command::ClientEmail { key, add, address })
}
