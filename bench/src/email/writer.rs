//! The writer alone: the mails read into memory first, then handed to a fresh core all at once,
//! 100 at a time as the adapter hands them over, so the core's time shows without IMAP's. It
//! goes to the progress lines only; the JSON line's rate is the whole path's.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keel_chat::{Inbound, InboundSink};
use keel_email::EmailAdapter;

use super::{core, email_config, next_round, observer, until_tasks, Servers, CHUNK};

/// A sink that keeps what the adapter hands over.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Inbound>>,
}

#[async_trait]
impl InboundSink for Recorder {
    async fn deliver(&self, inbound: Inbound) -> anyhow::Result<()> {
        self.events
            .lock()
            .map_err(|_| anyhow::anyhow!("the recorder's lock is poisoned"))?
            .push(inbound);
        Ok(())
    }
}

impl Recorder {
    fn count(&self) -> usize {
        self.events.lock().map(|e| e.len()).unwrap_or_default()
    }
}

/// The events the adapter makes of the mailbox's `messages` unread mails, read once (not
/// counted); the mails are unread again afterwards.
pub(super) async fn record(servers: &Servers, messages: usize) -> anyhow::Result<Vec<Inbound>> {
    let dir = tempfile::tempdir()?;
    let adapter = EmailAdapter::new(email_config(servers, &dir.path().join("email-state.json"))?)?;
    let recorder = Arc::new(Recorder::default());
    let reader = adapter.start(recorder.clone());
    let deadline = Instant::now() + super::PATIENCE;
    while recorder.count() < messages {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the adapter handed over {} of {messages} mails",
            recorder.count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    next_round(servers, async {
        reader.abort();
        let _ = reader.await;
    })
    .await?;
    let events = std::mem::take(&mut *recorder.events.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(events)
}

/// A fresh core takes `events` at once, in handovers of 100 running side by side; returns the
/// time until it has committed a task of each.
pub(super) async fn alone(events: &[Inbound]) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let core = core(dir.path()).await?;
    let mut db = observer(&core.url).await?;
    let chunks: Vec<Vec<Inbound>> = events.chunks(CHUNK).map(<[Inbound]>::to_vec).collect();
    let started = Instant::now();
    let handovers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let ingest = core.ingest.clone();
            tokio::spawn(async move { futures::future::join_all(chunk.into_iter().map(|e| ingest.deliver(e))).await })
        })
        .collect();
    let (took, tasks) = until_tasks(&mut db, events.len() as i64, started).await?;
    for handover in handovers {
        for result in handover.await? {
            result?;
        }
    }
    anyhow::ensure!(
        tasks == events.len() as i64,
        "the writer alone made {tasks} tasks of {} mails",
        events.len()
    );
    drop(db);
    core.stop().await;
    Ok(took)
}
