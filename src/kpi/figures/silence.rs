//! Silent clients at the period's end: active, known for the whole window, and without a
//! touchpoint in it.

use crate::store::kpi::{touched_clients, Client};
use crate::store::Conn;

/// The keys of the clients silent for `days` days before `as_of`.
pub(super) async fn silent_clients(
    conn: &mut Conn,
    clients: &[Client],
    as_of: i64,
    days: i64,
) -> anyhow::Result<Vec<String>> {
    let window = days * 86_400;
    let touched = touched_clients(conn, as_of - window, as_of).await?;
    Ok(clients
        .iter()
        .filter(|c| c.active_at(as_of) && c.created_at <= as_of - window && !touched.contains(&c.id))
        .map(|c| c.key.clone())
        .collect())
}
