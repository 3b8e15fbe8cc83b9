//! How the command line prints records: JSON values, CSV and aligned tables.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{Priority, Source, Status};
use crate::store::tasks::TaskView;

/// Records print as JSON objects with their keys in alphabetical order (a struct becomes a
/// `Value` first, whose map is sorted), the order keel has always printed.
pub(super) fn record(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One posted message as `keel tick --format json` prints it.
#[derive(Serialize)]
pub(super) struct Posted {
    kind: String,
    channel: Option<String>,
    to: Option<String>,
    thread: Option<String>,
    text: String,
    /// Images: the file's name and size.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<usize>,
}

impl Posted {
    pub(super) fn of(kind: &str, outbound: &keel_chat::Outbound) -> Posted {
        use keel_chat::Outbound;
        let posted = |channel: Option<&String>, to: Option<&String>, thread: Option<&String>, text: String| Posted {
            kind: kind.to_string(),
            channel: channel.cloned(),
            to: to.cloned(),
            thread: thread.cloned(),
            text,
            image: None,
            bytes: None,
        };
        match outbound {
            Outbound::Message {
                conversation,
                thread,
                text,
            } => posted(Some(conversation), None, thread.as_ref(), text.clone()),
            Outbound::Direct { user, text } => posted(None, Some(user), None, text.clone()),
            Outbound::Ephemeral {
                conversation,
                user,
                text,
                thread,
            } => posted(Some(conversation), Some(user), thread.as_ref(), text.clone()),
            Outbound::Reaction {
                conversation, emoji, ..
            } => posted(Some(conversation), None, None, emoji.clone()),
            Outbound::Question {
                conversation,
                thread,
                text,
                fallback,
                ..
            } => posted(
                Some(conversation),
                None,
                thread.as_ref(),
                keel_chat::plain_question(text, fallback),
            ),
            Outbound::Card {
                conversation,
                thread,
                card,
            } => posted(Some(conversation), None, thread.as_ref(), card.text()),
            Outbound::CardUpdate {
                conversation,
                message_id,
                card,
            } => posted(Some(conversation), None, Some(message_id), card.text()),
            Outbound::Form {
                conversation,
                user,
                form,
                ..
            } => posted(Some(conversation), Some(user), None, format!("form: {}", form.title)),
            Outbound::Home { user, .. } => posted(None, Some(user), None, "home".to_string()),
            Outbound::Mail(mail) => posted(
                mail.to.first().map(|a| &a.email),
                None,
                None,
                format!("{}\n{}", mail.subject, mail.text),
            ),
            Outbound::Image {
                conversation,
                caption,
                name,
                png,
                ..
            } => Posted {
                image: Some(name.clone()),
                bytes: Some(png.len()),
                ..posted(Some(conversation), None, None, caption.clone())
            },
        }
    }
}

/// An instant as the command line prints it (RFC 3339, seconds, UTC).
pub(super) fn rfc3339(at: Option<i64>) -> Option<String> {
    at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A task as `keel tasks list` prints it.
#[derive(Serialize)]
pub(super) struct TaskRecord {
    id: i64,
    title: String,
    client: Option<String>,
    channel: String,
    requester: String,
    owner: Option<String>,
    status: Status,
    priority: Priority,
    source: Source,
    sentiment: f64,
    created_at: Option<String>,
    due_at: Option<String>,
    first_response_at: Option<String>,
    resolved_at: Option<String>,
}

impl TaskRecord {
    pub(super) fn of(v: &TaskView) -> TaskRecord {
        let t = &v.task;
        TaskRecord {
            id: t.id,
            title: t.title.clone(),
            client: v.client_key.clone(),
            channel: t.channel_name.clone(),
            requester: t.requester_name.clone(),
            owner: v.owner_name.clone(),
            status: t.status,
            priority: t.priority,
            source: t.source,
            sentiment: t.sentiment,
            created_at: rfc3339(Some(t.created_at)),
            due_at: rfc3339(t.due_at),
            first_response_at: rfc3339(t.first_response_at),
            resolved_at: rfc3339(t.resolved_at),
        }
    }
}

/// A client as `keel clients list` prints it.
#[derive(Serialize)]
pub(super) struct ClientRecord {
    pub key: String,
    pub name: String,
    pub owner: Option<String>,
    pub open_tasks: i64,
    pub contract_signed_at: Option<String>,
    pub go_live_at: Option<String>,
    pub churned_at: Option<String>,
    pub last_touch_at: Option<String>,
}

/// A task event as `keel export events` prints it, one JSON line each.
#[derive(Serialize)]
pub(super) struct EventLine {
    pub id: i64,
    pub task: i64,
    pub at: Option<String>,
    pub kind: &'static str,
    pub actor: String,
    pub data: Value,
}

pub(super) const TASK_FIELDS: [&str; 14] = [
    "id",
    "title",
    "client",
    "channel",
    "requester",
    "owner",
    "status",
    "priority",
    "source",
    "sentiment",
    "created_at",
    "due_at",
    "first_response_at",
    "resolved_at",
];

pub(super) fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn write_csv(out: &mut dyn Write, fields: &[&str], rows: &[Value]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(fields).map_err(std::io::Error::other)?;
    for r in rows {
        w.write_record(fields.iter().map(|f| cell(&r[*f])))
            .map_err(std::io::Error::other)?;
    }
    w.flush()
}

pub(super) fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count().min(60));
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = crate::domain::truncate(c, 60);
                format!("{c:<w$}", w = widths[i])
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header.iter().map(|h| h.to_string()).collect()))?;
    for r in rows {
        writeln!(out, "{}", line(r.clone()))?;
    }
    Ok(())
}
