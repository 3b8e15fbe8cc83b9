//! The scheduler: jobs stored with their next run, run in batches, each batch one transaction.
//!
//! A job's effects (its messages in the outbox, its records) and its next run are written in the
//! same transaction, so a job runs once per due time however often keel restarts. On PostgreSQL
//! each batch locks the jobs it took (`FOR UPDATE SKIP LOCKED`), so replicas never run the same
//! job twice. A job that was due while keel was down runs once, for its latest due time: a job
//! computes its next run from now, never from the time it missed.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::Notify;

use super::context::{Ctx, Next};
use super::keel::Keel;
use super::{chases, home, kpi, standup, surveys, sweep};
use crate::store::jobs::{self, Job, JobKind};
use crate::store::outbox;

/// How many due jobs one transaction takes.
const BATCH: i64 = 200;

/// How long a job that failed waits before it is tried again (seconds).
const RETRY_AFTER: i64 = 300;

/// Runs due jobs.
#[derive(Clone)]
pub struct Scheduler {
    keel: Keel,
}

impl Scheduler {
    pub fn new(keel: Keel) -> Scheduler {
        Scheduler { keel }
    }

    /// Runs every job due at `now` once; returns how many jobs ran.
    pub async fn run_due(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let ran = match self.run_batch(now, BATCH).await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "a batch of jobs failed; running them one by one");
                    self.run_singly(now).await?
                }
            };
            total += ran;
            if ran < BATCH as usize {
                return Ok(total);
            }
        }
    }

    async fn run_batch(&self, now: DateTime<Utc>, limit: i64) -> anyhow::Result<usize> {
        let mut tx = self.keel.store.begin().await?;
        let due = jobs::claim_due(&mut tx, self.keel.store.backend(), now.timestamp(), limit).await?;
        let events_before = crate::store::tasks::last_event_id(&mut tx).await?;
        let mut out = Vec::new();
        let mut ctx = Ctx::deferring_jobs(&mut tx, &self.keel, now, &mut out);
        standup::prefetch(&mut ctx, &due).await?;
        let (mut again, mut done) = (Vec::new(), Vec::new());
        for job in &due {
            match run_job(&mut ctx, job).await? {
                Next::Done => done.push(job.key.clone()),
                // Never again within this run, whatever the job computed.
                Next::At(at) => again.push((job.key.clone(), at.timestamp().max(now.timestamp() + 1))),
            }
        }
        let later = ctx.take_deferred_jobs();
        drop(ctx);
        jobs::ran_many(&mut tx, now.timestamp(), &again).await?;
        jobs::delete_many(&mut tx, &done).await?;
        jobs::schedule_many(&mut tx, &later).await?;
        let changed = crate::store::tasks::changed_since(&mut tx, events_before).await?;
        super::cards::refresh(&mut tx, &self.keel, &changed, &mut out, now.timestamp()).await?;
        super::home::tasks_changed(&mut tx, &changed, now.timestamp()).await?;
        outbox::enqueue_queued(&mut tx, &out, now.timestamp()).await?;
        tx.commit().await?;
        for job in &due {
            let kind = job.kind.map_or("unknown", JobKind::as_str);
            metrics::counter!(crate::observe::JOBS_RUN, "kind" => kind).increment(1);
            let delay = (now.timestamp() - job.next_run_at).max(0) as f64;
            metrics::histogram!(crate::observe::JOB_DELAY).record(delay);
        }
        Ok(due.len())
    }

    /// Runs due jobs one per transaction; a job that fails is logged and tried again later.
    async fn run_singly(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut ran = 0;
        loop {
            match self.run_batch(now, 1).await {
                Ok(0) => return Ok(ran),
                Ok(_) => ran += 1,
                Err(e) => {
                    let mut tx = self.keel.store.begin().await?;
                    let due = jobs::claim_due(&mut tx, self.keel.store.backend(), now.timestamp(), 1).await?;
                    for job in due {
                        tracing::error!(job = %job.key, error = %format!("{e:#}"), "a job failed; it will be tried again");
                        jobs::ran(&mut tx, &job.key, now.timestamp(), now.timestamp() + RETRY_AFTER).await?;
                    }
                    tx.commit().await?;
                    ran += 1;
                }
            }
        }
    }

    /// When the earliest job is due.
    pub async fn next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut conn = self.keel.store.pool().acquire().await?;
        let next = jobs::next_due(&mut conn).await?;
        Ok(next.and_then(|t| Utc.timestamp_opt(t, 0).single()))
    }

    /// Runs jobs as they fall due until stopped: sleeps until the earliest job (at most a
    /// minute, so jobs added by another process are seen), or until `changed` is notified.
    pub async fn run(self, committed: Arc<Notify>, changed: Arc<Notify>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let now = self.keel.clock.now();
            match self.run_due(now).await {
                Ok(ran) if ran > 0 => committed.notify_one(),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "running due jobs failed; will retry"),
            }
            let wait = match self.next_due().await {
                Ok(Some(at)) => (at - self.keel.clock.now()).to_std().unwrap_or_default(),
                _ => std::time::Duration::from_secs(60),
            }
            .min(std::time::Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed.notified() => {}
                _ = self.keel.jobs_added.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Runs one job; returns when it runs next.
async fn run_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    match job.kind {
        Some(JobKind::StandupPrompt) => standup::prompt_job(ctx, job).await,
        Some(JobKind::StandupReminder) => standup::reminder_job(ctx, job).await,
        Some(JobKind::StandupSummary) => standup::summary_job(ctx, job).await,
        Some(JobKind::Sweep) => sweep::sweep_job(ctx, job).await,
        Some(JobKind::WeeklyKpi) => kpi::weekly_job(ctx, job).await,
        Some(JobKind::NpsSurvey) => surveys::nps_job(ctx, job).await,
        Some(JobKind::ChaseNotice) => chases::notice_job(ctx, job).await,
        Some(JobKind::HomeRefresh) => home::refresh_job(ctx, job).await,
        None => {
            tracing::warn!(job = %job.key, "unknown job kind; deleting it");
            Ok(Next::Done)
        }
    }
}
