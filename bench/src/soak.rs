//! `keel-bench soak --minutes M --rate R`: the real `keel` binary under a steady load for a long
//! time, on two paths at once, each at R client requests a second:
//!
//! - console: `keel chat` in a client's channel, requests written to its stdin, its answers read
//!   from its stdout;
//! - Slack: `keel run` on the Events API, signed events from a loader, answers posted to the fake
//!   Slack server (200 shared channels, so Slack's one-post-a-second pace per channel never
//!   delays an answer).
//!
//! Each on its own SQLite file, client messages not grouped (each request its own task). For
//! each path it prints the resident memory (RSS) of the keel process when the load starts, after
//! the first minute (warm) and at the end; the p99 time from a request to its answer in each
//! window of W minutes (by when the request was sent); and the requests lost (never answered, or
//! no task) and repeated (answered twice, or a task too many). With `KEEL_SOAK_TRACE=DIR` it also
//! writes every request's send time and latency to `DIR/console.csv` and `DIR/slack.csv`, to see
//! when the slow answers came.
//!
//! Warm is not quite full: SQLite's page caches (at most 10 MiB a process, the writer's 8 and
//! four readers' 0.5 each) fill as the file grows, at 100 requests a second in about 90 s, so the
//! growth from warm still counts the end of that filling (most of the 5 to 6 % it shows); from
//! then on RSS is flat.
//!
//! `keel-bench idle`: the RSS of `keel run` with one adapter connected (Slack, Socket Mode, to
//! the fake Slack server), after 10 s of idling.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use keel_fake_slack::FakeSlack;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BOT_TOKEN: &str = "xoxb-soak-token";
const SECRET: &str = "soak-signing-secret";
const CHANNELS: usize = 200;

/// The `keel` binary next to this one, built first (`cargo run -p keel-bench` builds keel's
/// library, not its binary).
fn keel_binary() -> anyhow::Result<PathBuf> {
    let here = std::env::current_exe()?;
    let keel = here.with_file_name("keel");
    let profile = here.parent().context("the bench's directory")?;
    let release = profile.ends_with("release");
    let target = profile.parent().context("the target directory")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    build.args(["build", "--locked", "-p", "keel", "--bin", "keel", "--manifest-path"]);
    build.arg(manifest).arg("--target-dir").arg(target);
    // `cargo run` gives this process the bench package's variables. ring's build script
    // watches CARGO_MANIFEST_DIR and CARGO_PKG_*, so passing them on would rerun it here and
    // again at the next `cargo run`: each would rebuild everything above ring (10 minutes).
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let run_only = [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
        ];
        if name.starts_with("CARGO_PKG_") || run_only.contains(&name.as_str()) {
            build.env_remove(name);
        }
    }
    if release {
        build.arg("--release");
    }
    let status = build.status().context("building the keel binary")?;
    anyhow::ensure!(status.success() && keel.exists(), "cannot build {}", keel.display());
    Ok(keel)
}

/// Resident memory of a process, in MiB.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or_default()
}

/// The `q` quantile (nearest rank) of durations, in ms.
fn quantile_ms(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// What one path saw: per request, when it was sent and when (each time) it was answered.
#[derive(Default)]
struct Ledger {
    sent: Vec<Instant>,
    answers: HashMap<usize, Vec<Instant>>,
}

impl Ledger {
    fn answered(&mut self, i: usize, at: Instant) {
        self.answers.entry(i).or_default().push(at);
    }

    /// Each request's send time (seconds from `started`) and first answer's latency (ms; empty
    /// when never answered), a line each: where the slow answers fall in time.
    fn trace(&self, started: Instant, path: &Path) -> std::io::Result<()> {
        let mut out = String::from("sent_s,latency_ms\n");
        for (i, sent) in self.sent.iter().enumerate() {
            let at = (sent.saturating_duration_since(started)).as_secs_f64();
            match self.answers.get(&i).and_then(|a| a.first()) {
                Some(first) => out.push_str(&format!("{at:.3},{:.3}\n", (*first - *sent).as_secs_f64() * 1000.0)),
                None => out.push_str(&format!("{at:.3},\n")),
            }
        }
        std::fs::write(path, out)
    }

    /// p99 per window of the answered requests sent in it, and the counts.
    fn summary(&self, started: Instant, window: Duration, windows: usize) -> (Vec<Value>, usize, usize) {
        let mut per_window: Vec<Vec<f64>> = vec![Vec::new(); windows];
        let (mut lost, mut repeated) = (0, 0);
        for (i, sent) in self.sent.iter().enumerate() {
            match self.answers.get(&i) {
                None => lost += 1,
                Some(at) => {
                    repeated += at.len() - 1;
                    let w = ((*sent - started).as_secs_f64() / window.as_secs_f64()) as usize;
                    let latency = (at[0] - *sent).as_secs_f64() * 1000.0;
                    per_window[w.min(windows - 1)].push(latency);
                }
            }
        }
        let summaries = per_window
            .iter_mut()
            .enumerate()
            .map(|(n, l)| {
                json!({"window": n + 1, "requests": l.len(),
                       "p50_ms": super::round3(quantile_ms(l, 0.5)), "p99_ms": super::round3(quantile_ms(l, 0.99))})
            })
            .collect();
        (summaries, lost, repeated)
    }
}

/// RSS samples of one process.
#[derive(Default, Clone)]
struct Memory {
    start: f64,
    warm: f64,
    /// At the end of each window.
    windows: Vec<f64>,
    end: f64,
}

impl Memory {
    /// Takes the samples due `elapsed` into the load: warm after the first minute, one at the end
    /// of each window.
    fn sample(&mut self, pid: u32, elapsed: Duration, window: Duration) {
        if self.warm == 0.0 && elapsed >= Duration::from_secs(60) {
            self.warm = rss_mb(pid);
        }
        if elapsed >= window * (self.windows.len() as u32 + 1) {
            self.windows.push(rss_mb(pid));
        }
    }
}

/// When and how fast each path sends.
#[derive(Clone, Copy)]
struct Plan {
    /// Requests a second.
    rate: u64,
    started: Instant,
    until: Instant,
    /// The length of a window (p99 and RSS are reported per window).
    window: Duration,
}

impl Plan {
    /// One tick a request, from the start; late ticks are caught up at once.
    fn ticks(&self) -> tokio::time::Interval {
        let mut tick = tokio::time::interval_at(self.started.into(), Duration::from_secs_f64(1.0 / self.rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        tick
    }
}

/// The console path: `keel chat` as bob of acme in #acme, R requests a second.
async fn console_path(
    keel: &Path,
    dir: &Path,
    plan: Plan,
    ledger: Arc<Mutex<Ledger>>,
    memory: Arc<Mutex<Memory>>,
) -> anyhow::Result<(i64, i64)> {
    let db = format!("sqlite://{}", dir.join("console.db").display());
    let config = dir.join("console.toml");
    std::fs::write(
        &config,
        format!("database_url = \"{db}\"\n[capture]\ngroup_minutes = 0\n"),
    )?;
    let mut child = tokio::process::Command::new(keel)
        .args(["chat", "--as", "lea", "--channel", "general", "--config"])
        .arg(&config)
        .env_remove("KEEL_DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting keel chat")?;
    let pid = child.id().context("keel chat's pid")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let stdout = child.stdout.take().context("stdout")?;
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let reader_ledger = ledger.clone();
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut ready_tx = Some(ready_tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("client acme added") {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(());
                }
            }
            // `[#acme] keel: #12 opened: "ref 11: …"`
            if let Some(i) = line
                .split("opened: \"ref ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse::<usize>().ok())
            {
                reader_ledger
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .answered(i, Instant::now());
            }
        }
    });
    stdin
        .write_all(b"@keel client add acme \"Acme Corp\" #acme\n/as bob --client acme\n/join acme\n")
        .await?;
    tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .context("keel chat did not add the client")??;
    memory.lock().unwrap_or_else(|p| p.into_inner()).start = rss_mb(pid);
    let (started, until, window) = (plan.started, plan.until, plan.window);
    let mut tick = plan.ticks();
    let mut i = 0usize;
    while Instant::now() < until {
        tick.tick().await;
        let request = super::REQUESTS[i % super::REQUESTS.len()];
        let line = format!("ref {i}: {request}\n");
        ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sent
            .push(Instant::now());
        stdin.write_all(line.as_bytes()).await?;
        i += 1;
        memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sample(pid, started.elapsed(), window);
    }
    // The last answers.
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger.lock().unwrap_or_else(|p| p.into_inner()).answers.len() < i && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    memory.lock().unwrap_or_else(|p| p.into_inner()).end = rss_mb(pid);
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    reader.abort();
    count_tasks(&db).await
}

/// A free port on 127.0.0.1 below the kernel's ephemeral range (`scripts/free-ports`), so no
/// client's connection takes it before keel binds it.
fn free_port() -> anyhow::Result<u16> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/free-ports");
    let out = std::process::Command::new(&script)
        .arg("1")
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().with_context(|| {
        format!(
            "scripts/free-ports printed {text:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// `keel run` on the Events API, its config written into `dir`; returns the child.
async fn keel_run(
    keel: &Path,
    dir: &Path,
    fake: &FakeSlack,
    mode: &str,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let db = format!("sqlite://{}", dir.join(format!("slack-{mode}.db")).display());
    let listen = format!("127.0.0.1:{}", free_port()?);
    let config = dir.join(format!("slack-{mode}.toml"));
    std::fs::write(
        &config,
        format!(
            "database_url = \"{db}\"\n[capture]\ngroup_minutes = 0\n[http]\nlisten = \"{listen}\"\n\
             [slack]\nmode = \"{mode}\"\napi_url = \"{}\"\n",
            fake.api_url
        ),
    )?;
    let log = dir.join(format!("slack-{mode}.log"));
    let child = tokio::process::Command::new(keel)
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("KEEL_DATABASE_URL")
        .env("KEEL_SLACK__BOT_TOKEN", BOT_TOKEN)
        .env("KEEL_SLACK__APP_TOKEN", fake.app_token())
        .env("KEEL_SLACK__SIGNING_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .kill_on_drop(true)
        .spawn()
        .context("starting keel run")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("keel is running")
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "keel run did not start: {}",
            std::fs::read_to_string(&log)?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((child, db))
}

/// A client user's message in channel `c`, as an `event_callback` body, and its `ts`.
fn client_message(fake: &FakeSlack, i: usize) -> (String, String) {
    let c = i % CHANNELS;
    let request = super::REQUESTS[i % super::REQUESTS.len()];
    let event = fake.user_says(
        &format!("C{c:05}"),
        &format!("UC{c:03}"),
        &format!("ref {i}: {request}"),
        None,
    );
    let ts = event["event"]["ts"].as_str().unwrap_or_default().to_string();
    (event.to_string(), ts)
}

async fn post_signed(client: &reqwest::Client, url: &str, body: String) -> bool {
    super::slack::post_signed(client, url, SECRET, body, "application/json").await
}

/// The Slack path: `keel run` on the Events API, R signed client messages a second, answers
/// read back from the fake Slack server.
async fn slack_path(
    keel: &Path,
    dir: &Path,
    plan: Plan,
    ledger: Arc<Mutex<Ledger>>,
    memory: Arc<Mutex<Memory>>,
) -> anyhow::Result<(i64, i64)> {
    let fake = Arc::new(fake_slack().await?);
    let (child, db) = keel_run(keel, dir, &fake, "events").await?;
    let pid = child.id().context("keel run's pid")?;
    let log = dir.join("slack-events.log");
    let addr = std::fs::read_to_string(&log)?
        .lines()
        .find_map(|l| {
            l.split("HTTP on ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        })
        .context("keel's address")?;
    let url = format!("http://{addr}/slack/events");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?;
    for c in 0..CHANNELS {
        let said = fake.user_says(
            &format!("C{c:05}"),
            "ULEA",
            &format!("<@UKEEL> client add client{c} \"Client {c}\" <#C{c:05}|client{c}>"),
            None,
        );
        anyhow::ensure!(post_signed(&client, &url, said.to_string()).await, "client add refused");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while fake.keel_posts().len() < CHANNELS {
        anyhow::ensure!(Instant::now() < deadline, "keel did not add the clients");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen = fake.posts().len();
    memory.lock().unwrap_or_else(|p| p.into_inner()).start = rss_mb(pid);
    // Answers: keel's posts threaded under a request's ts.
    let by_ts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let watcher = {
        let (fake, by_ts, ledger) = (fake.clone(), by_ts.clone(), ledger.clone());
        tokio::spawn(async move {
            loop {
                let new = fake.posts_after(seen);
                seen += new.len();
                {
                    let by_ts = by_ts.lock().unwrap_or_else(|p| p.into_inner());
                    let mut ledger = ledger.lock().unwrap_or_else(|p| p.into_inner());
                    for post in new.iter().filter(|p| p.user == "UKEEL") {
                        if let Some(i) = post.thread_ts.as_ref().and_then(|t| by_ts.get(t)) {
                            ledger.answered(*i, post.at);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let (started, until, window) = (plan.started, plan.until, plan.window);
    let mut tick = plan.ticks();
    let mut i = 0usize;
    let mut refused = 0usize;
    let mut sends = tokio::task::JoinSet::new();
    while Instant::now() < until {
        tick.tick().await;
        let (body, ts) = client_message(&fake, i);
        by_ts.lock().unwrap_or_else(|p| p.into_inner()).insert(ts, i);
        ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sent
            .push(Instant::now());
        let (client, url) = (client.clone(), url.clone());
        sends.spawn(async move { post_signed(&client, &url, body).await });
        while let Some(done) = sends.try_join_next() {
            refused += usize::from(!done.unwrap_or(false));
        }
        i += 1;
        memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sample(pid, started.elapsed(), window);
    }
    while let Some(done) = sends.join_next().await {
        refused += usize::from(!done.unwrap_or(false));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger.lock().unwrap_or_else(|p| p.into_inner()).answers.len() < i && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    memory.lock().unwrap_or_else(|p| p.into_inner()).end = rss_mb(pid);
    watcher.abort();
    drop(child);
    anyhow::ensure!(refused == 0, "{refused} events were not answered 200");
    count_tasks(&db).await
}

async fn fake_slack() -> anyhow::Result<FakeSlack> {
    let fake = FakeSlack::start(BOT_TOKEN).await?;
    // Requests stamped with the time they are made, as Slack does: from a fixed second they
    // would all be days old, and every one an SLA breach.
    fake.stamp_with_wall_clock();
    fake.add_user("ULEA", "lea", "TTEAM", "Europe/Berlin");
    for c in 0..CHANNELS {
        fake.add_channel(&format!("C{c:05}"), &format!("client{c}"));
        fake.add_user(
            &format!("UC{c:03}"),
            &format!("contact{c}"),
            &format!("TC{c:03}"),
            "UTC",
        );
    }
    Ok(fake)
}

/// Tasks in the database, and messages still in its outbox (notices the sweep queued for one
/// person wait their turn at Slack's pace of one post a second per conversation).
async fn count_tasks(db: &str) -> anyhow::Result<(i64, i64)> {
    let store = keel::store::Store::connect(db)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(store.pool())
        .await?;
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
        .fetch_one(store.pool())
        .await?;
    store.close().await;
    Ok((tasks, waiting))
}

fn report(
    ledger: &Ledger,
    memory: Memory,
    (tasks, waiting): (i64, i64),
    started: Instant,
    window: Duration,
    windows: usize,
) -> Value {
    let (per_window, lost, repeated) = ledger.summary(started, window, windows);
    let sent = ledger.sent.len() as i64;
    let p99 = |w: &Value| w["p99_ms"].as_f64().unwrap_or_default();
    let first = per_window.first().map(p99).unwrap_or_default();
    let last = per_window.last().map(p99).unwrap_or_default();
    json!({
        "requests": sent,
        "lost": lost as i64 + (sent - tasks).max(0),
        "duplicates": repeated as i64 + (tasks - sent).max(0),
        "tasks": tasks,
        "outbox_waiting": waiting,
        "rss_start_mb": super::round1(memory.start),
        "rss_warm_mb": super::round1(memory.warm),
        "rss_end_mb": super::round1(memory.end),
        "rss_per_window_mb": memory.windows.iter().map(|m| super::round1(*m)).collect::<Vec<_>>(),
        "rss_growth_from_warm": super::round3(memory.end / memory.warm.max(0.001) - 1.0),
        "windows": per_window,
        "p99_last_over_first": super::round3(last / first.max(0.001)),
    })
}

pub async fn run(minutes: u64, rate: u64, window_minutes: u64) -> anyhow::Result<Value> {
    let keel = keel_binary()?;
    let dir = tempfile::tempdir()?;
    let window = Duration::from_secs(window_minutes.max(1) * 60);
    let length = Duration::from_secs(minutes.max(1) * 60);
    let windows = length.as_secs().div_ceil(window.as_secs()) as usize;
    let started = Instant::now() + Duration::from_secs(45);
    let until = started + length;
    let plan = Plan {
        rate,
        started,
        until,
        window,
    };
    let (console_ledger, slack_ledger) = (
        Arc::new(Mutex::new(Ledger::default())),
        Arc::new(Mutex::new(Ledger::default())),
    );
    let (console_memory, slack_memory) = (
        Arc::new(Mutex::new(Memory::default())),
        Arc::new(Mutex::new(Memory::default())),
    );
    let (console, slack) = tokio::join!(
        console_path(&keel, dir.path(), plan, console_ledger.clone(), console_memory.clone()),
        slack_path(&keel, dir.path(), plan, slack_ledger.clone(), slack_memory.clone()),
    );
    let (console_tasks, slack_tasks) = (console?, slack?);
    let memory = |m: &Arc<Mutex<Memory>>| m.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ledger = |l: Arc<Mutex<Ledger>>| std::mem::take(&mut *l.lock().unwrap_or_else(|p| p.into_inner()));
    let (console_ledger, slack_ledger) = (ledger(console_ledger), ledger(slack_ledger));
    // KEEL_SOAK_TRACE=DIR: every request's latency, in DIR/console.csv and DIR/slack.csv.
    if let Some(dir) = std::env::var_os("KEEL_SOAK_TRACE") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)?;
        console_ledger.trace(started, &dir.join("console.csv"))?;
        slack_ledger.trace(started, &dir.join("slack.csv"))?;
    }
    Ok(json!({
        "minutes": minutes,
        "rate_per_path": rate,
        "window_minutes": window_minutes,
        "console": report(&console_ledger, memory(&console_memory), console_tasks, started, window, windows),
        "slack": report(&slack_ledger, memory(&slack_memory), slack_tasks, started, window, windows),
    }))
}

/// `keel run` with Slack in Socket Mode connected to the fake Slack, idle: its RSS after 10 s.
pub async fn idle() -> anyhow::Result<Value> {
    let keel = keel_binary()?;
    let dir = tempfile::tempdir()?;
    let fake = fake_slack().await?;
    let (child, _) = keel_run(&keel, dir.path(), &fake, "socket").await?;
    let pid = child.id().context("pid")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.connections() == 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "keel never opened its Socket Mode connection"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected = rss_mb(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = rss_mb(pid);
    drop(child);
    Ok(json!({
        "adapter": "slack (socket mode)",
        "rss_connected_mb": super::round1(connected),
        "rss_idle_mb": super::round1(idle),
        "target_mb": 40,
    }))
}
