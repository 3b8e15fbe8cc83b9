//! Scheduled jobs, notices already sent, and team holidays.

use serde_json::Value;
use sqlx::AssertSqlSafe;

use super::decode::JsonOrDefault;
use super::{json_rows, Backend, Conn, Json};

/// What a scheduled job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// One member's standup questions.
    StandupPrompt,
    /// A reminder to a member who has not answered yet.
    StandupReminder,
    /// A standup's summary in its channel.
    StandupSummary,
    /// Nudges, escalations, SLA warnings, silent clients, overload.
    Sweep,
    /// The weekly KPI summary.
    WeeklyKpi,
    /// A client's NPS round.
    NpsSurvey,
    /// Telling a task's owner (or whoever answers for it) that its client is chasing it.
    ChaseNotice,
    /// Publishing a member's home again after tasks changed.
    HomeRefresh,
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        JobKind::StandupPrompt,
        JobKind::StandupReminder,
        JobKind::StandupSummary,
        JobKind::Sweep,
        JobKind::WeeklyKpi,
        JobKind::NpsSurvey,
        JobKind::ChaseNotice,
        JobKind::HomeRefresh,
    ];

    /// The name stored in the `kind` column (and the start of most job keys).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::StandupPrompt => "standup",
            JobKind::StandupReminder => "standup_reminder",
            JobKind::StandupSummary => "standup_summary",
            JobKind::Sweep => "sweep",
            JobKind::WeeklyKpi => "weekly_kpi",
            JobKind::NpsSurvey => "nps_survey",
            JobKind::ChaseNotice => "chase_notice",
            JobKind::HomeRefresh => "home",
        }
    }

    /// The kind stored as `text`; `None` for a kind this version does not know.
    pub fn parse(text: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A job to create (or move to a later time, when one with its key exists).
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub key: String,
    pub kind: JobKind,
    pub at: i64,
}

/// A scheduled job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub key: String,
    /// `None`: a kind this version of keel does not know (the scheduler deletes it).
    pub kind: Option<JobKind>,
    pub next_run_at: i64,
    pub data: Value,
    pub last_run_at: Option<i64>,
}

/// A `jobs` row; its kind becomes a [`Job`]'s in `From`.
#[derive(sqlx::FromRow)]
struct JobRow {
    key: String,
    kind: String,
    next_run_at: i64,
    #[sqlx(try_from = "JsonOrDefault<Value>")]
    data: Value,
    last_run_at: Option<i64>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Job {
        Job {
            key: row.key,
            kind: JobKind::parse(&row.kind),
            next_run_at: row.next_run_at,
            data: row.data,
            last_run_at: row.last_run_at,
        }
    }
}

/// Creates the job, or moves an existing one with this key to `next_run_at`.
pub async fn upsert(conn: &mut Conn, key: &str, kind: JobKind, next_run_at: i64, data: &Value) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO jobs (key, kind, next_run_at, data) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, next_run_at = excluded.next_run_at, data = excluded.data",
    )
    .bind(key)
    .bind(kind.as_str())
    .bind(next_run_at)
    .bind(data.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a job's data; false when there is no job with this key.
pub async fn set_data(conn: &mut Conn, key: &str, data: &Value) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE jobs SET data = $1 WHERE key = $2")
        .bind(data.to_string())
        .bind(key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Creates the job unless one with this key exists; true when it was created.
pub async fn ensure(conn: &mut Conn, key: &str, kind: JobKind, next_run_at: i64, data: &Value) -> anyhow::Result<bool> {
    let created = sqlx::query(
        "INSERT INTO jobs (key, kind, next_run_at, data) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(kind.as_str())
    .bind(next_run_at)
    .bind(data.to_string())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(created == 1)
}

/// Creates jobs with one statement; a job that exists keeps the later of its time and the new one.
pub async fn schedule_many(conn: &mut Conn, jobs: &[NewJob]) -> anyhow::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let json: Vec<_> = jobs.iter().map(|job| (&job.key, job.kind.as_str(), job.at)).collect();
    super::values::insert(
        super::is_postgres(conn),
        "INSERT INTO jobs (key, kind, next_run_at)",
        &[Json::Text, Json::Text, Json::Int],
        &json,
        "ON CONFLICT (key) DO UPDATE SET next_run_at = \
         CASE WHEN excluded.next_run_at > jobs.next_run_at THEN excluded.next_run_at ELSE jobs.next_run_at END",
    )?
    .execute(conn)
    .await?;
    Ok(())
}

/// The jobs whose key starts with `prefix`, as `(key, next_run_at)`.
pub async fn prefixed(conn: &mut Conn, prefix: &str) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT key, next_run_at FROM jobs WHERE key LIKE $1 ESCAPE '\\'")
            .bind(like_prefix(prefix))
            .fetch_all(conn)
            .await?,
    )
}

/// A LIKE pattern matching what starts with `prefix`.
fn like_prefix(prefix: &str) -> String {
    prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_") + "%"
}

pub async fn get(conn: &mut Conn, key: &str) -> anyhow::Result<Option<Job>> {
    let row: Option<JobRow> =
        sqlx::query_as("SELECT key, kind, next_run_at, data, last_run_at FROM jobs WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Job::from))
}

/// Takes up to `limit` jobs due at `now`, earliest first, for this transaction. On PostgreSQL the
/// rows stay locked until the commit and jobs another scheduler holds are skipped, so each due
/// job runs once however many schedulers share the database; SQLite has one writer anyway.
pub async fn claim_due(conn: &mut Conn, backend: Backend, now: i64, limit: i64) -> anyhow::Result<Vec<Job>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT key, kind, next_run_at, data, last_run_at FROM jobs WHERE next_run_at <= $1 \
         ORDER BY next_run_at, key LIMIT $2{lock}"
    );
    let rows: Vec<JobRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// Records a run and sets the next one.
pub async fn ran(conn: &mut Conn, key: &str, at: i64, next_run_at: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE jobs SET last_run_at = $1, next_run_at = $2 WHERE key = $3")
        .bind(at)
        .bind(next_run_at)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records runs with one statement: each job's next run, all run at `at`.
pub async fn ran_many(conn: &mut Conn, at: i64, next: &[(String, i64)]) -> anyhow::Result<()> {
    if next.is_empty() {
        return Ok(());
    }
    let json: Vec<_> = next.iter().map(|(key, n)| (key, n)).collect();
    let sql = format!(
        "UPDATE jobs SET last_run_at = $2, next_run_at = r.c1 FROM ({}) AS r WHERE jobs.key = r.c0",
        json_rows(conn, &[Json::Text, Json::Int])
    );
    super::with_rows(conn, sql, &json)?.bind(at).execute(conn).await?;
    Ok(())
}

/// Deletes finished jobs with one statement.
pub async fn delete_many(conn: &mut Conn, keys: &[String]) -> anyhow::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let json: Vec<_> = keys.iter().map(|key| (key,)).collect();
    let sql = format!(
        "DELETE FROM jobs WHERE key IN (SELECT c0 FROM ({}) AS r)",
        json_rows(conn, &[Json::Text])
    );
    super::with_rows(conn, sql, &json)?.execute(conn).await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, key: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM jobs WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every job whose key starts with `prefix`.
pub async fn delete_prefixed(conn: &mut Conn, prefix: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM jobs WHERE key LIKE $1 ESCAPE '\\'")
        .bind(like_prefix(prefix))
        .execute(conn)
        .await?;
    Ok(())
}

/// When the earliest job is due (an index lookup, whatever the number of jobs).
pub async fn next_due(conn: &mut Conn) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT MIN(next_run_at) FROM jobs")
        .fetch_one(conn)
        .await?)
}

/// Records that a notice went out; false when one with this key already had.
pub async fn first_notice(conn: &mut Conn, key: &str, kind: &str, now: i64) -> anyhow::Result<bool> {
    let inserted = sqlx::query("INSERT INTO notices (key, kind, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(key)
        .bind(kind)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

/// The statement that records notices (key, kind, time), all in one; a key recorded already
/// stays as it was. `None` when there is none to record.
pub(crate) fn record_notices_statement(
    postgres: bool,
    notices: &[(String, String, i64)],
) -> anyhow::Result<Option<super::values::Insert>> {
    if notices.is_empty() {
        return Ok(None);
    }
    let rows: Vec<_> = notices.iter().map(|(key, kind, at)| (key, kind, at)).collect();
    super::values::insert(
        postgres,
        "INSERT INTO notices (key, kind, sent_at)",
        &[Json::Text, Json::Text, Json::Int],
        &rows,
        "ON CONFLICT DO NOTHING",
    )
    .map(Some)
}

/// Of these notice keys, the ones recorded already (one query).
pub async fn notices_sent(conn: &mut Conn, keys: &[String]) -> anyhow::Result<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = keys.iter().map(|k| (k,)).collect();
    let sql = format!(
        "SELECT key FROM notices WHERE key IN (SELECT c0 FROM ({}) AS k)",
        json_rows(conn, &[Json::Text])
    );
    let found: Vec<(String,)> = super::with_rows_as(conn, sql, &rows)?.fetch_all(conn).await?;
    Ok(found.into_iter().map(|(k,)| k).collect())
}

/// Whether the notice with this key went out already.
pub async fn notice_sent(conn: &mut Conn, key: &str) -> anyhow::Result<bool> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices WHERE key = $1")
        .bind(key)
        .fetch_one(conn)
        .await?;
    Ok(found > 0)
}

/// Adds a team holiday (`YYYY-MM-DD` in the team's time zone); false when it was there already.
pub async fn add_holiday(conn: &mut Conn, day: &str, name: &str) -> anyhow::Result<bool> {
    let inserted = sqlx::query("INSERT INTO holidays (day, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(day)
        .bind(name)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

/// Removes a team holiday; false when there was none that day.
pub async fn remove_holiday(conn: &mut Conn, day: &str) -> anyhow::Result<bool> {
    let removed = sqlx::query("DELETE FROM holidays WHERE day = $1")
        .bind(day)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(removed == 1)
}

/// Every stored holiday, `(day, name)`, in date order.
pub async fn holidays(conn: &mut Conn) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT day, name FROM holidays ORDER BY day")
        .fetch_all(conn)
        .await?)
}
