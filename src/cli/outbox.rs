//! `keel outbox list [--failed]` and `keel outbox retry ID|--all`: what waits to go out, what was
//! given up, and sending it again.

use serde::Serialize;
use serde_json::Value;

use super::args::Format;
use super::failure::{environment, failed, Failure};
use super::render::{record, rfc3339};
use super::reports::print_records;
use crate::store::{outbox, Store};

/// At most this many rows are listed.
const LIST_LIMIT: i64 = 1000;

/// One outbox row as printed.
#[derive(Serialize)]
struct OutboxRecord {
    id: i64,
    adapter: String,
    kind: String,
    target: String,
    created_at: Option<String>,
    attempts: i64,
    refusals: i64,
    next_attempt_at: Option<String>,
    failed_at: Option<String>,
    last_error: Option<String>,
    text: String,
}

pub(super) async fn list(store: &Store, failed_only: bool, format: Format) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let rows: Vec<Value> = outbox::listed(&mut conn, failed_only, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|o| {
            record(&OutboxRecord {
                id: o.id,
                adapter: o.adapter.clone(),
                kind: o.kind.clone(),
                target: o.target.clone(),
                created_at: rfc3339(Some(o.created_at)),
                attempts: o.attempts,
                refusals: o.refusals,
                next_attempt_at: rfc3339(Some(o.next_attempt_at).filter(|at| *at > 0)),
                failed_at: rfc3339(o.failed_at),
                last_error: o.last_error.clone(),
                text: crate::domain::truncate(&o.text(), 60),
            })
        })
        .collect();
    let fields = [
        "id",
        "adapter",
        "kind",
        "target",
        "created_at",
        "attempts",
        "refusals",
        "next_attempt_at",
        "failed_at",
        "last_error",
        "text",
    ];
    let (table, header): (&[&str], &[&str]) = if failed_only {
        (
            &["id", "adapter", "target", "failed_at", "last_error", "text"],
            &["ID", "ADAPTER", "TO", "FAILED", "ERROR", "TEXT"],
        )
    } else {
        (
            &["id", "adapter", "target", "created_at", "attempts", "text"],
            &["ID", "ADAPTER", "TO", "QUEUED", "TRIES", "TEXT"],
        )
    };
    print_records(format, &rows, &fields, (table, header))
}

/// Makes given-up messages due again; a running keel sends them within a second.
pub(super) async fn retry(store: &Store, id: Option<i64>) -> Result<(), Failure> {
    let mut conn = store
        .writer()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let now = chrono::Utc::now().timestamp();
    let queued = outbox::retry(&mut conn, id, now).await?;
    match (id, queued) {
        (Some(id), 0) => Err(failed(format!(
            "no message {id} was given up (see keel outbox list --failed)"
        ))),
        (_, n) => {
            let s = if n == 1 { "" } else { "s" };
            println!("{n} message{s} queued again");
            Ok(())
        }
    }
}
