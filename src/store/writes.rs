//! Writes held back within a transaction and then made with one multi-row statement per table.
//!
//! Capturing a client message writes a task, its `created` event, the message link and a
//! touchpoint; issued one by one that is four statements per message, and on SQLite each
//! statement costs a hand-off to the connection's worker thread. A batch of events queues those
//! rows here and writes them together, with the messages that start a task's thread (a mail's
//! card), whose outbox ids the task's links need. The owner flushes before anything reads the tables
//! involved (see `service::Turn::db`) and before the commit, so nobody ever sees the database
//! without them.

use super::outbox::ThreadStart;
use super::people::{self, Client, Member, SeenContact, Touchpoint};
use super::surveys::{self, Survey};
use super::tasks::{self, NewEvent, Task, TaskMessage};
use super::{run, Conn};

/// Rows waiting to be written, in the order they were queued.
#[derive(Debug, Default)]
pub struct Writes {
    /// Client contacts seen for the first time, or with a new name or client.
    contacts: Vec<SeenContact>,
    tasks: Vec<Task>,
    events: Vec<NewEvent>,
    links: Vec<TaskMessage>,
    touchpoints: Vec<Touchpoint>,
    /// Notices sent (key, kind, time), their keys known to be new (see `Batch::first_notice`).
    notices: Vec<(String, String, i64)>,
    /// Messages that start a task's thread, linked to it once in the outbox.
    thread_starts: Vec<ThreadStart>,
    /// Task ids handed out: the counter's value in the database, and the last id given.
    ids: Option<(i64, i64)>,
    /// Tasks written by flushes so far (for the metrics; outlives `discard`).
    created: u64,
    /// Tasks whose events the flushes have written, for their cards (outlives `discard`).
    changed: std::collections::BTreeSet<i64>,
    /// Tasks the flushes have written, for the batch's lookups (outlives `discard`).
    written: Vec<Task>,
}

impl Writes {
    /// True when nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
            && self.tasks.is_empty()
            && self.events.is_empty()
            && self.links.is_empty()
            && self.touchpoints.is_empty()
            && self.notices.is_empty()
            && self.thread_starts.is_empty()
            && self.ids.is_none_or(|(stored, last)| stored == last)
    }

    /// The next short task id. The first call in a transaction takes it from the counter (which
    /// also locks the counter row until the commit); later ones count on in memory, and the
    /// flush writes the last one back.
    pub async fn next_task_id(&mut self, conn: &mut Conn) -> anyhow::Result<i64> {
        if let Some(id) = self.next_counted_task_id() {
            return Ok(id);
        }
        let id = tasks::next_task_id(conn).await?;
        self.ids = Some((id, id));
        Ok(id)
    }

    /// The next short task id when this transaction has taken one from the counter already.
    pub fn next_counted_task_id(&mut self) -> Option<i64> {
        let (stored, last) = self.ids?;
        self.ids = Some((stored, last + 1));
        Some(last + 1)
    }

    /// Queues a new task with its `created` event.
    pub fn insert_task(&mut self, task: Task, created: NewEvent) {
        self.tasks.push(task);
        self.events.push(created);
    }

    /// A task queued in this buffer and not yet written.
    pub fn queued_task_mut(&mut self, id: i64) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.id == id)
    }

    /// The newest queued task that matches.
    pub fn newest_queued(&self, matches: impl Fn(&Task) -> bool) -> Option<&Task> {
        self.tasks.iter().rev().find(|t| matches(t))
    }

    pub fn event(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    pub fn task_message(&mut self, link: TaskMessage) {
        self.links.push(link);
    }

    /// Queues recording a client contact (see `people::upsert_contacts`).
    pub fn contact(&mut self, seen: SeenContact) {
        self.contacts.push(seen);
    }

    pub fn touchpoint(&mut self, touch: Touchpoint) {
        self.touchpoints.push(touch);
    }

    /// Queues a message that starts a task's thread; the flush links the task to it.
    pub fn thread_start(&mut self, start: ThreadStart) {
        self.thread_starts.push(start);
    }

    /// Queues a notice whose key is known not to be recorded yet.
    pub fn notice(&mut self, key: &str, kind: &str, at: i64) {
        self.notices.push((key.to_string(), kind.to_string(), at));
    }

    /// True when a notice with this key waits to be written.
    pub fn notice_queued(&self, key: &str) -> bool {
        self.notices.iter().any(|(k, _, _)| k == key)
    }

    /// Takes the queued rows, and the task counter's move, into a buffer of their own to be
    /// flushed elsewhere; this one goes on counting task ids from the last one given.
    pub fn split_off(&mut self) -> Writes {
        let ids = self.ids;
        self.ids = ids.map(|(_, last)| (last, last));
        Writes {
            contacts: std::mem::take(&mut self.contacts),
            tasks: std::mem::take(&mut self.tasks),
            events: std::mem::take(&mut self.events),
            links: std::mem::take(&mut self.links),
            touchpoints: std::mem::take(&mut self.touchpoints),
            notices: std::mem::take(&mut self.notices),
            thread_starts: std::mem::take(&mut self.thread_starts),
            ids,
            ..Writes::default()
        }
    }

    /// Counts what a buffer split off (see [`Writes::split_off`]) has written as written here.
    pub fn absorb(&mut self, flushed: Writes) {
        self.created += flushed.created;
        self.changed.extend(flushed.changed);
        self.written.extend(flushed.written);
    }

    /// Drops everything queued (the transaction or savepoint it belonged to was rolled back).
    pub fn discard(&mut self) {
        *self = Writes {
            created: self.created,
            changed: std::mem::take(&mut self.changed),
            written: std::mem::take(&mut self.written),
            ..Writes::default()
        };
    }

    /// The tasks the flushes have written since the last call, in the order they were queued.
    pub fn take_written(&mut self) -> Vec<Task> {
        std::mem::take(&mut self.written)
    }

    /// The tasks the flushes have written events of since the last call, ascending.
    pub fn take_changed(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }

    /// How many tasks the flushes have written.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Sets the count back to what it was before a savepoint that was rolled back.
    pub fn rewind_created(&mut self, to: u64) {
        self.created = to;
    }

    /// Writes everything queued, one statement per table. Each statement's rows are written out
    /// while the statement before runs (on SQLite in the connection's own thread, on PostgreSQL
    /// at the server), so the writer is not idle meanwhile.
    pub async fn flush(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        let postgres = super::is_postgres(conn);
        let counter = match self.ids {
            Some((stored, last)) if last > stored => {
                Some(sqlx::query("UPDATE counters SET value = $1 WHERE name = 'task' AND value < $1").bind(last))
            }
            _ => None,
        };
        let (_, contacts) = overlapped(run(conn, counter, "moving the task counter on"), || {
            people::upsert_contacts_statement(postgres, &self.contacts)
        })
        .await?;
        let (_, tasks) = overlapped(run(conn, contacts?, "recording contacts"), || {
            tasks::insert_tasks_statement(postgres, &self.tasks)
        })
        .await?;
        let (_, starts) = overlapped(run(conn, tasks?, "inserting tasks"), || {
            super::outbox::thread_starts_statement(postgres, &self.thread_starts)
        })
        .await?;
        let (started, events) = overlapped(
            super::outbox::thread_starts_queued(conn, starts?, &self.thread_starts),
            || tasks::append_events_statement(postgres, &self.events),
        )
        .await?;
        self.links.extend(started);
        let (_, links) = overlapped(run(conn, events?, "appending task events"), || {
            tasks::link_messages_statement(postgres, &self.links)
        })
        .await?;
        let (_, touchpoints) = overlapped(run(conn, links?, "linking messages to tasks"), || {
            people::add_touchpoints_statement(postgres, &self.touchpoints)
        })
        .await?;
        let (_, notices) = overlapped(run(conn, touchpoints?, "logging touchpoints"), || {
            super::jobs::record_notices_statement(postgres, &self.notices)
        })
        .await?;
        let notices = notices?;
        // What was written is let go of while the last statement runs.
        overlapped(run(conn, notices, "recording notices"), || {
            self.changed.extend(self.events.iter().map(|e| e.task_id));
            self.created += self.tasks.len() as u64;
            let tasks = std::mem::take(&mut self.tasks);
            self.written.extend(tasks);
            self.discard();
        })
        .await?;
        Ok(())
    }
}

/// Runs `step` while `next` runs on this thread, `step` polled first so that its statement is on
/// its way before `next` starts; returns both results.
async fn overlapped<T, U>(
    step: impl std::future::Future<Output = anyhow::Result<T>>,
    next: impl FnOnce() -> U,
) -> anyhow::Result<(T, U)> {
    let (ran, built) = tokio::join!(biased; step, async { next() });
    Ok((ran?, built))
}

/// The connection, opened only onto reads a `Writes` never holds rows for (members, clients,
/// surveys, notices of other kinds than a batch's acknowledgements): they need no flush. It offers nothing else, so code holding rows back cannot read
/// tasks, events, message links or touchpoints without flushing them first.
pub struct Unqueued<'c>(&'c mut Conn);

impl<'c> Unqueued<'c> {
    /// The connection of a transaction whose queue is held elsewhere.
    pub fn new(conn: &'c mut Conn) -> Unqueued<'c> {
        Unqueued(conn)
    }

    pub async fn member_by_reference(&mut self, adapter: &str, reference: &str) -> anyhow::Result<Option<Member>> {
        people::member_by_reference(self.0, adapter, reference).await
    }

    pub async fn member_by_id(&mut self, id: i64) -> anyhow::Result<Option<Member>> {
        people::member_by_id(self.0, id).await
    }

    /// The leads and admins, by id (`people::members` is in id order).
    pub async fn leads(&mut self) -> anyhow::Result<Vec<Member>> {
        let members = people::members(self.0).await?;
        Ok(members.into_iter().filter(|m| m.role.is_lead()).collect())
    }

    pub async fn client_by_key(&mut self, key: &str) -> anyhow::Result<Option<Client>> {
        people::client_by_key(self.0, key).await
    }

    /// See `surveys::latest`.
    pub async fn latest_survey(
        &mut self,
        adapter: &str,
        contact: &str,
        kind: &str,
        since: i64,
    ) -> anyhow::Result<Option<Survey>> {
        surveys::latest(self.0, adapter, contact, kind, since).await
    }

    /// See `surveys::latest_for_client`.
    pub async fn latest_client_survey(
        &mut self,
        client_id: i64,
        adapter: &str,
        kind: &str,
        since: i64,
    ) -> anyhow::Result<Option<Survey>> {
        surveys::latest_for_client(self.0, client_id, adapter, kind, since).await
    }

    /// See `surveys::ask`.
    pub async fn ask_survey(
        &mut self,
        kind: &str,
        client_id: i64,
        adapter: &str,
        contact: (&str, &str),
        task_id: Option<i64>,
        at: i64,
    ) -> anyhow::Result<i64> {
        surveys::ask(self.0, kind, client_id, adapter, contact, task_id, at).await
    }

    /// See `jobs::first_notice` (notices are never queued).
    pub async fn first_notice(&mut self, key: &str, kind: &str, now: i64) -> anyhow::Result<bool> {
        super::jobs::first_notice(self.0, key, kind, now).await
    }

    pub async fn survey_by_id(&mut self, id: i64) -> anyhow::Result<Option<Survey>> {
        surveys::by_id(self.0, id).await
    }

    pub async fn survey_by_message(&mut self, adapter: &str, message_id: &str) -> anyhow::Result<Option<Survey>> {
        surveys::by_message(self.0, adapter, message_id).await
    }

    /// See `surveys::answer`.
    pub async fn answer_survey(&mut self, id: i64, at: i64, score: i64) -> anyhow::Result<bool> {
        surveys::answer(self.0, id, at, score).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use keel_chat::Outbound;

    use super::*;
    use crate::domain::event::{Created, TaskEvent};
    use crate::domain::{Priority, Source, Status};
    use crate::store::people::Contact;
    use crate::store::{outbox, Store};

    pub(crate) fn task(id: i64, client_id: i64) -> Task {
        Task {
            id,
            title: format!("Request {id}"),
            client_id: Some(client_id),
            adapter: "email".into(),
            channel: "bob@partner.org".into(),
            channel_name: String::new(),
            thread: None,
            permalink: None,
            requester_id: "bob@partner.org".into(),
            requester_name: "Bob".into(),
            requester_is_client: true,
            owner_id: None,
            status: Status::Open,
            priority: Priority::Normal,
            source: Source::Email,
            sentiment: 0.0,
            frustrated: false,
            created_at: 100,
            due_at: None,
            first_response_at: None,
            resolved_at: None,
            last_activity_at: 100,
            last_client_message_at: Some(100),
            snoozed_until: None,
            escalated_at: None,
        }
    }

    /// A new in-memory database's transaction, holding the client `acme` (its id given).
    pub(crate) async fn with_acme() -> (Store, crate::store::Tx, i64) {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut tx = store.begin().await.unwrap();
        sqlx::query("INSERT INTO clients (key, name, created_at) VALUES ('acme', 'Acme', 0)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let client = count(&mut tx, "SELECT id FROM clients WHERE key = 'acme'").await;
        (store, tx, client)
    }

    async fn count(conn: &mut Conn, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// One flush writes every kind of queued row, each statement's rows made ready while the one
    /// before runs: the thread-starting card's outbox id reaches its task's links, the counter
    /// moves on, and the queue is empty afterwards with the tasks counted and marked changed.
    #[tokio::test]
    async fn a_flush_writes_every_queued_row_in_order() {
        let (_store, mut tx, client) = with_acme().await;
        let mut writes = Writes::default();
        let mut ids = Vec::new();
        for n in 0..2 {
            let id = writes.next_task_id(&mut tx).await.unwrap();
            ids.push(id);
            let created = NewEvent {
                task_id: id,
                at: 100,
                actor: "bob@partner.org".into(),
                event: TaskEvent::Created(Created {
                    text: format!("Request {n}"),
                    ..Created::default()
                }),
            };
            writes.insert_task(task(id, client), created);
            writes.thread_start(ThreadStart {
                adapter: "console".into(),
                kind: outbox::MAIL_CARD,
                channel: "mail".into(),
                outbound: Outbound::Message {
                    conversation: "mail".into(),
                    thread: None,
                    text: format!("card of #{id}"),
                },
                task_id: id,
                at: 100,
            });
            writes.task_message(TaskMessage {
                adapter: "email".into(),
                channel: "bob@partner.org".into(),
                message_id: format!("mail-{n}@partner.org"),
                task_id: id,
            });
        }
        writes.contact(SeenContact {
            adapter: "email".into(),
            contact: Contact {
                platform_id: "bob@partner.org".into(),
                name: "Bob".into(),
                client_id: client,
                tz: None,
            },
            at: 100,
        });
        writes.touchpoint(Touchpoint {
            client_id: client,
            at: 100,
            adapter: "email".into(),
            channel: "bob@partner.org".into(),
            speaker: "Bob".into(),
            from_client: true,
        });
        writes.notice("ack:bob@partner.org", "mail_ack", 100);
        writes.flush(&mut tx).await.unwrap();

        assert!(writes.is_empty());
        assert_eq!(writes.created(), 2);
        assert_eq!(writes.take_changed(), ids);
        assert_eq!(count(&mut tx, "SELECT COUNT(*) FROM tasks").await, 2);
        assert_eq!(count(&mut tx, "SELECT COUNT(*) FROM task_events").await, 2);
        assert_eq!(count(&mut tx, "SELECT COUNT(*) FROM contacts").await, 1);
        assert_eq!(count(&mut tx, "SELECT COUNT(*) FROM touchpoints").await, 1);
        assert_eq!(count(&mut tx, "SELECT COUNT(*) FROM notices").await, 1);
        assert_eq!(
            count(&mut tx, "SELECT value FROM counters WHERE name = 'task'").await,
            ids[1]
        );
        // Each card's outbox row is linked to its own task, as `outbox:<id>`.
        let cards: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.message_id, m.task_id FROM task_messages m WHERE m.message_id LIKE 'outbox:%' ORDER BY m.task_id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        assert_eq!(cards.len(), 2);
        for ((link, task_id), id) in cards.iter().zip(&ids) {
            assert_eq!(task_id, id);
            let outbox_id: i64 = link.trim_start_matches("outbox:").parse().unwrap();
            let body: String = sqlx::query_scalar("SELECT body FROM outbox WHERE id = $1")
                .bind(outbox_id)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert!(body.contains(&format!("card of #{id}")), "{body}");
        }
        assert_eq!(count(&mut tx, "SELECT COUNT(*) FROM task_messages").await, 4);
        tx.commit().await.unwrap();
    }
}
