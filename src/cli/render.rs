//! How the command line prints records: JSON values, CSV and aligned tables.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::store::tasks::TaskView;

/// One posted message as `keel tick --format json` prints it.
pub(super) fn posted_json(kind: &str, outbound: &keel_chat::Outbound) -> Value {
    use keel_chat::Outbound;
    let (channel, to, thread, text) = match outbound {
        Outbound::Message {
            conversation,
            thread,
            text,
        } => (Some(conversation.clone()), None, thread.clone(), text.clone()),
        Outbound::Direct { user, text } => (None, Some(user.clone()), None, text.clone()),
        Outbound::Ephemeral {
            conversation,
            user,
            text,
        } => (Some(conversation.clone()), Some(user.clone()), None, text.clone()),
        Outbound::Reaction {
            conversation, emoji, ..
        } => (Some(conversation.clone()), None, None, emoji.clone()),
        Outbound::Question {
            conversation,
            thread,
            text,
            fallback,
            ..
        } => (
            Some(conversation.clone()),
            None,
            thread.clone(),
            keel_chat::plain_question(text, fallback),
        ),
        Outbound::Image {
            conversation,
            caption,
            name,
            png,
            ..
        } => {
            return json!({ "kind": kind, "channel": conversation, "to": null, "thread": null, "text": caption,
                           "image": name, "bytes": png.len() });
        }
    };
    json!({ "kind": kind, "channel": channel, "to": to, "thread": thread, "text": text })
}

pub(super) fn rfc3339(at: Option<i64>) -> Value {
    match at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)) {
        Some(t) => json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => Value::Null,
    }
}

pub(super) fn task_json(v: &TaskView) -> Value {
    let t = &v.task;
    json!({
        "id": t.id,
        "title": t.title,
        "client": v.client_key,
        "channel": t.channel_name,
        "requester": t.requester_name,
        "owner": v.owner_name,
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "source": t.source.as_str(),
        "sentiment": t.sentiment,
        "created_at": rfc3339(Some(t.created_at)),
        "due_at": rfc3339(t.due_at),
        "first_response_at": rfc3339(t.first_response_at),
        "resolved_at": rfc3339(t.resolved_at),
    })
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
