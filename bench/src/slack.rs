//! `keel-bench slack-events --seconds S`: keel's Events API endpoint against a bare axum handler
//! that answers 200, both on 127.0.0.1, loaded by the same bounded loader with the same signed
//! `app_mention` requests.
//!
//! keel runs as `keel run` wires it in Events API mode: signature check, translation (its
//! `auth.test` and `users.info` answered by the fake Slack server, then cached), the event
//! recorded in the inbox (on a SQLite file: its journal, a batch per write), the answer after that, the
//! inbox handled in the background (dedupe, capture, replies queued), and the dispatcher posting
//! replies to the fake Slack. After the load, the run waits until the inbox is empty (`drain_s`)
//! and counts the tasks.

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
struct Load {
    requests: usize,
    non_2xx: usize,
    per_s: f64,
    ack_p99_ms: f64,
}

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

/// Sends signed `app_mention` requests to `url` from `connections` keep-alive connections for
/// `seconds`, numbering them from `first`.
async fn load(url: &str, connections: usize, seconds: u64, first: usize, epoch: u64) -> anyhow::Result<Load> {
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
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut non_2xx = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = app_mention(i, epoch);
                let ts = chrono::Utc::now().timestamp().to_string();
                let signature = keel_slack::events::sign(SECRET, &ts, body.as_bytes());
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-slack-request-timestamp", ts)
                    .header("x-slack-signature", signature)
                    .body(body)
                    .send()
                    .await;
                let ok = match answer {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        status.is_success()
                    }
                    Err(_) => false,
                };
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

/// Serves `app` on a free 127.0.0.1 port; returns its base URL.
async fn serve(app: axum::Router) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, server))
}

pub async fn run(seconds: u64, connections: usize) -> anyhow::Result<serde_json::Value> {
    let epoch = chrono::Utc::now().timestamp() as u64;

    // keel, wired as `keel run` wires the Events API, on a SQLite file.
    let fake = FakeSlack::start(BOT_TOKEN).await?;
    // (Also installs the TLS provider the loader's HTTP client needs.)
    let slack = keel_slack::Slack::new(&keel_slack::SlackConfig {
        bot_token: BOT_TOKEN.to_string().into(),
        api_url: fake.api_url.clone(),
    })?;
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
    let baseline = load(&format!("{base_url}/slack/events"), connections, seconds, 0, epoch).await?;
    base_server.abort();

    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("keel.db").display());
    let store = Store::open(&db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let core = Keel::new(store.clone(), Arc::new(SystemClock), Settings::default());
    let committed = Arc::new(Notify::new());
    let (ingest, writer) = Ingest::start(core, committed.clone());
    let translator = keel_slack::inbound::Translator::new(slack.clone());
    let sink: Arc<dyn InboundSink> = Arc::new(ingest);
    let routes = keel_slack::events::router(SECRET.to_string().into(), translator, sink.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher =
        tokio::spawn(Dispatcher::new(store.clone(), vec![Arc::new(slack) as Arc<dyn Adapter>]).run(committed, stopped));
    let (keel_url, keel_server) = serve(routes).await?;
    let measured = load(&format!("{keel_url}/slack/events"), connections, seconds, 0, epoch).await?;
    keel_server.abort();

    // Every 2xx was answered after its event was recorded; wait until all are handled.
    let drained = Instant::now();
    loop {
        if keel::store::inbox::is_empty(&store).await? {
            break;
        }
        if drained.elapsed() > Duration::from_secs(600) {
            let waiting = keel::store::inbox::count(&store).await?;
            anyhow::bail!("{waiting} events still waiting after 600 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain_s = drained.elapsed().as_secs_f64();
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(store.pool())
        .await
        .context("counting tasks")?;
    let replies_queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(store.pool())
        .await
        .context("counting the outbox")?;
    // Replies are paced to one per second per channel: the rest stay queued; stop sending.
    let _ = stop.send(true);
    dispatcher.abort();
    drop(sink);
    let _ = writer.await;
    store.close().await;

    Ok(json!({
        "requests": measured.requests,
        "per_s": super::round1(measured.per_s),
        "baseline_per_s": super::round1(baseline.per_s),
        "ratio": super::round3(measured.per_s / baseline.per_s),
        "non_2xx": measured.non_2xx + baseline.non_2xx,
        "tasks": tasks,
        "ack_p99_ms": super::round3(measured.ack_p99_ms),
        "baseline_ack_p99_ms": super::round3(baseline.ack_p99_ms),
        "drain_s": super::round3(drain_s),
        "replies_queued": replies_queued,
        "connections": connections,
        "seconds": seconds,
    }))
}
