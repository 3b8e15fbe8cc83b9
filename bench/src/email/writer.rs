//! The writer alone: the mails read into memory first, then handed to a fresh core all at once,
//! 100 at a time as the adapter hands them over, so the core's time shows without IMAP's. It
//! goes to the progress lines only; the JSON line's rate is the whole path's. Each run also
//! counts the CPU time of each of the process's threads (by thread name, from Linux's
//! `/proc/self/task/*/schedstat`): unlike the wall time, it hardly moves with a busy machine.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keel_chat::{Inbound, InboundSink};
use keel_email::EmailAdapter;

use super::{core, count_tasks, email_config, next_round, observer, Servers, CHUNK};

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

/// One run of the writer alone: the time until it had committed a task of each mail, and the
/// CPU time each thread name took meanwhile.
pub(super) struct Alone {
    pub(super) took: Duration,
    pub(super) cpu: BTreeMap<String, Duration>,
}

/// A fresh core takes `events` at once, in handovers of 100 running side by side.
pub(super) async fn alone(events: &[Inbound]) -> anyhow::Result<Alone> {
    let dir = tempfile::tempdir()?;
    let core = core(dir.path()).await?;
    let mut db = observer(&core.url).await?;
    let chunks: Vec<Vec<Inbound>> = events.chunks(CHUNK).map(<[Inbound]>::to_vec).collect();
    let cpu_before = cpu_by_thread();
    let started = Instant::now();
    let handovers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let ingest = core.ingest.clone();
            tokio::spawn(async move { futures::future::join_all(chunk.into_iter().map(|e| ingest.deliver(e))).await })
        })
        .collect();
    // Each handover returns once its task is committed.
    for handover in handovers {
        for result in handover.await? {
            result?;
        }
    }
    let took = started.elapsed();
    let tasks = count_tasks(&mut db).await?;
    anyhow::ensure!(
        tasks == events.len() as i64,
        "the writer alone made {tasks} tasks of {} mails",
        events.len()
    );
    let mut cpu = cpu_by_thread();
    for (name, spent) in cpu.iter_mut() {
        *spent = spent.saturating_sub(cpu_before.get(name).copied().unwrap_or_default());
    }
    drop(db);
    core.stop().await;
    Ok(Alone { took, cpu })
}

/// The CPU time the process's living threads have taken, summed by thread name (none where
/// `/proc` is not Linux's).
fn cpu_by_thread() -> BTreeMap<String, Duration> {
    let mut by_name = BTreeMap::new();
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for thread in threads.flatten() {
        let path = thread.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let nanos: Option<u64> = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()));
        if let Some(nanos) = nanos {
            *by_name.entry(name.trim().to_string()).or_default() += Duration::from_nanos(nanos);
        }
    }
    by_name
}
