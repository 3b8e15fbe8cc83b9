//! The way in. Adapters hand events to one writer that commits several at a time (group
//! commit), so keel stays durable without paying one disk flush per event.
//!
//! Two doors: [`Ingest::submit`] handles an event and returns once it is committed (the console
//! and Matrix, whose platforms wait as long as keel takes); [`Ingest::accept`] only records the
//! event in the inbox and returns, and a background task handles the inbox in order afterwards
//! (Slack, which wants an answer within 3 s and retries what is not answered in time).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keel_chat::{Inbound, InboundSink};
use tokio::sync::{mpsc, oneshot, Notify};

use super::{Handled, Keel};
use crate::store::inbox;

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

type Job = (Inbound, oneshot::Sender<anyhow::Result<Handled>>);
type Accepted = (Inbound, oneshot::Sender<Result<(), String>>);

/// The inbound queue in front of the core. Cheap to clone; every adapter gets one.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Job>,
    inbox: mpsc::Sender<Accepted>,
    batches: Arc<AtomicU64>,
    given_up: Arc<AtomicU64>,
}

impl Ingest {
    /// Starts the writer, the inbox's recorder and its processor. `committed` is notified after
    /// every commit that may have queued replies, so the outbox dispatcher wakes as soon as there
    /// is something to send. The handle ends once every clone of the `Ingest` is dropped and the
    /// work in hand is committed; events still in the inbox then wait for the next start.
    pub fn start(keel: Keel, committed: Arc<Notify>) -> (Ingest, tokio::task::JoinHandle<()>) {
        let (queue, jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let (inbox, accepted) = mpsc::channel::<Accepted>(4 * MAX_BATCH);
        let batches = Arc::new(AtomicU64::new(0));
        let given_up = Arc::new(AtomicU64::new(0));
        let door = Arc::new(Door {
            waiting: Notify::new(),
            closed: AtomicBool::new(false),
            started: Instant::now(),
            last_arrival_us: AtomicU64::new(0),
        });
        let writer = tokio::spawn(write(keel.clone(), jobs, batches.clone(), committed.clone()));
        let recorder = tokio::spawn(record(keel.clone(), accepted, door.clone()));
        let processor = tokio::spawn(process(keel, door, committed, given_up.clone()));
        let all = tokio::spawn(async move {
            let _ = writer.await;
            let _ = recorder.await;
            let _ = processor.await;
        });
        let ingest = Ingest {
            queue,
            inbox,
            batches,
            given_up,
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

    /// Hands one event to the core and waits until it is committed (or found a duplicate).
    pub async fn submit(&self, inbound: Inbound) -> anyhow::Result<Handled> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((inbound, reply))
            .await
            .map_err(|_| anyhow::anyhow!("keel is shutting down"))?;
        answer.await.map_err(|_| anyhow::anyhow!("keel is shutting down"))?
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
async fn write(keel: Keel, mut jobs: mpsc::Receiver<Job>, batches: Arc<AtomicU64>, committed: Arc<Notify>) {
    while let Some(first) = jobs.recv().await {
        let batch = gather(first, &mut jobs);
        batches.fetch_add(1, Ordering::Relaxed);
        let (events, replies): (Vec<Inbound>, Vec<_>) = batch.into_iter().unzip();
        let results = keel.handle_batch(&events).await;
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
        committed.notify_one();
    }
}

/// What the recorder tells the processor.
struct Door {
    /// Notified when events were recorded, and when the recorder ends.
    waiting: Notify,
    /// The recorder has ended: no more events will come.
    closed: AtomicBool,
    started: Instant,
    /// When events last arrived, in µs since `started`.
    last_arrival_us: AtomicU64,
}

impl Door {
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

/// The recorder: writes accepted events to the inbox, a batch per transaction, and wakes the
/// processor.
async fn record(keel: Keel, mut accepted: mpsc::Receiver<Accepted>, door: Arc<Door>) {
    while let Some(first) = accepted.recv().await {
        door.arrived();
        let batch = gather(first, &mut accepted);
        let (events, replies): (Vec<Inbound>, Vec<_>) = batch.into_iter().unzip();
        let result = put(&keel, &events)
            .await
            .map_err(|e| crate::store::one_line(&format!("{e:#}")));
        if let Err(e) = &result {
            tracing::error!(events = events.len(), error = %e, "keel could not record events in the inbox");
        }
        for reply in replies {
            let _ = reply.send(result.clone());
        }
        door.waiting.notify_one();
    }
    door.closed.store(true, Ordering::Relaxed);
    door.waiting.notify_one();
}

async fn put(keel: &Keel, events: &[Inbound]) -> anyhow::Result<()> {
    let rows = events
        .iter()
        .map(|e| Ok((e.adapter.as_str(), e.event_id.as_str(), serde_json::to_string(e)?)))
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    let mut tx = keel.store.begin().await?;
    inbox::put(&mut tx, &rows, keel.clock.now().timestamp()).await?;
    tx.commit().await?;
    Ok(())
}

/// The processor: handles the inbox oldest first until keel stops, giving way to arrivals (see
/// `QUIET`). A round where nothing could be handled (the database is away) is tried again after
/// a pause that grows to 30 s.
async fn process(keel: Keel, door: Arc<Door>, committed: Arc<Notify>, given_up: Arc<AtomicU64>) {
    let mut attempts = HashMap::new();
    let mut pause = Duration::from_millis(100);
    loop {
        let closing = door.closed.load(Ordering::Relaxed);
        if !closing {
            door.quiet().await;
        }
        match round(&keel, &mut attempts, &given_up).await {
            Ok(0) if closing => return,
            Ok(0) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), door.waiting.notified()).await;
            }
            Ok(_) => {
                committed.notify_one();
                pause = Duration::from_millis(100);
                if closing {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), retry_in_ms = pause.as_millis() as u64, "keel could not handle the inbox; trying again");
                if closing {
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Handles the oldest inbox events in one batch and removes those that are done with; returns
/// how many were.
async fn round(keel: &Keel, attempts: &mut HashMap<i64, u32>, given_up: &AtomicU64) -> anyhow::Result<usize> {
    // Read through the writer: on SQLite a reading connection drops its page cache whenever
    // another has written, and the inbox is written all the time.
    let waiting = {
        let mut conn = keel.store.writer().acquire().await?;
        inbox::oldest(&mut conn, PROCESS_BATCH).await?
    };
    if waiting.is_empty() {
        return Ok(0);
    }
    let mut done = Vec::new();
    let mut ids = Vec::new();
    let mut events = Vec::new();
    for item in waiting {
        match serde_json::from_str::<Inbound>(&item.event) {
            Ok(event) => {
                ids.push(item.id);
                events.push(event);
            }
            Err(e) => {
                tracing::error!(adapter = %item.adapter, event = %item.event_id, error = %e, "an inbox event keel cannot read; dropping it");
                given_up.fetch_add(1, Ordering::Relaxed);
                done.push(item.id);
            }
        }
    }
    let mut failed = 0;
    for ((id, event), result) in ids.into_iter().zip(&events).zip(keel.handle_batch(&events).await) {
        match result {
            Ok(_) => {
                attempts.remove(&id);
                done.push(id);
            }
            Err(e) => {
                let tried = attempts.entry(id).or_insert(0);
                *tried += 1;
                if *tried >= ATTEMPTS {
                    tracing::error!(adapter = %event.adapter, event = %event.event_id, error = %format!("{e:#}"), attempts = ATTEMPTS, "giving up on an inbox event");
                    given_up.fetch_add(1, Ordering::Relaxed);
                    attempts.remove(&id);
                    done.push(id);
                } else {
                    failed += 1;
                }
            }
        }
    }
    if !done.is_empty() {
        let mut tx = keel.store.begin().await?;
        inbox::remove(&mut tx, &done).await?;
        tx.commit().await?;
    }
    if done.is_empty() && failed > 0 {
        anyhow::bail!("none of {failed} inbox events could be handled");
    }
    Ok(done.len())
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
