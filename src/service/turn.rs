//! One inbound event being handled: its transaction, who is speaking, and the replies it
//! queues.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use keel_chat::{Inbound, Outbound};

use super::batch::Batch;
use super::context::Ctx;
use super::keel::Keel;
use super::outcome::{Fail, Outcome};
use crate::capture::{self, Understood};
use crate::domain::due::{parse_due, DueContext};
use crate::domain::event::TaskEvent;
use crate::domain::parse_tz;
use crate::store::lane::Db;
use crate::store::outbox::Queued;
use crate::store::people::{Client, Member};
use crate::store::tasks::{self, NewEvent};
use crate::store::writes::{Unqueued, Writes};
use crate::store::Conn;

/// Who is speaking, as keel knows them.
#[derive(Debug, Clone)]
pub(crate) enum Who {
    Team(Member),
    Client {
        name: String,
        client: Option<Client>,
        tz: Option<String>,
    },
}

impl Who {
    pub fn name(&self) -> &str {
        match self {
            Who::Team(m) => &m.name,
            Who::Client { name, .. } => name,
        }
    }

    pub fn member(&self) -> Option<&Member> {
        match self {
            Who::Team(m) => Some(m),
            Who::Client { .. } => None,
        }
    }
}

/// One event being handled: the transaction, the event, and what it has produced so far.
pub(crate) struct Turn<'a> {
    db: Db<'a>,
    pub(super) batch: &'a mut Batch,
    pub keel: &'a Keel,
    pub inbound: &'a Inbound,
    pub who: Who,
    /// The channel's client, when the channel is shared with one.
    pub channel_client: Option<Client>,
    pub out: Vec<Queued>,
}

impl<'a> Turn<'a> {
    pub fn new(
        db: Db<'a>,
        batch: &'a mut Batch,
        keel: &'a Keel,
        inbound: &'a Inbound,
        who: Who,
        channel_client: Option<Client>,
    ) -> Turn<'a> {
        Turn {
            db,
            batch,
            keel,
            inbound,
            who,
            channel_client,
            out: Vec::new(),
        }
    }

    /// The database, with every queued row written first: any read sees what this
    /// transaction has done so far.
    pub async fn db(&mut self) -> anyhow::Result<&mut Conn> {
        let conn = self.db.conn(&mut self.batch.writes).await?;
        self.batch.writes.flush(conn).await?;
        Ok(conn)
    }

    /// The transaction, the core and the replies, for code shared with scheduled jobs (queued
    /// rows are written first).
    pub async fn ctx(&mut self) -> anyhow::Result<Ctx<'_>> {
        let conn = self.db.conn(&mut self.batch.writes).await?;
        self.batch.writes.flush(conn).await?;
        Ok(Ctx::new(conn, self.keel, self.inbound.at, &mut self.out))
    }

    /// Records a notice unless one with this key was (see `Batch::first_notice`).
    pub async fn first_notice(&mut self, key: &str, kind: &str, now: i64) -> anyhow::Result<bool> {
        self.batch.first_notice(&mut self.db, key, kind, now).await
    }

    /// Members, clients and surveys: tables the queue never holds, read without a flush.
    pub async fn unqueued(&mut self) -> anyhow::Result<Unqueued<'_>> {
        Ok(Unqueued::new(self.db.conn(&mut self.batch.writes).await?))
    }

    /// The task a client message at `at` joins in this conversation (see `Batch::groupable`).
    pub async fn groupable(&mut self, at: i64, window: i64) -> anyhow::Result<Option<tasks::Task>> {
        let inbound = self.inbound;
        self.batch
            .groupable(&mut self.db, &inbound.adapter, &inbound.conversation.id, at, window)
            .await
    }

    /// Rows to write before the next read or the commit.
    pub fn writes(&mut self) -> &mut Writes {
        &mut self.batch.writes
    }

    /// The next short task id.
    pub async fn next_task_id(&mut self) -> anyhow::Result<i64> {
        if let Some(id) = self.batch.writes.next_counted_task_id() {
            return Ok(id);
        }
        let conn = self.db.conn(&mut self.batch.writes).await?;
        self.batch.writes.next_task_id(conn).await
    }

    /// The speaker's time zone: their own setting, the platform's, or the team's.
    pub fn speaker_tz(&self) -> Tz {
        let own = match &self.who {
            Who::Team(m) => m.tz.clone(),
            Who::Client { tz, .. } => tz.clone(),
        };
        own.or_else(|| self.inbound.speaker.tz.clone())
            .and_then(|tz| parse_tz(&tz).ok())
            .unwrap_or(self.keel.settings.team_tz)
    }

    /// What the speaker's text asks, read in their zone and hours (its sentiment scored with the
    /// batch's when it was).
    pub fn understand(&self, text: &str) -> Understood {
        let ctx = self.due_context();
        match self.batch.sentiment(text) {
            Some(score) => capture::understand_scored(text, &ctx, score),
            None => capture::understand(text, &ctx),
        }
    }

    /// The context for reading dates the speaker wrote.
    pub fn due_context(&self) -> DueContext {
        let hours = match &self.who {
            Who::Team(m) => m.hours,
            Who::Client { .. } => self.keel.settings.team_hours,
        };
        DueContext {
            now: self.at(),
            tz: self.speaker_tz(),
            day_start: hours.start,
            day_end: hours.end,
        }
    }

    /// A date the speaker wrote, in their zone and hours; a phrase keel cannot read is the
    /// speaker's mistake, answered in one line.
    pub fn read_date(&self, text: &str) -> Outcome<DateTime<Utc>> {
        parse_due(text, &self.due_context()).map_err(|e| Fail::User(e.to_string()))
    }

    /// When the event happened.
    pub fn at(&self) -> DateTime<Utc> {
        self.inbound.at
    }

    /// Answers in the conversation, threaded under the event.
    pub fn reply(&mut self, text: impl Into<String>) {
        self.reply_in(reply_thread(self.inbound), text);
    }

    /// Answers in the conversation, in the given thread.
    pub fn reply_in(&mut self, thread: Option<String>, text: impl Into<String>) {
        let outbound = Outbound::Message {
            conversation: self.inbound.conversation.id.clone(),
            thread,
            text: text.into(),
        };
        self.send("reply", &self.inbound.adapter.clone(), outbound);
    }

    /// A task's card in this conversation, in `thread` when set.
    pub fn card_in(&mut self, thread: Option<String>, card: keel_chat::Card) {
        let outbound = Outbound::Card {
            conversation: self.inbound.conversation.id.clone(),
            thread,
            card: Box::new(card),
        };
        self.send("card", &self.inbound.adapter.clone(), outbound);
    }

    /// A private message to a team member, on their own adapter.
    pub fn direct(&mut self, member: &Member, text: impl Into<String>) {
        let outbound = Outbound::Direct {
            user: member.platform_id.clone(),
            text: text.into(),
        };
        self.send("reply", &member.adapter, outbound);
    }

    /// Queues a message of a given kind (`reply`, `standup_prompt`, …) on an adapter.
    pub fn send(&mut self, kind: &str, adapter: &str, outbound: Outbound) {
        self.out.push(Queued {
            adapter: adapter.to_string(),
            kind: kind.to_string(),
            outbound,
        });
    }

    /// Writes a task's new state with the event that caused it.
    pub async fn record(&mut self, task: &tasks::Task, event: TaskEvent) -> Outcome {
        self.record_all(task, vec![event]).await
    }

    /// Writes a task's new state once, with the events that caused it, in order.
    pub async fn record_all(&mut self, task: &tasks::Task, events: Vec<TaskEvent>) -> Outcome {
        match self.batch.writes.queued_task_mut(task.id) {
            Some(queued) => *queued = task.clone(),
            None => {
                tasks::update(self.db().await?, task).await?;
                self.batch.task_updated(task);
            }
        }
        let at = self.at().timestamp();
        for event in events {
            let event = NewEvent::new(task.id, at, self.who.name(), event);
            self.batch.writes.event(event);
        }
        Ok(())
    }
}

/// The message an event is about: its thread's root, else the message it replies to (a task's
/// message when the event is about that task).
pub(crate) fn about_message(inbound: &Inbound) -> Option<&str> {
    inbound.thread.as_deref().or(inbound.reply_to.as_deref())
}

/// Where replies to an event go: its thread, or a new thread under it, in channels.
pub(crate) fn reply_thread(inbound: &Inbound) -> Option<String> {
    if inbound.conversation.direct {
        inbound.thread.clone()
    } else {
        Some(inbound.thread.clone().unwrap_or_else(|| inbound.message_id.clone()))
    }
}
