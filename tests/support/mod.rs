//! Shared test helpers: a fresh real database per test on SQLite or PostgreSQL, the real `keel`
//! binary driven through its console, and the fake Slack.
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
    /// Whether `keel verify` runs on it when the test is over.
    verify: bool,
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
            verify: true,
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
            verify: true,
        }
    }

    /// A database someone else owns (nothing is dropped).
    pub fn at(url: &str) -> TestDb {
        TestDb {
            url: url.to_string(),
            pg_name: None,
            _dir: None,
            verify: false,
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

impl TestDb {
    /// Not verified at the end: for a test that breaks the tasks table on purpose.
    pub fn unverified(mut self) -> TestDb {
        self.verify = false;
        self
    }

    /// `keel verify` on this database: its output and whether it found it whole.
    pub fn verify(&self) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["verify", "--db", &self.url])
            .env_remove("KEEL_DATABASE_URL")
            .env_remove("KEEL_CONFIG")
            .env_remove("RUST_LOG")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("keel verify runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for TestDb {
    /// Every test's database ends with its tasks table replayed from the log: a code path that
    /// changes a task without an event fails the test that took it.
    fn drop(&mut self) {
        if self.verify && !std::thread::panicking() {
            let (whole, text) = self.verify();
            if !whole {
                if let Some(name) = &self.pg_name {
                    let _ = try_psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
                panic!("the tasks table and its log disagree at the end of the test:\n{text}");
            }
        }
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
/// A free port on 127.0.0.1 for a server the test starts, from `scripts/free-ports`: below the
/// kernel's ephemeral range, so no client's connection takes it before the server binds it or
/// while the server restarts on it.
pub fn free_port() -> u16 {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/free-ports");
    let out = Command::new(script).arg("1").output().expect("scripts/free-ports runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| {
        panic!(
            "scripts/free-ports printed {text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

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

/// `keel run` with a config file, as a team runs it: started, killed (`kill -9`) and started
/// again on the same address. Stopped when dropped.
pub struct KeelRun {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub log: std::path::PathBuf,
    env: Vec<(String, String)>,
    child: Option<std::process::Child>,
    /// Where its HTTP server listens, once started.
    pub http: String,
}

impl KeelRun {
    /// Writes the config (`listen` is filled in: a free port, kept across restarts) and starts.
    pub fn start(config: &str, env: &[(&str, &str)]) -> KeelRun {
        let dir = tempfile::tempdir().expect("dir");
        let port = free_port();
        let path = dir.path().join("keel.toml");
        std::fs::write(&path, config.replace("{listen}", &format!("127.0.0.1:{port}"))).expect("config");
        let mut run = KeelRun {
            log: dir.path().join("keel.log"),
            config: path,
            dir,
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            child: None,
            http: String::new(),
        };
        run.restart();
        run
    }

    /// `keel run` on `db` with its HTTP server and nothing else configured.
    pub fn serving(db: &TestDb) -> KeelRun {
        KeelRun::start(
            &format!("database_url = \"{}\"\n[http]\nlisten = \"{{listen}}\"\n", db.url),
            &[],
        )
    }

    /// Starts `keel run` (again) and waits until it says it is running.
    pub fn restart(&mut self) {
        // The structured log line says "keel is running" a moment before the plain one that
        // names the address, so only the plain one counts.
        const RUNNING: &str = "keel is running, HTTP on ";
        let before = self.log_text().matches(RUNNING).count();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_keel"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("KEEL_DATABASE_URL")
            .env_remove("RUST_LOG")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keel starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let text = self.log_text();
            // The newest such line, once it is written to its end.
            let line = text.lines().rev().find(|l| l.contains(RUNNING));
            let whole = line.filter(|l| l.ends_with(')') && text.matches(RUNNING).count() > before);
            if let Some(line) = whole {
                self.http = line
                    .split(RUNNING)
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .unwrap_or_default()
                    .to_string();
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("keel run exited with {status}: {text}");
            }
            assert!(std::time::Instant::now() < deadline, "keel did not start: {text}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, as systemd or docker stop sends it; waits for the exit and returns its code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        child.wait().ok().and_then(|s| s.code())
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path` on keel's HTTP server: the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.http, path).await
    }
}

impl Drop for KeelRun {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A GET of `http://address/path` (`127.0.0.1:PORT`); status 0 when nothing answers within 10 s.
pub async fn http_get(address: &str, path: &str) -> (u16, String) {
    let exchange = async {
        let response = reqwest::Client::new()
            .get(format!("http://{address}{path}"))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    };
    exchange.await.unwrap_or((0, String::new()))
}

/// A fake Slack that takes the bot token `token`, with these channels (id, name) and users (id,
/// name, Slack team, time zone). The tests differ only in these.
pub async fn fake_slack<S: AsRef<str>>(
    token: &str,
    channels: &[(S, S)],
    users: &[(S, S, S, S)],
) -> keel_fake_slack::FakeSlack {
    let fake = keel_fake_slack::FakeSlack::start(token).await.expect("fake slack");
    for (id, name) in channels {
        fake.add_channel(id.as_ref(), name.as_ref());
    }
    for (id, name, team, tz) in users {
        fake.add_user(id.as_ref(), name.as_ref(), team.as_ref(), tz.as_ref());
    }
    fake
}

/// One figure from Prometheus's text format: the sample whose name and labels are exactly
/// `series` (`keel_tasks_created_total`, `keel_outbox_depth{adapter="slack"}`); labels in the
/// order keel writes them.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// A PostgreSQL server of the test's own (initdb into a temporary directory, a free port), so a
/// test can stop and restart it without touching the server other tests use. As root (CI), the
/// server runs as the `postgres` user, which PostgreSQL requires.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    pub port: u16,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub url: String,
}

impl OwnPostgres {
    pub fn start() -> OwnPostgres {
        let bin = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .or_else(|| {
                let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                found.sort();
                found.pop().map(|p| p.join("bin"))
            })
            .filter(|b| b.join("initdb").exists())
            .expect("PostgreSQL's initdb and pg_ctl are installed (scripts/postgres installs them)");
        let dir = tempfile::tempdir().expect("dir");
        let port = free_port();
        let pg = OwnPostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            port,
        };
        if pg.as_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(pg.dir.path())
                .status();
        }
        let data = pg.dir.path().join("data");
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        pg.up();
        pg
    }

    fn as_root(&self) -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn ctl(&self, args: &[&str]) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(args)
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Starts the server and waits until it takes connections.
    pub fn up(&self) {
        let options = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        self.ctl(&["-w", "-t", "60", "-o", &options, "start"]);
    }

    /// Stops the server as a crash does (`-m immediate`): connections are cut at once.
    pub fn crash(&self) {
        self.ctl(&["-w", "-m", "immediate", "stop"]);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-w", "-m", "immediate", "stop"])
            .output();
    }
}

/// `keel chat` with `keel run`'s configuration (so dashboard links name its address), at `now`.
pub fn chat_as(run: &KeelRun, db: &TestDb, now: &str, who: &[&str], lines: &str) -> String {
    let config = run.config.to_str().expect("path");
    let mut args = vec!["chat", "--db", &db.url, "--config", config, "--now", now];
    args.extend_from_slice(who);
    let out = keel(&args, lines);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The path of the dashboard link in what keel said (`/dashboard/login/<token>`).
pub fn link_path(said: &str) -> String {
    let at = said
        .find("/dashboard/login/")
        .unwrap_or_else(|| panic!("no link in {said:?}"));
    said[at..].split_whitespace().next().expect("the link").to_string()
}

/// The path of a sign-in link for `who` made at `now` by `keel dashboard link`.
pub fn dashboard_link(run: &KeelRun, db: &TestDb, who: &str, now: &str) -> String {
    let config = run.config.to_str().expect("path");
    let out = keel(
        &[
            "dashboard",
            "link",
            "--as",
            who,
            "--db",
            &db.url,
            "--config",
            config,
            "--now",
            now,
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    link_path(&String::from_utf8_lossy(&out.stdout))
}
