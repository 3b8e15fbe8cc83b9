//! The way in: adapters hand events to one writer that commits several at a time (group
//! commit), so keel stays durable without paying one disk flush per event.

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
}

impl Ingest {
    /// Starts the writer. `committed` is notified after every commit, so the outbox dispatcher
    /// wakes as soon as there is something to send.
    pub fn start(keel: Keel, committed: Arc<Notify>) -> (Ingest, tokio::task::JoinHandle<()>) {
        let (queue, mut jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        let writer = tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let (events, replies): (Vec<Inbound>, Vec<_>) = batch.into_iter().unzip();
                match keel.handle_batch(&events).await {
                    Ok(results) => {
                        for (reply, result) in replies.into_iter().zip(results) {
                            let _ = reply.send(result);
                        }
                    }
                    Err(e) => {
                        let message = format!("{e:#}");
                        tracing::error!(error = %message, events = events.len(), "committing a batch of events failed");
                        for reply in replies {
                            let _ = reply.send(Err(anyhow::anyhow!("{message}")));
                        }
                    }
                }
                committed.notify_one();
            }
        });
        (Ingest { queue }, writer)
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
