//! What one transaction of several events shares: the rows it has queued, and the clients and
//! contacts it has already looked up.
//!
//! The lookups stay valid while only conversation flows through the batch (capture never changes
//! a client, a channel link or a contact except through `contact_saved`); a command may change
//! any of them, so the batch forgets them after every command.

use std::collections::HashMap;

use keel_chat::{Inbound, InboundKind};

use crate::capture;
use crate::domain::{Source, Status};
use crate::store::jobs;
use crate::store::lane::Db;
use crate::store::people::{self, Client, Contact};
use crate::store::tasks::{self, Task};
use crate::store::writes::Writes;
use crate::store::Conn;

type Key = (String, String);

/// The kind of the notice that says a mail's sender was acknowledged within an hour.
pub(super) const ACK_NOTICE: &str = "mail_ack";

/// The notice key of acknowledging mail from `sender` in the hour of `at` (a batch of mails
/// looks them up at once).
pub(super) fn ack_key(sender: &str, at: i64) -> String {
    format!("mail_ack:{sender}:{}", at / 3600)
}

#[derive(Default)]
pub(crate) struct Batch {
    pub writes: Writes,
    channel_clients: HashMap<Key, Option<Client>>,
    contacts: HashMap<Key, Option<Contact>>,
    /// Tasks that client messages may join, per channel, and the span of last-client-message
    /// times they were looked up for.
    groupable: HashMap<Key, Vec<Task>>,
    groupable_span: Option<(i64, i64)>,
    /// Notice keys looked up for this batch, and whether each is recorded (or queued) already.
    notices: HashMap<String, bool>,
    /// The sentiment of the texts the events ask to be read, scored before they are handled.
    sentiments: HashMap<String, f64>,
}

/// What an event asks to be read, for its mood: a message's text, a mail's subject and text.
pub(super) fn text_to_read(event: &Inbound) -> Option<String> {
    match &event.kind {
        InboundKind::Mail(mail) => Some(capture::mail_request(mail.subject.trim(), &mail.text)),
        InboundKind::Message { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// Scores the sentiment of what each event asks to be read, on a thread of its own while the
/// batch's first queries run (for events whose moods were not read as they arrived).
pub(super) fn score(events: &[&Inbound]) -> tokio::task::JoinHandle<HashMap<String, f64>> {
    let texts: Vec<String> = events.iter().filter_map(|e| text_to_read(e)).collect();
    tokio::task::spawn_blocking(move || {
        texts
            .into_iter()
            .map(|text| {
                let score = capture::sentiment(&text);
                (text, score)
            })
            .collect()
    })
}

impl Batch {
    /// Keeps the sentiments [`score`] (or the moods read ahead) found.
    pub fn scored(&mut self, sentiments: HashMap<String, f64>) {
        self.sentiments = sentiments;
    }

    /// The sentiment of a text read for this batch, if it was.
    pub fn sentiment(&self, text: &str) -> Option<f64> {
        self.sentiments.get(text).copied()
    }

    /// Looks up, with one query each, the clients of every channel and every outside speaker of
    /// these events, and the tasks their top-level messages may join (`window` as in grouping).
    pub async fn prefetch(&mut self, conn: &mut Conn, events: &[&Inbound], window: i64) -> anyhow::Result<()> {
        // A mail's client may be its sender's domain's.
        let mut channels: Vec<Key> = events
            .iter()
            .flat_map(|e| {
                let domain = match &e.kind {
                    InboundKind::Mail(_) => keel_chat::mail::domain_of(&e.conversation.id),
                    _ => None,
                };
                std::iter::once(e.conversation.id.as_str())
                    .chain(domain)
                    .map(|c| (e.adapter.clone(), c.to_string()))
            })
            .collect();
        channels.sort();
        channels.dedup();
        let mut speakers: Vec<Key> = events
            .iter()
            .filter(|e| e.speaker.external)
            .map(|e| (e.adapter.clone(), e.speaker.id.clone()))
            .collect();
        speakers.sort();
        speakers.dedup();
        for key in &channels {
            self.channel_clients.insert(key.clone(), None);
        }
        for (key, client) in people::clients_by_channels(conn, &channels).await? {
            self.channel_clients.insert(key, Some(client));
        }
        for key in &speakers {
            self.contacts.insert(key.clone(), None);
        }
        for (adapter, contact) in people::contacts(conn, &speakers).await? {
            self.contacts
                .insert((adapter, contact.platform_id.clone()), Some(contact));
        }
        let acks: Vec<String> = events
            .iter()
            .filter(|e| matches!(e.kind, InboundKind::Mail(_)))
            .map(|e| ack_key(&e.speaker.id, e.at.timestamp()))
            .collect();
        let sent = jobs::notices_sent(conn, &acks).await?;
        for key in acks {
            let recorded = sent.contains(&key);
            self.notices.insert(key, recorded);
        }
        // Mail never groups: a mail joins a task only by its references or its subject.
        let requests: Vec<&&Inbound> = events
            .iter()
            .filter(|e| e.speaker.external && e.thread.is_none() && !matches!(e.kind, InboundKind::Mail(_)))
            .collect();
        if window > 0 && !requests.is_empty() {
            let mut request_channels: Vec<Key> = requests
                .iter()
                .map(|e| (e.adapter.clone(), e.conversation.id.clone()))
                .collect();
            request_channels.sort();
            request_channels.dedup();
            let times = requests.iter().map(|e| e.at.timestamp());
            let span = (
                times.clone().min().unwrap_or_default() - window,
                times.max().unwrap_or_default() + window,
            );
            for key in &request_channels {
                self.groupable.insert(key.clone(), Vec::new());
            }
            for task in tasks::groupable_in(conn, &request_channels, span.0, span.1).await? {
                self.groupable
                    .entry((task.adapter.clone(), task.channel.clone()))
                    .or_default()
                    .push(task);
            }
            self.groupable_span = Some(span);
        }
        Ok(())
    }

    /// The task a client message at `at` in this channel joins: the newest open auto-captured
    /// task whose last client message lies within `window` seconds (either side: platforms may
    /// deliver out of order). Tasks queued in this batch are newer than any stored, so they come
    /// first; a stored task's changes are written at once (`Turn::record`), so the stored rows
    /// are current without a flush, and a task the batch wrote midway joins them (`settle`).
    pub async fn groupable(
        &mut self,
        db: &mut Db<'_>,
        adapter: &str,
        channel: &str,
        at: i64,
        window: i64,
    ) -> anyhow::Result<Option<Task>> {
        self.settle();
        let joinable = |t: &&Task| {
            t.adapter == adapter
                && t.channel == channel
                && t.source == Source::Auto
                && t.status == Status::Open
                && t.last_client_message_at.is_some_and(|last| (last - at).abs() <= window)
        };
        if let Some(queued) = self.writes.newest_queued(|t| joinable(&t)) {
            return Ok(Some(queued.clone()));
        }
        if let Some(stored) = self.prefetched_groupable(adapter, channel, at, window) {
            return Ok(stored.iter().rev().find(joinable).cloned());
        }
        tasks::groupable(db.conn(&mut self.writes).await?, adapter, channel, at, window).await
    }

    /// The stored tasks a client message at `at` in this channel may join (oldest first), when
    /// they were looked up for this batch; `None` means ask the database.
    fn prefetched_groupable(&self, adapter: &str, channel: &str, at: i64, window: i64) -> Option<&[Task]> {
        let (from, to) = self.groupable_span?;
        if at - window < from || at + window > to {
            return None;
        }
        self.groupable
            .get(&(adapter.to_string(), channel.to_string()))
            .map(Vec::as_slice)
    }

    /// Tasks that left the queue because a flush wrote them join the stored ones looked up for
    /// their channel, as its newest.
    fn settle(&mut self) {
        for task in self.writes.take_written() {
            if let Some(stored) = self.groupable.get_mut(&(task.adapter.clone(), task.channel.clone())) {
                stored.push(task);
            }
        }
    }

    /// A stored task changed: the copy looked up for grouping follows.
    pub fn task_updated(&mut self, task: &Task) {
        self.settle();
        if let Some(candidates) = self.groupable.get_mut(&(task.adapter.clone(), task.channel.clone())) {
            for c in candidates.iter_mut().filter(|c| c.id == task.id) {
                *c = task.clone();
            }
        }
    }

    /// The client whose shared channel this is.
    pub async fn channel_client(
        &mut self,
        db: &mut Db<'_>,
        adapter: &str,
        channel: &str,
    ) -> anyhow::Result<Option<Client>> {
        let key = (adapter.to_string(), channel.to_string());
        if let Some(known) = self.channel_clients.get(&key) {
            return Ok(known.clone());
        }
        let found = people::client_by_channel(db.conn(&mut self.writes).await?, adapter, channel).await?;
        self.channel_clients.insert(key, found.clone());
        Ok(found)
    }

    /// The client contact with this platform id.
    pub async fn contact(
        &mut self,
        db: &mut Db<'_>,
        adapter: &str,
        platform_id: &str,
    ) -> anyhow::Result<Option<Contact>> {
        let key = (adapter.to_string(), platform_id.to_string());
        if let Some(known) = self.contacts.get(&key) {
            return Ok(known.clone());
        }
        let found = people::contact(db.conn(&mut self.writes).await?, adapter, platform_id).await?;
        self.contacts.insert(key, found.clone());
        Ok(found)
    }

    /// A contact was just written.
    pub fn contact_saved(&mut self, adapter: &str, contact: &Contact) {
        self.contacts.insert(
            (adapter.to_string(), contact.platform_id.clone()),
            Some(contact.clone()),
        );
    }

    /// Records a notice unless one with this key was: false when one was. A key looked up for
    /// the batch is decided in memory and its row queued with the batch's; any other is written
    /// at once.
    pub async fn first_notice(&mut self, db: &mut Db<'_>, key: &str, kind: &str, now: i64) -> anyhow::Result<bool> {
        match self.notices.get_mut(key) {
            Some(true) => Ok(false),
            Some(recorded) => {
                *recorded = true;
                self.writes.notice(key, kind, now);
                Ok(true)
            }
            None if self.writes.notice_queued(key) => Ok(false),
            None => jobs::first_notice(db.conn(&mut self.writes).await?, key, kind, now).await,
        }
    }

    /// Forgets every lookup: a command may have changed clients, channels, contacts or tasks.
    pub fn forget(&mut self) {
        self.notices.clear();
        self.channel_clients.clear();
        self.contacts.clear();
        self.groupable.clear();
        self.groupable_span = None;
        self.writes.take_written();
    }
}
