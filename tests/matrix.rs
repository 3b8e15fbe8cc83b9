//! The Matrix adapter against a real Synapse started by `scripts/synapse`: people write with
//! their own matrix-sdk clients, keel answers through its adapter and the core.

#![recursion_limit = "256"]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::store::Store;
use keel_chat::Adapter;
use keel_matrix::{Matrix, MatrixConfig};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::room::message::{OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, UserId};
use matrix_sdk::Client;
use tokio::sync::{mpsc, Notify};

/// A throwaway homeserver, stopped when dropped.
struct Synapse {
    dir: tempfile::TempDir,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/synapse")
}

impl Synapse {
    fn start() -> Synapse {
        let dir = tempfile::tempdir().expect("dir");
        let out = Command::new(script())
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("scripts/synapse runs");
        assert!(
            out.status.success(),
            "Synapse did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Synapse { dir, url }
    }

    fn register(&self, user: &str) {
        let out = Command::new(script())
            .args(["register"])
            .arg(self.dir.path())
            .args([user, "secret-password"])
            .output()
            .expect("register");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(self.dir.path()).output();
    }
}

/// A person's own Matrix client; every message it sees arrives on `seen`.
struct Person {
    client: Client,
    seen: mpsc::UnboundedReceiver<OriginalSyncRoomMessageEvent>,
}

async fn person(url: &str, user: &str) -> Person {
    let client = Client::builder().homeserver_url(url).build().await.expect("client");
    client
        .matrix_auth()
        .login_username(user, "secret-password")
        .send()
        .await
        .expect("login");
    client.sync_once(SyncSettings::default()).await.expect("sync");
    let (tx, seen) = mpsc::unbounded_channel();
    client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    let syncing = client.clone();
    tokio::spawn(async move {
        let _ = syncing
            .sync(SyncSettings::default().timeout(Duration::from_millis(500)))
            .await;
    });
    Person { client, seen }
}

impl Person {
    /// Waits for a message from `sender` (up to 20 s).
    async fn next_from(&mut self, sender: &UserId) -> OriginalSyncRoomMessageEvent {
        self.next_where(|ev| ev.sender == sender).await
    }

    /// Waits for a message that matches (up to 20 s).
    async fn next_where(
        &mut self,
        matches: impl Fn(&OriginalSyncRoomMessageEvent) -> bool,
    ) -> OriginalSyncRoomMessageEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.seen.recv())
                .await
                .expect("a message in time")
                .expect("the client is syncing");
            if matches(&ev) {
                return ev;
            }
        }
    }

    async fn say(&self, room: &OwnedRoomId, text: &str) -> OwnedEventId {
        let room = self.client.get_room(room).expect("in the room");
        room.send(RoomMessageEventContent::text_plain(text))
            .await
            .expect("sent")
            .response
            .event_id
    }
}

/// A message in the thread under `root`.
fn in_thread(root: &OwnedEventId, text: &str) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_plain(text);
    content.relates_to = Some(Relation::Thread(matrix_sdk::ruma::events::relation::Thread::plain(
        root.clone(),
        root.clone(),
    )));
    content
}

#[test]
fn a_client_request_in_a_room_becomes_a_task_answered_in_its_thread() {
    support::runtime().block_on(async {
        let synapse = Synapse::start();
        for user in ["keel", "lea", "bob"] {
            synapse.register(user);
        }
        let db = support::TestDb::new("sqlite");
        let store = Store::open(&db.url).await.expect("store");
        let keel_core = Keel::new(store.clone(), Arc::new(keel::clock::SystemClock), Settings::default());
        let committed = Arc::new(Notify::new());
        let (ingest, _writer) = Ingest::start(keel_core, committed.clone());
        let state = tempfile::tempdir().expect("state");
        let matrix = Matrix::connect(MatrixConfig {
            homeserver: synapse.url.clone(),
            user: "keel".into(),
            password: "secret-password".into(),
            store_path: state.path().to_path_buf(),
            team: vec!["@lea:localhost".into()],
            allow_invites_from: vec!["@lea:localhost".into()],
        })
        .await
        .expect("keel logs in");
        let _sync = matrix.start(Arc::new(ingest)).await.expect("keel syncs");
        let dispatcher = Dispatcher::new(store.clone(), vec![Arc::new(matrix.clone()) as Arc<dyn Adapter>]);
        let delivering = dispatcher.clone();
        tokio::spawn(async move {
            loop {
                let _ = delivering.round().await;
                tokio::select! {
                    _ = committed.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        });

        let mut lea = person(&synapse.url, "lea").await;
        let mut bob = person(&synapse.url, "bob").await;
        let keel_id = UserId::parse("@keel:localhost").expect("id");
        let bob_id = UserId::parse("@bob:localhost").expect("id");
        let mut request = CreateRoom::new();
        request.invite = vec![keel_id.clone(), bob_id.clone()];
        request.name = Some("acme".into());
        let room = lea.client.create_room(request).await.expect("room");
        let room_id = room.room_id().to_owned();
        // Bob accepts; keel joins by itself (lea may invite it).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(invited) = bob.client.get_room(&room_id) {
                if invited.join().await.is_ok() {
                    break;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "bob never saw the invite");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        loop {
            let joined = room.members(matrix_sdk::RoomMemberships::JOIN).await.expect("members");
            if joined.iter().any(|m| m.user_id() == keel_id) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "keel never joined");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        lea.say(&room_id, &format!("!keel client add acme \"Acme Corp\" {room_id}"))
            .await;
        let added = lea.next_from(&keel_id).await;
        assert!(added.content.body().contains("acme"), "{}", added.content.body());

        let asked = bob
            .say(
                &room_id,
                "Hi, the invoice export is broken again, we need it fixed by Friday",
            )
            .await;
        let answer = bob
            .next_where(|ev| {
                ev.sender == keel_id
                    && matches!(&ev.content.relates_to, Some(Relation::Thread(t)) if t.event_id == asked)
            })
            .await;
        assert!(answer.content.body().starts_with("#1"), "{}", answer.content.body());
        match &answer.content.relates_to {
            Some(Relation::Thread(t)) => assert_eq!(t.event_id, asked, "answered in the request's thread"),
            other => panic!("not in a thread: {other:?}"),
        }
        let tasks = support::tasks_json(&db);
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0]["client"], "acme");
        assert_eq!(tasks[0]["requester"], "bob");
        assert_eq!(tasks[0]["source"], "auto");
        assert_eq!(tasks[0]["first_response_at"], serde_json::Value::Null);

        // lea answers in the thread: the first response.
        lea.client
            .get_room(&room_id)
            .expect("room")
            .send(in_thread(&asked, "Looking into it now"))
            .await
            .expect("sent");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let tasks = support::tasks_json(&db);
            if !tasks[0]["first_response_at"].is_null() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no first response recorded");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drop(lea);
        store.close().await;
    });
}
