//! A task's fields as its log makes them: what replaying the events gives, field by field.
//!
//! `keel verify` replays every task's log through [`Projection::apply`] and compares the result
//! with the tasks table; a path that changes one of these fields without an event shows up as a
//! difference.

use super::event::{Created, TaskEvent};
use super::{Priority, Status};

/// The fields of a task that events decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub title: String,
    pub status: Status,
    pub owner_id: Option<i64>,
    pub client_id: Option<i64>,
    pub priority: Priority,
    pub due_at: Option<i64>,
    pub frustrated: bool,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub escalated_at: Option<i64>,
}

/// What a replay needs that older logs did not record: ids behind the names they hold, and the
/// title a request's text gave.
pub trait Names {
    /// The member called `name` (events written before they carried ids).
    fn member(&self, name: &str) -> Option<i64>;
    /// The client with `key` (likewise).
    fn client(&self, key: &str) -> Option<i64>;
    /// The title keel gives a request's text.
    fn title(&self, text: &str) -> String;
}

/// One field's name and its two values, as text, when a task's row and its log disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: &'static str,
    pub table: String,
    pub replayed: String,
}

impl Projection {
    /// The task as its `created` event opened it.
    pub fn created(created: &Created, names: &dyn Names) -> Projection {
        Projection {
            title: created.title.clone().unwrap_or_else(|| names.title(&created.text)),
            status: Status::Open,
            owner_id: created
                .owner_id
                .or_else(|| created.owner.as_deref().and_then(|n| names.member(n))),
            client_id: created
                .client_id
                .or_else(|| created.client.as_deref().and_then(|k| names.client(k))),
            priority: created.priority.unwrap_or(Priority::Normal),
            due_at: created.due_at,
            frustrated: created.frustrated.unwrap_or(false),
            first_response_at: None,
            resolved_at: None,
            snoozed_until: None,
            escalated_at: None,
        }
    }

    /// Applies one later event, logged at `at`.
    pub fn apply(&mut self, event: &TaskEvent, at: i64, names: &dyn Names) {
        match event {
            TaskEvent::Created(created) => *self = Projection::created(created, names),
            TaskEvent::Status { to, .. } => {
                self.status = *to;
                match to {
                    Status::Done => self.resolved_at = Some(at),
                    Status::Open => self.resolved_at = None,
                    _ => {}
                }
            }
            TaskEvent::Assigned { owner, owner_id } => {
                self.owner_id = owner_id.or_else(|| names.member(owner));
            }
            TaskEvent::Due { due_at, .. } => self.due_at = *due_at,
            TaskEvent::Priority { to, .. } => self.priority = *to,
            TaskEvent::Snoozed { until, .. } => self.snoozed_until = *until,
            // A person's escalation is dated now; keel's sweep keeps the first date.
            TaskEvent::Escalated { by: None, .. } => self.escalated_at = Some(at),
            TaskEvent::Escalated { by: Some(_), .. } => self.escalated_at = self.escalated_at.or(Some(at)),
            TaskEvent::FirstResponse { owner, owner_id, .. } => {
                self.first_response_at = Some(at);
                if let Some(id) = owner_id.or_else(|| owner.as_deref().and_then(|n| names.member(n))) {
                    self.owner_id = Some(id);
                }
            }
            TaskEvent::MessageJoined { frustrated, .. } => self.frustrated |= *frustrated,
            TaskEvent::Edited { to, .. } => self.title = to.clone(),
            TaskEvent::Note { .. }
            | TaskEvent::Message { .. }
            | TaskEvent::Chased { .. }
            | TaskEvent::Nudged { .. }
            | TaskEvent::SurveyAnswered { .. }
            | TaskEvent::Mail(_) => {}
        }
    }

    /// The fields where `table` (the row) differs from `self` (the replay).
    pub fn differences(&self, table: &Projection) -> Vec<Difference> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, table: String, replayed: String| {
            if table != replayed {
                out.push(Difference { field, table, replayed });
            }
        };
        check("title", table.title.clone(), self.title.clone());
        check("status", table.status.to_string(), self.status.to_string());
        check("owner_id", opt(table.owner_id), opt(self.owner_id));
        check("client_id", opt(table.client_id), opt(self.client_id));
        check("priority", table.priority.to_string(), self.priority.to_string());
        check("due_at", opt(table.due_at), opt(self.due_at));
        check("frustrated", table.frustrated.to_string(), self.frustrated.to_string());
        check(
            "first_response_at",
            opt(table.first_response_at),
            opt(self.first_response_at),
        );
        check("resolved_at", opt(table.resolved_at), opt(self.resolved_at));
        check("snoozed_until", opt(table.snoozed_until), opt(self.snoozed_until));
        check("escalated_at", opt(table.escalated_at), opt(self.escalated_at));
        out
    }
}

fn opt(value: Option<i64>) -> String {
    value.map_or_else(|| "null".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoNames;

    impl Names for NoNames {
        fn member(&self, name: &str) -> Option<i64> {
            (name == "max").then_some(7)
        }
        fn client(&self, _: &str) -> Option<i64> {
            None
        }
        fn title(&self, text: &str) -> String {
            text.to_uppercase()
        }
    }

    #[test]
    fn a_log_replays_into_the_fields_it_decided() {
        let created = Created {
            text: "export broken".into(),
            ..Created::default()
        };
        let mut p = Projection::created(&created, &NoNames);
        assert_eq!(p.title, "EXPORT BROKEN", "an older log's title comes from the text");
        p.apply(
            &TaskEvent::Due {
                phrase: "friday".into(),
                due_at: Some(100),
            },
            10,
            &NoNames,
        );
        p.apply(
            &TaskEvent::FirstResponse {
                after_seconds: 5,
                owner: Some("max".into()),
                owner_id: None,
            },
            15,
            &NoNames,
        );
        p.apply(
            &TaskEvent::Status {
                from: Status::Open,
                to: Status::Done,
                note: None,
            },
            20,
            &NoNames,
        );
        assert_eq!(
            (p.due_at, p.first_response_at, p.owner_id),
            (Some(100), Some(15), Some(7))
        );
        assert_eq!((p.status, p.resolved_at), (Status::Done, Some(20)));
        p.apply(
            &TaskEvent::Status {
                from: Status::Done,
                to: Status::Open,
                note: None,
            },
            30,
            &NoNames,
        );
        assert_eq!(p.resolved_at, None, "reopening clears the resolution");

        let mut row = p.clone();
        row.due_at = Some(200);
        let found = p.differences(&row);
        assert_eq!(
            found,
            vec![Difference {
                field: "due_at",
                table: "200".into(),
                replayed: "100".into()
            }]
        );
    }
}
