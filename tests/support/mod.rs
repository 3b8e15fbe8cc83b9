//! Shared test helpers: a fresh real database per test on SQLite or PostgreSQL, and the real
//! `keel` binary driven through its console.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL server tests use; `KEEL_TEST_POSTGRES` overrides it.
pub fn postgres_admin_url() -> String {
    std::env::var("KEEL_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A throwaway database. SQLite files live in a temporary directory; PostgreSQL databases are
/// created fresh and dropped on drop.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("keel.db").display());
        TestDb {
            url,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A new PostgreSQL database. Fails the test when the server is unreachable: a missing
    /// service is a failure, never a skip.
    pub fn postgres() -> TestDb {
        let name = format!(
            "keel_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        psql(&format!("CREATE DATABASE {name}"));
        let admin = postgres_admin_url();
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .expect("postgres url has a database");
        TestDb {
            url: format!("{base}/{name}"),
            pg_name: Some(name),
            _dir: None,
        }
    }

    pub fn new(backend: &str) -> TestDb {
        match backend {
            "sqlite" => TestDb::sqlite(),
            "postgres" => TestDb::postgres(),
            other => panic!("unknown backend {other}"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            let _ = try_psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs one statement on the PostgreSQL admin database, on a thread of its own so it works from
/// inside a test's runtime too.
fn try_psql(sql: &str) -> Result<(), String> {
    let sql = sql.to_string();
    std::thread::spawn(move || admin_statement(&sql))
        .join()
        .map_err(|_| "psql thread panicked".to_string())?
}

fn admin_statement(sql: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&postgres_admin_url()).await.map_err(|e| {
            format!(
                "PostgreSQL at {} is not reachable ({e}); start it (scripts/test does)",
                postgres_admin_url()
            )
        })?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

fn psql(sql: &str) {
    if let Err(e) = try_psql(sql) {
        panic!("{e}");
    }
}

/// A small multi-threaded runtime for tests that drive the core directly.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `keel` with these arguments and stdin, returning its output.
pub fn keel(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .env_remove("KEEL_DATABASE_URL")
        .env_remove("KEEL_NOW")
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keel binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("keel finishes")
}

/// `keel chat` as one speaker: returns stdout, and fails the test on a non-zero exit.
pub fn chat(db: &TestDb, now: &str, who: &[&str], lines: &str) -> String {
    let mut args = vec!["chat", "--db", &db.url, "--now", now];
    args.extend_from_slice(who);
    let out = keel(&args, lines);
    assert!(
        out.status.success(),
        "keel chat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `keel tasks list --format json`, parsed.
pub fn tasks_json(db: &TestDb) -> Vec<serde_json::Value> {
    let out = keel(&["tasks", "list", "--db", &db.url, "--format", "json"], "");
    assert!(
        out.status.success(),
        "tasks list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("tasks list prints JSON")
}

/// `keel export events`: the whole event log, one JSON value per line.
pub fn events(db: &TestDb) -> Vec<serde_json::Value> {
    let out = keel(&["export", "events", "--db", &db.url], "");
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect()
}

/// Generates one test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                ($body)("sqlite");
            }

            #[test]
            fn postgres() {
                ($body)("postgres");
            }
        }
    };
}
