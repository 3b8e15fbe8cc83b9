//! The words keel answers with: short, starting with the task id, echoing what it understood.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::event::TaskEvent;
use crate::store::people::{Client, Member};
use crate::store::tasks::{LoggedEvent, Task, TaskView};

/// How much of a note or reason a task card shows.
const DETAIL_CHARS: usize = 200;

/// `Fri 27 Nov 17:00 UTC`, in the reader's time zone.
pub fn format_time(at: i64, tz: Tz) -> String {
    match DateTime::<Utc>::from_timestamp(at, 0) {
        Some(t) => t.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z").to_string(),
        None => "?".into(),
    }
}

/// The answer to a new task: id, who it is for, and every field keel read from the text.
pub fn describe_new_task(
    task: &Task,
    client: Option<&Client>,
    owner: Option<&Member>,
    due_phrase: Option<&str>,
    tz: Tz,
) -> String {
    let mut parts = vec![format!("#{} opened: {}", task.id, quoted(&task.title))];
    if let Some(c) = client {
        parts.push(format!("client {}", c.key));
    }
    match (task.due_at, due_phrase) {
        (Some(at), Some(phrase)) => parts.push(format!("due {} (\"{}\")", format_time(at, tz), phrase)),
        (Some(at), None) => parts.push(format!("due {}", format_time(at, tz))),
        _ => parts.push("no due date".into()),
    }
    parts.push(format!("priority {}", task.priority));
    if task.frustrated {
        parts.push("client sounds frustrated".into());
    }
    match owner {
        Some(m) => parts.push(format!("owner {}", mention(m, &task.adapter))),
        None => parts.push("no owner yet".into()),
    }
    parts.join(" · ")
}

/// A member as an answer on `adapter` names them: on Slack `<@U0123>` (Slack shows the person,
/// and tells them), elsewhere `@name`.
pub fn mention(m: &Member, adapter: &str) -> String {
    if adapter == "slack" && m.adapter == "slack" {
        format!("<@{}>", m.platform_id)
    } else {
        format!("@{}", m.name)
    }
}

/// A channel as an answer on `adapter` names it: on Slack, a Slack channel id as `<#C0123>`
/// (Slack shows its name); elsewhere `#name`.
pub fn channel_ref(adapter: &str, channel_adapter: &str, id: &str, name: &str) -> String {
    if adapter == "slack" && channel_adapter == "slack" && is_slack_id(id) {
        format!("<#{id}>")
    } else {
        format!("#{}", name.trim_start_matches('#'))
    }
}

/// `C0123ABC`, `G…` or `D…`: the shape of Slack's conversation ids.
fn is_slack_id(id: &str) -> bool {
    id.len() >= 2 && id.starts_with(['C', 'G', 'D']) && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A title in quotes, shortened for one-line answers.
pub fn quoted(title: &str) -> String {
    format!("\"{}\"", crate::domain::truncate(title, 60))
}

/// One line of `list`.
pub fn list_line(v: &TaskView, now: i64, tz: Tz) -> String {
    let t = &v.task;
    let mut line = format!("#{} {} {}", t.id, t.status, quoted(&t.title));
    if let Some(key) = &v.client_key {
        line.push_str(&format!(" · {key}"));
    }
    if t.priority != crate::domain::Priority::Normal {
        line.push_str(&format!(" · {}", t.priority));
    }
    match &v.owner_name {
        Some(o) => line.push_str(&format!(" · @{o}")),
        None => line.push_str(" · no owner"),
    }
    if let Some(due) = t.due_at {
        let overdue = due < now && t.status.is_active();
        line.push_str(&format!(
            " · {}{}",
            if overdue { "OVERDUE " } else { "due " },
            format_time(due, tz)
        ));
    }
    line
}

/// The task card of `show`: fields, then the timeline.
pub fn card(v: &TaskView, events: &[LoggedEvent], tz: Tz) -> String {
    let t = &v.task;
    let mut lines = vec![format!("#{} {} — {}", t.id, t.status, t.title)];
    let mut fields = vec![
        format!("priority {}", t.priority),
        format!(
            "owner {}",
            v.owner_name
                .as_deref()
                .map(|o| format!("@{o}"))
                .unwrap_or_else(|| "none".into())
        ),
        format!("client {}", v.client_key.as_deref().unwrap_or("none")),
        format!(
            "requester {}",
            crate::domain::truncate(&t.requester_name, crate::domain::NAME_CHARS)
        ),
        format!("source {}", t.source),
        format!("in {}", channel_label(t)),
    ];
    if let Some(due) = t.due_at {
        fields.push(format!("due {}", format_time(due, tz)));
    }
    if t.frustrated {
        fields.push(format!("frustrated (sentiment {:.2})", t.sentiment));
    }
    if let Some(first) = t.first_response_at {
        fields.push(format!("first response after {}", duration(first - t.created_at)));
    }
    let chases = events
        .iter()
        .filter(|e| matches!(e.event, TaskEvent::Chased { .. }))
        .count();
    if chases > 0 {
        fields.push(format!("chased {chases}×"));
    }
    if let Some(permalink) = &t.permalink {
        fields.push(permalink.clone());
    }
    lines.push(fields.join(" · "));
    for e in events {
        lines.push(format!(
            "  {} {} {}{}",
            format_time(e.at, tz),
            crate::domain::truncate(&e.actor, crate::domain::NAME_CHARS),
            e.event.kind().replace('_', " "),
            event_detail(e)
        ));
    }
    lines.join("\n")
}

/// What an event did, in words: `status → done: fixed it`, `assigned → @lea`.
pub fn event_summary(e: &LoggedEvent) -> String {
    format!("{}{}", e.event.kind().replace('_', " "), event_detail(e))
}

fn event_detail(e: &LoggedEvent) -> String {
    let detail = match &e.event {
        TaskEvent::Status {
            to, note: Some(note), ..
        } => format!("→ {to}: {note}"),
        TaskEvent::Status { to, note: None, .. } => format!("→ {to}"),
        TaskEvent::Assigned { owner, .. } => format!("→ @{owner}"),
        TaskEvent::Note { text } | TaskEvent::Escalated { text: Some(text), .. } => text.clone(),
        TaskEvent::Chased { text } => quoted(text),
        TaskEvent::Priority { to, .. } => to.to_string(),
        TaskEvent::Due { phrase, .. } | TaskEvent::Snoozed { phrase, .. } => phrase.clone(),
        TaskEvent::Edited { to, .. } => quoted(to),
        TaskEvent::SurveyAnswered { kind, score, .. } if kind == "csat" => {
            format!("CSAT {}", if *score > 0 { "👍" } else { "👎" })
        }
        TaskEvent::SurveyAnswered { score, .. } => format!("NPS {score}"),
        TaskEvent::Mail(mail) => mail_detail(mail),
        _ => String::new(),
    };
    if detail.is_empty() {
        detail
    } else {
        // One line per event, whatever a note holds; `export events` has it whole.
        format!(" {}", crate::domain::truncate(&detail, DETAIL_CHARS))
    }
}

/// A mail of the thread: `from bob@acme.com: "the text" · 📎 invoice.pdf (12 KB)`.
fn mail_detail(mail: &crate::domain::event::MailEvent) -> String {
    let way = match mail.from {
        crate::domain::event::Side::Client => "from",
        crate::domain::event::Side::Team => "to",
    };
    let mut detail = format!("{way} {}: {}", mail.address, quoted(&mail.text));
    for a in &mail.attachments {
        detail.push_str(&format!(" · 📎 {} ({})", a.name, size(a.size)));
    }
    detail
}

/// `512 B`, `12 KB`, `4.2 MB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{} KB", bytes / 1_000),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}

/// `4 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// `#12`.
pub(super) fn task_ref(task: &Task) -> String {
    format!("#{}", task.id)
}

/// `#acme`, or `direct message` for a direct conversation.
pub(super) fn channel_label(task: &Task) -> String {
    if task.channel_name.starts_with('@') {
        "direct message".to_string()
    } else {
        channel_ref(&task.adapter, &task.adapter, &task.channel, &task.channel_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(240), "4 min");
        assert_eq!(duration(3 * 3600 + 300), "3 h 5 min");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(duration(-5), "0 min");
    }

    #[test]
    fn times_show_in_the_readers_zone() {
        let at = 1_764_262_800; // 2025-11-27T17:00:00Z
        assert_eq!(format_time(at, Tz::UTC), "Thu 27 Nov 2025 17:00 UTC");
        assert_eq!(format_time(at, chrono_tz::Europe::Berlin), "Thu 27 Nov 2025 18:00 CET");
    }
}
