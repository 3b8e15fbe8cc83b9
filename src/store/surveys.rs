//! Surveys asked and answered: NPS (0–10, per client contact) and CSAT (👍/👎 after a done task).

use super::Conn;

/// A survey question as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Survey {
    pub id: i64,
    /// `nps` or `csat`.
    pub kind: String,
    pub client_id: i64,
    pub adapter: String,
    /// The contact's platform id.
    pub contact: String,
    pub contact_name: String,
    /// The done task a CSAT question is about.
    pub task_id: Option<i64>,
    pub asked_at: i64,
    pub answered_at: Option<i64>,
    pub score: Option<i64>,
}

const COLUMNS: &str = "id, kind, client_id, adapter, contact, contact_name, task_id, asked_at, answered_at, score";

/// Records a question asked; returns its id.
pub async fn ask(
    conn: &mut Conn,
    kind: &str,
    client_id: i64,
    adapter: &str,
    contact: (&str, &str),
    task_id: Option<i64>,
    at: i64,
) -> anyhow::Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO surveys (kind, client_id, adapter, contact, contact_name, task_id, asked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(kind)
    .bind(client_id)
    .bind(adapter)
    .bind(contact.0)
    .bind(contact.1)
    .bind(task_id)
    .bind(at)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The contact's newest question of a kind asked at or after `since`, answered or not.
pub async fn latest(
    conn: &mut Conn,
    adapter: &str,
    contact: &str,
    kind: &str,
    since: i64,
) -> anyhow::Result<Option<Survey>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM surveys WHERE adapter = $1 AND contact = $2 AND kind = $3 AND asked_at >= $4 \
         ORDER BY asked_at DESC, id DESC LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(adapter)
        .bind(contact)
        .bind(kind)
        .bind(since)
        .fetch_optional(conn)
        .await?)
}

/// The client's newest question of a kind asked at or after `since` on this adapter, to anyone.
pub async fn latest_for_client(
    conn: &mut Conn,
    client_id: i64,
    adapter: &str,
    kind: &str,
    since: i64,
) -> anyhow::Result<Option<Survey>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM surveys WHERE client_id = $1 AND adapter = $2 AND kind = $3 AND asked_at >= $4 \
         ORDER BY asked_at DESC, id DESC LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(client_id)
        .bind(adapter)
        .bind(kind)
        .bind(since)
        .fetch_optional(conn)
        .await?)
}

pub async fn by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<Survey>> {
    let sql = format!("SELECT {COLUMNS} FROM surveys WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The question posted as platform message `message_id`.
pub async fn by_message(conn: &mut Conn, adapter: &str, message_id: &str) -> anyhow::Result<Option<Survey>> {
    let sql = format!("SELECT {COLUMNS} FROM surveys WHERE message_id = $1 AND adapter = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(message_id)
        .bind(adapter)
        .fetch_optional(conn)
        .await?)
}

/// Remembers the platform's id of the posted question (reactions on it are answers).
pub async fn posted(conn: &mut Conn, id: i64, message_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE surveys SET message_id = $1 WHERE id = $2")
        .bind(message_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the answer; false when the question was answered already (the first answer stays).
pub async fn answer(conn: &mut Conn, id: i64, at: i64, score: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE surveys SET answered_at = $1, score = $2 WHERE id = $3 AND answered_at IS NULL")
        .bind(at)
        .bind(score)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A client's contacts, `(adapter, platform id, name)`, oldest first.
pub async fn client_contacts(conn: &mut Conn, client_id: i64) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT adapter, platform_id, name FROM contacts WHERE client_id = $1 ORDER BY created_at, platform_id",
    )
    .bind(client_id)
    .fetch_all(conn)
    .await?)
}
