//! One storage API over SQLite (embedded default) and PostgreSQL (production).
//!
//! Both backends go through sqlx's `Any` driver, so every query is written once; the schema lives
//! in per-backend migrations. Times are stored as unix seconds.

pub mod outbox;
pub mod people;
pub mod tasks;

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
    backend: Backend,
}

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

static MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
    postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
}];

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
        let pool = AnyPoolOptions::new()
            .max_connections(match (backend, memory) {
                (Backend::Sqlite, true) => 1,
                (Backend::Sqlite, false) => 4,
                (Backend::Postgres, _) => 10,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA foreign_keys = ON",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| unreachable(one_line(&e)))?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
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
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.context("starting a transaction")
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An error's message on one line, for users and logs.
pub fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `($1, $2, $3), ($4, $5, $6)`: placeholders for a multi-row `VALUES` of `rows` rows of
/// `columns` columns, bound in row order.
pub(crate) fn values_placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=columns).map(|c| format!("${}", r * columns + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads an optional column that is stored as 0/1.
pub(crate) fn flag(value: i64) -> bool {
    value != 0
}
