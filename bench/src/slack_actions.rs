//! `keel-bench slack-actions --seconds S [--tasks N]`: buttons pressed on keel's task cards,
//! through keel's `/slack/interactivity` endpoint, against a bare axum handler that answers 200,
//! both on 127.0.0.1, loaded by the same bounded loader with the same signed `block_actions`
//! payloads (form-encoded, as Slack posts them).
//!
//! keel runs as `keel run` wires the Events API, on a SQLite file, with the dispatcher posting to
//! the fake Slack. First a team member tracks N tasks in 50 channels and keel posts their N
//! cards. Then S seconds of baseline, S seconds of presses on keel: press `i` is a member's
//! Waiting, then Start, then Waiting… on card `i mod N`, each a change of the task, so each is
//! answered (acknowledged once recorded), handled, and shown on its card with a `chat.update`.
//! `update_*` is the time from sending a press until the fake Slack saw the next edit of that
//! press's card (the edits of a card come in order, so that edit shows the press or a later
//! one); presses whose card was not edited within 60 s after the load are counted as `stale`.
//! `duplicates` counts cards posted more than once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use chrono::Utc;
use keel_chat::{Conversation, Inbound, InboundKind, Speaker};
use keel_fake_slack::FakeSlack;
use serde_json::json;

use crate::slack::{fake_slack, keel_on_fake, load, serve, Requests};

const CHANNELS: usize = 50;
/// The team member who tracks the tasks and presses the buttons.
const MEMBER: &str = "ULEAD";

/// A `track` command of the member in channel `c` (a slash command, as the adapter hands it).
fn track(i: usize) -> Inbound {
    let channel = format!("C{:05}", i % CHANNELS);
    Inbound {
        adapter: keel_slack::NAME.into(),
        event_id: format!("cmd:bench:{i}"),
        at: Utc::now(),
        speaker: Speaker {
            id: MEMBER.into(),
            name: "lead".into(),
            external: false,
            client_hint: None,
            tz: None,
        },
        conversation: Conversation {
            id: channel.clone(),
            name: channel,
            direct: false,
        },
        message_id: format!("trigger-{i}"),
        thread: None,
        reply_to: None,
        permalink: None,
        named: Vec::new(),
        kind: InboundKind::Command {
            text: format!("track {} (ref {i})", super::REQUESTS[i % super::REQUESTS.len()]),
        },
    }
}

/// The cards keel posted: task number → (channel, ts), and how many posts there were.
fn cards(fake: &FakeSlack) -> (HashMap<i64, (String, String)>, usize) {
    let mut found = HashMap::new();
    let mut posts = 0;
    for post in fake.keel_posts() {
        let title = post
            .blocks
            .as_ref()
            .and_then(|b| b[0]["text"]["text"].as_str().map(str::to_string));
        let number = title
            .as_deref()
            .and_then(|t| t.strip_prefix("*#"))
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse::<i64>().ok());
        if let Some(n) = number {
            posts += 1;
            found.insert(n, (post.channel.clone(), post.ts.clone()));
        }
    }
    (found, posts)
}

/// The `i`-th press: Waiting on odd rounds over the cards, Start on even ones, as a form body.
fn press(i: usize, cards: &[(i64, String, String)]) -> String {
    let (task, channel, ts) = &cards[i % cards.len()];
    let command = match (i / cards.len()) % 2 {
        0 => format!("wait #{task}"),
        _ => format!("start #{task}"),
    };
    let action_ts = format!("{}.{:06}", Utc::now().timestamp(), i % 1_000_000);
    let payload = json!({
        "type": "block_actions",
        "user": {"id": MEMBER, "username": "lead", "name": "lead", "team_id": "TTEAM"},
        "api_app_id": "ABENCH",
        "team": {"id": "TTEAM", "domain": "team"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": format!("{i}.bench.trigger"),
        "channel": {"id": channel, "name": channel},
        "message": {"type": "message", "user": "UKEEL", "ts": ts, "text": ""},
        "actions": [{"type": "button", "block_id": "b", "action_id": "card:1", "value": command,
                     "action_ts": action_ts}],
    });
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// The value below which `p` percent of the sorted values lie.
fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

pub async fn run(seconds: u64, connections: usize, tasks: usize) -> anyhow::Result<serde_json::Value> {
    let (fake, slack) = fake_slack().await?;
    for c in 0..CHANNELS {
        fake.add_channel(&format!("C{c:05}"), &format!("client{c}"));
    }
    fake.add_user(MEMBER, "lead", "TTEAM", "Europe/London");
    let (base_url, base_server) =
        serve(axum::Router::new().route("/slack/interactivity", post(|| async { StatusCode::OK }))).await?;

    let dir = tempfile::tempdir()?;
    let on = keel_on_fake(dir.path(), slack).await?;
    let (store, ingest, keel_url) = (on.store.clone(), on.ingest.clone(), on.url.clone());

    // The cards, posted at Slack's pace of one a second per channel.
    let tracks = (0..tasks).map(|i| ingest.submit(track(i)));
    for handled in futures::future::join_all(tracks).await {
        handled?;
    }
    let posted = Instant::now();
    let shown = loop {
        let (found, _) = cards(&fake);
        if found.len() >= tasks {
            break found;
        }
        anyhow::ensure!(
            posted.elapsed() < Duration::from_secs(120),
            "{} of {tasks} cards posted",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut list: Vec<(i64, String, String)> = shown.into_iter().map(|(n, (c, ts))| (n, c, ts)).collect();
    list.sort();
    let list = Arc::new(list);
    eprintln!(
        "slack-actions: {tasks} cards posted in {:.1} s",
        posted.elapsed().as_secs_f64()
    );

    let presses: Requests = {
        let list = list.clone();
        Arc::new(move |i| (press(i, &list), "application/x-www-form-urlencoded"))
    };
    let baseline = load(
        &format!("{base_url}/slack/interactivity"),
        connections,
        seconds,
        0,
        presses.clone(),
    )
    .await?;
    // When each press was sent, by its card's ts (the loader numbers presses from 0).
    let sent: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let timed: Requests = {
        let (list, sent) = (list.clone(), sent.clone());
        Arc::new(move |i| {
            if let Ok(mut sent) = sent.lock() {
                sent.push((list[i % list.len()].2.clone(), Instant::now()));
            }
            (press(i, &list), "application/x-www-form-urlencoded")
        })
    };
    let measured = load(
        &format!("{keel_url}/slack/interactivity"),
        connections,
        seconds,
        0,
        timed,
    )
    .await?;
    eprintln!(
        "slack-actions: {} presses acknowledged at {:.0}/s (baseline {:.0}/s)",
        measured.requests, measured.per_s, baseline.per_s
    );

    // Each press is shown by the first edit of its card after it was sent.
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let waited = Instant::now();
    let (mut millis, stale) = loop {
        let edits = fake.update_times();
        let (mut millis, mut stale) = (Vec::new(), 0usize);
        for (ts, at) in &sent {
            match edits.iter().find(|(card, edited)| card == ts && edited >= at) {
                Some((_, edited)) => millis.push(edited.duration_since(*at).as_secs_f64() * 1000.0),
                None => stale += 1,
            }
        }
        if stale == 0 || waited.elapsed() > Duration::from_secs(60) {
            break (millis, stale);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    millis.sort_by(f64::total_cmp);
    let (_, card_posts) = cards(&fake);

    base_server.abort();
    drop(ingest);
    on.shut().await;
    store.close().await;

    Ok(json!({
        "presses": measured.requests,
        "per_s": super::round1(measured.per_s),
        "baseline_per_s": super::round1(baseline.per_s),
        "ratio": super::round3(measured.per_s / baseline.per_s),
        "ack_p99_ms": super::round3(measured.ack_p99_ms),
        "update_p50_ms": super::round1(percentile(&millis, 50)),
        "update_p99_ms": super::round1(percentile(&millis, 99)),
        "duplicates": card_posts.saturating_sub(tasks),
        "stale": stale,
        "non_2xx": measured.non_2xx + baseline.non_2xx,
        "tasks": tasks,
        "seconds": seconds,
    }))
}
