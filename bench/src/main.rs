//! keel's benchmarks. Each command prints one JSON line with its figure and the baseline
//! measured in the same run on the same machine, so ratios compare like with like.
//!
//! `keel-bench capture --backend sqlite|postgres --messages N`
//! `keel-bench scheduler --backend sqlite|postgres --members N`
//! `keel-bench matrix --messages N`
//! `keel-bench slack-events --seconds S [--rounds R]`
//! `keel-bench slack-actions --seconds S [--tasks N]`
//! `keel-bench email --messages N`
//! `keel-bench kpi --tasks N --backend sqlite|postgres`
//! `keel-bench dashboard --tasks N --backend sqlite|postgres`
//! `keel-bench verify --tasks N --backend sqlite|postgres`
//! `keel-bench soak --minutes M --rate R [--window W]`
//! `keel-bench idle`

// matrix-sdk's sync future is deep; proving it `Send` for `tokio::spawn` needs a higher limit.
#![recursion_limit = "256"]

mod dashboard;
mod email;
mod kpi;
mod matrix;
mod slack;
mod slack_actions;
mod soak;
mod verify;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use keel::clock::SystemClock;
use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::store::Store;
use keel_chat::{Adapter, Conversation, Inbound, InboundKind, Outbound, SendError, Sent, Speaker};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::Notify;

#[derive(Parser)]
#[command(name = "keel-bench")]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

/// A database of N tasks and their events, on a backend.
#[derive(clap::Args)]
struct Filled {
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    #[arg(long, default_value_t = 1_000_000)]
    tasks: i64,
    #[arg(
        long,
        env = "KEEL_TEST_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
}

#[derive(Subcommand)]
enum Bench {
    /// Client messages through the full capture path vs. bare single-row INSERT transactions,
    /// and the reply latency of `list` / `show` with 100,000 tasks.
    Capture {
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// Tasks in the database when reply latency is measured.
        #[arg(long, default_value_t = 100_000)]
        tasks: usize,
        /// Commands timed for the reply latency.
        #[arg(long, default_value_t = 2_000)]
        replies: usize,
        /// Concurrent senders (adapters hand events over concurrently).
        #[arg(long, default_value_t = 64)]
        senders: usize,
        /// PostgreSQL server for `--backend postgres` (a fresh database is created on it).
        #[arg(
            long,
            env = "KEEL_TEST_POSTGRES",
            default_value = "postgres://postgres@127.0.0.1:5432/test"
        )]
        postgres: String,
    },
    /// Time to enqueue N due standup prompts (members in 50 time zones), and the scheduler's idle
    /// wake-up with 10,000 / 100,000 / 1,000,000 scheduled jobs none of which is due.
    Scheduler {
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        #[arg(long, default_value_t = 10_000)]
        members: usize,
        #[arg(
            long,
            env = "KEEL_TEST_POSTGRES",
            default_value = "postgres://postgres@127.0.0.1:5432/test"
        )]
        postgres: String,
    },
    /// Time from a client's message to keel's answer on a real Synapse, against a bare
    /// matrix-sdk bot that answers every message, on the same homeserver in the same run.
    Matrix {
        #[arg(long, default_value_t = 200)]
        messages: usize,
    },
    /// A week's and a year's KPIs with N tasks (two years at 1,000,000), and the same week with
    /// the newest 100,000 tasks only.
    Kpi(Filled),
    /// The dashboard's server time with N tasks (two years at 1,000,000): the overview, a
    /// filtered task list and a task page, p50 and p99, against the week's KPI report alone and a
    /// bare 50-task query.
    Dashboard(Filled),
    /// `keel verify` over N tasks and their events, against reading the same rows unreplayed.
    Verify(Filled),
    /// Signed `app_mention` requests to keel's Events API endpoint (SQLite file) against a bare
    /// axum handler answering 200, from the same bounded loader in the same run.
    SlackEvents {
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent keep-alive connections of the loader.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Rounds of a baseline phase then a keel phase (`seconds` each); the ratio printed
        /// is the median of the rounds' ratios.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Card buttons pressed through keel's interactivity endpoint (SQLite file), each a change
    /// of its task shown by a `chat.update`, against a bare axum handler answering 200.
    SlackActions {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent keep-alive connections of the loader.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Tasks (cards) the presses go round.
        #[arg(long, default_value_t = 200)]
        tasks: usize,
    },
    /// keel reading N client mails from a real IMAP mailbox (Dovecot, IMAPS) into tasks, against
    /// a bare IMAP client fetching the same mails; then the latency of 400 mails paced at 20 a
    /// second, from the SMTP server's accept to the task (`scripts/mail` runs the servers).
    Email {
        #[arg(long, default_value_t = 1_000)]
        messages: usize,
    },
    /// The real keel binary under a steady load on the console and the Slack Events API at
    /// once: RSS at the start, warm and at the end, p99 request-to-answer time per window, lost
    /// and repeated requests.
    Soak {
        #[arg(long, default_value_t = 30)]
        minutes: u64,
        /// Requests a second on each path.
        #[arg(long, default_value_t = 100)]
        rate: u64,
        /// Minutes per latency window.
        #[arg(long, default_value_t = 5)]
        window: u64,
    },
    /// RSS of `keel run` idling with one adapter connected (Slack Socket Mode, fake Slack).
    Idle,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

const CLIENTS: usize = 50;

const REQUESTS: &[&str] = &[
    "The invoice export is broken again, we need it fixed by Friday please",
    "Can you add two new users to our account? Names are in the attached sheet",
    "Our dashboard shows yesterday's numbers, is the sync stuck?",
    "Please update the billing address to our new office in 3 days",
    "urgent: checkout fails for every customer since 10am",
    "Could you send the quarterly report before 2026-12-15?",
    "The API returns 500 on /orders when the filter is empty",
    "We would like a training session for the new team next week",
];

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.command {
            Bench::Capture {
                backend,
                messages,
                tasks,
                replies,
                senders,
                postgres,
            } => capture(backend, messages, tasks, replies, senders, &postgres).await,
            Bench::Scheduler {
                backend,
                members,
                postgres,
            } => scheduler(backend, members, &postgres).await,
            Bench::Matrix { messages } => {
                println!("{}", matrix::run(messages).await?);
                Ok(())
            }
            Bench::Kpi(Filled {
                backend,
                tasks,
                postgres,
            }) => {
                println!("{}", kpi::run(backend, tasks.max(1), &postgres).await?);
                Ok(())
            }
            Bench::Dashboard(Filled {
                backend,
                tasks,
                postgres,
            }) => {
                println!("{}", dashboard::run(backend, tasks.max(1), &postgres).await?);
                Ok(())
            }
            Bench::Verify(Filled {
                backend,
                tasks,
                postgres,
            }) => {
                println!("{}", verify::run(backend, tasks.max(1), &postgres).await?);
                Ok(())
            }
            Bench::Soak { minutes, rate, window } => {
                println!("{}", soak::run(minutes, rate.max(1), window).await?);
                Ok(())
            }
            Bench::Email { messages } => {
                println!("{}", email::run(messages.max(1)).await?);
                Ok(())
            }
            Bench::Idle => {
                println!("{}", soak::idle().await?);
                Ok(())
            }
            Bench::SlackEvents {
                seconds,
                connections,
                rounds,
            } => {
                println!("{}", slack::run(seconds, connections.max(1), rounds).await?);
                Ok(())
            }
            Bench::SlackActions {
                seconds,
                connections,
                tasks,
            } => {
                println!(
                    "{}",
                    slack_actions::run(seconds, connections.max(1), tasks.max(1)).await?
                );
                Ok(())
            }
        }
    })
}

/// `x` to one decimal.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `x` to three decimals.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A throwaway database for one run.
struct BenchDb {
    url: String,
    drop_sql: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

async fn bench_db(backend: Backend, postgres: &str) -> anyhow::Result<BenchDb> {
    sqlx::any::install_default_drivers();
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            Ok(BenchDb {
                url,
                drop_sql: None,
                _dir: Some(dir),
            })
        }
        Backend::Postgres => {
            let name = format!("keel_bench_{}", std::process::id());
            let mut admin = sqlx::AnyConnection::connect(postgres)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                .execute(&mut admin)
                .await?;
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await?;
            let base = postgres
                .rsplit_once('/')
                .map(|(b, _)| b)
                .context("postgres URL without database")?;
            Ok(BenchDb {
                url: format!("{base}/{name}"),
                drop_sql: Some((
                    postgres.to_string(),
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )),
                _dir: None,
            })
        }
    }
}

impl BenchDb {
    async fn cleanup(&self) {
        if let Some((admin, sql)) = &self.drop_sql {
            if let Ok(mut conn) = sqlx::AnyConnection::connect(admin).await {
                let _ = sqlx::raw_sql(AssertSqlSafe(sql.clone())).execute(&mut conn).await;
            }
        }
    }
}

fn client_message(i: usize, base: DateTime<Utc>) -> Inbound {
    let client = i % CLIENTS;
    // Messages in one channel are 4 minutes apart, so each one opens its own task.
    let at = base + chrono::Duration::seconds((i / CLIENTS) as i64 * 240);
    Inbound {
        adapter: "bench".into(),
        event_id: format!("ev-{i}"),
        at,
        speaker: Speaker {
            id: format!("contact-{client}"),
            name: format!("contact{client}"),
            external: true,
            client_hint: None,
            tz: None,
        },
        conversation: Conversation {
            id: format!("c{client}"),
            name: format!("client{client}"),
            direct: false,
        },
        message_id: format!("m-{i}"),
        thread: None,
        reply_to: None,
        permalink: None,
        named: Vec::new(),
        kind: InboundKind::Message {
            text: format!("{} (ref {i})", REQUESTS[i % REQUESTS.len()]),
            to_keel: false,
        },
    }
}

fn command(i: usize, text: String) -> Inbound {
    Inbound {
        adapter: "bench".into(),
        event_id: format!("cmd-{i}"),
        at: Utc::now(),
        speaker: Speaker {
            id: "lead".into(),
            name: "lead".into(),
            external: false,
            client_hint: None,
            tz: None,
        },
        conversation: Conversation {
            id: "@lead".into(),
            name: "@lead".into(),
            direct: true,
        },
        message_id: format!("cmd-m-{i}"),
        thread: None,
        reply_to: None,
        permalink: None,
        named: Vec::new(),
        kind: InboundKind::Message { text, to_keel: true },
    }
}

/// An adapter that records when each message would have reached the platform.
#[derive(Default)]
struct Recorder {
    sent: Mutex<usize>,
}

#[async_trait]
impl Adapter for Recorder {
    fn name(&self) -> &str {
        "bench"
    }

    async fn send(&self, _outbound: &Outbound) -> Result<Sent, SendError> {
        if let Ok(mut n) = self.sent.lock() {
            *n += 1;
        }
        Ok(Sent::default())
    }
}

async fn feed(ingest: &Ingest, from: usize, to: usize, senders: usize, base: DateTime<Utc>) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(from));
    let mut workers = Vec::new();
    for _ in 0..senders.max(1) {
        let ingest = ingest.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= to {
                    return Ok::<(), anyhow::Error>(());
                }
                ingest.submit(client_message(i, base)).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}

async fn capture(
    backend: Backend,
    messages: usize,
    total_tasks: usize,
    replies: usize,
    senders: usize,
    postgres: &str,
) -> anyhow::Result<()> {
    let db = bench_db(backend, postgres).await?;
    let store = Store::open(&db.url).await.map_err(|e| anyhow::anyhow!("{e}"))?;

    // Baseline: the same number of bare single-row INSERT transactions, one after another.
    sqlx::raw_sql("CREATE TABLE bench_baseline (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .execute(store.pool())
        .await?;
    let started = Instant::now();
    for i in 0..messages {
        let mut tx = store.begin().await?;
        sqlx::query("INSERT INTO bench_baseline (id, body) VALUES ($1, $2)")
            .bind(i as i64)
            .bind(REQUESTS[i % REQUESTS.len()])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let baseline_per_s = messages as f64 / started.elapsed().as_secs_f64();

    // Set-up: 50 clients, each with its shared channel.
    let mut conn = store.pool().acquire().await?;
    for c in 0..CLIENTS {
        sqlx::query("INSERT INTO clients (key, name, created_at) VALUES ($1, $2, 0)")
            .bind(format!("client{c}"))
            .bind(format!("Client {c}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO client_channels (adapter, channel, client_id) SELECT 'bench', $1, id FROM clients WHERE key = $2",
        )
        .bind(format!("c{c}"))
        .bind(format!("client{c}"))
        .execute(&mut *conn)
        .await?;
    }
    drop(conn);

    let keel = Keel::new(store.clone(), Arc::new(SystemClock), Settings::default());
    let (ingest, _writer) = Ingest::start(keel, Arc::new(Notify::new()));
    let base = Utc
        .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .context("base time")?;

    let started = Instant::now();
    feed(&ingest, 0, messages, senders, base).await?;
    let captured_per_s = messages as f64 / started.elapsed().as_secs_f64();
    let batches = ingest.batches();
    let created: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(store.pool())
        .await?;
    anyhow::ensure!(
        created as usize == messages,
        "expected {messages} tasks, found {created}"
    );

    // Fill up to the task count the reply latency is measured at, through the same path.
    if total_tasks > messages {
        feed(&ingest, messages, total_tasks, senders, base).await?;
    }
    sqlx::query("UPDATE outbox SET sent_at = 0 WHERE sent_at IS NULL")
        .execute(store.pool())
        .await?;
    let tasks_now: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(store.pool())
        .await?;

    let recorder = Arc::new(Recorder::default());
    let dispatcher = Dispatcher::new(store.clone(), vec![recorder.clone() as Arc<dyn Adapter>]);
    let mut latencies: Vec<Duration> = Vec::with_capacity(replies);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..replies {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let text = if i % 2 == 0 {
            "list".to_string()
        } else {
            format!("show #{}", 1 + seed % tasks_now as u64)
        };
        let before = *recorder.sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let started = Instant::now();
        ingest.submit(command(i, text)).await?;
        dispatcher.round().await?;
        latencies.push(started.elapsed());
        let after = *recorder.sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        anyhow::ensure!(after == before + 1, "command {i} got {} replies", after - before);
    }
    latencies.sort();
    let p99 = latencies[((latencies.len() as f64 * 0.99).ceil() as usize).clamp(1, latencies.len()) - 1];

    let line = json!({
        "backend": match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" },
        "messages": messages,
        "captured_per_s": captured_per_s.round(),
        "baseline_per_s": baseline_per_s.round(),
        "ratio": ((captured_per_s / baseline_per_s) * 100.0).round() / 100.0,
        "reply_p99_ms": (p99.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        "reply_tasks": tasks_now,
        "events_per_commit": ((messages as f64 / batches.max(1) as f64) * 10.0).round() / 10.0,
    });
    println!("{line}");
    store.close().await;
    db.cleanup().await;
    Ok(())
}

/// Fifty IANA zones, spread around the world (and across both hemispheres' DST rules).
const ZONES: [&str; 50] = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Europe/Lisbon",
    "Europe/Dublin",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Toronto",
    "America/Bogota",
    "America/Lima",
    "America/Caracas",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Azores",
];

async fn scheduler(backend: Backend, members: usize, postgres: &str) -> anyhow::Result<()> {
    use keel::clock::FixedClock;
    use keel::service::scheduler::Scheduler;

    let db = bench_db(backend, postgres).await?;
    let store = Store::open(&db.url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).single().context("time")?;
    let keel = Keel::new(store.clone(), Arc::new(FixedClock(now)), Settings::default());

    // The admin, then the members in 50 time zones.
    sqlx::query("INSERT INTO members (adapter, platform_id, name, role, created_at) VALUES ('bench', 'lead', 'lead', 'admin', 0)")
        .execute(store.pool())
        .await?;
    for chunk in (0..members).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| format!("('bench', 'm{i}', 'm{i}', 'member', '{}', 0)", ZONES[i % ZONES.len()]))
            .collect();
        let sql = format!(
            "INSERT INTO members (adapter, platform_id, name, role, tz, created_at) VALUES {}",
            rows.join(", ")
        );
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(store.pool()).await?;
    }
    // The lead sets the standup through the normal command path; it schedules every member.
    let mut set = command(0, "standup set \"0 9 * * *\" in #standup".into());
    set.at = now;
    keel.handle(&set).await?;
    // Make every prompt due now.
    let made = sqlx::query("UPDATE jobs SET next_run_at = $1 WHERE kind = 'standup'")
        .bind(now.timestamp())
        .execute(store.pool())
        .await?
        .rows_affected();
    anyhow::ensure!(
        made as usize == members + 1,
        "expected {} prompt jobs, found {made}",
        members + 1
    );

    let scheduler = Scheduler::new(keel);
    let started = Instant::now();
    let ran = scheduler.run_due(now).await?;
    let enqueue_s = started.elapsed().as_secs_f64();
    let prompts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'standup_prompt'")
        .fetch_one(store.pool())
        .await?;
    // The prompts, and the sweep (due since the database was made).
    anyhow::ensure!(
        ran == members + 2 && prompts as usize == members + 1,
        "ran {ran} jobs, {prompts} prompts"
    );

    let mut idle = Vec::new();
    for target in [10_000i64, 100_000, 1_000_000] {
        let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(store.pool())
            .await?;
        if target > have {
            add_idle_jobs(&store, backend, have, target - have, now.timestamp()).await?;
        }
        idle.push(idle_wake_ms(&scheduler, now).await?);
    }
    let line = json!({
        "backend": match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" },
        "due_jobs": ran,
        "enqueue_s": (enqueue_s * 1000.0).round() / 1000.0,
        "idle_wake_ms_10k": idle[0],
        "idle_wake_ms_100k": idle[1],
        "idle_wake_ms_1m": idle[2],
        "idle_ratio_1m_10k": ((idle[2] / idle[0].max(0.001)) * 100.0).round() / 100.0,
    });
    println!("{line}");
    store.close().await;
    db.cleanup().await;
    Ok(())
}

/// Adds `count` jobs due in the far future (a year and more from `now`).
async fn add_idle_jobs(store: &Store, backend: Backend, from: i64, count: i64, now: i64) -> anyhow::Result<()> {
    let far = now + 365 * 86_400;
    let sql = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
             INSERT INTO jobs (key, kind, next_run_at, data) SELECT 'idle:' || i, 'idle', {far} + i, '{{}}' FROM n",
            last = from + count - 1
        ),
        Backend::Postgres => format!(
            "INSERT INTO jobs (key, kind, next_run_at, data) \
             SELECT 'idle:' || i, 'idle', {far} + i, '{{}}' FROM generate_series({from}, {last}) AS i",
            last = from + count - 1
        ),
    };
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(store.pool()).await?;
    Ok(())
}

/// The median time, over 200 wake-ups, of what the scheduler loop does when nothing is due: run
/// the due jobs (none) and find when the next one is.
async fn idle_wake_ms(scheduler: &keel::service::scheduler::Scheduler, now: DateTime<Utc>) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        let ran = scheduler.run_due(now).await?;
        let next = scheduler.next_due().await?;
        times.push(started.elapsed());
        anyhow::ensure!(ran == 0 && next.is_some_and(|t| t > now), "a job was due");
    }
    times.sort();
    Ok((times[times.len() / 2].as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}
