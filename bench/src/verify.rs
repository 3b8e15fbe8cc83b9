//! `keel-bench verify --tasks N --backend sqlite|postgres`: `keel verify` over the KPI
//! benchmark's database (N tasks and their events, made consistent with the tasks table), and,
//! as the baseline from the same run, the time to read the same rows without replaying them.
//! It then changes one field of one task and checks that verify names it.

use std::time::Instant;

use futures_util::TryStreamExt;
use serde_json::json;
use sqlx::AssertSqlSafe;

use super::Backend;

/// The KPI filler writes bare `created` events and no `escalated_at`: these give each task the
/// log that made it.
const CONSISTENT: [&str; 2] = [
    "UPDATE task_events SET data = (SELECT '{\"client_id\":' || t.client_id || ',\"due_at\":' || t.due_at \
     || ',\"owner_id\":' || t.owner_id || ',\"priority\":\"' || t.priority || '\",\"source\":\"auto\",\"text\":\"' \
     || t.title || '\",\"title\":\"' || t.title || '\"}' FROM tasks t WHERE t.id = task_events.task_id) \
     WHERE kind = 'created'",
    "UPDATE tasks SET escalated_at = (SELECT MIN(e.at) FROM task_events e WHERE e.task_id = tasks.id \
     AND e.kind = 'escalated')",
];

pub async fn run(backend: Backend, tasks: i64, postgres: &str) -> anyhow::Result<serde_json::Value> {
    let fill_started = Instant::now();
    let (db, store, events) = super::kpi::filled(backend, tasks, postgres).await?;
    let mut tx = store.begin().await?;
    for sql in CONSISTENT {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let fill_s = fill_started.elapsed().as_secs_f64();

    // The baseline: every row verify reads, fetched and dropped.
    let started = Instant::now();
    let mut conn = store.pool().acquire().await?;
    let mut rows = 0u64;
    for sql in [
        "SELECT id, title, status, owner_id, client_id, priority, due_at, frustrated, first_response_at, \
         resolved_at, snoozed_until, escalated_at FROM tasks ORDER BY id",
        "SELECT id, task_id, at, kind, data FROM task_events ORDER BY task_id, id",
    ] {
        let mut stream = sqlx::query(sql).fetch(&mut *conn);
        while stream.try_next().await?.is_some() {
            rows += 1;
        }
    }
    drop(conn);
    let read_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let report = keel::verify::verify(&store).await?;
    let verify_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.differences.is_empty(),
        "verify found differences: {:?}",
        &report.differences[..report.differences.len().min(5)]
    );
    anyhow::ensure!(
        report.tasks as i64 == tasks && report.events as i64 == events,
        "verify read {} tasks and {} events",
        report.tasks,
        report.events
    );

    let task = tasks / 2 + 1;
    sqlx::query("UPDATE tasks SET due_at = due_at + 60 WHERE id = $1")
        .bind(task)
        .execute(store.pool())
        .await?;
    let found = keel::verify::verify(&store).await?.differences;
    anyhow::ensure!(
        found.len() == 1 && found[0].task == task && found[0].field == "due_at",
        "a changed due date was reported as {found:?}"
    );
    store.close().await;
    db.cleanup().await;

    Ok(json!({
        "backend": match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" },
        "tasks": tasks,
        "events": events,
        "verify_s": super::round3(verify_s),
        "read_rows_s": super::round3(read_s),
        "rows": rows,
        "ratio": super::round3(verify_s / read_s),
        "fill_s": super::round1(fill_s),
    }))
}
