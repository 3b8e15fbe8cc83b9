//! What a scheduled job, or a command doing a job's work, runs with: the transaction, the core,
//! the time, the messages it queues and what it has looked up.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::keel::Keel;
use crate::store::jobs::{self, JobKind, NewJob};
use crate::store::outbox::Queued;
use crate::store::people::Member;
use crate::store::standups::Standup;
use crate::store::Conn;

/// What a job or a command works with: the transaction, the core, the time, and the messages
/// it queues.
pub(crate) struct Ctx<'a> {
    pub conn: &'a mut Conn,
    pub keel: &'a Keel,
    pub now: DateTime<Utc>,
    pub out: &'a mut Vec<Queued>,
    /// Lookups that hold for one transaction: standups, holidays, skipped days, members.
    pub looked_up: Lookups,
    /// Jobs to create when the batch ends (key → kind, time; the later time wins), or `None` to
    /// create them at once.
    deferred: Option<BTreeMap<String, (JobKind, i64)>>,
}

/// What a transaction has looked up already (standups do not change while jobs run).
#[derive(Default)]
pub(crate) struct Lookups {
    pub standups: HashMap<i64, Option<Standup>>,
    pub holidays: Option<HashSet<String>>,
    pub skips: HashMap<(i64, String), bool>,
    pub members: HashMap<i64, Member>,
}

impl<'a> Ctx<'a> {
    pub fn new(conn: &'a mut Conn, keel: &'a Keel, now: DateTime<Utc>, out: &'a mut Vec<Queued>) -> Ctx<'a> {
        Ctx {
            conn,
            keel,
            now,
            out,
            looked_up: Lookups::default(),
            deferred: None,
        }
    }

    /// A context whose scheduled jobs wait for `take_deferred_jobs` (a batch of jobs creates
    /// them all at once when it ends).
    pub fn deferring_jobs(conn: &'a mut Conn, keel: &'a Keel, now: DateTime<Utc>, out: &'a mut Vec<Queued>) -> Ctx<'a> {
        Ctx {
            deferred: Some(BTreeMap::new()),
            ..Ctx::new(conn, keel, now, out)
        }
    }

    /// The jobs deferred so far, to create now.
    pub fn take_deferred_jobs(&mut self) -> Vec<NewJob> {
        self.deferred
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|(key, (kind, at))| NewJob { key, kind, at })
            .collect()
    }

    /// Creates jobs (an existing one keeps the later time): at once, or when the batch ends.
    pub async fn schedule(&mut self, new: Vec<NewJob>) -> anyhow::Result<()> {
        match &mut self.deferred {
            Some(later) => {
                for job in new {
                    let entry = later.entry(job.key).or_insert((job.kind, job.at));
                    entry.1 = entry.1.max(job.at);
                }
                Ok(())
            }
            None => jobs::schedule_many(self.conn, &new).await,
        }
    }

    /// Queues a message of a kind on an adapter.
    pub fn send(&mut self, kind: &str, adapter: &str, outbound: keel_chat::Outbound) {
        self.out.push(Queued {
            adapter: adapter.to_string(),
            kind: kind.to_string(),
            outbound,
        });
    }
}

/// When a job runs next.
pub(crate) enum Next {
    At(DateTime<Utc>),
    /// The job is finished: delete it.
    Done,
}
