//! Standups: the team's schedule and questions, skipped days, and each member's daily run.

use super::decode::{Flag, JsonOrDefault};
use super::Conn;

/// A standup as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Standup {
    pub id: i64,
    pub cron: String,
    #[sqlx(try_from = "JsonOrDefault<Vec<String>>")]
    pub questions: Vec<String>,
    pub adapter: String,
    pub channel: String,
    pub channel_name: String,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "id, cron, questions, adapter, channel, channel_name, active, created_at";

/// Replaces the team's standup: the old one stops, the new one is active. Returns the new one.
pub async fn set(
    conn: &mut Conn,
    cron: &str,
    questions: &[String],
    (adapter, channel, channel_name): (&str, &str, &str),
    now: i64,
) -> anyhow::Result<Standup> {
    sqlx::query("UPDATE standups SET active = 0 WHERE active = 1")
        .execute(&mut *conn)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO standups (cron, questions, adapter, channel, channel_name, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(cron)
    .bind(serde_json::to_string(questions)?)
    .bind(adapter)
    .bind(channel)
    .bind(channel_name)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    by_id(conn, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("standup {id} vanished"))
}

/// Stops the active standup; false when there was none.
pub async fn stop(conn: &mut Conn) -> anyhow::Result<bool> {
    let stopped = sqlx::query("UPDATE standups SET active = 0 WHERE active = 1")
        .execute(conn)
        .await?
        .rows_affected();
    Ok(stopped > 0)
}

pub async fn by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<Standup>> {
    let sql = format!("SELECT {COLUMNS} FROM standups WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The team's active standup.
pub async fn active(conn: &mut Conn) -> anyhow::Result<Option<Standup>> {
    let sql = format!("SELECT {COLUMNS} FROM standups WHERE active = 1 ORDER BY id DESC LIMIT 1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_optional(conn).await?)
}

/// Skips a day (`YYYY-MM-DD`, each member's local date); false when it was skipped already.
pub async fn skip(conn: &mut Conn, standup_id: i64, day: &str) -> anyhow::Result<bool> {
    let inserted = sqlx::query("INSERT INTO standup_skips (standup_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(standup_id)
        .bind(day)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

pub async fn is_skipped(conn: &mut Conn, standup_id: i64, day: &str) -> anyhow::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT standup_id FROM standup_skips WHERE standup_id = $1 AND day = $2")
            .bind(standup_id)
            .bind(day)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// How a member's standup day went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Prompted,
    Answered,
    Away,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Prompted => "prompted",
            RunStatus::Answered => "answered",
            RunStatus::Away => "away",
        }
    }
}

/// A stored status; a word this version does not know reads as prompted.
impl From<String> for RunStatus {
    fn from(text: String) -> RunStatus {
        match text.as_str() {
            "answered" => RunStatus::Answered,
            "away" => RunStatus::Away,
            _ => RunStatus::Prompted,
        }
    }
}

/// One member's standup on one local day.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Run {
    pub id: i64,
    pub standup_id: i64,
    pub member_id: i64,
    pub day: String,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    pub prompted_at: i64,
    #[sqlx(try_from = "JsonOrDefault<Vec<String>>")]
    pub answers: Vec<String>,
    pub answered_at: Option<i64>,
}

const RUN_COLUMNS: &str = "id, standup_id, member_id, day, status, prompted_at, answers, answered_at";

/// Starts a member's day; `None` when that member's day has a run already (so a prompt goes out
/// at most once per member and day, whatever restarts or replicas do).
pub async fn start_run(
    conn: &mut Conn,
    standup_id: i64,
    member_id: i64,
    day: &str,
    status: RunStatus,
    at: i64,
) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO standup_runs (standup_id, member_id, day, status, prompted_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(standup_id)
    .bind(member_id)
    .bind(day)
    .bind(status.as_str())
    .bind(at)
    .fetch_optional(conn)
    .await?)
}

pub async fn run_by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<Run>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM standup_runs WHERE id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The member's newest unanswered run prompted at or after `since`.
pub async fn open_run(conn: &mut Conn, member_id: i64, since: i64) -> anyhow::Result<Option<Run>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM standup_runs WHERE member_id = $1 AND status = 'prompted' AND prompted_at >= $2 \
         ORDER BY prompted_at DESC LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(member_id)
        .bind(since)
        .fetch_optional(conn)
        .await?)
}

/// Saves a run's answers and status.
pub async fn save_run(conn: &mut Conn, r: &Run) -> anyhow::Result<()> {
    sqlx::query("UPDATE standup_runs SET status = $1, answers = $2, answered_at = $3 WHERE id = $4")
        .bind(r.status.as_str())
        .bind(serde_json::to_string(&r.answers)?)
        .bind(r.answered_at)
        .bind(r.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every run of a standup on a day, in member order.
pub async fn runs_on(conn: &mut Conn, standup_id: i64, day: &str) -> anyhow::Result<Vec<Run>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM standup_runs WHERE standup_id = $1 AND day = $2 ORDER BY member_id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(standup_id)
        .bind(day)
        .fetch_all(conn)
        .await?)
}

/// Every run on the last `days` days that have runs, newest day first, in member order.
pub async fn recent_runs(conn: &mut Conn, days: i64) -> anyhow::Result<Vec<Run>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM standup_runs WHERE day IN \
         (SELECT DISTINCT day FROM standup_runs ORDER BY day DESC LIMIT $1) ORDER BY day DESC, member_id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(days)
        .fetch_all(conn)
        .await?)
}

/// Every standup the team has had, active or stopped.
pub async fn all(conn: &mut Conn) -> anyhow::Result<Vec<Standup>> {
    let sql = format!("SELECT {COLUMNS} FROM standups ORDER BY id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await?)
}
