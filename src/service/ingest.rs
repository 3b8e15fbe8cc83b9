//! The way in: adapters hand events to one writer that commits several at a time (group
//! commit), so keel stays durable without paying one disk flush per event.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use keel_chat::{Inbound, InboundSink};
use tokio::sync::{mpsc, oneshot, Notify};

use super::{Handled, Keel};

/// The most events one transaction carries.
const MAX_BATCH: usize = 256;

type Job = (Inbound, oneshot::Sender<anyhow::Result<Handled>>);

/// The inbound queue in front of the core. Cheap to clone; every adapter gets one.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Job>,
    batches: Arc<AtomicU64>,
}

impl Ingest {
    /// Starts the writer. `committed` is notified after every commit, so the outbox dispatcher
    /// wakes as soon as there is something to send.
    pub fn start(keel: Keel, committed: Arc<Notify>) -> (Ingest, tokio::task::JoinHandle<()>) {
        let (queue, mut jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let batches = Arc::new(AtomicU64::new(0));
        let counted = batches.clone();
        let writer = tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                counted.fetch_add(1, Ordering::Relaxed);
                let (events, replies): (Vec<Inbound>, Vec<_>) = batch.into_iter().unzip();
                let results = keel.handle_batch(&events).await;
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
                committed.notify_one();
            }
        });
        (Ingest { queue, batches }, writer)
    }

    /// How many transactions the writer has committed (events ÷ batches = the group size).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
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
}

#[async_trait]
impl InboundSink for Ingest {
    async fn deliver(&self, inbound: Inbound) -> anyhow::Result<()> {
        self.submit(inbound).await.map(|_| ())
    }
}
