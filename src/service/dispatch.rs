//! The way out: delivers outbox rows through their adapters, in order per conversation,
//! retrying with backoff and honouring the platform's `Retry-After`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use keel_chat::{Adapter, Outbound, SendError};
use sqlx::Connection;
use tokio::sync::{Notify, Semaphore};

use crate::background::Background;
use crate::clock::{Clock, SystemClock};
use crate::observe;
use crate::store::{outbox, Store};

/// How many times a platform may answer a message with a failure that may pass (a 5xx) before
/// the message is given up (a dead letter). Tries that found the platform away, or were asked to
/// wait, do not count: while a platform is away its messages wait however long it lasts.
pub const MAX_REFUSALS: i64 = 12;
/// The longest wait between two tries of a message, unless configured (`outbox.backoff_max_seconds`).
pub const BACKOFF_CAP: i64 = 256;
/// Rows claimed per round.
const ROUND: i64 = 100;

/// Sends what the core queued.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    adapters: HashMap<String, Arc<dyn Adapter>>,
    // Delivery timing is operational, so it runs on the real clock even when `--now` is set.
    clock: Arc<dyn Clock>,
    /// The longest wait between two tries, in seconds.
    backoff_cap: i64,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl std::ops::AddAssign for Round {
    fn add_assign(&mut self, other: Round) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
    }
}

/// Claimed rows split by conversation, each conversation's in order, the conversations in the
/// order of their first row; with one conversation at a time, all of them in one run, in the
/// order they were queued.
fn by_target(claimed: Vec<outbox::Pending>, parallel: usize) -> Vec<Vec<outbox::Pending>> {
    if parallel <= 1 {
        return vec![claimed];
    }
    let mut groups: Vec<Vec<outbox::Pending>> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for pending in claimed {
        match at.get(&pending.target) {
            Some(&i) => groups[i].push(pending),
            None => {
                at.insert(pending.target.clone(), groups.len());
                groups.push(vec![pending]);
            }
        }
    }
    groups
}

impl Dispatcher {
    pub fn new(store: Store, adapters: Vec<Arc<dyn Adapter>>) -> Dispatcher {
        let adapters = adapters.into_iter().map(|a| (a.name().to_string(), a)).collect();
        Dispatcher {
            store,
            adapters,
            clock: Arc::new(SystemClock),
            backoff_cap: BACKOFF_CAP,
        }
    }

    /// Waits at most `seconds` between two tries of a message (at least 1).
    pub fn with_backoff_cap(mut self, seconds: i64) -> Dispatcher {
        self.backoff_cap = seconds.max(1);
        self
    }

    /// Delivers every due message of every adapter once; a conversation whose message failed
    /// waits, so its later messages do not overtake it.
    pub async fn round(&self) -> anyhow::Result<Round> {
        let mut total = Round::default();
        for (name, adapter) in &self.adapters {
            total += self.round_for(name, adapter).await?;
        }
        Ok(total)
    }

    /// Delivers every due message of one adapter once, several conversations at a time.
    async fn round_for(&self, name: &str, adapter: &Arc<dyn Adapter>) -> anyhow::Result<Round> {
        let mut total = Round::default();
        let (_, stop) = tokio::sync::watch::channel(false);
        loop {
            let claimed = self.claim(name).await?;
            if claimed.is_empty() {
                break;
            }
            let full = claimed.len() as i64 == ROUND;
            let parallel = adapter.parallel().max(1);
            let permits = Arc::new(Semaphore::new(parallel));
            let mut workers = tokio::task::JoinSet::new();
            self.hand_out(&mut workers, name, adapter, claimed, &permits, &stop)
                .await?;
            let mut progressed = false;
            while let Some(done) = workers.join_next().await {
                let done = done??;
                progressed |= done.sent > 0;
                total += done;
            }
            if !full || !progressed {
                break;
            }
        }
        Ok(total)
    }

    /// Starts a worker per conversation of the claimed rows (all of them in one when the adapter
    /// takes one at a time). Permits are taken in order (the semaphore is fair), so with one
    /// permit conversations go out one after the other, in the order of their first message.
    async fn hand_out(
        &self,
        workers: &mut tokio::task::JoinSet<anyhow::Result<Round>>,
        name: &str,
        adapter: &Arc<dyn Adapter>,
        claimed: Vec<outbox::Pending>,
        permits: &Arc<Semaphore>,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        for rows in by_target(claimed, adapter.parallel().max(1)) {
            let permit = permits.clone().acquire_owned().await?;
            let (me, name, adapter, stop) = (self.clone(), name.to_string(), adapter.clone(), stop.clone());
            workers.spawn(async move { me.deliver(&name, &adapter, rows, permit, &stop).await });
        }
        Ok(())
    }

    /// Claims up to a round of one adapter's due messages.
    async fn claim(&self, name: &str) -> anyhow::Result<Vec<outbox::Pending>> {
        let now = self.clock.now().timestamp();
        let mut conn = self.store.writer().acquire().await?;
        outbox::claim(&mut conn, self.store.backend(), name, now, ROUND).await
    }

    /// Sends claimed messages in order (one conversation's, or all of a round's when the adapter
    /// takes one at a time). After a failure (or when keel is stopping) the rest of that
    /// conversation's are given back, so they neither overtake it nor wait for their claim to
    /// expire. Claims are renewed while this works through them.
    async fn deliver(
        &self,
        name: &str,
        adapter: &Arc<dyn Adapter>,
        rows: Vec<outbox::Pending>,
        _permit: tokio::sync::OwnedSemaphorePermit,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Round> {
        let mut total = Round::default();
        let _keeper = keep_claims(
            self.store.clone(),
            self.clock.clone(),
            rows.iter().map(|p| p.id).collect(),
        );
        let mut blocked: HashSet<String> = HashSet::new();
        for pending in rows {
            if blocked.contains(&pending.target) || *stop.borrow() {
                let mut conn = self.store.writer().acquire().await?;
                outbox::release(&mut conn, pending.id).await?;
                continue;
            }
            let Some(outbound) = self.resolve_thread(pending.outbound).await? else {
                // An update of a card that never got out: nothing to edit.
                let mut conn = self.store.writer().acquire().await?;
                outbox::mark_sent(&mut conn, pending.id, self.clock.now().timestamp(), None).await?;
                continue;
            };
            let key = format!("keel-{}", pending.id);
            // No connection is held while the platform answers: the writer needs it.
            let found = match pending.uncertain {
                true => adapter.find_sent(&key, &outbound).await,
                false => None,
            };
            let recovered = found.is_some();
            let sent = match found {
                Some(sent) => Ok(sent),
                None => adapter.send_keyed(&key, &outbound).await,
            };
            let now = self.clock.now().timestamp();
            let mut conn = self.store.writer().acquire().await?;
            match sent {
                Ok(sent) => {
                    let mut tx = conn.begin().await?;
                    outbox::mark_sent(&mut tx, pending.id, now, sent.message_id.as_deref()).await?;
                    if let (Some(survey), Some(message_id)) = (survey_of(&outbound), &sent.message_id) {
                        // A reaction on the posted question answers it.
                        crate::store::surveys::posted(&mut tx, survey, message_id).await?;
                    }
                    if let (Outbound::Card { conversation, card, .. }, Some(message_id)) = (&outbound, &sent.message_id)
                    {
                        // Reactions on the card, and replies in its thread, are about its task.
                        let link = crate::store::tasks::TaskMessage {
                            adapter: name.to_string(),
                            channel: conversation.clone(),
                            message_id: message_id.clone(),
                            task_id: card.task,
                        };
                        crate::store::tasks::link_messages(&mut tx, &[link]).await?;
                    }
                    if let (outbox::MAIL_CARD, Some(message_id)) = (pending.kind.as_str(), &sent.message_id) {
                        // Replies in the card's thread are about its task.
                        crate::store::tasks::link_sent(&mut tx, name, pending.id, message_id).await?;
                    }
                    tx.commit().await?;
                    let counter = if recovered { observe::RECOVERED } else { observe::SENT };
                    metrics::counter!(counter, "adapter" => name.to_string()).increment(1);
                    total.sent += 1;
                }
                Err(e) => {
                    blocked.insert(pending.target.clone());
                    self.failed(&mut conn, name, (pending.id, pending.attempts, pending.refusals), &e)
                        .await?;
                    match e {
                        SendError::Rejected(_) => total.failed += 1,
                        SendError::Transient(_) if pending.refusals + 1 >= MAX_REFUSALS => total.failed += 1,
                        _ => total.retried += 1,
                    }
                }
            }
        }
        Ok(total)
    }

    /// Records a try that did not go through: a dead letter when the platform refused it for good
    /// or refused it too often, else another try after a wait (the one asked for, or the backoff).
    /// `tries` is the row's id, attempts and refusals.
    async fn failed(
        &self,
        conn: &mut crate::store::Conn,
        name: &str,
        (id, attempts, refusals): (i64, i64, i64),
        e: &SendError,
    ) -> anyhow::Result<()> {
        let now = self.clock.now().timestamp();
        let refused = matches!(e, SendError::Transient(_));
        if matches!(e, SendError::Rejected(_)) || (refused && refusals + 1 >= MAX_REFUSALS) {
            tracing::error!(adapter = %name, outbox_id = id, error = %e, "message given up: see keel outbox list --failed");
            outbox::mark_failed(conn, id, now, &e.to_string()).await?;
            metrics::counter!(observe::FAILURES, "adapter" => name.to_string()).increment(1);
            return Ok(());
        }
        let wait = match e {
            SendError::RetryAfter(d) => d.as_secs_f64().ceil() as i64,
            _ => backoff(attempts, self.backoff_cap),
        };
        tracing::warn!(adapter = %name, outbox_id = id, error = %e, retry_in_s = wait, "message will be retried");
        // Rows hold whole seconds: round up, or a 2 s wait could last 1.1 s.
        let retry_at = ceil_seconds(self.clock.now() + chrono::Duration::seconds(wait.max(1)));
        outbox::mark_retry(conn, id, retry_at, &e.to_string(), refused).await?;
        metrics::counter!(observe::RETRIES, "adapter" => name.to_string()).increment(1);
        Ok(())
    }

    /// A message threaded under one of keel's own (`outbox:<id>`) gets that message's platform id
    /// as its thread; without one (the platform gave none) it goes out unthreaded. A card's
    /// update gets its card's platform id, and is nothing to send when the card has none (it
    /// was given up, or its platform gives no ids).
    async fn resolve_thread(&self, outbound: Outbound) -> anyhow::Result<Option<Outbound>> {
        Ok(Some(match outbound {
            Outbound::Message {
                conversation,
                thread: Some(thread),
                text,
            } if thread.starts_with("outbox:") => Outbound::Message {
                conversation,
                thread: self.sent_id(&thread).await?,
                text,
            },
            Outbound::Card {
                conversation,
                thread: Some(thread),
                card,
            } if thread.starts_with("outbox:") => Outbound::Card {
                conversation,
                thread: self.sent_id(&thread).await?,
                card,
            },
            Outbound::CardUpdate {
                conversation,
                message_id,
                card,
            } if message_id.starts_with("outbox:") => match self.sent_id(&message_id).await? {
                Some(message_id) => Outbound::CardUpdate {
                    conversation,
                    message_id,
                    card,
                },
                None => return Ok(None),
            },
            other => other,
        }))
    }

    /// The platform id of keel's own message `outbox:<id>`, once it is out.
    async fn sent_id(&self, reference: &str) -> anyhow::Result<Option<String>> {
        match reference.trim_start_matches("outbox:").parse::<i64>() {
            Ok(id) => outbox::sent_id(&mut *self.store.pool().acquire().await?, id).await,
            Err(_) => Ok(None),
        }
    }

    /// Delivers until stopped: after every commit (`wake`), whenever a conversation's messages
    /// are through, and at least every second (retries, other replicas' rows). Each adapter has
    /// its own loop, so a platform that is slow or away holds up only its own messages, and
    /// within it up to [`Adapter::parallel`] conversations are served at once, so one that is paced (a
    /// burst of notices to one person, Slack's one post a second into a channel) holds up only
    /// itself: its later messages are not claimed while earlier ones are out for delivery. When
    /// an adapter's link comes back, its waiting messages are due at once instead of after their
    /// backoff. On stop, each conversation finishes the message it is sending and gives the rest
    /// back.
    pub async fn run(self, wake: Arc<Notify>, stop: tokio::sync::watch::Receiver<bool>) {
        let (nudge, _) = tokio::sync::broadcast::channel::<()>(16);
        let mut loops = Vec::new();
        for (name, adapter) in self.adapters.clone() {
            let (me, mut stop, mut nudged) = (self.clone(), stop.clone(), nudge.subscribe());
            loops.push(tokio::spawn(async move {
                let parallel = adapter.parallel().max(1);
                let permits = Arc::new(Semaphore::new(parallel));
                let mut workers = tokio::task::JoinSet::new();
                let mut was_up = true;
                loop {
                    let up = adapter.connection().is_none_or(|c| c.is_up());
                    if up && !was_up {
                        if let Err(e) = me.back_up(&name).await {
                            tracing::warn!(adapter = %name, error = %format!("{e:#}"), "cannot make waiting messages due");
                        }
                    }
                    was_up = up;
                    // Claim more only while fewer conversations than can be served are in hand.
                    while workers.len() < parallel {
                        let claimed = match me.claim(&name).await {
                            Ok(claimed) => claimed,
                            Err(e) => {
                                tracing::warn!(adapter = %name, error = %format!("{e:#}"), "outbox round failed; will retry");
                                break;
                            }
                        };
                        let full = claimed.len() as i64 == ROUND;
                        if me.hand_out(&mut workers, &name, &adapter, claimed, &permits, &stop).await.is_err() {
                            break;
                        }
                        if !full {
                            break;
                        }
                    }
                    tokio::select! {
                        _ = nudged.recv() => {}
                        Some(done) = workers.join_next(), if !workers.is_empty() => {
                            if let Ok(Err(e)) = done {
                                tracing::warn!(adapter = %name, error = %format!("{e:#}"), "outbox round failed; will retry");
                            }
                        }
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => break,
                    }
                }
                while workers.join_next().await.is_some() {}
            }));
        }
        let mut stop = stop;
        loop {
            tokio::select! {
                _ = wake.notified() => { let _ = nudge.send(()); }
                _ = stop.changed() => break,
            }
        }
        for handle in loops {
            let _ = handle.await;
        }
    }

    /// An adapter's platform is reachable again: its waiting messages are due now.
    async fn back_up(&self, name: &str) -> anyhow::Result<()> {
        let now = self.clock.now().timestamp();
        let mut conn = self.store.writer().acquire().await?;
        let due = outbox::due_now(&mut conn, name, now).await?;
        if due > 0 {
            tracing::info!(adapter = %name, messages = due, "platform reachable again; sending what waited");
        }
        Ok(())
    }
}

/// Renews a round's claims every third of their length until dropped, so rows this
/// dispatcher is still working through (a slow platform, a channel paced to one post a second)
/// are never taken over by another replica.
fn keep_claims(store: Store, clock: Arc<dyn Clock>, ids: Vec<i64>) -> Background {
    Background::spawn(async move {
        let every = Duration::from_secs((outbox::CLAIM_SECONDS / 3) as u64);
        loop {
            tokio::time::sleep(every).await;
            let until = clock.now().timestamp() + outbox::CLAIM_SECONDS;
            let renewed = async {
                let mut conn = store.writer().acquire().await?;
                outbox::extend(&mut conn, &ids, until).await
            };
            if let Err(e) = renewed.await {
                tracing::warn!(error = %format!("{e:#}"), "cannot renew the outbox claims");
            }
        }
    })
}

/// The first whole second at or after `at`.
fn ceil_seconds(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

/// Seconds before attempt `attempts + 1`: 1, 2, 4 … up to `cap`. The tries are counted in the
/// outbox row, so the wait is the n-th of the sequence rather than a loop's next.
pub fn backoff(attempts: i64, cap: i64) -> i64 {
    (1_i64 << attempts.clamp(0, 40)).min(cap.max(1))
}

/// The survey a posted question asks (its choices' values are `<survey id>:<score>`).
fn survey_of(outbound: &Outbound) -> Option<i64> {
    match outbound {
        Outbound::Question { action, choices, .. } if action == "survey" => choices
            .first()
            .and_then(|c| c.value.split_once(':'))
            .and_then(|(id, _)| id.parse().ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(0, 256), 1);
        assert_eq!(super::backoff(3, 256), 8);
        assert_eq!(super::backoff(50, 256), 256);
        assert_eq!(super::backoff(50, 3600), 3600);
        assert_eq!(super::backoff(5, 2), 2);
        assert_eq!(super::backoff(0, 0), 1);
    }
}
