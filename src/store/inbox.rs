//! The inbox: events keel has acknowledged to their platform but not handled yet.
//!
//! An adapter whose platform wants a quick answer (Slack: 3 s) hands its events to
//! [`crate::service::ingest::Ingest::accept`], which records them here in one short transaction
//! and answers; a background task then handles them in the order they came and removes them.
//! A restart finds whatever was left and handles it then. A platform's repeat of an event still
//! waiting here is dropped by the unique key; one handled already is dropped by the core's dedupe.

use anyhow::Context;
use serde_json::{json, Value};
use sqlx::Row;

use super::{json_rows, with_rows, Conn, Json};

/// An event waiting in the inbox.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub id: i64,
    pub adapter: String,
    pub event_id: String,
    /// The event as the adapter gave it, in JSON.
    pub event: String,
}

/// Records events (adapter, event id, the event in JSON) received at `now`; one already waiting
/// is left as it is.
pub async fn put(conn: &mut Conn, events: &[(&str, &str, String)], now: i64) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = events
        .iter()
        .map(|(adapter, event_id, event)| json!([adapter, event_id, now, event]))
        .collect();
    let sql = format!(
        "INSERT INTO inbox (adapter, event_id, received_at, event) {} ON CONFLICT DO NOTHING",
        json_rows(conn, &[Json::Text, Json::Text, Json::Int, Json::Text])
    );
    with_rows(conn, sql, rows)
        .execute(&mut *conn)
        .await
        .context("recording events in the inbox")?;
    Ok(())
}

/// The `limit` events that have waited longest, oldest first.
pub async fn oldest(conn: &mut Conn, limit: i64) -> anyhow::Result<Vec<Waiting>> {
    let rows = sqlx::query("SELECT id, adapter, event_id, event FROM inbox ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .context("reading the inbox")?;
    rows.iter()
        .map(|row| {
            Ok(Waiting {
                id: row.try_get("id")?,
                adapter: row.try_get("adapter")?,
                event_id: row.try_get("event_id")?,
                event: row.try_get("event")?,
            })
        })
        .collect()
}

/// Removes handled events.
pub async fn remove(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = ids.iter().map(|id| json!([id])).collect();
    let sql = format!(
        "DELETE FROM inbox WHERE id IN (SELECT c0 FROM ({}) AS handled)",
        json_rows(conn, &[Json::Int])
    );
    with_rows(conn, sql, rows)
        .execute(&mut *conn)
        .await
        .context("removing handled events from the inbox")?;
    Ok(())
}

/// How many events are waiting.
pub async fn count(conn: &mut Conn) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
        .fetch_one(conn)
        .await
        .context("counting the inbox")
}
