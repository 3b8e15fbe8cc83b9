//! `keel-bench slack-events --seconds S [--rounds R]`: keel's Events API endpoint against a bare
//! axum handler that answers 200, both on 127.0.0.1, loaded by the same bounded loader with the
//! same signed `app_mention` requests.
//!
//! keel runs as `keel run` wires it in Events API mode: signature check, translation (its
//! `auth.test` and `users.info` answered by the fake Slack server, then cached), the event
//! recorded in the inbox (on a SQLite file: its journal, a batch per write), the answer after
//! that, the inbox handled in the background (dedupe, capture, replies queued), and the
//! dispatcher posting replies to the fake Slack. A round is S seconds of baseline, S seconds of
//! keel, then the wait until keel has handled all it acknowledged (`drain_s`, summed); the ratio
//! is the median of the rounds' ratios, so a busy spell of a shared machine does not fall on one
//! side only. Then the tasks are counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::http::StatusCode;
use axum::routing::post;
use keel::clock::SystemClock;
use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::store::Store;
use keel_chat::{Adapter, InboundSink};
use keel_fake_slack::FakeSlack;
use serde_json::json;
use tokio::sync::Notify;

const BOT_TOKEN: &str = "xoxb-bench-token";
const SECRET: &str = "bench-signing-secret";
/// Shared channels, one per client, each with one client user from the client's workspace.
const CHANNELS: usize = 50;

/// What one load phase measured.
pub(crate) struct Load {
    pub(crate) requests: usize,
    pub(crate) non_2xx: usize,
    pub(crate) per_s: f64,
    pub(crate) ack_p99_ms: f64,
}

/// The `i`-th request of a load: its body and content type.
pub(crate) type Requests = Arc<dyn Fn(usize) -> (String, &'static str) + Send + Sync>;

/// The `i`-th request: a client user mentioning keel in their shared channel.
fn app_mention(i: usize, epoch: u64) -> String {
    let c = i % CHANNELS;
    let ts = format!("{}.{:06}", epoch + (i / 1_000_000) as u64, i % 1_000_000);
    json!({
        "token": "unused",
        "team_id": "TTEAM",
        "api_app_id": "ABENCH",
        "type": "event_callback",
        "event_id": format!("Ev{i:010}"),
        "event_time": epoch,
        "event": {
            "type": "app_mention",
            "user": format!("UC{c:03}"),
            "text": format!("<@UKEEL> {} (ref {i})", super::REQUESTS[i % super::REQUESTS.len()]),
            "ts": ts,
            "channel": format!("C{c:05}"),
            "team": format!("TC{c:03}"),
            "event_ts": ts,
        },
    })
    .to_string()
}

/// Sends signed requests (`request(i)`) to `url` from `connections` keep-alive connections for
/// `seconds`, numbering them from `first`.
pub(crate) async fn load(
    url: &str,
    connections: usize,
    seconds: u64,
    first: usize,
    request: Requests,
) -> anyhow::Result<Load> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(3))
        .build()?;
    let next = Arc::new(AtomicUsize::new(first));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let client = client.clone();
        let next = next.clone();
        let url = url.to_string();
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut non_2xx = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (body, content_type) = request(i);
                let sent = Instant::now();
                let ok = post_signed(&client, &url, SECRET, body, content_type).await;
                latencies.push(sent.elapsed());
                if !ok {
                    non_2xx += 1;
                }
            }
            (latencies, non_2xx)
        }));
    }
    let mut latencies = Vec::new();
    let mut non_2xx = 0;
    for worker in workers {
        let (l, n) = worker.await?;
        latencies.extend(l);
        non_2xx += n;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let p99 = latencies
        .get((latencies.len() * 99 / 100).min(latencies.len().saturating_sub(1)))
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default();
    Ok(Load {
        requests: latencies.len(),
        non_2xx,
        per_s: latencies.len() as f64 / elapsed,
        ack_p99_ms: p99,
    })
}

/// POSTs a body to `url` signed as Slack signs it now; true on a 2xx answer.
pub(crate) async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    body: String,
    content_type: &'static str,
) -> bool {
    let ts = chrono::Utc::now().timestamp().to_string();
    let signature = keel_slack::events::sign(secret, &ts, body.as_bytes());
    let answer = client
        .post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(response) => {
            let status = response.status();
            let _ = response.bytes().await;
            status.is_success()
        }
        Err(_) => false,
    }
}

/// Serves `app` on a free 127.0.0.1 port; returns its base URL.
pub(crate) async fn serve(app: axum::Router) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, server))
}

/// keel on a SQLite file in `dir`, wired as `keel run` wires the Events API: its endpoints on a
/// free port, the ingest behind them, the dispatcher posting to the fake Slack.
pub(crate) struct OnFake {
    pub(crate) store: Store,
    pub(crate) ingest: Ingest,
    pub(crate) writer: tokio::task::JoinHandle<()>,
    pub(crate) url: String,
    pub(crate) server: tokio::task::JoinHandle<()>,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) dispatcher: tokio::task::JoinHandle<()>,
}

impl OnFake {
    /// Stops serving and sending and waits (at most 30 s) for the writer to commit what it
    /// holds; the caller has dropped its clones of the ingest.
    pub(crate) async fn shut(self) {
        self.server.abort();
        let _ = self.stop.send(true);
        self.dispatcher.abort();
        drop(self.ingest);
        let _ = tokio::time::timeout(Duration::from_secs(30), self.writer).await;
    }
}

/// The fake Slack, and keel's Slack client for it.
pub(crate) async fn fake_slack() -> anyhow::Result<(FakeSlack, keel_slack::Slack)> {
    let fake = FakeSlack::start(BOT_TOKEN).await?;
    let slack = keel_slack::Slack::new(&keel_slack::SlackConfig {
        bot_token: BOT_TOKEN.to_string().into(),
        api_url: fake.api_url.clone(),
    })?;
    Ok((fake, slack))
}

pub(crate) async fn keel_on_fake(dir: &std::path::Path, slack: keel_slack::Slack) -> anyhow::Result<OnFake> {
    let db = format!("sqlite://{}", dir.join("keel.db").display());
    let store = Store::open(&db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let core = Keel::new(store.clone(), Arc::new(SystemClock), Settings::default());
    let committed = Arc::new(Notify::new());
    let (ingest, writer) = Ingest::start(core, committed.clone());
    let translator = keel_slack::inbound::Translator::new(slack.clone());
    let sink: Arc<dyn InboundSink> = Arc::new(ingest.clone());
    let routes = keel_slack::events::router(SECRET.to_string().into(), translator, sink);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher =
        tokio::spawn(Dispatcher::new(store.clone(), vec![Arc::new(slack) as Arc<dyn Adapter>]).run(committed, stopped));
    let (url, server) = serve(routes).await?;
    Ok(OnFake {
        store,
        ingest,
        writer,
        url,
        server,
        stop,
        dispatcher,
    })
}

/// The middle value (the upper one of an even count).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

pub async fn run(seconds: u64, connections: usize, rounds: usize) -> anyhow::Result<serde_json::Value> {
    let epoch = chrono::Utc::now().timestamp() as u64;

    // keel, wired as `keel run` wires the Events API, on a SQLite file.
    // (Also installs the TLS provider the loader's HTTP client needs.)
    let (fake, slack) = fake_slack().await?;
    for c in 0..CHANNELS {
        fake.add_channel(&format!("C{c:05}"), &format!("client{c}"));
        fake.add_user(
            &format!("UC{c:03}"),
            &format!("contact{c}"),
            &format!("TC{c:03}"),
            "Europe/London",
        );
    }
    // Baseline: a bare handler answering 200 to the same requests.
    let (base_url, base_server) =
        serve(axum::Router::new().route("/slack/events", post(|| async { StatusCode::OK }))).await?;

    let dir = tempfile::tempdir()?;
    let on = keel_on_fake(dir.path(), slack).await?;
    let (store, ingest, keel_url) = (on.store.clone(), on.ingest.clone(), on.url.clone());

    // Rounds of baseline then keel, each keel phase followed by handling everything it
    // acknowledged, so a slow or fast spell of a shared machine falls on both sides of a round,
    // and keel's background work never runs during a baseline phase.
    let mut ratios = Vec::new();
    let mut keel_rates = Vec::new();
    let mut base_rates = Vec::new();
    let mut requests = 0;
    let mut non_2xx = 0;
    let mut ack_p99 = Vec::new();
    let mut base_p99 = Vec::new();
    let mut drain_s = 0.0;
    let mentions: Requests = Arc::new(move |i| (app_mention(i, epoch), "application/json"));
    for _ in 0..rounds.max(1) {
        let baseline = load(
            &format!("{base_url}/slack/events"),
            connections,
            seconds,
            0,
            mentions.clone(),
        )
        .await?;
        let measured = load(
            &format!("{keel_url}/slack/events"),
            connections,
            seconds,
            requests,
            mentions.clone(),
        )
        .await?;
        requests += measured.requests;
        non_2xx += measured.non_2xx + baseline.non_2xx;
        ratios.push(measured.per_s / baseline.per_s);
        keel_rates.push(measured.per_s);
        base_rates.push(baseline.per_s);
        ack_p99.push(measured.ack_p99_ms);
        base_p99.push(baseline.ack_p99_ms);
        // Every 2xx was answered after its event was recorded; wait until all are handled.
        let drained = Instant::now();
        while !keel::store::inbox::is_empty(&store).await? {
            if drained.elapsed() > Duration::from_secs(600) {
                let waiting = keel::store::inbox::count(&store).await?;
                anyhow::bail!("{waiting} events still waiting after 600 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drain_s += drained.elapsed().as_secs_f64();
    }
    base_server.abort();

    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(store.pool())
        .await
        .context("counting tasks")?;
    let replies_queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(store.pool())
        .await
        .context("counting the outbox")?;
    // Replies are paced to one per second per channel: the rest stay queued; stop sending.
    drop(ingest);
    on.shut().await;
    store.close().await;

    Ok(json!({
        "requests": requests,
        "per_s": super::round1(median(keel_rates)),
        "baseline_per_s": super::round1(median(base_rates)),
        "ratio": super::round3(median(ratios.clone())),
        "round_ratios": ratios.iter().map(|r| super::round3(*r)).collect::<Vec<_>>(),
        "non_2xx": non_2xx,
        "tasks": tasks,
        "ack_p99_ms": super::round3(ack_p99.iter().copied().fold(0.0, f64::max)),
        "baseline_ack_p99_ms": super::round3(base_p99.iter().copied().fold(0.0, f64::max)),
        "drain_s": super::round3(drain_s),
        "replies_queued": replies_queued,
        "connections": connections,
        "seconds": seconds,
        "rounds": rounds.max(1),
    }))
}
