//! The outbox: every message keel sends is written here in the transaction that caused it, then
//! delivered (and retried) by the dispatcher, so a crash or an outage loses and duplicates nothing.

use keel_chat::Outbound;
use sqlx::AssertSqlSafe;

use super::decode::JsonText;
use super::tasks::TaskMessage;
use super::{Backend, Conn, Json};

/// An outbox row claimed for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub attempts: i64,
    /// Of the attempts, those the platform answered and refused.
    pub refusals: i64,
    /// An earlier claim ended without a recorded outcome (keel stopped mid-send): the message may
    /// be out already.
    pub uncertain: bool,
    pub outbound: Outbound,
}

/// A claimed `outbox` row; its claim count becomes [`Pending::uncertain`] in `From`.
#[derive(sqlx::FromRow)]
struct PendingRow {
    id: i64,
    kind: String,
    target: String,
    attempts: i64,
    refusals: i64,
    claims: i64,
    body: JsonText<Outbound>,
}

impl From<PendingRow> for Pending {
    fn from(row: PendingRow) -> Pending {
        Pending {
            id: row.id,
            kind: row.kind,
            target: row.target,
            attempts: row.attempts,
            refusals: row.refusals,
            // Every claim but this one ended in an outcome, or was given back.
            uncertain: row.claims > row.attempts + 1,
            outbound: row.body.0,
        }
    }
}

/// A message to queue: the adapter that sends it, what kind of message it is (`reply`,
/// `standup_prompt`, `nudge`, …), and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub adapter: String,
    pub kind: String,
    pub outbound: Outbound,
}

/// What a message in a thread names as the thread when the thread's first message is keel's own
/// and still in the outbox: `outbox:<id>`. The dispatcher swaps in the platform's id once that
/// message is out (or sends without a thread when the platform gave none).
pub fn thread_under(outbox_id: i64) -> String {
    format!("outbox:{outbox_id}")
}

/// Queues one outbound message for an adapter (a reply); it is due at once.
pub async fn enqueue(conn: &mut Conn, adapter: &str, outbound: &Outbound, now: i64) -> anyhow::Result<()> {
    enqueue_one(conn, adapter, "reply", outbound, now).await.map(|_| ())
}

/// Queues one message and returns its outbox id (for messages that thread under it).
pub async fn enqueue_one(
    conn: &mut Conn,
    adapter: &str,
    kind: &str,
    outbound: &Outbound,
    now: i64,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (adapter, kind, target, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(adapter)
    .bind(kind)
    .bind(outbound.target())
    .bind(serde_json::to_string(outbound)?)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Queues messages of any kind with one statement, in order.
pub async fn enqueue_queued(conn: &mut Conn, rows: &[Queued], now: i64) -> anyhow::Result<()> {
    let rows: Vec<(&str, &str, &Outbound)> = rows
        .iter()
        .map(|q| (q.adapter.as_str(), q.kind.as_str(), &q.outbound))
        .collect();
    enqueue_rows(conn, &rows, now).await
}

async fn enqueue_rows(conn: &mut Conn, rows: &[(&str, &str, &Outbound)], now: i64) -> anyhow::Result<()> {
    let posts_cards = rows.iter().any(|(_, _, o)| matches!(o, Outbound::Card { .. }));
    let timed: Vec<(&str, &str, &Outbound, i64)> = rows.iter().map(|&(a, k, o)| (a, k, o, now)).collect();
    let ids = insert_rows(conn, &timed, posts_cards).await?;
    if !posts_cards {
        return Ok(());
    }
    let mut cards = Vec::new();
    for ((adapter, _, outbound), id) in rows.iter().zip(ids) {
        if let Outbound::Card { conversation, card, .. } = outbound {
            cards.push(super::cards::CardRow {
                outbox_id: id,
                task_id: card.task,
                adapter: adapter.to_string(),
                channel: conversation.clone(),
                rendered: super::cards::look(card)?,
            });
        }
    }
    super::cards::record(conn, &cards, now).await
}

/// Inserts the rows (adapter, kind, message, creation time) with one statement, in order; with
/// `returning`, their ids, ascending as the rows are (else none).
async fn insert_rows(
    conn: &mut Conn,
    rows: &[(&str, &str, &Outbound, i64)],
    returning: bool,
) -> anyhow::Result<Vec<i64>> {
    let Some(insert) = insert_statement(super::is_postgres(conn), rows, returning)? else {
        return Ok(Vec::new());
    };
    if !returning {
        insert.execute(&mut *conn).await?;
        return Ok(Vec::new());
    }
    inserted_ids(conn, insert, rows.len()).await
}

/// [`insert_rows`] as a statement to run, `None` when there are no rows.
fn insert_statement(
    postgres: bool,
    rows: &[(&str, &str, &Outbound, i64)],
    returning: bool,
) -> anyhow::Result<Option<super::values::Insert>> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut json_rows = Vec::with_capacity(rows.len());
    for (adapter, kind, outbound, at) in rows {
        json_rows.push((adapter, kind, outbound.target(), serde_json::to_string(outbound)?, at));
    }
    // next_attempt_at defaults to 0: due at once.
    super::values::insert(
        postgres,
        "INSERT INTO outbox (adapter, kind, target, body, created_at)",
        &[Json::Text, Json::Text, Json::Text, Json::Text, Json::Int],
        &json_rows,
        if returning { "RETURNING id" } else { "" },
    )
    .map(Some)
}

/// Runs an insert of `count` rows made with `returning` and returns their ids, ascending.
async fn inserted_ids(conn: &mut Conn, insert: super::values::Insert, count: usize) -> anyhow::Result<Vec<i64>> {
    // The rows are inserted in their order, so their ids ascend with it.
    let mut ids: Vec<i64> = insert
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| sqlx::Row::try_get::<i64, _>(row, 0))
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    anyhow::ensure!(
        ids.len() == count,
        "the outbox took {} of {} messages",
        ids.len(),
        count
    );
    Ok(ids)
}

/// A message that starts a task's thread in a conversation (the card announcing a client's
/// mail): queued in a transaction's `Writes`, and once in the outbox, linked to the task as
/// [`thread_under`] its outbox id.
#[derive(Debug, Clone)]
pub struct ThreadStart {
    pub adapter: String,
    pub kind: &'static str,
    pub channel: String,
    pub outbound: Outbound,
    pub task_id: i64,
    pub at: i64,
}

/// The statement that queues thread-starting messages, all in one, to run with
/// [`thread_starts_queued`]; `None` when there are none.
pub(crate) fn thread_starts_statement(
    postgres: bool,
    starts: &[ThreadStart],
) -> anyhow::Result<Option<super::values::Insert>> {
    let rows: Vec<(&str, &str, &Outbound, i64)> = starts
        .iter()
        .map(|s| (s.adapter.as_str(), s.kind, &s.outbound, s.at))
        .collect();
    insert_statement(postgres, &rows, true)
}

/// Runs the statement of [`thread_starts_statement`] and returns each start's task link, in order.
pub(crate) async fn thread_starts_queued(
    conn: &mut Conn,
    insert: Option<super::values::Insert>,
    starts: &[ThreadStart],
) -> anyhow::Result<Vec<TaskMessage>> {
    let ids = match insert {
        Some(insert) => inserted_ids(conn, insert, starts.len()).await?,
        None => Vec::new(),
    };
    Ok(starts
        .iter()
        .zip(ids)
        .map(|(s, id)| TaskMessage {
            adapter: s.adapter.clone(),
            channel: s.channel.clone(),
            message_id: thread_under(id),
            task_id: s.task_id,
        })
        .collect())
}

/// The platform id of a message keel sent from the outbox, once it is out.
pub async fn sent_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT sent_id FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .flatten())
}

/// How long a claim holds before another dispatcher may take the row over (seconds). The
/// dispatcher renews its claims while it works through them ([`extend`]); a claim left by a
/// process that stopped expires after this.
pub const CLAIM_SECONDS: i64 = 30;

/// Claims up to `limit` due messages of one adapter, oldest first. A message waits while an
/// earlier one to the same target waits for its retry or is claimed elsewhere, so messages to a
/// conversation go out in order across retries. On PostgreSQL, rows another replica holds are
/// skipped (`FOR UPDATE SKIP LOCKED`), so each message is sent once.
pub async fn claim(
    conn: &mut Conn,
    backend: Backend,
    adapter: &str,
    now: i64,
    limit: i64,
) -> anyhow::Result<Vec<Pending>> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1, claims = claims + 1 WHERE id IN (SELECT id FROM outbox AS o WHERE adapter = $2 \
         AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
         AND NOT EXISTS (SELECT 1 FROM outbox AS earlier WHERE earlier.adapter = o.adapter AND earlier.target = o.target \
           AND earlier.id < o.id AND earlier.sent_at IS NULL AND earlier.failed_at IS NULL \
           AND (earlier.next_attempt_at > $3 OR earlier.claimed_until >= $3)) \
         ORDER BY id LIMIT $4 {lock}) RETURNING id, kind, target, attempts, refusals, claims, body"
    );
    let rows: Vec<PendingRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(now + CLAIM_SECONDS)
        .bind(adapter)
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let mut pending: Vec<Pending> = rows.into_iter().map(Pending::from).collect();
    pending.sort_by_key(|p| p.id);
    Ok(pending)
}

/// Renews the claims on rows still being worked through (not sent, given up, retried or given
/// back) until `until`.
pub async fn extend(conn: &mut Conn, ids: &[i64], until: i64) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = ids.iter().map(|id| (id,)).collect();
    let sql = format!(
        "UPDATE outbox SET claimed_until = $2 WHERE id IN (SELECT c0 FROM ({}) AS claimed) \
         AND claimed_until IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL",
        super::json_rows(conn, &[Json::Int])
    );
    super::with_rows(conn, sql, &rows)?
        .bind(until)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The kind of a message carrying a secret (a dashboard sign-in link): its text is kept only
/// until it is sent.
pub const SECRET: &str = "sign_in_link";

/// The kind of the card announcing a mail request in the team's channel: once sent, its platform
/// id is linked to the task, so the team's replies in its thread are about the task.
pub const MAIL_CARD: &str = "mail_card";

/// Records a delivery and the platform's id for the message, when it gave one. A secret's text
/// is dropped then.
pub async fn mark_sent(conn: &mut Conn, id: i64, now: i64, sent_id: Option<&str>) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET sent_at = $1, sent_id = $2, claimed_until = NULL, attempts = attempts + 1, \
         body = CASE WHEN kind = 'sign_in_link' \
           THEN '{\"type\":\"direct\",\"user\":\"\",\"text\":\"(a sign-in link, removed once sent)\"}' \
           ELSE body END \
         WHERE id = $3",
    )
    .bind(now)
    .bind(sent_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules another attempt at `next_at`, counting this one (and, when the platform answered
/// and refused it, as a refusal).
pub async fn mark_retry(conn: &mut Conn, id: i64, next_at: i64, error: &str, refused: bool) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET next_attempt_at = $1, claimed_until = NULL, attempts = attempts + 1, \
         refusals = refusals + $4, last_error = $2 WHERE id = $3",
    )
    .bind(next_at)
    .bind(error)
    .bind(id)
    .bind(i64::from(refused))
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a claimed row back untouched (an earlier message to the same target is not out yet).
pub async fn release(conn: &mut Conn, id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE outbox SET claimed_until = NULL, claims = claims - 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives up on a message for good (a dead letter); it stays in the table with its error, for
/// `keel outbox list --failed` and `keel outbox retry`.
pub async fn mark_failed(conn: &mut Conn, id: i64, now: i64, error: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE outbox SET failed_at = $1, claimed_until = NULL, attempts = attempts + 1, last_error = $2 WHERE id = $3")
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes every waiting message of an adapter due now (its platform is back: no need to sit out
/// the backoff).
pub async fn due_now(conn: &mut Conn, adapter: &str, now: i64) -> anyhow::Result<u64> {
    let done = sqlx::query(
        "UPDATE outbox SET next_attempt_at = $1 WHERE adapter = $2 AND sent_at IS NULL AND failed_at IS NULL \
         AND next_attempt_at > $1",
    )
    .bind(now)
    .bind(adapter)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Messages not yet delivered nor given up.
pub async fn depth(conn: &mut Conn) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
            .fetch_one(conn)
            .await?,
    )
}

/// The messages waiting for one adapter (not delivered nor given up).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Depth {
    pub adapter: String,
    pub messages: i64,
    /// When the oldest of them was queued.
    pub oldest_at: i64,
}

/// The messages waiting, per adapter with any, read from the pool (for the gauges).
pub async fn depth_by_adapter(store: &super::Store) -> anyhow::Result<Vec<Depth>> {
    Ok(sqlx::query_as(
        "SELECT adapter, COUNT(*) AS messages, MIN(created_at) AS oldest_at FROM outbox \
         WHERE sent_at IS NULL AND failed_at IS NULL GROUP BY adapter",
    )
    .fetch_all(store.pool())
    .await?)
}

/// An outbox row as `keel outbox list` shows it.
#[derive(sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub adapter: String,
    pub kind: String,
    pub target: String,
    pub created_at: i64,
    pub attempts: i64,
    pub refusals: i64,
    pub next_attempt_at: i64,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
    body: JsonText<Outbound>,
}

impl Listed {
    /// The message's text (an image's title, a reaction's emoji).
    pub fn text(&self) -> String {
        match &self.body.0 {
            Outbound::Message { text, .. }
            | Outbound::Direct { text, .. }
            | Outbound::Ephemeral { text, .. }
            | Outbound::Question { text, .. } => text.clone(),
            Outbound::Reaction { emoji, .. } => emoji.clone(),
            Outbound::Image { caption, .. } => caption.clone(),
            Outbound::Card { card, .. } | Outbound::CardUpdate { card, .. } => card.summary.clone(),
            Outbound::Mail(mail) => mail.subject.clone(),
            Outbound::Form { form, .. } => form.title.clone(),
            Outbound::Home { .. } => "home".into(),
        }
    }
}

/// The messages waiting to be sent, or (with `failed`) the dead letters, oldest first.
pub async fn listed(conn: &mut Conn, failed: bool, limit: i64) -> anyhow::Result<Vec<Listed>> {
    let which = if failed {
        "failed_at IS NOT NULL"
    } else {
        "sent_at IS NULL AND failed_at IS NULL"
    };
    let sql = format!(
        "SELECT id, adapter, kind, target, created_at, attempts, refusals, next_attempt_at, failed_at, last_error, body \
         FROM outbox WHERE {which} ORDER BY id LIMIT $1"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(limit).fetch_all(conn).await?)
}

/// Makes dead letters due again, as if new: one (`Some(id)`) or all. Returns how many.
pub async fn retry(conn: &mut Conn, id: Option<i64>, now: i64) -> anyhow::Result<u64> {
    let set = "UPDATE outbox SET failed_at = NULL, attempts = 0, refusals = 0, claims = 0, claimed_until = NULL, \
               next_attempt_at = $1 WHERE failed_at IS NOT NULL";
    let done = match id {
        Some(id) => {
            sqlx::query(AssertSqlSafe(format!("{set} AND id = $2")))
                .bind(now)
                .bind(id)
                .execute(conn)
                .await?
        }
        None => sqlx::query(set).bind(now).execute(conn).await?,
    };
    Ok(done.rows_affected())
}

/// The dead letters, per adapter with any, read from the pool (for the gauge).
pub async fn failed_by_adapter(store: &super::Store) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT adapter, COUNT(*) FROM outbox WHERE failed_at IS NOT NULL GROUP BY adapter")
            .fetch_all(store.pool())
            .await?,
    )
}
