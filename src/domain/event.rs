//! What happened to a task: the closed set of entries of its append-only log.
//!
//! A task's row is a projection of these events. Each is stored as its `kind` and a JSON `data`
//! object (serde's adjacent tagging gives both); the status a change leads to and leaves is also
//! stored in columns of their own, so the KPIs find status changes by index rather than by text.

use serde::{Deserialize, Serialize};

use super::{Priority, Source, Status};

/// One entry of a task's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum TaskEvent {
    /// The task was opened.
    Created(Created),
    /// Its status changed (a status change always says where it came from).
    Status {
        from: Status,
        to: Status,
        note: Option<String>,
    },
    /// It got an owner.
    Assigned {
        owner: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_id: Option<i64>,
    },
    /// Its due date was set with `due`, as the person wrote it.
    Due { phrase: String, due_at: Option<i64> },
    /// Its priority was changed with `priority`.
    Priority { from: Priority, to: Priority },
    /// A note was added.
    Note { text: String },
    /// It was snoozed until a date.
    Snoozed { phrase: String, until: Option<i64> },
    /// It was escalated, by a person (`by` absent) or by keel's sweep.
    Escalated {
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// A later message in its thread.
    Message { from: Side },
    /// The client asked after it ("any update?"): a chase, with what they wrote.
    Chased { text: String },
    /// The team's first answer to a client's request.
    FirstResponse {
        after_seconds: i64,
        /// The first responder, when they became the owner with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_id: Option<i64>,
    },
    /// A client message that joined the task (sent soon after the one that opened it); what
    /// else it changed follows as events of their own (`due`, `priority`).
    MessageJoined {
        text: String,
        sentiment: f64,
        /// It read as frustrated, which marks the task.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        frustrated: bool,
    },
    /// Its title followed an edit of the message it came from.
    Edited { from: String, to: String },
    /// keel reminded the owner that it stalled.
    Nudged { count: i64, owner: String },
    /// A client answered a survey about it.
    SurveyAnswered { survey: i64, kind: String, score: i64 },
    /// A mail of its thread: the client's (received) or the team's `reply` (sent).
    Mail(MailEvent),
}

/// One mail of a task's thread, as kept in its log: who wrote it, its ids, what it added, the
/// quoted history it came with, who else it went to, and its attachments (listed, not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailEvent {
    pub from: Side,
    /// The sender's address.
    pub address: String,
    pub message_id: String,
    pub subject: String,
    /// What the mail adds, without quoted history and signature.
    pub text: String,
    /// The whole text as received, when it differs from `text`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub quoted: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file a mail carried: its name, type and size; its content is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

/// Who wrote a message in a task's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Client,
    Team,
}

/// What a task was opened with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Created {
    pub text: String,
    /// The title keel read from the text (older logs: absent, and the text's first line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub source: Option<Source>,
    pub priority: Option<Priority>,
    pub due_at: Option<i64>,
    pub owner: Option<String>,
    pub client: Option<String>,
    /// The owner's and the client's ids (older logs: absent, and the names tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<i64>,
    /// Requests read from people: their sentiment and whether it read as frustrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frustrated: Option<bool>,
    /// Playbook items: the playbook and the item's place in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<i64>,
}

/// Why a stored event could not be read.
#[derive(Debug, thiserror::Error)]
#[error("task event \"{kind}\" cannot be read: {source}")]
pub struct UnreadableEvent {
    pub kind: String,
    #[source]
    pub source: serde_json::Error,
}

impl TaskEvent {
    /// The name stored in the log's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskEvent::Created(_) => "created",
            TaskEvent::Status { .. } => "status",
            TaskEvent::Assigned { .. } => "assigned",
            TaskEvent::Due { .. } => "due",
            TaskEvent::Priority { .. } => "priority",
            TaskEvent::Note { .. } => "note",
            TaskEvent::Snoozed { .. } => "snoozed",
            TaskEvent::Escalated { .. } => "escalated",
            TaskEvent::Message { .. } => "message",
            TaskEvent::Chased { .. } => "chased",
            TaskEvent::FirstResponse { .. } => "first_response",
            TaskEvent::MessageJoined { .. } => "message_joined",
            TaskEvent::Edited { .. } => "edited",
            TaskEvent::Nudged { .. } => "nudged",
            TaskEvent::SurveyAnswered { .. } => "survey_answered",
            TaskEvent::Mail(_) => "mail",
        }
    }

    /// The JSON stored in the log's `data` column.
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => tagged.remove("data").unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }

    /// The text of [`data`](Self::data), written straight from the event (keys in the order the
    /// event declares them, where `data` sorts them; both read back the same).
    pub fn data_text(&self) -> String {
        let tagged = serde_json::to_string(self).unwrap_or_default();
        // Adjacent tagging writes the tag first, then the content: `{"kind":"…","data":…}`.
        let prefix = format!(r#"{{"kind":"{}","data":"#, self.kind());
        match tagged.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix('}')) {
            Some(data) => data.to_string(),
            None => self.data().to_string(),
        }
    }

    /// Reads a stored event back from its `kind` column and its `data` column's text, in one pass
    /// (text that is not JSON, or not this kind's shape, is an `UnreadableEvent`).
    pub fn read_text(kind: &str, data: &str) -> Result<TaskEvent, UnreadableEvent> {
        let tagged = format!(r#"{{"kind":{},"data":{data}}}"#, serde_json::Value::from(kind));
        serde_json::from_str(&tagged).map_err(|source| UnreadableEvent {
            kind: kind.to_string(),
            source,
        })
    }

    /// The status change it records (left, reached), for the log's status columns.
    pub fn status_change(&self) -> Option<(Status, Status)> {
        match self {
            TaskEvent::Status { from, to, .. } => Some((*from, *to)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_stored_as_they_always_were() {
        let status = TaskEvent::Status {
            from: Status::InProgress,
            to: Status::Done,
            note: None,
        };
        assert_eq!(status.kind(), "status");
        assert_eq!(
            status.data().to_string(),
            r#"{"from":"in-progress","note":null,"to":"done"}"#
        );
        let first = TaskEvent::FirstResponse {
            after_seconds: 240,
            owner: None,
            owner_id: None,
        };
        assert_eq!(first.data().to_string(), r#"{"after_seconds":240}"#);
        for event in [&status, &first] {
            let text = event.data_text();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&text).expect("json"),
                event.data()
            );
            assert_eq!(&TaskEvent::read_text(event.kind(), &text).expect("reads back"), event);
        }
        assert_eq!(status.data_text(), r#"{"from":"in-progress","to":"done","note":null}"#);
        let read =
            TaskEvent::read_text("status", r#"{"from": "in-progress", "note": null, "to": "done"}"#).expect("read");
        assert_eq!(read, status);
        assert_eq!(read.status_change(), Some((Status::InProgress, Status::Done)));
    }

    #[test]
    fn a_created_event_of_any_origin_reads_back() {
        let request = serde_json::json!({"text": "export broken", "source": "auto", "priority": "normal",
            "due_at": null, "owner": null, "client": "acme", "sentiment": -0.2, "frustrated": false});
        let read = TaskEvent::read_text("created", &request.to_string()).expect("request");
        assert_eq!(read.data(), request);
        let item = serde_json::json!({"text": "Kick-off call", "source": "playbook", "playbook": "onboarding",
            "item": 0, "priority": "normal", "due_at": 1_764_000_000, "owner": "lea", "client": "acme"});
        let read = TaskEvent::read_text("created", &item.to_string()).expect("playbook item");
        assert_eq!(read.data(), item);
        assert!(TaskEvent::read_text("reticulated", "{}").is_err());
        assert!(TaskEvent::read_text("note", "not json").is_err());
    }
}
