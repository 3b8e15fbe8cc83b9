//! The reads `keel verify` replays: each task's projected fields and its whole log, a range of
//! task ids at a time, and the names older logs hold instead of ids.

use sqlx::FromRow;

use super::decode::{Flag, Word};
use super::Conn;
use crate::domain::event::TaskEvent;
use crate::domain::projection::Projection;
use crate::domain::{Priority, Status};

/// A task's projected fields as the tasks table holds them.
#[derive(FromRow)]
struct ProjectionRow {
    id: i64,
    title: String,
    #[sqlx(try_from = "Word<Status>")]
    status: Status,
    owner_id: Option<i64>,
    client_id: Option<i64>,
    #[sqlx(try_from = "Word<Priority>")]
    priority: Priority,
    due_at: Option<i64>,
    #[sqlx(try_from = "Flag")]
    frustrated: bool,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    snoozed_until: Option<i64>,
    escalated_at: Option<i64>,
}

/// The largest task id (0 without tasks).
pub async fn last_task_id(conn: &mut Conn) -> anyhow::Result<i64> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM tasks").fetch_one(conn).await?;
    Ok(last.unwrap_or(0))
}

/// The tasks with ids in `from..=to`, by id, as the table holds them.
pub async fn projections(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<Vec<(i64, Projection)>> {
    let rows: Vec<ProjectionRow> = sqlx::query_as(
        "SELECT id, title, status, owner_id, client_id, priority, due_at, frustrated, first_response_at, \
         resolved_at, snoozed_until, escalated_at FROM tasks WHERE id BETWEEN $1 AND $2 ORDER BY id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let projection = Projection {
                title: r.title,
                status: r.status,
                owner_id: r.owner_id,
                client_id: r.client_id,
                priority: r.priority,
                due_at: r.due_at,
                frustrated: r.frustrated,
                first_response_at: r.first_response_at,
                resolved_at: r.resolved_at,
                snoozed_until: r.snoozed_until,
                escalated_at: r.escalated_at,
            };
            (r.id, projection)
        })
        .collect())
}

/// One logged event, for replaying.
pub struct Logged {
    pub id: i64,
    pub task_id: i64,
    pub at: i64,
    /// `Err` names the event that cannot be read.
    pub event: Result<TaskEvent, String>,
}

#[derive(FromRow)]
struct LoggedRow {
    id: i64,
    task_id: i64,
    at: i64,
    kind: String,
    data: String,
}

/// The logs of the tasks with ids in `from..=to`: by task, oldest first.
pub async fn logs(conn: &mut Conn, from: i64, to: i64) -> anyhow::Result<Vec<Logged>> {
    let rows: Vec<LoggedRow> = sqlx::query_as(
        "SELECT id, task_id, at, kind, data FROM task_events WHERE task_id BETWEEN $1 AND $2 ORDER BY task_id, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Logged {
            id: r.id,
            task_id: r.task_id,
            at: r.at,
            event: TaskEvent::read_text(&r.kind, &r.data).map_err(|e| format!("event {}: {e}", r.id)),
        })
        .collect())
}

/// Every member's id and name, and every client's id and key.
pub async fn names(conn: &mut Conn) -> anyhow::Result<(Vec<(i64, String)>, Vec<(i64, String)>)> {
    let members = sqlx::query_as("SELECT id, name FROM members ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    let clients = sqlx::query_as("SELECT id, key FROM clients ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    Ok((members, clients))
}
