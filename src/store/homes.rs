//! Members' homes: who opened theirs (and is shown it again when it changes), the home as last
//! published, and the tasks a home lists.

use sqlx::AssertSqlSafe;

use super::tasks::{TaskView, TASK_COLUMNS, VIEW_FROM};
use super::Conn;
use crate::domain::Status;

/// The job key of a home's refresh: `home:<adapter>:<user>`.
pub fn job_key(adapter: &str, user: &str) -> String {
    format!("home:{adapter}:{user}")
}

/// A home as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HomeRow {
    pub adapter: String,
    pub user_id: String,
    pub member_id: i64,
    /// The home's JSON as last published.
    pub rendered: String,
}

/// Notes a home as published, opened or refreshed.
pub async fn published(conn: &mut Conn, row: &HomeRow, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO member_homes (adapter, user_id, member_id, rendered, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (adapter, user_id) DO UPDATE SET member_id = excluded.member_id, \
         rendered = excluded.rendered, updated_at = excluded.updated_at",
    )
    .bind(&row.adapter)
    .bind(&row.user_id)
    .bind(row.member_id)
    .bind(&row.rendered)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, adapter: &str, user: &str) -> anyhow::Result<Option<HomeRow>> {
    Ok(sqlx::query_as(
        "SELECT adapter, user_id, member_id, rendered FROM member_homes WHERE adapter = $1 AND user_id = $2",
    )
    .bind(adapter)
    .bind(user)
    .fetch_optional(conn)
    .await?)
}

/// Schedules a refresh of every home at `at`, unless one is due already (so a burst of changes
/// refreshes each home once); true when a home was scheduled.
pub async fn schedule_refresh(conn: &mut Conn, at: i64) -> anyhow::Result<bool> {
    let scheduled = sqlx::query(
        "INSERT INTO jobs (key, kind, next_run_at, data) \
         SELECT 'home:' || adapter || ':' || user_id, 'home', $1, '{}' FROM member_homes WHERE 1 = 1 \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(scheduled > 0)
}

/// Which tasks a part of a home lists.
pub enum Listing {
    /// The member's open tasks.
    Owned(i64),
    /// Client tasks nobody owns: of the clients the member owns, or of every client when they
    /// own none.
    Unowned(i64),
    /// Every open task due before the instant.
    Overdue(i64),
}

/// Open tasks of a listing, the soonest due first (overdue first, then by due date, then those
/// without one, oldest first); at most `limit`.
pub async fn tasks(conn: &mut Conn, listing: &Listing, limit: i64) -> anyhow::Result<Vec<TaskView>> {
    let active: Vec<String> = [Status::Open, Status::InProgress, Status::Waiting]
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let (filter, value) = match listing {
        Listing::Owned(member) => ("t.owner_id = $1", *member),
        Listing::Unowned(member) => (
            "t.owner_id IS NULL AND t.client_id IS NOT NULL AND (t.client_id IN (SELECT id FROM clients WHERE owner_id = $1) \
             OR NOT EXISTS (SELECT 1 FROM clients WHERE owner_id = $1))",
            *member,
        ),
        Listing::Overdue(now) => ("t.due_at IS NOT NULL AND t.due_at < $1", *now),
    };
    let sql = format!(
        "SELECT {TASK_COLUMNS}, c.key AS client_key, m.name AS owner_name {VIEW_FROM} \
         WHERE t.status IN ({}) AND {filter} \
         ORDER BY CASE WHEN t.due_at IS NULL THEN 1 ELSE 0 END, t.due_at, t.id LIMIT $2",
        active.join(", ")
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(value)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}
