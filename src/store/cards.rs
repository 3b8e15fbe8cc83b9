//! Task cards: the messages keel posted showing a task, each known by its outbox row, with the
//! card as it was last queued (so a change that leaves a card looking the same sends nothing).

use super::{Conn, Json};

/// One card of a task.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CardRow {
    pub outbox_id: i64,
    pub task_id: i64,
    pub adapter: String,
    pub channel: String,
    /// The card's JSON as last queued.
    pub rendered: String,
}

/// Records posted cards (their outbox rows just written), one statement for all.
pub async fn record(conn: &mut Conn, cards: &[CardRow], now: i64) -> anyhow::Result<()> {
    if cards.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = cards
        .iter()
        .map(|c| (c.outbox_id, c.task_id, &c.adapter, &c.channel, &c.rendered, now))
        .collect();
    super::values::insert(
        super::is_postgres(conn),
        "INSERT INTO task_cards (outbox_id, task_id, adapter, channel, rendered, updated_at)",
        &[Json::Int, Json::Int, Json::Text, Json::Text, Json::Text, Json::Int],
        &rows,
        "ON CONFLICT (outbox_id) DO NOTHING",
    )?
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The cards of these tasks, oldest first.
pub async fn of_tasks(conn: &mut Conn, tasks: &[i64]) -> anyhow::Result<Vec<CardRow>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = tasks.iter().map(|id| (id,)).collect();
    let sql = format!(
        "SELECT c.outbox_id, c.task_id, c.adapter, c.channel, c.rendered FROM task_cards c \
         WHERE c.task_id IN (SELECT c0 FROM ({}) AS t) ORDER BY c.outbox_id",
        super::json_rows(conn, &[Json::Int])
    );
    Ok(super::with_rows_as::<CardRow, _>(conn, sql, &rows)?
        .fetch_all(&mut *conn)
        .await?)
}

/// Notes a card's new look, queued as an update.
pub async fn rendered(conn: &mut Conn, outbox_id: i64, rendered: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE task_cards SET rendered = $1, updated_at = $2 WHERE outbox_id = $3")
        .bind(rendered)
        .bind(now)
        .bind(outbox_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a card shows that a change can alter: its heading, fields and controls (not the words
/// around them, which differ between the first post and its updates).
pub fn look(card: &keel_chat::Card) -> anyhow::Result<String> {
    Ok(serde_json::to_string(&(
        &card.title,
        &card.fields,
        &card.buttons,
        &card.menu,
        &card.date,
    ))?)
}
