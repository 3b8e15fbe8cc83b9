//! `keel verify`: every task's log replayed into a fresh projection and compared with the tasks
//! table, field by field.
//!
//! The tasks table is a projection of the append-only log; a code path that changes a task
//! without logging the event shows up here as a difference. Read in ranges of task ids inside
//! one read-only snapshot, so a running keel's writes cannot show up as differences.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Connection;

use crate::domain::event::TaskEvent;
use crate::domain::projection::{Names, Projection};
use crate::store::{replay, Backend, Store};

/// Tasks replayed per read.
const RANGE: i64 = 20_000;

/// A field where the tasks table and the replayed log disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub task: i64,
    pub field: String,
    pub table: String,
    pub replayed: String,
}

/// What a verification read and found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub tasks: u64,
    pub events: u64,
    pub differences: Vec<Found>,
}

/// The names older logs hold, and the title a request's text gives.
struct Directory {
    members: HashMap<String, Option<i64>>,
    clients: HashMap<String, i64>,
}

impl Directory {
    fn new(members: Vec<(i64, String)>, clients: Vec<(i64, String)>) -> Directory {
        let mut by_name: HashMap<String, Option<i64>> = HashMap::new();
        for (id, name) in members {
            // Two members with one name: the log cannot tell which it meant.
            by_name
                .entry(name)
                .and_modify(|known| *known = None)
                .or_insert(Some(id));
        }
        Directory {
            members: by_name,
            clients: clients.into_iter().map(|(id, key)| (key, id)).collect(),
        }
    }
}

impl Names for Directory {
    fn member(&self, name: &str) -> Option<i64> {
        self.members.get(name).copied().flatten()
    }

    fn client(&self, key: &str) -> Option<i64> {
        self.clients.get(key).copied()
    }

    fn title(&self, text: &str) -> String {
        crate::capture::title(text)
    }
}

/// Replays every task's log and compares it with the tasks table.
pub async fn verify(store: &Store) -> anyhow::Result<Report> {
    let mut conn = store.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    if store.backend() == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let (members, clients) = replay::names(&mut tx).await?;
    let names = Directory::new(members, clients);
    let last = replay::last_task_id(&mut tx).await?;
    let mut report = Report::default();
    let mut from = 1;
    while from <= last {
        let to = from + RANGE - 1;
        let rows = replay::projections(&mut tx, from, to).await?;
        let logs = replay::logs(&mut tx, from, to).await?;
        report.tasks += rows.len() as u64;
        report.events += logs.len() as u64;
        compare(rows, logs, &names, &mut report.differences);
        from = to + 1;
    }
    tx.rollback().await?;
    Ok(report)
}

/// Walks a range's rows and logs side by side (both in task order).
fn compare(rows: Vec<(i64, Projection)>, logs: Vec<replay::Logged>, names: &dyn Names, out: &mut Vec<Found>) {
    let mut logs = logs.into_iter().peekable();
    let mut rows = rows.into_iter().peekable();
    loop {
        let next_row = rows.peek().map(|(id, _)| *id);
        let next_log = logs.peek().map(|l| l.task_id);
        let task = match (next_row, next_log) {
            (None, None) => return,
            (Some(r), Some(l)) => r.min(l),
            (Some(r), None) => r,
            (None, Some(l)) => l,
        };
        let row = rows.next_if(|(id, _)| *id == task).map(|(_, p)| p);
        let mut log = Vec::new();
        while let Some(entry) = logs.next_if(|l| l.task_id == task) {
            log.push(entry);
        }
        let found = |field: &str, table: &str, replayed: String| Found {
            task,
            field: field.to_string(),
            table: table.to_string(),
            replayed,
        };
        let Some(row) = row else {
            out.push(found("task", "missing", format!("{} events logged", log.len())));
            continue;
        };
        match replay_log(&log, names) {
            Ok(replayed) => out.extend(replayed.differences(&row).into_iter().map(|d| Found {
                task,
                field: d.field.to_string(),
                table: d.table,
                replayed: d.replayed,
            })),
            Err(why) => out.push(found("log", "a task", why)),
        }
    }
}

/// One task's log replayed; `Err` says why it cannot be.
fn replay_log(log: &[replay::Logged], names: &dyn Names) -> Result<Projection, String> {
    let mut entries = log.iter();
    let first = entries.next().ok_or("no events")?;
    let mut projection = match &first.event {
        Ok(TaskEvent::Created(created)) => Projection::created(created, names),
        Ok(other) => {
            return Err(format!(
                "its first event (id {}) is \"{}\", not \"created\"",
                first.id,
                other.kind()
            ))
        }
        Err(e) => return Err(e.clone()),
    };
    for entry in entries {
        let event = entry.event.as_ref().map_err(Clone::clone)?;
        projection.apply(event, entry.at, names);
    }
    Ok(projection)
}
