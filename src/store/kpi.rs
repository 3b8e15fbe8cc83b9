//! The reads behind the KPIs (`crate::kpi`). Each is bounded by a period's time, through the
//! indexes on task creation, event kind and time, touchpoint time and answered surveys, and the
//! partial indexes of `done` and `waiting` status changes (migration 0009), so a week costs the
//! same whatever the history's length.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, Row};

use super::{is_postgres, json_rows, with_rows, Conn, Json};
use crate::domain::event::TaskEvent;
use crate::domain::{Priority, Status};

/// The pool a report may borrow a second connection from.
pub type Pool = sqlx::AnyPool;
/// A connection borrowed from a [`Pool`].
pub type Lent = sqlx::pool::PoolConnection<sqlx::Any>;

/// A second connection from `pool` when it holds more than one: a free one, or one freed
/// within 100 ms.
pub async fn spare_connection(pool: &Pool) -> Option<Lent> {
    if pool.options().get_max_connections() <= 1 {
        return None;
    }
    match pool.try_acquire() {
        Some(c) => Some(c),
        None => tokio::time::timeout(std::time::Duration::from_millis(100), pool.acquire())
            .await
            .ok()
            .and_then(Result::ok),
    }
}

/// A client as the KPIs need it.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: i64,
    pub key: String,
    pub owner_id: Option<i64>,
    pub signed_at: Option<i64>,
    pub live_at: Option<i64>,
    pub churned_at: Option<i64>,
    pub created_at: i64,
}

impl Client {
    /// Known and not churned at `t`.
    pub fn active_at(&self, t: i64) -> bool {
        self.created_at <= t && self.churned_at.is_none_or(|c| c > t)
    }
}

/// Every client, by key.
pub async fn clients(conn: &mut Conn) -> anyhow::Result<Vec<Client>> {
    let rows = sqlx::query(
        "SELECT id, key, owner_id, contract_signed_at, go_live_at, churned_at, created_at FROM clients ORDER BY key",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Client {
                id: r.try_get("id")?,
                key: r.try_get("key")?,
                owner_id: r.try_get("owner_id")?,
                signed_at: r.try_get("contract_signed_at")?,
                live_at: r.try_get("go_live_at")?,
                churned_at: r.try_get("churned_at")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Every member's name by id.
pub async fn members(conn: &mut Conn) -> anyhow::Result<HashMap<i64, String>> {
    let rows = sqlx::query("SELECT id, name FROM members").fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

/// `SELECT` of many rows as one row holding them all as a JSON array of arrays: sqlx hands
/// SQLite's rows over one at a time between threads, so one row is far cheaper than thousands.
/// `rest` is everything after `FROM` (no `ORDER BY`: callers sort).
fn packed(conn: &Conn, columns: &str, rest: &str) -> String {
    if is_postgres(conn) {
        format!("SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text FROM {rest}")
    } else {
        format!("SELECT json_group_array(json_array({columns})) FROM {rest}")
    }
}

/// SQLite's `INDEXED BY` for a partial index the query's WHERE clause repeats the condition of
/// (without statistics its planner may prefer a plainer index); PostgreSQL plans by statistics.
fn indexed_by(conn: &Conn, index: &str) -> String {
    if is_postgres(conn) {
        String::new()
    } else {
        format!(" INDEXED BY {index}")
    }
}

fn unpack<T: serde::de::DeserializeOwned>(row: &sqlx::any::AnyRow) -> anyhow::Result<Vec<T>> {
    let text: String = row.try_get(0)?;
    Ok(serde_json::from_str(&text)?)
}

/// Task ids as the rows of [`json_rows`].
fn id_rows(ids: &[i64]) -> Vec<(&i64,)> {
    ids.iter().map(|id| (id,)).collect()
}

/// A task created in a period.
#[derive(Debug, Clone)]
pub struct CreatedTask {
    pub id: i64,
    pub client_id: Option<i64>,
    pub from_client: bool,
    pub priority: Priority,
    pub source: String,
    pub sentiment: f64,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
}

/// The tasks created in `[from, to)`.
pub async fn created_in(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<Vec<CreatedTask>> {
    let sql = packed(
        conn,
        "id, client_id, requester_is_client, priority, source, sentiment, created_at, first_response_at",
        "tasks WHERE created_at >= $1 AND created_at < $2",
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .fetch_one(&mut *conn)
        .await?;
    type CreatedRow = (i64, Option<i64>, i64, String, String, f64, i64, Option<i64>);
    Ok(unpack::<CreatedRow>(&row)?
        .into_iter()
        .map(
            |(id, client_id, from_client, priority, source, sentiment, created_at, first_response_at)| CreatedTask {
                id,
                client_id,
                from_client: from_client != 0,
                priority: priority.parse().unwrap_or(Priority::Normal),
                source,
                sentiment,
                created_at,
                first_response_at,
            },
        )
        .collect())
}

/// A change to `done`.
#[derive(Debug, Clone, Copy)]
pub struct Resolution {
    pub task_id: i64,
    pub done_at: i64,
    pub created_at: i64,
}

/// The changes to `done` in `[from, to)` of tasks not made by a playbook, in the log's order.
pub async fn resolved_in(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<Vec<Resolution>> {
    let rest = format!(
        "task_events e{} JOIN tasks t ON t.id = e.task_id \
         WHERE e.status_to = 'done' AND e.at >= $1 AND e.at < $2 AND t.source <> 'playbook'",
        indexed_by(conn, "task_events_done_at")
    );
    let sql = packed(conn, "e.id, e.task_id, e.at, t.created_at", &rest);
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .fetch_one(&mut *conn)
        .await?;
    let mut rows: Vec<(i64, i64, i64, i64)> = unpack(&row)?;
    rows.sort_by_key(|r| r.0);
    Ok(rows
        .into_iter()
        .map(|(_, task_id, done_at, created_at)| Resolution {
            task_id,
            done_at,
            created_at,
        })
        .collect())
}

/// The status changes (`(at, to)`, in order) of the given tasks that enter or leave `waiting`.
pub async fn waiting_changes(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<HashMap<i64, Vec<(i64, Option<Status>)>>> {
    let mut out: HashMap<i64, Vec<(i64, Option<Status>)>> = HashMap::new();
    for chunk in ids.chunks(5000) {
        let rest = format!(
            "({}) ids CROSS JOIN task_events e{} WHERE e.task_id = ids.c0 \
             AND (e.status_to = 'waiting' OR e.status_from = 'waiting')",
            json_rows(conn, &[Json::Int]),
            indexed_by(conn, "task_events_waiting")
        );
        let sql = packed(conn, "e.id, e.task_id, e.at, e.status_to", &rest);
        let row = with_rows(conn, sql, &id_rows(chunk))?.fetch_one(&mut *conn).await?;
        let mut rows: Vec<(i64, i64, i64, Option<String>)> = unpack(&row)?;
        rows.sort_by_key(|r| r.0);
        for (_, task_id, at, to) in rows {
            out.entry(task_id)
                .or_default()
                .push((at, to.and_then(|to| to.parse().ok())));
        }
    }
    Ok(out)
}

/// The first `done` at or before `until` of each of the given tasks that has one.
pub async fn first_done_before(conn: &mut Conn, ids: &[i64], until: i64) -> anyhow::Result<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(5000) {
        let rest = format!(
            "({}) ids CROSS JOIN task_events e{} WHERE e.task_id = ids.c0 \
             AND e.status_to = 'done' AND e.at <= $2",
            json_rows(conn, &[Json::Int]),
            indexed_by(conn, "task_events_done")
        );
        let sql = packed(conn, "e.id, e.task_id, e.at", &rest);
        let row = with_rows(conn, sql, &id_rows(chunk))?
            .bind(until)
            .fetch_one(&mut *conn)
            .await?;
        let mut rows: Vec<(i64, i64, i64)> = unpack(&row)?;
        rows.sort_by_key(|r| r.0);
        for (_, task_id, at) in rows {
            out.entry(task_id).or_insert(at);
        }
    }
    Ok(out)
}

/// What a change since an instant changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Changed {
    /// The status, leaving the one given (`None` when the event does not say).
    Status(Option<Status>),
    /// The due date.
    Due,
}

/// A change to a task's status or due date, with the task's row as it is now.
#[derive(Debug, Clone)]
pub struct Change {
    pub task_id: i64,
    pub changed: Changed,
    /// The row's status now.
    pub status: Option<Status>,
    pub owner_id: Option<i64>,
    pub due_at: Option<i64>,
}

/// The status and due-date changes at or after `at` of the tasks created before it, in order.
pub async fn changes_since(conn: &mut Conn, at: i64) -> anyhow::Result<Vec<Change>> {
    // Few changes, many tasks: each change's task is looked up by its key. PostgreSQL, left to
    // choose, would scan every task for a hash join; a LATERAL subquery it cannot flatten
    // (`OFFSET 0`) keeps the lookups.
    let from = if is_postgres(conn) {
        "task_events e CROSS JOIN LATERAL \
         (SELECT t.status, t.owner_id, t.due_at FROM tasks t WHERE t.id = e.task_id AND t.created_at < $1 OFFSET 0) t \
         WHERE e.kind IN ('status', 'due') AND e.at >= $1"
    } else {
        "task_events e JOIN tasks t ON t.id = e.task_id \
         WHERE e.kind IN ('status', 'due') AND e.at >= $1 AND t.created_at < $1"
    };
    let sql = packed(
        conn,
        "e.id, e.task_id, e.kind, e.status_from, t.status, t.owner_id, t.due_at",
        from,
    );
    let row = sqlx::query(AssertSqlSafe(sql)).bind(at).fetch_one(&mut *conn).await?;
    type ChangeRow = (i64, i64, String, Option<String>, String, Option<i64>, Option<i64>);
    let mut rows: Vec<ChangeRow> = unpack(&row)?;
    rows.sort_by_key(|c| c.0);
    Ok(rows
        .into_iter()
        .filter_map(|(_, task_id, kind, status_from, status, owner_id, due_at)| {
            let changed = match kind.as_str() {
                "status" => Changed::Status(status_from.and_then(|from| from.parse().ok())),
                "due" => Changed::Due,
                _ => return None,
            };
            Some(Change {
                task_id,
                changed,
                status: status.parse().ok(),
                owner_id,
                due_at,
            })
        })
        .collect())
}

/// A task whose row says it is active (open, in progress or waiting).
#[derive(Debug, Clone, Copy)]
pub struct ActiveRow {
    pub id: i64,
    pub owner_id: Option<i64>,
    pub due_at: Option<i64>,
}

/// The tasks created before `at` whose row says they are active.
pub async fn active_rows(conn: &mut Conn, at: i64) -> anyhow::Result<Vec<ActiveRow>> {
    let sql = packed(
        conn,
        "id, owner_id, due_at",
        "tasks WHERE status IN ('open', 'in-progress', 'waiting') AND created_at < $1",
    );
    let row = sqlx::query(AssertSqlSafe(sql)).bind(at).fetch_one(&mut *conn).await?;
    Ok(unpack::<(i64, Option<i64>, Option<i64>)>(&row)?
        .into_iter()
        .map(|(id, owner_id, due_at)| ActiveRow { id, owner_id, due_at })
        .collect())
}

/// A task as its log says it was at an instant.
#[derive(Debug, Clone, Copy)]
pub struct TaskThen {
    pub owner_id: Option<i64>,
    /// The status its last status change before the instant set (`None`: no such change).
    pub status: Option<Status>,
    /// The due date its last `due` event before the instant set, or else its `created` event.
    pub due_at: Option<i64>,
}

/// The given tasks as their logs say they were just before `at`, with their owner now.
pub async fn logged_before(conn: &mut Conn, ids: &[i64], at: i64) -> anyhow::Result<Vec<TaskThen>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(5000) {
        let rest = format!(
            "(SELECT t.owner_id, \
             (SELECT e.status_to FROM task_events e WHERE e.task_id = t.id AND e.kind || '' = 'status' AND e.at < $2 \
              ORDER BY e.id DESC LIMIT 1) AS last_status, \
             (SELECT e.data FROM task_events e WHERE e.task_id = t.id AND e.kind || '' = 'due' AND e.at < $2 \
              ORDER BY e.id DESC LIMIT 1) AS last_due, \
             (SELECT e.data FROM task_events e WHERE e.task_id = t.id AND e.kind || '' = 'created' \
              ORDER BY e.id LIMIT 1) AS created \
             FROM ({}) ids CROSS JOIN tasks t WHERE t.id = ids.c0) o",
            json_rows(conn, &[Json::Int])
        );
        let sql = packed(conn, "o.owner_id, o.last_status, o.last_due, o.created", &rest);
        let row = with_rows(conn, sql, &id_rows(chunk))?
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
        type ThenRow = (Option<i64>, Option<String>, Option<String>, Option<String>);
        for (owner_id, last_status, last_due, created) in unpack::<ThenRow>(&row)? {
            let due_at = match (last_due, created) {
                (Some(due), _) => due_from("due", &due),
                (None, Some(created)) => due_from("created", &created),
                (None, None) => None,
            };
            out.push(TaskThen {
                owner_id,
                status: last_status.and_then(|to| to.parse().ok()),
                due_at,
            });
        }
    }
    Ok(out)
}

/// The due time a `due` or `created` event (its stored data) set.
fn due_from(kind: &str, data: &str) -> Option<i64> {
    match TaskEvent::read_text(kind, data).ok()? {
        TaskEvent::Due { due_at, .. } => due_at,
        TaskEvent::Created(created) => created.due_at,
        _ => None,
    }
}

/// A survey answer: its kind (`nps`, `csat`) and score.
#[derive(Debug, Clone)]
pub struct Answer {
    pub client_id: i64,
    pub kind: String,
    pub score: Option<i64>,
}

/// The survey answers given in `[from, to)`.
pub async fn survey_answers(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<Vec<Answer>> {
    let rows = sqlx::query("SELECT client_id, kind, score FROM surveys WHERE answered_at >= $1 AND answered_at < $2")
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Answer {
                client_id: r.try_get("client_id")?,
                kind: r.try_get("kind")?,
                score: r.try_get("score")?,
            })
        })
        .collect()
}

/// The chases in `[from, to)` per client id (`None`: tasks of no client): how many, and on how
/// many tasks.
pub async fn chases(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<Vec<(Option<i64>, i64, i64)>> {
    Ok(sqlx::query_as::<_, (Option<i64>, i64, i64)>(
        "SELECT t.client_id, COUNT(*), COUNT(DISTINCT e.task_id) FROM task_events e JOIN tasks t ON t.id = e.task_id \
         WHERE e.kind = 'chased' AND e.at >= $1 AND e.at < $2 GROUP BY t.client_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?)
}

/// How many tasks were escalated in `[from, to)`.
pub async fn escalated_tasks(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(DISTINCT task_id) FROM task_events WHERE kind = 'escalated' AND at >= $1 AND at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?)
}

/// The clients with a touchpoint in `[from, to)`.
pub async fn touched_clients(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<HashSet<i64>> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT DISTINCT client_id FROM touchpoints WHERE at >= $1 AND at < $2")
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect(),
    )
}

/// Event kinds that show a person adapted a task (a playbook item no longer as the template made it).
const ADAPTED: &str = "'assigned', 'due', 'edited', 'note', 'priority', 'snoozed'";

/// A client's playbook tasks created before `until`: how many, and how many of them a person
/// adapted before `until`.
pub async fn playbook_items_adapted(conn: &mut Conn, client_id: i64, until: i64) -> anyhow::Result<(i64, i64)> {
    // `|| ''` and `+ 0` keep SQLite off the kind and creation indexes: the client's playbook
    // tasks come from their own index, their events by task.
    let sql = format!(
        "SELECT COUNT(*) AS items, COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM task_events e \
         WHERE e.task_id = t.id AND e.kind || '' IN ({ADAPTED}) AND e.at < $2) THEN 1 ELSE 0 END), 0) AS adapted \
         FROM tasks t WHERE t.client_id = $1 AND t.source = 'playbook' AND t.created_at + 0 < $2"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(client_id)
        .bind(until)
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get("items")?, row.try_get("adapted")?))
}
