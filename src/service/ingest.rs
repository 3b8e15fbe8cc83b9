//! The way in. Adapters hand events to one writer that commits several at a time (group
//! commit), so keel stays durable without paying one disk flush per event.
//!
//! Two doors: [`Ingest::submit`] handles an event and returns once it is committed (the console
//! and Matrix, whose platforms wait as long as keel takes); [`Ingest::accept`] only records the
//! event in the inbox and returns, and a background task handles the inbox in order afterwards
//! (Slack, which wants an answer within 3 s and retries what is not answered in time).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use keel_chat::{Inbound, InboundSink};
use tokio::sync::{mpsc, oneshot, Notify};

use super::keel::{Handled, Keel};
use super::moods::{self, Moods};
use crate::store::inbox;
use crate::store::journal::{Journal, Position};

/// The most events one transaction carries.
const MAX_BATCH: usize = 256;
/// How many inbox events the background task handles in one transaction. Small, because on
/// SQLite the inbox's own writes wait for it: acknowledging stays quick while the inbox drains.
const PROCESS_BATCH: i64 = 16;
/// How often an inbox event that fails on its own is tried before keel gives up on it.
const ATTEMPTS: u32 = 5;
/// Acknowledging comes first: while events keep arriving (less than `QUIET` apart), the
/// processor waits for such a gap before each batch, but never longer than `MAX_DEFER`, so a
/// burst is acknowledged at full speed and handled at no less than `PROCESS_BATCH` events per
/// `MAX_DEFER` (160/s; Slack sends a workspace at most 30,000 events an hour, about 8/s).
const QUIET: Duration = Duration::from_millis(5);
const MAX_DEFER: Duration = Duration::from_millis(100);

/// An event, its mood being read (see `moods`), and who waits for it to be committed.
type Job = (
    Inbound,
    Option<oneshot::Receiver<(String, f64)>>,
    oneshot::Sender<anyhow::Result<Handled>>,
);
type Accepted = (Inbound, oneshot::Sender<Result<(), String>>);

/// The inbound queue in front of the core. Cheap to clone; every adapter gets one.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Job>,
    /// Reads each submitted event's mood while the writer is busy with the ones before.
    moods: Moods,
    inbox: mpsc::Sender<Accepted>,
    batches: Arc<AtomicU64>,
    given_up: Arc<AtomicU64>,
    /// Events in this process's inbox journal not yet handled (the table is counted by SQL).
    journal_waiting: Arc<AtomicI64>,
    /// Set by `close`.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Ingest {
    /// Starts the writer, the inbox's recorder and its processor. `committed` is notified after
    /// every commit that may have queued replies, so the outbox dispatcher wakes as soon as there
    /// is something to send. The handle ends once every clone of the `Ingest` is dropped and the
    /// work in hand is committed; events still in the inbox then wait for the next start.
    pub fn start(keel: Keel, committed: Arc<Notify>) -> (Ingest, tokio::task::JoinHandle<()>) {
        // The readers' word lists load while the adapters connect, not on the first message.
        let moods = Moods::start();
        let (queue, jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let (inbox, accepted) = mpsc::channel::<Accepted>(4 * MAX_BATCH);
        let batches = Arc::new(AtomicU64::new(0));
        let given_up = Arc::new(AtomicU64::new(0));
        let journal_waiting = Arc::new(AtomicI64::new(0));
        let arrivals = Arc::new(Arrivals {
            waiting: Notify::new(),
            closed: AtomicBool::new(false),
            started: Instant::now(),
            last_arrival_us: AtomicU64::new(0),
        });
        let waiting_in = Inbox::open(&keel);
        let (closing, closed) = tokio::sync::watch::channel(false);
        let writer = tokio::spawn(write(
            keel.clone(),
            jobs,
            batches.clone(),
            committed.clone(),
            closed.clone(),
        ));
        let recorder = tokio::spawn(record(
            keel.clone(),
            waiting_in.clone(),
            accepted,
            arrivals.clone(),
            journal_waiting.clone(),
            closed,
        ));
        let processor = tokio::spawn(process(
            keel,
            Reader::new(waiting_in, journal_waiting.clone()),
            arrivals,
            committed,
            given_up.clone(),
        ));
        let all = tokio::spawn(async move {
            let _ = writer.await;
            let _ = recorder.await;
            let _ = processor.await;
        });
        let ingest = Ingest {
            queue,
            moods,
            inbox,
            batches,
            given_up,
            journal_waiting,
            closing: Arc::new(closing),
        };
        (ingest, all)
    }

    /// How many transactions the writer has committed (events ÷ batches = the group size).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// How many inbox events keel gave up on (unreadable, or failing every attempt); each one
    /// is logged as an error.
    pub fn given_up(&self) -> u64 {
        self.given_up.load(Ordering::Relaxed)
    }

    /// Stops taking events: what was handed over is still committed (or recorded), later
    /// handovers fail ("keel is shutting down"), and the handle `start` returned ends, even while
    /// adapters still hold clones of this `Ingest`.
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// The count of events recorded in this process's inbox journal and not handled yet (events
    /// in the `inbox` table are counted there), for the metrics to read when scraped.
    pub fn journal_counter(&self) -> Arc<AtomicI64> {
        self.journal_waiting.clone()
    }

    /// Hands one event to the core and waits until it is committed (or found a duplicate).
    pub async fn submit(&self, inbound: Inbound) -> anyhow::Result<Handled> {
        let arrived = Instant::now();
        let (reply, answer) = oneshot::channel();
        let mood = self.moods.ask(&inbound);
        self.queue
            .send((inbound, mood, reply))
            .await
            .map_err(|_| anyhow::anyhow!("keel is shutting down"))?;
        let handled = answer.await.map_err(|_| anyhow::anyhow!("keel is shutting down"))?;
        metrics::histogram!(crate::observe::HANDLE_SECONDS, "path" => "direct").record(arrived.elapsed().as_secs_f64());
        handled
    }

    /// Records one event in the inbox and returns once that is committed; keel handles it
    /// shortly after.
    pub async fn accept(&self, inbound: Inbound) -> anyhow::Result<()> {
        let (reply, answer) = oneshot::channel();
        self.inbox
            .send((inbound, reply))
            .await
            .map_err(|_| anyhow::anyhow!("keel is shutting down"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("keel is shutting down"))?
            .map_err(|e| anyhow::anyhow!(e))
    }
}

/// The next item of a queue; once keel is closing, the queue takes nothing more and ends when
/// what it holds is taken.
async fn next<T>(queue: &mut mpsc::Receiver<T>, closing: &mut tokio::sync::watch::Receiver<bool>) -> Option<T> {
    let closed = *closing.borrow();
    if !closed {
        let woken = tokio::select! {
            item = queue.recv() => Some(item),
            _ = closing.wait_for(|closed| *closed) => None,
        };
        if let Some(item) = woken {
            return item;
        }
    }
    queue.close();
    queue.recv().await
}

/// Takes up to `MAX_BATCH` waiting items after the first.
fn gather<T>(first: T, queue: &mut mpsc::Receiver<T>) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    batch
}

/// The writer: handles submitted events, a batch per transaction.
async fn write(
    keel: Keel,
    mut jobs: mpsc::Receiver<Job>,
    batches: Arc<AtomicU64>,
    committed: Arc<Notify>,
    closing: tokio::sync::watch::Receiver<bool>,
) {
    while let Some(first) = next(&mut jobs, &mut closing.clone()).await {
        let batch = gather(first, &mut jobs);
        batches.fetch_add(1, Ordering::Relaxed);
        let mut events = Vec::with_capacity(batch.len());
        let mut asked = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for (event, mood, reply) in batch {
            events.push(event);
            asked.extend(mood);
            replies.push(reply);
        }
        // A lone event reads its own mood: waiting for the thread would only delay it.
        let moods = match events.len() {
            1 => None,
            _ => Some(moods::gather(asked).await),
        };
        let results = keel.handle_read_batch(&events, moods).await;
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
        committed.notify_one();
    }
}

/// When events arrive, as the recorder tells the processor: new ones recorded, the last one
/// long enough ago to start a batch, no more to come.
struct Arrivals {
    /// Notified when events were recorded, and when the recorder ends.
    waiting: Notify,
    /// The recorder has ended: no more events will come.
    closed: AtomicBool,
    started: Instant,
    /// When events last arrived, in µs since `started`.
    last_arrival_us: AtomicU64,
}

impl Arrivals {
    fn arrived(&self) {
        let now = self.started.elapsed().as_micros() as u64;
        self.last_arrival_us.store(now, Ordering::Relaxed);
    }

    /// How long ago events last arrived.
    fn since_arrival(&self) -> Duration {
        let last = Duration::from_micros(self.last_arrival_us.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Waits for a gap of `QUIET` in the arrivals, at most `MAX_DEFER`.
    async fn quiet(&self) {
        let deadline = Instant::now() + MAX_DEFER;
        loop {
            let since = self.since_arrival();
            if since >= QUIET || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(QUIET - since).await;
        }
    }
}

/// Where accepted events wait to be handled.
#[derive(Clone)]
enum Inbox {
    /// The `inbox` table.
    Table,
    /// The journal next to a SQLite file (and the table, for what another process left there).
    Journal(Arc<Journal>),
}

impl Inbox {
    fn open(keel: &Keel) -> Inbox {
        let Some(dir) = keel.store.journal_dir() else {
            return Inbox::Table;
        };
        match Journal::open(dir) {
            Ok(Some(journal)) => Inbox::Journal(Arc::new(journal)),
            Ok(None) => {
                tracing::warn!(dir = %dir.display(), "another keel process has this database's inbox journal; this one records in the inbox table");
                Inbox::Table
            }
            Err(e) => {
                tracing::error!(dir = %dir.display(), error = %e, "cannot open the inbox journal; recording in the inbox table");
                Inbox::Table
            }
        }
    }
}

/// An inbox event, for counting its attempts: a table row or the journal position after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Row(i64),
    At(Position),
}

/// The recorder: writes accepted events to the inbox, a batch at a time, and wakes the
/// processor.
async fn record(
    keel: Keel,
    inbox: Inbox,
    mut accepted: mpsc::Receiver<Accepted>,
    arrivals: Arc<Arrivals>,
    journal_waiting: Arc<AtomicI64>,
    closing: tokio::sync::watch::Receiver<bool>,
) {
    while let Some(first) = next(&mut accepted, &mut closing.clone()).await {
        arrivals.arrived();
        let batch = gather(first, &mut accepted);
        let (events, replies): (Vec<Inbound>, Vec<_>) = batch.into_iter().unzip();
        let result = put(&keel, &inbox, &events)
            .await
            .map_err(|e| crate::store::one_line(&format!("{e:#}")));
        let result = match result {
            Err(e) => {
                tracing::error!(events = events.len(), error = %e, "keel could not record events in the inbox");
                Err(e)
            }
            Ok(recorded) => {
                if matches!(inbox, Inbox::Journal(_)) {
                    journal_waiting.fetch_add(events.len() as i64, Ordering::Relaxed);
                }
                for (event, new) in events.iter().zip(recorded) {
                    let counter = match new {
                        true => crate::observe::INBOX_RECORDED,
                        // Still waiting in the table: its repeat is dropped on the key.
                        false => crate::observe::DUPLICATES,
                    };
                    metrics::counter!(counter, "adapter" => event.adapter.clone()).increment(1);
                }
                Ok(())
            }
        };
        for reply in replies {
            let _ = reply.send(result.clone());
        }
        arrivals.waiting.notify_one();
    }
    arrivals.closed.store(true, Ordering::Relaxed);
    arrivals.waiting.notify_one();
}

/// Records events in the inbox; tells for each whether it was recorded now (the table drops an
/// event that is waiting there already).
async fn put(keel: &Keel, inbox: &Inbox, events: &[Inbound]) -> anyhow::Result<Vec<bool>> {
    if let Inbox::Journal(journal) = inbox {
        let records = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        // One `write` of a few kilobytes, done in place: handing it to another thread would
        // cost more than it takes.
        journal
            .append(&records)
            .context("recording events in the inbox journal")?;
        return Ok(vec![true; events.len()]);
    }
    let rows = events
        .iter()
        .map(|e| Ok((e.adapter.as_str(), e.event_id.as_str(), serde_json::to_string(e)?)))
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    // One statement, so one transaction of its own (autocommit): no BEGIN and COMMIT round
    // trips on the path every acknowledgement waits for.
    let mut conn = keel.store.writer().acquire().await?;
    let recorded: std::collections::HashSet<(String, String)> =
        inbox::put(&mut conn, &rows, keel.clock.now().timestamp())
            .await?
            .into_iter()
            .collect();
    Ok(events
        .iter()
        .map(|e| recorded.contains(&(e.adapter.clone(), e.event_id.clone())))
        .collect())
}

/// Pauses after inbox rounds that could handle nothing, until one can.
const ROUND_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(100))
    .with_max_delay(ROUND_MAX_PAUSE)
    .without_max_times();
const ROUND_MAX_PAUSE: Duration = Duration::from_secs(30);

/// The processor: handles the inbox oldest first until keel stops, giving way to arrivals (see
/// `QUIET`). A round where nothing could be handled (the database is away) is tried again after
/// a pause that grows to 30 s.
async fn process(
    keel: Keel,
    mut reader: Reader,
    arrivals: Arc<Arrivals>,
    committed: Arc<Notify>,
    given_up: Arc<AtomicU64>,
) {
    if let Inbox::Journal(_) = &reader.inbox {
        // What an earlier run left in the journal.
        if let Some(dir) = keel.store.journal_dir() {
            if let Ok(left) = crate::store::journal::count(dir) {
                reader.journal_waiting.fetch_add(left as i64, Ordering::Relaxed);
            }
        }
    }
    let mut pauses = ROUND_BACKOFF.build();
    loop {
        let closing = arrivals.closed.load(Ordering::Relaxed);
        if !closing {
            arrivals.quiet().await;
        }
        match reader.round(&keel, &given_up).await {
            Ok(0) if closing => return,
            Ok(0) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), arrivals.waiting.notified()).await;
            }
            Ok(_) => {
                committed.notify_one();
                pauses = ROUND_BACKOFF.build();
                if closing {
                    return;
                }
            }
            Err(e) => {
                let pause = pauses.next().unwrap_or(ROUND_MAX_PAUSE);
                tracing::warn!(error = %format!("{e:#}"), retry_in_ms = pause.as_millis() as u64, "keel could not handle the inbox; trying again");
                if closing {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// The processor's place in the inbox.
struct Reader {
    inbox: Inbox,
    /// Where the next journal read starts (`None`: at the journal's start).
    cursor: Option<Position>,
    /// Events that failed, and how often.
    attempts: HashMap<Key, u32>,
    /// The journal's events not handled yet (shared with the recorder and the metrics).
    journal_waiting: Arc<AtomicI64>,
}

impl Reader {
    fn new(inbox: Inbox, journal_waiting: Arc<AtomicI64>) -> Reader {
        Reader {
            inbox,
            cursor: None,
            attempts: HashMap::new(),
            journal_waiting,
        }
    }

    /// Handles the oldest waiting events in one batch; returns how many are done with. The
    /// journal comes first; the table when the journal has nothing.
    async fn round(&mut self, keel: &Keel, given_up: &AtomicU64) -> anyhow::Result<usize> {
        if let Inbox::Journal(journal) = &self.inbox {
            let journal = journal.clone();
            let cursor = match self.cursor {
                Some(cursor) => cursor,
                None => journal.start().context("reading the inbox journal")?,
            };
            let read = journal
                .read(cursor, PROCESS_BATCH as usize)
                .context("reading the inbox journal")?;
            if read.is_empty() {
                self.cursor = Some(journal.release(cursor).context("emptying the inbox journal")?);
            } else {
                let count = read.len();
                let waiting = read.into_iter().map(|(end, event)| (Key::At(end), event)).collect();
                let outcomes = self.handle(keel, waiting, given_up).await;
                // The cursor passes the events done with, up to the first to be tried again.
                let mut next = cursor;
                let mut done = 0;
                for (key, finished) in outcomes {
                    match key {
                        Key::At(end) if finished => {
                            next = end;
                            done += 1;
                        }
                        _ => break,
                    }
                }
                self.attempts.retain(|k, _| !matches!(k, Key::At(at) if *at <= next));
                self.cursor = Some(journal.release(next).context("releasing the inbox journal")?);
                self.journal_waiting.fetch_sub(done as i64, Ordering::Relaxed);
                if done == 0 {
                    anyhow::bail!("none of {count} inbox events could be handled");
                }
                return Ok(done);
            }
        }
        // Read through the writer: on SQLite a reading connection drops its page cache whenever
        // another has written.
        let waiting = {
            let mut conn = keel.store.writer().acquire().await?;
            let now = keel.clock.now().timestamp();
            inbox::claim(&mut conn, keel.store.backend(), now, PROCESS_BATCH).await?
        };
        if waiting.is_empty() {
            return Ok(0);
        }
        let count = waiting.len();
        let waiting = waiting
            .into_iter()
            .map(|item| (Key::Row(item.id), item.event))
            .collect();
        let (mut done, mut again) = (Vec::new(), Vec::new());
        for (key, finished) in self.handle(keel, waiting, given_up).await {
            if let Key::Row(id) = key {
                if finished {
                    done.push(id);
                } else {
                    again.push(id);
                }
            }
        }
        let mut tx = keel.store.begin().await?;
        inbox::remove(&mut tx, &done).await?;
        inbox::release(&mut tx, &again).await?;
        tx.commit().await?;
        if done.is_empty() {
            anyhow::bail!("none of {count} inbox events could be handled");
        }
        Ok(done.len())
    }

    /// Handles waiting events (each with its key and JSON) in one batch; tells for each whether
    /// it is done with: handled, a duplicate, unreadable or failed `ATTEMPTS` times (the last
    /// two logged and counted as given up). The others are to be tried again.
    async fn handle(&mut self, keel: &Keel, waiting: Vec<(Key, String)>, given_up: &AtomicU64) -> Vec<(Key, bool)> {
        let mut outcomes = Vec::with_capacity(waiting.len());
        let mut readable = Vec::new();
        let mut events = Vec::new();
        for (key, json) in waiting {
            match serde_json::from_str::<Inbound>(&json) {
                Ok(event) => {
                    readable.push(outcomes.len());
                    outcomes.push((key, false));
                    events.push(event);
                }
                Err(e) => {
                    tracing::error!(at = ?key, error = %e, "an inbox event keel cannot read; dropping it");
                    given_up.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(crate::observe::INBOX_GIVEN_UP).increment(1);
                    outcomes.push((key, true));
                }
            }
        }
        let taken = Instant::now();
        let results = keel.handle_batch(&events).await;
        let took = taken.elapsed().as_secs_f64();
        for _ in &events {
            metrics::histogram!(crate::observe::HANDLE_SECONDS, "path" => "inbox").record(took);
        }
        for ((slot, event), result) in readable.into_iter().zip(&events).zip(results) {
            let key = outcomes[slot].0;
            match result {
                Ok(_) => {
                    self.attempts.remove(&key);
                    outcomes[slot].1 = true;
                }
                Err(e) => {
                    let tried = self.attempts.entry(key).or_insert(0);
                    *tried += 1;
                    if *tried >= ATTEMPTS {
                        tracing::error!(adapter = %event.adapter, event = %event.event_id, error = %format!("{e:#}"), attempts = ATTEMPTS, "giving up on an inbox event");
                        given_up.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!(crate::observe::INBOX_GIVEN_UP).increment(1);
                        self.attempts.remove(&key);
                        outcomes[slot].1 = true;
                    }
                }
            }
        }
        outcomes
    }
}

#[async_trait]
impl InboundSink for Ingest {
    async fn deliver(&self, inbound: Inbound) -> anyhow::Result<()> {
        self.submit(inbound).await.map(|_| ())
    }

    async fn accept(&self, inbound: Inbound) -> anyhow::Result<()> {
        Ingest::accept(self, inbound).await
    }
}
