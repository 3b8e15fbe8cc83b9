//! One storage API over SQLite (embedded default) and PostgreSQL (production).
//!
//! Both backends go through sqlx's `Any` driver, so every query is written once; the schema lives
//! in per-backend migrations. Times are stored as unix seconds. The measurements behind the
//! connection settings below are in `docs/performance.md`.

pub mod browse;
pub mod cards;
pub mod dashboard;
mod decode;
pub mod homes;
pub mod inbox;
pub mod jobs;
pub mod journal;
pub mod kpi;
pub mod lane;
pub mod outbox;
pub mod people;
pub mod replay;
pub mod sla;
pub mod standups;
pub mod surveys;
pub mod tasks;
mod values;
pub mod writes;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};
use thiserror::Error;

/// A connection inside a transaction; store functions take `&mut Conn`.
pub type Conn = AnyConnection;
/// A write transaction.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened (an environment error: exit code 2).
#[derive(Debug, Error)]
pub enum OpenError {
    #[error("database URL \"{0}\" is not sqlite://… or postgres://…")]
    Scheme(String),
    #[error("cannot open database {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("cannot migrate database {url}: {reason}")]
    Migrate { url: String, reason: String },
}

/// The database keel keeps everything in.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// The connections writes go through (one, on SQLite).
    writer: AnyPool,
    backend: Backend,
    /// Where the inbox journal of a SQLite file lives (`keel.db-inbox/`).
    journal_dir: Option<std::path::PathBuf>,
    /// The checkpoints of a SQLite file, run beside the writer (see [`checkpoints`]); stopped
    /// when the last clone of the store goes.
    _checkpoints: Option<std::sync::Arc<crate::background::Background>>,
}

/// How often the write-ahead log of a SQLite file is copied into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the write-ahead log into the database every [`CHECKPOINT_EVERY`], on a reader
/// connection, until the pool is closed: a checkpoint on the writer holds its commit and every
/// write queued behind it, while `PASSIVE` on another connection waits for nobody.
async fn checkpoints(pool: AnyPool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
            if pool.is_closed() {
                return;
            }
            tracing::debug!(error = %one_line(&e), "checkpoint skipped");
        }
    }
}

/// The writer's page cache: it keeps the pages every write walks (the upper levels and newest
/// leaves of tables and indexes), bounded so keel's memory stays flat as the file grows.
const WRITER_CACHE_KIB: i64 = 8 * 1024;
/// Each reader's page cache (four readers). It is dropped whenever the writer has committed
/// since its last read, so it serves one read at most: kept small, so that readers the pool
/// opens late add little memory.
const READER_CACHE_KIB: i64 = 512;

/// Settings for every SQLite connection: write-ahead log, flushed at checkpoints (a crash loses
/// no committed transaction, a power cut at most the last ones). Checkpoints run beside the
/// writer every second ([`checkpoints`]); the writer runs one itself only when the log reaches
/// 10,000 pages (10 MiB of 1 KiB pages), should those fall behind. The page cache is set per pool
/// ([`WRITER_CACHE_KIB`], [`READER_CACHE_KIB`]).
///
/// A new file gets 1 KiB pages (a file that exists keeps its size): a commit writes every page
/// it changed to the log, a new task changes a leaf in each of its tables and indexes, and on a
/// slow disk the bytes flushed are what the answers wait for.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA page_size = 1024",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA wal_autocheckpoint = 10000",
];

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

/// One migration: its version and the file name shared by both backends' folders.
macro_rules! migration {
    ($version:literal, $file:literal) => {
        Migration {
            version: $version,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../../migrations/postgres/", $file)),
        }
    };
}

static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation.sql"),
    migration!(2, "0002_capture_indexes.sql"),
    migration!(3, "0003_scheduler.sql"),
    migration!(4, "0004_sweep.sql"),
    migration!(5, "0005_kpi.sql"),
    migration!(6, "0006_inbox.sql"),
    migration!(7, "0007_kpi_status.sql"),
    migration!(8, "0008_replicas.sql"),
    migration!(9, "0009_status_columns.sql"),
    migration!(10, "0010_client_sla.sql"),
    migration!(11, "0011_dead_letters.sql"),
    migration!(12, "0012_dashboard.sql"),
    migration!(13, "0013_dashboard_indexes.sql"),
    migration!(14, "0014_mail.sql"),
    migration!(15, "0015_cards.sql"),
    migration!(16, "0016_homes.sql"),
];

/// A URL safe to show: the password removed.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens the database at `url` (creating a SQLite file when missing) and applies pending
    /// migrations.
    pub async fn open(url: &str) -> Result<Store, OpenError> {
        let store = Store::connect(url).await?;
        store.migrate().await.map_err(|e| OpenError::Migrate {
            url: redact_url(url),
            reason: one_line(&e),
        })?;
        Ok(store)
    }

    /// Opens the database without migrating it.
    pub async fn connect(url: &str) -> Result<Store, OpenError> {
        sqlx::any::install_default_drivers();
        let (backend, url_to_open) = if url.starts_with("sqlite:") {
            let with_mode = if url.contains("mode=") || url.contains(":memory:") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, with_mode)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(OpenError::Scheme(redact_url(url)));
        };
        let unreachable = |reason: String| OpenError::Unreachable {
            url: redact_url(url),
            reason,
        };
        let options = AnyConnectOptions::from_str(&url_to_open).map_err(|e| unreachable(one_line(&e)))?;
        let memory = url.contains(":memory:");
        let open = |connections: u32, cache_kib: i64| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                // A SQLite file does not drop its connections: checking one before every use
                // only costs a round trip to its thread. A PostgreSQL connection may have died
                // with the server, so it is checked.
                .test_before_acquire(backend == Backend::Postgres)
                // Renewing connections (30 minutes after opening, 10 idle) bounds what a
                // PostgreSQL session holds. A SQLite connection holds nothing outside keel and a
                // new one starts cold (no cache, no prepared statements): it lives with the pool.
                .max_lifetime((backend == Backend::Postgres).then_some(Duration::from_secs(30 * 60)))
                .idle_timeout((backend == Backend::Postgres).then_some(Duration::from_secs(10 * 60)))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            for pragma in SQLITE_PRAGMAS {
                                conn.execute(*pragma).await?;
                            }
                            let cache = format!("PRAGMA cache_size = -{cache_kib}");
                            conn.execute(sqlx::AssertSqlSafe(cache)).await?;
                        } else {
                            // keel's queries are short and index-driven: compiling one costs more
                            // than it saves. A server without the setting (before 11) goes on.
                            let _ = conn.execute("SET jit = off").await;
                        }
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let (pool, writer) = match (backend, memory) {
            (Backend::Sqlite, true) => {
                let pool = open(1, WRITER_CACHE_KIB).await.map_err(|e| unreachable(one_line(&e)))?;
                (pool.clone(), pool)
            }
            // SQLite takes one writer at a time anyway. Keeping every write on one connection
            // keeps its page cache warm: a connection drops its whole cache whenever another
            // one has written.
            (Backend::Sqlite, false) => (
                open(4, READER_CACHE_KIB).await.map_err(|e| unreachable(one_line(&e)))?,
                open(1, WRITER_CACHE_KIB).await.map_err(|e| unreachable(one_line(&e)))?,
            ),
            (Backend::Postgres, _) => {
                // The cache size is SQLite's; PostgreSQL's is the server's.
                let pool = open(10, 0).await.map_err(|e| unreachable(one_line(&e)))?;
                (pool.clone(), pool)
            }
        };
        let journal_dir = match (backend, memory) {
            (Backend::Sqlite, false) => sqlite_path(url).map(|path| {
                let mut dir = path.into_os_string();
                dir.push("-inbox");
                std::path::PathBuf::from(dir)
            }),
            _ => None,
        };
        let checkpoints = journal_dir
            .is_some()
            .then(|| std::sync::Arc::new(crate::background::Background::spawn(checkpoints(pool.clone()))));
        Ok(Store {
            pool,
            writer,
            backend,
            journal_dir,
            _checkpoints: checkpoints,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The directory of the inbox journal, on a SQLite file (see [`journal`]); `None` on
    /// PostgreSQL and in memory, where the inbox is the `inbox` table.
    pub fn journal_dir(&self) -> Option<&std::path::Path> {
        self.journal_dir.as_deref()
    }

    /// The pool, for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool to write through outside a transaction (its one connection, on SQLite). Hold a
    /// connection from it only while writing: every other writer waits for it.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Applies every migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.acquire().await.context("acquiring a connection")?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .context("creating schema_migrations")?;
        let mut applied = 0;
        for migration in MIGRATIONS {
            let mut tx = match self.backend {
                Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
                Backend::Postgres => {
                    let mut tx = conn.begin().await?;
                    // Replicas starting together must not run the same migration twice.
                    tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await?;
                    tx
                }
            };
            let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
            if done.is_some() {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("applying migration {}", migration.version))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(migration.version)
                .bind(chrono::Utc::now().timestamp())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once, so two writers
    /// wait for each other instead of failing on a stale snapshot.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        };
        tx.context("starting a transaction")
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// The file of a `sqlite:` URL (`sqlite://keel.db?mode=rwc` → `keel.db`).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| std::path::PathBuf::from(path))
}

/// An error's message on one line, for users and logs.
pub fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The SQL type of a column read from JSON rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Json {
    Int,
    Real,
    Text,
}

pub(crate) fn is_postgres(conn: &Conn) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// `SELECT … FROM …` over rows bound as `$1` (see [`with_rows`]), with the given columns in
/// order (named `c0`, `c1`, …); the rows come out in their order. Many rows then take one
/// parameter and the same SQL text whatever their number, so the statement is prepared once.
///
/// Both backends read an array of row arrays. SQLite takes each row's text from `json_each`,
/// turns it into its binary form once (`jsonb`, kept by `MATERIALIZED`), and reads the columns
/// from that with `->>`: on the text, each `->>` would read the row again. The `jsonb_each` of
/// SQLite 3.51 would save the first step, but the SQLite that matrix-sdk's rusqlite links is 3.50.
pub(crate) fn json_rows(conn: &Conn, columns: &[Json]) -> String {
    rows_select(is_postgres(conn), columns)
}

/// [`json_rows`] for a backend known beforehand (PostgreSQL when `postgres`).
pub(crate) fn rows_select(postgres: bool, columns: &[Json]) -> String {
    let select: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, kind)| match (postgres, kind) {
            (false, _) => format!("r.v ->> {i} AS c{i}"),
            (true, Json::Text) => format!("j.e ->> {i} AS c{i}"),
            (true, Json::Int) => format!("(j.e ->> {i})::BIGINT AS c{i}"),
            (true, Json::Real) => format!("(j.e ->> {i})::DOUBLE PRECISION AS c{i}"),
        })
        .collect();
    // `WHERE true` keeps SQLite from reading a following `ON CONFLICT` as a join constraint.
    if postgres {
        format!(
            "SELECT {} FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS j(e, n) WHERE true ORDER BY j.n",
            select.join(", ")
        )
    } else {
        format!(
            "WITH r AS MATERIALIZED (SELECT j.key AS k, jsonb(j.value) AS v FROM json_each($1) AS j) \
             SELECT {} FROM r WHERE true ORDER BY r.k",
            select.join(", ")
        )
    }
}

/// A query whose `$1` is `rows` (each serializing as a JSON array of one row's columns: a tuple,
/// or a [`serde::Serialize`] that writes a tuple) for [`json_rows`]. The rows are written as JSON
/// text in one pass, with no tree of values in between. The connection is taken so that the
/// shape can follow the backend should it ever need to.
pub(crate) fn with_rows<T: serde::Serialize>(conn: &Conn, sql: String, rows: &[T]) -> anyhow::Result<Statement> {
    let _ = conn;
    statement(sql, rows)
}

/// Runs a statement when there is one, naming what it does in its error.
pub(crate) async fn run(
    conn: &mut Conn,
    statement: Option<impl Into<values::Insert>>,
    what: &'static str,
) -> anyhow::Result<()> {
    if let Some(statement) = statement {
        statement.into().execute(&mut *conn).await.context(what)?;
    }
    Ok(())
}

/// A statement with its rows bound, ready to run.
pub(crate) type Statement = sqlx::query::Query<'static, Any, sqlx::any::AnyArguments>;

/// [`with_rows`] without a connection at hand (see [`rows_select`]).
pub(crate) fn statement<T: serde::Serialize>(sql: String, rows: &[T]) -> anyhow::Result<Statement> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(rows_text(rows)?))
}

/// [`with_rows`] for a query whose rows read as `R`.
pub(crate) fn with_rows_as<R, T: serde::Serialize>(
    conn: &Conn,
    sql: String,
    rows: &[T],
) -> anyhow::Result<sqlx::query::QueryAs<'static, Any, R, sqlx::any::AnyArguments>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    let _ = conn;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(rows_text(rows)?))
}

/// The rows as one JSON array.
fn rows_text<T: serde::Serialize>(rows: &[T]) -> anyhow::Result<String> {
    serde_json::to_string(rows).context("writing the rows of a query")
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// A migration file nobody listed would never run: every file of both folders is listed,
    /// in order, with the version its name starts with.
    #[test]
    fn every_migration_file_is_listed_in_order() {
        for backend in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .expect("the migrations folder")
                .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let versions: Vec<i64> = files
                .iter()
                .map(|f| {
                    f.split('_')
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("a numbered file")
                })
                .collect();
            let listed: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
            assert_eq!(versions, listed, "{backend}: {files:?}");
        }
    }
}
