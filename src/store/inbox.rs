//! The inbox: events keel has acknowledged to their platform but not handled yet.
//!
//! An adapter whose platform wants a quick answer (Slack: 3 s) hands its events to
//! [`crate::service::ingest::Ingest::accept`], which records them in the inbox and answers; a
//! background task then handles them in the order they came and removes them. On PostgreSQL
//! (and an in-memory SQLite) the inbox is this `inbox` table, written with one statement per
//! batch; on a SQLite file it is the journal next to the database ([`super::journal`]), which
//! costs a fraction of a commit; the table there only holds what another keel process on the
//! same file recorded while this one had the journal.
//! A restart finds whatever was left and handles it then. A platform's repeat of an event still
//! waiting here is dropped by the unique key; one handled already is dropped by the core's dedupe.

use anyhow::Context;
use sqlx::AssertSqlSafe;

use super::{json_rows, with_rows, with_rows_as, Backend, Conn, Json};

/// An event waiting in the inbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Waiting {
    pub id: i64,
    pub adapter: String,
    pub event_id: String,
    /// The event as the adapter gave it, in JSON.
    pub event: String,
}

/// Records events (adapter, event id, the event in JSON) received at `now`; one already waiting
/// is left as it is. Returns the (adapter, event id) of those recorded now.
pub async fn put(conn: &mut Conn, events: &[(&str, &str, String)], now: i64) -> anyhow::Result<Vec<(String, String)>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = events
        .iter()
        .map(|(adapter, event_id, event)| (adapter, event_id, now, event))
        .collect();
    let sql = format!(
        "INSERT INTO inbox (adapter, event_id, received_at, event) {} ON CONFLICT DO NOTHING RETURNING adapter, event_id",
        json_rows(conn, &[Json::Text, Json::Text, Json::Int, Json::Text])
    );
    with_rows_as(conn, sql, &rows)?
        .fetch_all(&mut *conn)
        .await
        .context("recording events in the inbox")
}

/// How long a claim on inbox events holds before another process may take them over (seconds).
pub const CLAIM_SECONDS: i64 = 30;

/// Claims the `limit` events that have waited longest and nobody else holds, oldest first. On
/// PostgreSQL, rows another replica is claiming are skipped (`FOR UPDATE SKIP LOCKED`), so
/// replicas share the inbox without handling an event twice.
pub async fn claim(conn: &mut Conn, backend: Backend, now: i64, limit: i64) -> anyhow::Result<Vec<Waiting>> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE inbox SET claimed_until = $1 WHERE id IN (SELECT id FROM inbox \
         WHERE claimed_until IS NULL OR claimed_until < $2 ORDER BY id LIMIT $3 {lock}) \
         RETURNING id, adapter, event_id, event"
    );
    let mut waiting: Vec<Waiting> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(now + CLAIM_SECONDS)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .context("claiming inbox events")?;
    waiting.sort_by_key(|w| w.id);
    Ok(waiting)
}

/// Gives claimed events back, to be tried again at once.
pub async fn release(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = ids.iter().map(|id| (id,)).collect();
    let sql = format!(
        "UPDATE inbox SET claimed_until = NULL WHERE id IN (SELECT c0 FROM ({}) AS tried)",
        json_rows(conn, &[Json::Int])
    );
    with_rows(conn, sql, &rows)?
        .execute(&mut *conn)
        .await
        .context("releasing inbox events")?;
    Ok(())
}

/// How many events wait in the `inbox` table (the journal's are counted by its reader).
pub async fn in_table(store: &super::Store) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
        .fetch_one(store.pool())
        .await
        .context("counting the inbox")
}

/// Removes handled events.
pub async fn remove(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = ids.iter().map(|id| (id,)).collect();
    let sql = format!(
        "DELETE FROM inbox WHERE id IN (SELECT c0 FROM ({}) AS handled)",
        json_rows(conn, &[Json::Int])
    );
    with_rows(conn, sql, &rows)?
        .execute(&mut *conn)
        .await
        .context("removing handled events from the inbox")?;
    Ok(())
}

/// True when no event is waiting (nor, in the journal, handled and not yet released).
pub async fn is_empty(store: &super::Store) -> anyhow::Result<bool> {
    let any: Option<i64> = sqlx::query_scalar("SELECT id FROM inbox LIMIT 1")
        .fetch_optional(store.pool())
        .await
        .context("looking into the inbox")?;
    if any.is_some() {
        return Ok(false);
    }
    match store.journal_dir() {
        Some(dir) => super::journal::is_empty(dir).context("looking into the inbox journal"),
        None => Ok(true),
    }
}

/// How many events are waiting (in the table and the journal; the journal's handled events
/// count until they are released, a moment after).
pub async fn count(store: &super::Store) -> anyhow::Result<i64> {
    let in_table: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
        .fetch_one(store.pool())
        .await
        .context("counting the inbox")?;
    let in_journal = match store.journal_dir() {
        Some(dir) => super::journal::count(dir).context("counting the inbox journal")? as i64,
        None => 0,
    };
    Ok(in_table + in_journal)
}
