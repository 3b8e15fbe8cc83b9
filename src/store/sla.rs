//! The clients' own SLA targets, per priority (`client sla`), in business seconds.

use super::decode::Word;
use super::Conn;
use crate::domain::sla::Targets;
use crate::domain::Priority;

/// One client's target for one priority.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClientSla {
    pub client_id: i64,
    #[sqlx(try_from = "Word<Priority>")]
    pub priority: Priority,
    pub first_response_s: i64,
    pub resolution_s: i64,
}

impl ClientSla {
    pub fn targets(&self) -> Targets {
        Targets {
            first_response: self.first_response_s,
            resolution: self.resolution_s,
        }
    }
}

/// Every client's own targets.
pub async fn all(conn: &mut Conn) -> anyhow::Result<Vec<ClientSla>> {
    Ok(sqlx::query_as(
        "SELECT client_id, priority, first_response_s, resolution_s FROM client_sla ORDER BY client_id, priority",
    )
    .fetch_all(conn)
    .await?)
}

/// Sets a client's targets for a priority.
pub async fn set(conn: &mut Conn, client_id: i64, priority: Priority, t: Targets, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO client_sla (client_id, priority, first_response_s, resolution_s, set_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id, priority) DO UPDATE SET \
         first_response_s = excluded.first_response_s, resolution_s = excluded.resolution_s, set_at = excluded.set_at",
    )
    .bind(client_id)
    .bind(priority.as_str())
    .bind(t.first_response)
    .bind(t.resolution)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a client's own targets; returns how many priorities had one.
pub async fn reset(conn: &mut Conn, client_id: i64) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM client_sla WHERE client_id = $1")
        .bind(client_id)
        .execute(conn)
        .await?
        .rows_affected())
}
