//! `keel-bench matrix`: the time from a client's message being sent to keel's answer arriving
//! at that client, on a real Synapse started for the run, against a bare matrix-sdk bot on the
//! same homeserver that answers every message in its thread (the least any bot can do).
//!
//! Both bots run in this process with the same kind of store (sqlite, encryption on); the client
//! alternates between keel's room and the echo bot's room, one message at a time, so both see
//! the same load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use keel::clock::SystemClock;
use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::store::Store;
use keel_chat::Adapter;
use keel_matrix::{Matrix, MatrixConfig};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::relation::Thread;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use matrix_sdk::{Client, RoomMemberships, RoomState};
use serde_json::json;
use tokio::sync::{mpsc, Notify};

const PASSWORD: &str = "bench-password";
/// An answer that takes longer than this is counted as lost.
const LOST_AFTER: Duration = Duration::from_secs(15);

/// A throwaway Synapse from `scripts/synapse`, stopped when dropped.
struct Synapse {
    dir: tempfile::TempDir,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/synapse")
}

impl Synapse {
    fn start(users: &[&str]) -> anyhow::Result<Synapse> {
        let dir = tempfile::tempdir()?;
        let out = Command::new(script()).arg("start").arg(dir.path()).output()?;
        anyhow::ensure!(
            out.status.success(),
            "Synapse did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let synapse = Synapse { dir, url };
        let out = Command::new(script())
            .arg("users")
            .arg(synapse.dir.path())
            .arg(PASSWORD)
            .args(users)
            .output()?;
        anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Ok(synapse)
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(self.dir.path()).output();
    }
}

fn user(name: &str) -> anyhow::Result<OwnedUserId> {
    Ok(UserId::parse(format!("@{name}:localhost"))?)
}

async fn login(url: &str, name: &str, store: Option<&Path>) -> anyhow::Result<Client> {
    let mut builder = Client::builder().homeserver_url(url);
    if let Some(store) = store {
        builder = builder.sqlite_store(store, None);
    }
    let client = builder.build().await?;
    client.matrix_auth().login_username(name, PASSWORD).send().await?;
    Ok(client)
}

/// Syncs until the process ends, as a responsive bot does: one long poll after another.
/// (`Client::sync` waits a second after a sync that came less than a second after the previous
/// one, which would hide every bot's own latency behind the client's.)
fn syncing(client: &Client) {
    let client = client.clone();
    tokio::spawn(async move {
        loop {
            if client.sync_once(SyncSettings::default()).await.is_err() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
}

fn in_thread(root: &OwnedEventId, text: &str) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_plain(text);
    content.relates_to = Some(Relation::Thread(Thread::plain(root.clone(), root.clone())));
    content
}

/// The baseline: joins when invited and answers every message from someone else in its thread.
async fn echo_bot(url: &str, store: &Path) -> anyhow::Result<Client> {
    let client = login(url, "echo", Some(store)).await?;
    client.sync_once(SyncSettings::default()).await?;
    client.add_event_handler(|ev: StrippedRoomMemberEvent, room: Room| async move {
        if room.state() == RoomState::Invited {
            let _ = room.join().await;
        }
        drop(ev);
    });
    let me = client.user_id().map(ToOwned::to_owned);
    client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
        let me = me.clone();
        async move {
            if Some(&ev.sender) != me.as_ref() {
                let _ = room.send(in_thread(&ev.event_id, ev.content.body())).await;
            }
        }
    });
    syncing(&client);
    Ok(client)
}

/// Waits until `who` has joined `room` as `client` sees it.
async fn joined(client: &Client, room: &OwnedRoomId, who: &OwnedUserId) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(r) = client.get_room(room) {
            if r.state() == RoomState::Invited {
                let _ = r.join().await;
            } else if r
                .members(RoomMemberships::JOIN)
                .await?
                .iter()
                .any(|m| m.user_id() == who)
            {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{who} did not join {room}")
}

pub async fn run(messages: usize) -> anyhow::Result<serde_json::Value> {
    let synapse = Synapse::start(&["keel", "echo", "lea", "bob"])?;
    let state = tempfile::tempdir()?;

    // keel: the core on SQLite, its Matrix adapter, the outbox dispatcher.
    let store = Store::open(&format!("sqlite://{}", state.path().join("keel.db").display())).await?;
    let settings = Settings {
        group_window_secs: 0,
        ..Settings::default()
    };
    let core = Keel::new(store.clone(), Arc::new(SystemClock), settings);
    let committed = Arc::new(Notify::new());
    let (ingest, _writer) = Ingest::start(core, committed.clone());
    let matrix = Matrix::connect(MatrixConfig {
        homeserver: synapse.url.clone(),
        user: "keel".into(),
        password: Some(PASSWORD.to_string().into()),
        access_token: None,
        store_path: state.path().join("keel-matrix"),
        team: vec!["@lea:localhost".into()],
        allow_invites_from: vec!["@lea:localhost".into()],
    })
    .await
    .context("keel logs in")?;
    let _sync = matrix.start(Arc::new(ingest)).await?;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = Dispatcher::new(store.clone(), vec![Arc::new(matrix) as Arc<dyn Adapter>]);
    tokio::spawn(dispatcher.run(committed, stopped));

    let _echo = echo_bot(&synapse.url, &state.path().join("echo-store")).await?;

    // lea sets up the rooms; bob is the client who writes.
    let lea = login(&synapse.url, "lea", None).await?;
    lea.sync_once(SyncSettings::default()).await?;
    syncing(&lea);
    let bob = login(&synapse.url, "bob", None).await?;
    bob.sync_once(SyncSettings::default()).await?;
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<(OwnedUserId, OwnedEventId, Instant)>();
    bob.add_event_handler(move |ev: OriginalSyncRoomMessageEvent| {
        let seen_tx = seen_tx.clone();
        async move {
            let arrived = Instant::now();
            if let Some(Relation::Thread(t)) = &ev.content.relates_to {
                let _ = seen_tx.send((ev.sender.clone(), t.event_id.clone(), arrived));
            }
        }
    });
    syncing(&bob);
    let mut rooms = Vec::new();
    for (name, bot) in [("acme", "keel"), ("echo", "echo")] {
        let mut request = CreateRoom::new();
        request.name = Some(name.into());
        request.invite = vec![user(bot)?, user("bob")?];
        let room = lea.create_room(request).await?.room_id().to_owned();
        joined(&bob, &room, &user("bob")?).await?;
        joined(&lea, &room, &user(bot)?).await?;
        rooms.push(room);
    }
    let keel_room = bob.get_room(&rooms[0]).context("keel's room")?;
    let echo_room = bob.get_room(&rooms[1]).context("echo's room")?;
    lea.get_room(&rooms[0])
        .context("room")?
        .send(RoomMessageEventContent::text_plain(format!(
            "!keel client add acme \"Acme Corp\" {}",
            rooms[0]
        )))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Warm-up (both bots, not counted), then the measured rounds, alternating.
    let keel_id = user("keel")?;
    let echo_id = user("echo")?;
    let mut replies: HashMap<OwnedEventId, usize> = HashMap::new();
    let mut keel_ms = Vec::new();
    let mut echo_ms = Vec::new();
    let mut lost = 0;
    for n in 0..(messages + 5) {
        for (room, bot, out) in [
            (&keel_room, &keel_id, &mut keel_ms),
            (&echo_room, &echo_id, &mut echo_ms),
        ] {
            let text = format!("Request {n}: the export to the accounting system fails");
            let sent_at = Instant::now();
            let sent = room
                .send(RoomMessageEventContent::text_plain(text))
                .await?
                .response
                .event_id;
            let deadline = tokio::time::Instant::now() + LOST_AFTER;
            let arrived = loop {
                match tokio::time::timeout_at(deadline, seen.recv()).await {
                    Ok(Some((sender, root, at))) => {
                        *replies.entry(root.clone()).or_default() += 1;
                        if &sender == bot && root == sent {
                            break Some(at);
                        }
                    }
                    _ => break None,
                }
            };
            match arrived {
                Some(at) if n >= 5 => out.push(at.duration_since(sent_at).as_secs_f64() * 1000.0),
                Some(_) => {}
                None => lost += 1,
            }
        }
    }
    // Late or repeated answers.
    while let Ok(Some((_, root, _))) = tokio::time::timeout(Duration::from_secs(2), seen.recv()).await {
        *replies.entry(root).or_default() += 1;
    }
    let duplicates: usize = replies.values().map(|n| n.saturating_sub(1)).sum();
    let (p50, p99) = (percentile(&mut keel_ms, 0.50), percentile(&mut keel_ms, 0.99));
    let (b50, b99) = (percentile(&mut echo_ms, 0.50), percentile(&mut echo_ms, 0.99));
    store.close().await;
    Ok(json!({
        "messages": messages,
        "p50_ms": round(p50),
        "p99_ms": round(p99),
        "baseline_p50_ms": round(b50),
        "baseline_p99_ms": round(b99),
        "ratio_p50": (p50 / b50 * 100.0).round() / 100.0,
        "lost": lost,
        "duplicates": duplicates,
    }))
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}
