//! The Matrix adapter against a real Synapse started by `scripts/synapse`: keel runs as a user
//! runs it (`keel run` with a config file, the password in the environment), and people write
//! with their own matrix-sdk clients.
//!
//! The tests take turns (one Synapse and one keel at a time): the machines have two cores.

#![recursion_limit = "256"]

mod support;

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keel_chat::{Adapter, Outbound};
use keel_matrix::{Matrix, MatrixConfig};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::reaction::{OriginalSyncReactionEvent, ReactionEventContent};
use matrix_sdk::ruma::events::relation::{Annotation, Thread};
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, InitialStateEvent, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use matrix_sdk::{Client, RoomMemberships, RoomState};
use serde_json::Value;
use tokio::sync::mpsc;

const PASSWORD: &str = "secret-password";
const WAIT: Duration = Duration::from_secs(60);

static SERIAL: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/synapse")
}

fn id(user: &str) -> OwnedUserId {
    UserId::parse(format!("@{user}:localhost")).expect("user id")
}

/// A throwaway homeserver, stopped when dropped.
struct Synapse {
    dir: tempfile::TempDir,
    url: String,
}

impl Synapse {
    fn start() -> Synapse {
        let dir = tempfile::tempdir().expect("dir");
        let url = Synapse::run(dir.path(), "start");
        Synapse { dir, url }
    }

    fn run(dir: &Path, verb: &str) -> String {
        let out = Command::new(script())
            .arg(verb)
            .arg(dir)
            .output()
            .expect("scripts/synapse runs");
        assert!(
            out.status.success(),
            "scripts/synapse {verb} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn users(&self, names: &[&str]) {
        let out = Command::new(script())
            .arg("users")
            .arg(self.dir.path())
            .arg(PASSWORD)
            .args(names)
            .output()
            .expect("register");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn stop(&self) {
        Synapse::run(self.dir.path(), "stop");
    }

    /// Kills the server (`kill -9`): it is gone at once, mid-request.
    fn crash(&self) {
        let pid_file = self.dir.path().join("homeserver.pid");
        let pid = std::fs::read_to_string(&pid_file).expect("Synapse runs");
        let killed = Command::new("kill").args(["-9", pid.trim()]).status().expect("kill");
        assert!(killed.success());
        let _ = std::fs::remove_file(pid_file);
    }

    /// Starts the stopped server again, on the same port.
    fn start_again(&self) {
        let url = Synapse::run(self.dir.path(), "start");
        assert_eq!(url, self.url, "the same address as before");
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(self.dir.path()).output();
    }
}

/// `keel run` with a config file, as a team runs it.
struct Keel {
    dir: tempfile::TempDir,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Keel {
    fn new(synapse: &Synapse, db: &support::TestDb, group_minutes: i64) -> Keel {
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("keel.toml");
        let store = dir.path().join("matrix");
        std::fs::write(
            &config,
            format!(
                "database_url = \"{db}\"\n\
                 [capture]\ngroup_minutes = {group_minutes}\n\
                 [http]\nlisten = \"127.0.0.1:0\"\n\
                 [log]\nlevel = \"warn,keel=info,keel_matrix=info\"\n\
                 [matrix]\nhomeserver = \"{url}\"\nuser = \"keel\"\nstore_path = \"{store}\"\n\
                 team = [\"@lea:localhost\", \"@max:localhost\"]\n\
                 allow_invites_from = [\"@lea:localhost\"]\n",
                db = db.url,
                url = synapse.url,
                store = store.display(),
            ),
        )
        .expect("config");
        let log = dir.path().join("keel.log");
        Keel {
            dir,
            config,
            log,
            child: None,
        }
    }

    /// Starts `keel run` and waits until it listens.
    fn start(&mut self) {
        let before = self.log_text().matches("keel is running").count();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_keel"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("KEEL_MATRIX__PASSWORD", PASSWORD)
            .env_remove("KEEL_DATABASE_URL")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keel starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + WAIT;
        while self.log_text().matches("keel is running").count() == before {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("keel run exited with {status}: {}", self.log_text());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "keel did not start: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kill -9`: no chance to finish anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (`-STOP`, `-CONT`) to the running keel.
    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("keel runs");
        let sent = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal}");
    }

    /// SIGTERM, as `systemctl stop` and `docker stop` send it: returns the exit code and how
    /// long keel took to stop.
    fn terminate(&mut self) -> (Option<i32>, Duration) {
        let mut child = self.child.take().expect("keel runs");
        let asked = std::time::Instant::now();
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let status = child.wait().expect("keel stops");
        (status.code(), asked.elapsed())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where `keel run` serves HTTP (it says so when it starts).
    fn http(&self) -> String {
        let log = self.log_text();
        let line = log.lines().rev().find(|l| l.contains("HTTP on ")).unwrap_or_default();
        line.split("HTTP on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Keel {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A person's own Matrix client; every message it sees arrives on `seen`, every reaction is
/// kept in `reactions` (who, on which event, which key).
struct Person {
    client: Client,
    seen: mpsc::UnboundedReceiver<OriginalSyncRoomMessageEvent>,
    reactions: Arc<Mutex<Vec<(OwnedUserId, OwnedEventId, String)>>>,
    sync: tokio::task::JoinHandle<()>,
}

impl Drop for Person {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

async fn person(url: &str, user: &str) -> Person {
    let client = Client::builder().homeserver_url(url).build().await.expect("client");
    client
        .matrix_auth()
        .login_username(user, PASSWORD)
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
    let reactions = Arc::new(Mutex::new(Vec::new()));
    let kept = reactions.clone();
    client.add_event_handler(move |ev: OriginalSyncReactionEvent| {
        let kept = kept.clone();
        async move {
            let relation = ev.content.relates_to;
            if let Ok(mut kept) = kept.lock() {
                kept.push((ev.sender, relation.event_id, relation.key));
            }
        }
    });
    let syncing = client.clone();
    // Like any client, it reconnects when the homeserver goes away.
    let sync = tokio::spawn(async move {
        loop {
            let _ = syncing
                .sync(SyncSettings::default().timeout(Duration::from_millis(500)))
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    Person {
        client,
        seen,
        reactions,
        sync,
    }
}

impl Person {
    /// Waits for a message that matches.
    async fn next_where(
        &mut self,
        what: &str,
        matches: impl Fn(&OriginalSyncRoomMessageEvent) -> bool,
    ) -> OriginalSyncRoomMessageEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.seen.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
                .expect("the client is syncing");
            if matches(&ev) {
                return ev;
            }
        }
    }

    /// keel's next message in the room.
    async fn next_from_keel(&mut self) -> OriginalSyncRoomMessageEvent {
        let keel = id("keel");
        self.next_where("message from keel", |ev| ev.sender == keel && !is_edit(ev))
            .await
    }

    /// keel's next message that matches in its direct room with this person, accepting keel's
    /// invite to that room when it comes.
    async fn direct_from_keel(
        &mut self,
        what: &str,
        matches: impl Fn(&OriginalSyncRoomMessageEvent) -> bool,
    ) -> OriginalSyncRoomMessageEvent {
        let keel = id("keel");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            for invited in self.client.invited_rooms() {
                if invited.invite_details().await.is_ok_and(|d| d.inviter_id == keel) {
                    let _ = invited.join().await;
                }
            }
            if let Ok(ev) = tokio::time::timeout(Duration::from_millis(300), self.seen.recv()).await {
                let ev = ev.expect("the client is syncing");
                if ev.sender == keel && matches(&ev) {
                    let mut direct = false;
                    for room in self.client.joined_rooms() {
                        let members = room.members(RoomMemberships::JOIN).await.expect("members");
                        direct |= members.len() == 2 && members.iter().any(|m| m.user_id() == keel);
                    }
                    assert!(direct, "a room with only keel and its person");
                    return ev;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no {what} within {WAIT:?}");
        }
    }

    /// keel's answer in the thread of `asked`.
    async fn answer_to(&mut self, asked: &OwnedEventId) -> OriginalSyncRoomMessageEvent {
        let keel = id("keel");
        self.next_where("keel's answer in the thread", |ev| {
            ev.sender == keel && thread_root(ev).as_ref() == Some(asked)
        })
        .await
    }

    /// keel's messages in a room as the homeserver holds them (the room's whole history, read
    /// back page by page: a client's sync may skip events when many arrive at once).
    async fn keel_history(&self, room_id: &OwnedRoomId) -> Vec<OriginalSyncRoomMessageEvent> {
        self.history(room_id, "keel").await
    }

    /// One person's messages in a room, oldest first, as the homeserver holds them.
    async fn history(&self, room_id: &OwnedRoomId, who: &str) -> Vec<OriginalSyncRoomMessageEvent> {
        let room = self.client.get_room(room_id).expect("in the room");
        let keel = id(who);
        let mut out = Vec::new();
        let mut from: Option<String> = None;
        loop {
            let mut options = MessagesOptions::backward().from(from.as_deref());
            options.limit = 500u32.into();
            let page = room.messages(options).await.expect("history");
            for ev in &page.chunk {
                if let Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                    SyncMessageLikeEvent::Original(m),
                ))) = ev.raw().deserialize()
                {
                    if m.sender == keel && !is_edit(&m) {
                        out.push(m);
                    }
                }
            }
            match page.end {
                Some(end) if !page.chunk.is_empty() => from = Some(end),
                _ => break,
            }
        }
        out.reverse();
        out
    }

    /// Waits until keel has answered every request in `asked` (in the history of `rooms`), and
    /// returns all of keel's messages there.
    async fn wait_answers(&self, rooms: &[OwnedRoomId], asked: &[OwnedEventId]) -> Vec<OriginalSyncRoomMessageEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        loop {
            let mut all = Vec::new();
            for room in rooms {
                all.extend(self.keel_history(room).await);
            }
            let roots: std::collections::HashSet<OwnedEventId> = all.iter().filter_map(thread_root).collect();
            let missing = asked.iter().filter(|a| !roots.contains(*a)).count();
            if missing == 0 {
                return all;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{missing} requests never answered"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Every message keel posts within `quiet` of the last one.
    async fn keel_messages_until_quiet(&mut self, quiet: Duration) -> Vec<OriginalSyncRoomMessageEvent> {
        let keel = id("keel");
        let mut out = Vec::new();
        while let Ok(Some(ev)) = tokio::time::timeout(quiet, self.seen.recv()).await {
            if ev.sender == keel && !is_edit(&ev) {
                out.push(ev);
            }
        }
        out
    }

    async fn send(&self, room: &OwnedRoomId, content: RoomMessageEventContent) -> OwnedEventId {
        let room = self.client.get_room(room).expect("in the room");
        room.send(content).await.expect("sent").response.event_id
    }

    async fn say(&self, room: &OwnedRoomId, text: &str) -> OwnedEventId {
        self.send(room, RoomMessageEventContent::text_plain(text)).await
    }

    async fn react(&self, room: &OwnedRoomId, target: &OwnedEventId, key: &str) {
        let room = self.client.get_room(room).expect("in the room");
        room.send(ReactionEventContent::new(Annotation::new(target.clone(), key.into())))
            .await
            .expect("reacted");
    }

    /// Creates a room and invites people.
    async fn create_room(&self, name: &str, invite: &[&str], encrypted: bool) -> OwnedRoomId {
        let mut request = CreateRoom::new();
        request.invite = invite.iter().map(|u| id(u)).collect();
        request.name = Some(name.into());
        if encrypted {
            let encryption =
                InitialStateEvent::with_empty_state_key(RoomEncryptionEventContent::with_recommended_defaults());
            request.initial_state = vec![encryption.to_raw_any()];
        }
        let room = self.client.create_room(request).await.expect("room");
        room.room_id().to_owned()
    }

    /// Accepts the invite to a room (waits for it to arrive).
    async fn accept(&self, room_id: &OwnedRoomId) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(room) = self.client.get_room(room_id) {
                if room.state() == RoomState::Joined || room.join().await.is_ok() {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never saw the invite to {room_id}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until `user` has joined the room (as this person's client sees it).
    async fn wait_joined(&self, room_id: &OwnedRoomId, user: &str) {
        let user = id(user);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(room) = self.client.get_room(room_id) {
                let joined = room.members(RoomMemberships::JOIN).await.expect("members");
                if joined.iter().any(|m| m.user_id() == user) {
                    return;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "{user} never joined {room_id}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A message in the thread under `root`.
fn in_thread(root: &OwnedEventId, text: &str) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_plain(text);
    content.relates_to = Some(Relation::Thread(Thread::plain(root.clone(), root.clone())));
    content
}

fn thread_root(ev: &OriginalSyncRoomMessageEvent) -> Option<OwnedEventId> {
    match &ev.content.relates_to {
        Some(Relation::Thread(t)) => Some(t.event_id.clone()),
        _ => None,
    }
}

/// One Synapse with keel, two team members (lea may invite keel, max may not) and a client
/// user (bob); keel is running.
struct World {
    synapse: Synapse,
    db: support::TestDb,
    keel: Keel,
    lea: Person,
    max: Person,
    bob: Person,
}

async fn world(backend: &str, group_minutes: i64) -> World {
    let synapse = Synapse::start();
    synapse.users(&["keel", "lea", "max", "bob"]);
    let db = support::TestDb::new(backend);
    let mut keel = Keel::new(&synapse, &db, group_minutes);
    keel.start();
    let lea = person(&synapse.url, "lea").await;
    let max = person(&synapse.url, "max").await;
    let bob = person(&synapse.url, "bob").await;
    World {
        synapse,
        db,
        keel,
        lea,
        max,
        bob,
    }
}

impl World {
    /// A room lea opens for a client, with keel and bob in it, registered as the client's room.
    async fn client_room(&mut self, key: &str, encrypted: bool) -> OwnedRoomId {
        let room = self.lea.create_room(key, &["keel", "bob", "max"], encrypted).await;
        self.bob.accept(&room).await;
        self.max.accept(&room).await;
        self.lea.wait_joined(&room, "keel").await;
        self.lea.wait_joined(&room, "bob").await;
        self.lea.wait_joined(&room, "max").await;
        self.lea
            .say(&room, &format!("!keel client add {key} \"{key} Corp\" {room}"))
            .await;
        let added = self.lea.next_from_keel().await;
        assert!(
            added
                .content
                .body()
                .contains(&format!("client {key} added: {key} Corp · channels #{key}")),
            "{}",
            added.content.body()
        );
        room
    }

    /// bob's first request in a client room; keel answers with task #1 in its thread.
    async fn first_request(&mut self, room: &OwnedRoomId) -> OwnedEventId {
        let asked = self
            .bob
            .say(
                room,
                "Hi, the invoice export is broken again, we need it fixed by Friday",
            )
            .await;
        let answer = self.bob.answer_to(&asked).await;
        let body = answer.content.body();
        assert!(body.starts_with("#1 opened"), "{body}");
        asked
    }

    fn tasks(&self) -> Vec<Value> {
        support::tasks_json(&self.db)
    }

    /// Waits until the task list satisfies `done`.
    async fn wait_tasks(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let tasks = self.tasks();
            if done(&tasks) {
                return tasks;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: {} tasks: {tasks:?}\n{}",
                tasks.len(),
                self.keel.log_text()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

#[test]
fn a_client_request_in_a_room_becomes_a_task_answered_in_its_thread() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 3).await;
        let room = w.client_room("acme", false).await;

        let asked = w.first_request(&room).await;
        let tasks = w.tasks();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0]["client"], "acme");
        assert_eq!(tasks[0]["requester"], "bob");
        assert_eq!(tasks[0]["source"], "auto");
        assert_eq!(tasks[0]["first_response_at"], Value::Null);

        // lea answers in the thread: the first response.
        w.lea.send(&room, in_thread(&asked, "Looking into it now")).await;
        w.wait_tasks("first response recorded", |t| !t[0]["first_response_at"].is_null())
            .await;
        let tasks = w.tasks();
        assert_eq!(tasks.len(), 1, "a team reply is not a new task");

        // Done: bob is asked the CSAT question in the request's thread and answers with a 👍
        // reaction on it, which becomes an event of the task.
        w.lea.say(&room, "!keel done #1").await;
        let question = w
            .bob
            .next_where("the CSAT question", |ev| ev.content.body().contains("Did we solve"))
            .await;
        assert_eq!(thread_root(&question).as_ref(), Some(&asked));
        assert!(
            question.content.body().contains("Answer 👍 or 👎"),
            "{}",
            question.content.body()
        );
        w.bob.react(&room, &question.event_id, "👍").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let answered: Vec<Value> = support::events(&w.db)
                .into_iter()
                .filter(|e| e["kind"] == "survey_answered")
                .collect();
            if let Some(a) = answered.first() {
                assert_eq!(answered.len(), 1);
                assert_eq!((a["task"].as_i64(), a["data"]["score"].as_i64()), (Some(1), Some(1)));
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the 👍 was not recorded");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

/// Every command of the foundation, as `!keel …`, with the answer a user sees.
async fn command_tour(backend: &str, encrypted: bool) {
    let mut w = world(backend, 3).await;
    let room = w.client_room("acme", encrypted).await;
    if encrypted {
        let state = w.lea.client.get_room(&room).expect("room");
        assert!(state.latest_encryption_state().await.expect("state").is_encrypted());
    }
    let asked = w.first_request(&room).await;
    w.lea.answer_to(&asked).await;
    // "next Monday" is read against today (UTC, the team's zone here): the first Monday after it.
    let today = chrono::Utc::now().date_naive();
    let ahead = 7 - i64::from(chrono::Datelike::weekday(&today).num_days_from_monday());
    let next_monday = format!("#2 due {}", (today + chrono::Duration::days(ahead)).format("%a %-d %b"));
    // max speaks first, so keel knows him.
    let tour: &[(&str, &str, &str)] = &[
        ("max", "!keel tz Europe/Berlin", "your time zone is Europe/Berlin"),
        ("lea", "!keel help", "track <text>"),
        ("lea", "!keel help due", "due #N <date>"),
        (
            "lea",
            "!keel track Renew the SSL certificate for acme by Friday",
            "#2 opened",
        ),
        ("lea", "!keel list", "#2 open \"Renew the SSL certificate"),
        ("lea", "!keel show #1", "requester bob"),
        ("lea", "!keel assign #1 @max:localhost", "#1 owner @max"),
        ("lea", "!keel take #2", "#2 owner @lea"),
        ("lea", "!keel start #2", "#2 in-progress"),
        ("lea", "!keel wait #2", "#2 waiting"),
        ("lea", "!keel due #2 next Monday", next_monday.as_str()),
        ("lea", "!keel priority #2 urgent", "#2 priority urgent (was normal)"),
        ("lea", "!keel note #2 asked for the CSR", "#2 note added"),
        ("lea", "!keel snooze #2 2026-12-24", "#2 snoozed until Thu 24 Dec 2026"),
        ("lea", "!keel escalate #2 client is blocked", "#2 escalated"),
        ("lea", "!keel done #2", "#2 done"),
        ("lea", "!keel reopen #2", "#2 open"),
        ("lea", "!keel cancel #2 duplicate", "#2 cancelled"),
        ("lea", "!keel client list", "acme — acme Corp"),
        ("lea", "!keel client show acme", "channels #acme (matrix)"),
        (
            "lea",
            "!keel client signed acme 2026-11-02",
            "client acme signed Mon 2 Nov 2026",
        ),
        (
            "lea",
            "!keel client live acme 2026-11-20",
            "client acme live Fri 20 Nov 2026",
        ),
        (
            "lea",
            "!keel client churned acme 2026-11-21",
            "client acme churned Sat 21 Nov 2026",
        ),
        ("lea", "!keel away until 2027-01-05", "away until Tue 5 Jan 2027"),
        ("lea", "!keel back", "welcome back"),
        ("lea", "!keel hours 08:00-16:00", "your working hours are 08:00-16:00"),
        ("lea", "@keel list open", "#1 open"),
        ("lea", "keel: show #2", "#2 cancelled"),
    ];
    for (who, said, expected) in tour {
        let speaker = match *who {
            "max" => &w.max,
            "bob" => &w.bob,
            _ => &w.lea,
        };
        speaker.say(&room, said).await;
        let Ok(answer) = tokio::time::timeout(Duration::from_secs(30), w.lea.next_from_keel()).await else {
            panic!("no answer to {said:?}: {}", w.keel.log_text());
        };
        let body = answer.content.body().to_string();
        assert!(
            body.contains(expected),
            "{said:?} was answered {body:?}, expected {expected:?}"
        );
    }
    // Mistakes are answered in one line and change nothing; the room is shared with acme, so
    // each answer is a direct message to the one who made the mistake.
    let mistakes = [
        ("lea", "!keel due #99 tomorrow", "#99 does not exist"),
        ("lea", "!keel priority #1 sometime", "\"sometime\" is not a priority"),
        (
            "bob",
            "!keel assign #1 @lea:localhost",
            "only team members can assign tasks",
        ),
    ];
    for (who, said, expected) in mistakes {
        let speaker = if who == "bob" { &mut w.bob } else { &mut w.lea };
        speaker.say(&room, said).await;
        let answer = speaker
            .direct_from_keel(said, |ev| ev.content.body().contains(expected))
            .await;
        let body = answer.content.body();
        assert!(
            body.starts_with(&format!("In acme: {expected}")),
            "{said:?} was answered {body:?}"
        );
    }
    let tasks = w.tasks();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(tasks[0]["owner"], "max", "bob's assign changed nothing");
    assert_eq!(tasks[1]["status"], "cancelled");
    assert_eq!(tasks[1]["priority"], "urgent");
    // Nothing more arrives: every command was answered once.
    let extra = w.lea.keel_messages_until_quiet(Duration::from_secs(2)).await;
    assert!(
        extra.is_empty(),
        "unexpected: {:?}",
        extra.iter().map(|e| e.content.body()).collect::<Vec<_>>()
    );
}

#[test]
fn every_command_works_in_a_room() {
    let _turn = one_at_a_time();
    support::runtime().block_on(command_tour("sqlite", false));
}

#[test]
fn every_command_works_in_an_encrypted_room_on_postgres() {
    let _turn = one_at_a_time();
    support::runtime().block_on(command_tour("postgres", true));
}

#[test]
fn a_ticket_reaction_captures_a_message_once() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 3).await;
        // A team room, not a client's: messages are not captured unless someone asks.
        let room = w.lea.create_room("ops", &["keel", "max"], false).await;
        w.max.accept(&room).await;
        w.lea.wait_joined(&room, "keel").await;
        w.lea.wait_joined(&room, "max").await;
        let ask = w
            .max
            .say(&room, "Can someone renew the SSL certificate for the portal by Friday")
            .await;
        w.lea.react(&room, &ask, "🎫").await;
        let answer = w.lea.next_from_keel().await;
        assert!(answer.content.body().starts_with("#1"), "{}", answer.content.body());
        assert_eq!(thread_root(&answer).as_ref(), Some(&ask));
        // A second 🎫 on the same message, by someone else: still one task, nothing said.
        w.max.react(&room, &ask, "🎫").await;
        let extra = w.lea.keel_messages_until_quiet(Duration::from_secs(3)).await;
        let tasks = w.tasks();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0]["source"], "reaction");
        assert!(
            extra.iter().all(|e| !e.content.body().contains("opened")),
            "{:?}",
            extra.iter().map(|e| e.content.body()).collect::<Vec<_>>()
        );
    });
}

/// Waits until keel has declined the invite to `room`: its membership becomes "leave", never
/// "join".
async fn declined(inviter: &Person, room: &OwnedRoomId) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = inviter.client.get_room(room).expect("room");
        let member = r.get_member(&id("keel")).await.expect("members");
        let membership = member.map(|m| m.membership().to_string());
        assert_ne!(
            membership.as_deref(),
            Some("join"),
            "keel joined a room it was not allowed into"
        );
        if membership.as_deref() == Some("leave") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "keel neither declined nor joined: {membership:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many rows each of these tables holds.
fn rows(db: &support::TestDb, tables: &[&'static str]) -> Vec<(&'static str, i64)> {
    let url = db.url.clone();
    let tables = tables.to_vec();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.expect("database");
            let mut counts = Vec::new();
            for table in tables {
                let sql = format!("SELECT COUNT(*) FROM {table}");
                let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .expect("count");
                counts.push((table, count));
            }
            counts
        })
    })
    .join()
    .expect("counting rows")
}

#[test]
fn a_team_member_who_is_not_allowed_cannot_invite_keel() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let w = world("sqlite", 3).await;
        let room = w.max.create_room("max's room", &["keel"], false).await;
        declined(&w.max, &room).await;
        assert!(
            w.keel.log_text().contains("declining an invite"),
            "{}",
            w.keel.log_text()
        );

        // Nor may eve, who is not in the team at all: keel declines, and nothing she writes
        // there reaches it.
        w.synapse.users(&["eve"]);
        let eve = person(&w.synapse.url, "eve").await;
        let hers = eve.create_room("eve's room", &["keel"], false).await;
        eve.say(&hers, "!keel client add evil \"Evil Corp\"").await;
        eve.say(&hers, "Please wire 10,000 EUR to this account today").await;
        declined(&eve, &hers).await;
        let log = w.keel.log_text();
        assert!(
            log.lines()
                .any(|l| l.contains("declining an invite") && l.contains("@eve:localhost")),
            "{log}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        let tables = [
            "members",
            "contacts",
            "clients",
            "tasks",
            "task_events",
            "inbound_events",
            "inbox",
            "outbox",
        ];
        let stored = rows(&w.db, &tables);
        assert!(stored.iter().all(|(_, n)| *n == 0), "keel stored something: {stored:?}");
        assert!(w.tasks().is_empty());

        // lea may invite it.
        let allowed = w.lea.create_room("lea's room", &["keel"], false).await;
        w.lea.wait_joined(&allowed, "keel").await;
    });
}

/// Asserts every request got exactly one answer in its thread.
fn one_answer_each(answers: &[OriginalSyncRoomMessageEvent], asked: &[OwnedEventId]) {
    let mut per_root: HashMap<OwnedEventId, usize> = HashMap::new();
    for a in answers {
        if let Some(root) = thread_root(a) {
            *per_root.entry(root).or_default() += 1;
        }
    }
    for ask in asked {
        assert_eq!(per_root.get(ask).copied().unwrap_or(0), 1, "answers to {ask}");
    }
}

#[test]
fn keel_restarted_mid_conversation_answers_everything_once() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 0).await;
        let room = w.client_room("acme", false).await;
        let mut asked = Vec::new();
        for n in 1..=3 {
            asked.push(w.bob.say(&room, &format!("Request {n}: please fix the export")).await);
        }
        w.wait_tasks("three tasks", |t| t.len() == 3).await;
        // Killed without warning, whatever it was doing; bob goes on writing, more than one
        // sync response carries (100 events per room), so keel must read the gap back.
        w.keel.kill();
        for n in 4..=110 {
            asked.push(w.bob.say(&room, &format!("Request {n}: please fix the export")).await);
        }
        w.keel.start();
        w.wait_tasks("110 tasks after the restart", |t| t.len() >= 110).await;
        let rooms = [room.clone()];
        let answers = w.bob.wait_answers(&rooms, &asked).await;
        one_answer_each(&answers, &asked);
        assert!(
            w.keel.log_text().contains("reading back a gap"),
            "{}",
            w.keel.log_text()
        );
        // A second restart changes nothing: no history is handled again.
        w.keel.kill();
        w.keel.start();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let again = w.bob.keel_history(&room).await;
        assert_eq!(again.len(), answers.len(), "nothing more was said");
        assert_eq!(w.tasks().len(), 110);
    });
}

#[test]
fn keel_carries_on_after_synapse_restarts() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 0).await;
        let room = w.client_room("acme", false).await;
        let first = w.bob.say(&room, "The export is broken").await;
        w.bob.answer_to(&first).await;
        w.synapse.stop();
        tokio::time::sleep(Duration::from_secs(3)).await;
        w.synapse.start_again();
        let second = w.bob.say(&room, "And the import too").await;
        w.bob.answer_to(&second).await;
        assert_eq!(w.tasks().len(), 2);
        assert!(
            w.keel.log_text().contains("Matrix sync stopped; reconnecting"),
            "keel noticed the outage: {}",
            w.keel.log_text()
        );
    });
}

/// Synapse is gone for 30 s while keel has answers to send: they wait in the outbox, `/healthz`
/// says Matrix is away, and once Synapse is back every answer is delivered, once, in the order of
/// the requests in each room.
async fn answers_wait_out_a_synapse_outage(backend: &str) {
    let mut w = world(backend, 0).await;
    let rooms = [w.client_room("acme", false).await, w.client_room("globex", false).await];
    // bob sends 25 requests to each room at once, as a busy client team would.
    let mut sends = Vec::new();
    for n in 0..25 {
        for (r, room) in rooms.iter().enumerate() {
            let room = w.bob.client.get_room(room).expect("room");
            let text = format!("Request {n} in room {r}: the dashboard is empty");
            sends.push(tokio::spawn(async move {
                room.send(RoomMessageEventContent::text_plain(text))
                    .await
                    .expect("sent")
                    .response
                    .event_id
            }));
        }
    }
    let mut asked = Vec::new();
    for send in sends {
        asked.push(send.await.expect("send"));
    }
    // Synapse dies the moment keel has taken the last request: the answers of that batch (and any
    // still queued before it) are in the outbox, committed with their tasks. keel is held
    // (SIGSTOP) for the few milliseconds the crash takes; otherwise, sending to both rooms at once,
    // it could deliver a small last batch before the crash lands.
    let store = keel::store::Store::connect(&w.db.url).await.expect("store");
    let mut conn = store.pool().acquire().await.expect("conn");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
            .fetch_one(&mut *conn)
            .await
            .expect("count");
        if tasks == 50 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{tasks} tasks of 50: {}",
            w.keel.log_text()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    w.keel.signal("-STOP");
    w.synapse.crash();
    let down_at = std::time::Instant::now();
    let waiting = keel::store::outbox::depth(&mut conn).await.expect("depth");
    w.keel.signal("-CONT");
    drop(conn);
    store.close().await;
    assert!(waiting > 0, "answers were waiting in the outbox when Synapse went away");
    let http = w.keel.http();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    let away = loop {
        let (status, body) = support::http_get(&http, "/healthz").await;
        let report: Value = serde_json::from_str(&body).unwrap_or_default();
        if report["adapters"]["matrix"]["connected"] == false {
            assert_eq!(status, 200, "the database is fine: {report}");
            break report;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz never noticed: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(away["status"], "degraded", "{away}");
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(down_at.elapsed())).await;
    w.synapse.start_again();
    let back_at = std::time::Instant::now();
    let answers = w.bob.wait_answers(&rooms, &asked).await;
    let took = back_at.elapsed();
    one_answer_each(&answers, &asked);
    // In each room keel's answers come in the order keel took the requests (#1, #2, …): none
    // overtook another while they waited.
    for room in &rooms {
        let numbers: Vec<u64> = w
            .bob
            .keel_history(room)
            .await
            .iter()
            .filter(|m| thread_root(m).is_some_and(|r| asked.contains(&r)))
            .filter_map(|m| task_number(m.content.body()))
            .collect();
        assert_eq!(numbers.len(), 25, "{numbers:?}");
        assert!(
            numbers.windows(2).all(|pair| pair[0] < pair[1]),
            "answers in order in {room}: {numbers:?}"
        );
    }
    assert!(
        took < Duration::from_secs(30),
        "what waited went out soon after Synapse came back: {took:?}"
    );
    assert_eq!(w.tasks().len(), 50);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = support::http_get(&http, "/healthz").await;
        assert_eq!(status, 200, "{body}");
        if body.contains("\"status\":\"ok\"") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz stayed degraded: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Stopped as systemd or docker stop it, keel ends cleanly and soon.
    let (code, took) = w.keel.terminate();
    assert_eq!(code, Some(0), "{}", w.keel.log_text());
    assert!(took < Duration::from_secs(15), "keel took {took:?} to stop");
}

/// The task number an answer starts with (`#12 opened …` → 12).
fn task_number(body: &str) -> Option<u64> {
    body.strip_prefix('#')?.split_whitespace().next()?.parse().ok()
}

#[test]
fn answers_queued_while_synapse_is_down_for_30_s_arrive_after_in_order() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            answers_wait_out_a_synapse_outage(backend).await;
        }
    });
}

#[test]
fn a_burst_of_500_messages_across_10_rooms_becomes_500_tasks() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 0).await;
        let mut rooms = Vec::new();
        for n in 0..10 {
            rooms.push(w.client_room(&format!("client{n}"), false).await);
        }
        let started = std::time::Instant::now();
        let mut senders = Vec::new();
        for (n, room) in rooms.iter().enumerate() {
            let bob = w.bob.client.get_room(room).expect("room");
            senders.push(tokio::spawn(async move {
                // 50 messages per room at a steady pace, 500 in about 7 s, each sent without
                // waiting for the one before (as 10 rooms of people would). The burst is timed by
                // when the last message leaves the client: how fast Synapse answers the sends is
                // the homeserver's speed, not keel's.
                let mut pace = tokio::time::interval(Duration::from_millis(140));
                let mut sends = Vec::new();
                let mut last_sent = std::time::Instant::now();
                for m in 0..50 {
                    pace.tick().await;
                    last_sent = std::time::Instant::now();
                    let (bob, text) = (bob.clone(), format!("Request {m} for room {n}: the report is wrong"));
                    sends.push(tokio::spawn(async move {
                        bob.send(RoomMessageEventContent::text_plain(text))
                            .await
                            .expect("sent")
                            .response
                            .event_id
                    }));
                }
                let mut ids = Vec::new();
                for send in sends {
                    ids.push(send.await.expect("send"));
                }
                (ids, last_sent)
            }));
        }
        let mut asked = Vec::new();
        let mut last = started;
        for s in senders {
            let (ids, sent) = s.await.expect("sender");
            asked.extend(ids);
            last = last.max(sent);
        }
        let took = last - started;
        assert!(took <= Duration::from_secs(10), "the burst took {took:?}");
        assert_eq!(asked.len(), 500);
        let tasks = w.wait_tasks("500 tasks", |t| t.len() >= 500).await;
        assert_eq!(tasks.len(), 500);
        let answers = w.bob.wait_answers(&rooms, &asked).await;
        let asked_set: std::collections::HashSet<_> = asked.iter().collect();
        let replies = answers
            .iter()
            .filter(|a| thread_root(a).is_some_and(|r| asked_set.contains(&r)))
            .count();
        assert_eq!(replies, 500, "every reply posted, none twice");
        one_answer_each(&answers, &asked);
    });
}

#[test]
fn images_are_uploaded_as_m_image() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let synapse = Synapse::start();
        synapse.users(&["keel", "lea"]);
        let state = tempfile::tempdir().expect("state");
        let matrix = Matrix::connect(MatrixConfig {
            homeserver: synapse.url.clone(),
            user: "keel".into(),
            password: Some(PASSWORD.to_string().into()),
            access_token: None,
            store_path: state.path().to_path_buf(),
            team: vec!["localhost".into()],
            allow_invites_from: vec!["localhost".into()],
        })
        .await
        .expect("keel logs in");
        let db = support::TestDb::new("sqlite");
        let store = keel::store::Store::open(&db.url).await.expect("store");
        let core = keel::service::Keel::new(
            store.clone(),
            Arc::new(keel::clock::SystemClock),
            keel::service::Settings::default(),
        );
        let (ingest, _writer) = keel::service::ingest::Ingest::start(core, Arc::new(tokio::sync::Notify::new()));
        let _sync = matrix.start(Arc::new(ingest)).await.expect("sync");
        let mut lea = person(&synapse.url, "lea").await;
        let room = lea.create_room("reports", &["keel"], false).await;
        lea.wait_joined(&room, "keel").await;
        let png = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/one-pixel.png")).expect("png");
        let sent = matrix
            .send(&Outbound::Image {
                conversation: room.to_string(),
                thread: None,
                name: "kpi-2026-W48.png".into(),
                caption: "**Week 48**".into(),
                png: png.clone(),
            })
            .await
            .expect("uploaded");
        assert!(sent.message_id.is_some());
        let image = lea.next_where("keel's image", |ev| ev.sender == id("keel")).await;
        let MessageType::Image(content) = &image.content.msgtype else {
            panic!("not an image: {:?}", image.content.msgtype);
        };
        assert_eq!(content.filename(), "kpi-2026-W48.png");
        assert_eq!(content.caption(), Some("**Week 48**"));
        let info = content.info.as_ref().expect("info");
        assert_eq!(info.mimetype.as_deref(), Some("image/png"));
        let downloaded = lea
            .client
            .media()
            .get_file(content, false)
            .await
            .expect("download")
            .expect("content");
        assert_eq!(downloaded, png);
        store.close().await;
    });
}

#[test]
fn a_bad_password_stops_keel_run_with_one_line() {
    let _turn = one_at_a_time();
    let synapse = Synapse::start();
    synapse.users(&["keel"]);
    let db = support::TestDb::new("sqlite");
    let keel = Keel::new(&synapse, &db, 3);
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .arg("run")
        .arg("--config")
        .arg(&keel.config)
        .env("KEEL_MATRIX__PASSWORD", "wrong")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("keel: cannot connect to Matrix:"), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password is never printed: {stderr}");
}

#[test]
fn an_edited_request_retitles_its_task_and_standup_prompts_come_as_direct_messages() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 3).await;
        let room = w.client_room("acme", false).await;
        let asked = w.bob.say(&room, "The invoice export is broken").await;
        w.bob.answer_to(&asked).await;
        // bob corrects himself: the task still holds his message, so its title follows.
        let mut edit = RoomMessageEventContent::text_plain("* The invoice export to DATEV is broken");
        edit = edit.make_replacement(matrix_sdk::ruma::events::room::message::ReplacementMetadata::new(
            asked.clone(),
            None,
        ));
        w.bob.send(&room, edit).await;
        w.wait_tasks("the title follows the edit", |t| {
            t[0]["title"].as_str().is_some_and(|title| title.contains("DATEV"))
        })
        .await;

        // Standup prompts are private: keel opens a direct room with each member.
        w.lea.say(&room, "!keel standup set \"0 9 * * 1-5\"").await;
        let set = w
            .lea
            .next_where("the standup answer", |ev| {
                ev.sender == id("keel") && ev.content.body().starts_with("standup")
            })
            .await;
        assert!(set.content.body().starts_with("standup set"), "{}", set.content.body());
        w.lea.say(&room, "!keel standup now").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        let direct = loop {
            let invited = w.lea.client.invited_rooms();
            // The room can be listed a sync before its invite event is there to read.
            if let Some(dm) = invited.into_iter().next() {
                if let Ok(details) = dm.invite_details().await {
                    assert_eq!(details.inviter_id, id("keel"));
                    dm.join().await.expect("lea accepts");
                    break dm.room_id().to_owned();
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no direct room from keel");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let prompt = w
            .lea
            .next_where("the standup prompt", |ev| {
                ev.sender == id("keel") && ev.content.body().contains("What did you do yesterday?")
            })
            .await;
        assert!(prompt.content.body().contains("1/3"), "{}", prompt.content.body());
        let dm = w.lea.client.get_room(&direct).expect("the direct room");
        let members = dm.members(RoomMemberships::JOIN).await.expect("members");
        assert_eq!(members.len(), 2, "only lea and keel");
        // lea answers there; keel asks the next question in the same room.
        w.lea.say(&direct, "Fixed the DATEV export").await;
        let next = w
            .lea
            .next_where("the second question", |ev| {
                ev.sender == id("keel") && ev.content.body().contains("2/3")
            })
            .await;
        assert!(next.content.body().contains("today"), "{}", next.content.body());
    });
}

impl Person {
    /// Sends a message event exactly as given (Element's own shapes: reply fallbacks, edits).
    async fn send_json(&self, room: &OwnedRoomId, content: Value) -> OwnedEventId {
        let room = self.client.get_room(room).expect("in the room");
        room.send_raw("m.room.message", content)
            .await
            .expect("sent")
            .response
            .event_id
    }
}

/// A reply as Element writes it: the quoted original in `body` (`> <@who> …`, a blank line) and
/// in `formatted_body` (`<mx-reply>`), the reply below, `m.in_reply_to` and the quoted person in
/// `m.mentions`.
fn element_reply(room: &OwnedRoomId, to: &OwnedEventId, author: &str, quoted: &str, text: &str) -> Value {
    let who = id(author);
    serde_json::json!({
        "msgtype": "m.text",
        "body": format!("> <{who}> {quoted}\n\n{text}"),
        "format": "org.matrix.custom.html",
        "formatted_body": format!(
            "<mx-reply><blockquote><a href=\"https://matrix.to/#/{room}/{to}\">In reply to</a> \
             <a href=\"https://matrix.to/#/{who}\">{who}</a><br>{quoted}</blockquote></mx-reply>{text}"
        ),
        "m.relates_to": {"m.in_reply_to": {"event_id": to.to_string()}},
        "m.mentions": {"user_ids": [who.to_string()]},
    })
}

/// An edit as Element writes it: ` * new text` in `body`, the new text in `m.new_content`.
fn element_edit(of: &OwnedEventId, text: &str) -> Value {
    serde_json::json!({
        "msgtype": "m.text",
        "body": format!(" * {text}"),
        "m.new_content": {"msgtype": "m.text", "body": text},
        "m.relates_to": {"rel_type": "m.replace", "event_id": of.to_string()},
    })
}

#[test]
fn replies_are_read_as_what_they_add_and_edits_run_nothing_twice() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 3).await;
        let room = w.client_room("acme", false).await;
        let asked = w.bob.say(&room, "The invoice export is broken").await;
        assert!(w.bob.answer_to(&asked).await.content.body().starts_with("#1 opened"));
        // max answers first (and so owns #1 for now).
        let promise = w.max.say(&room, "We can have it fixed by Friday").await;

        // A command sent as a reply runs: the quoted text above it is not read.
        let reply = element_reply(&room, &asked, "bob", "The invoice export is broken", "!keel take #1");
        w.lea.send_json(&room, reply).await;
        let keel = id("keel");
        w.lea
            .next_where("the answer to take", |ev| {
                ev.sender == keel && ev.content.body().starts_with("#1 owner @lea")
            })
            .await;
        w.wait_tasks("lea owns #1", |t| t[0]["owner"] == "lea").await;

        // bob answers max's promise, quoting it: his message joins #1 (within the 3 minutes), and
        // the quoted "by Friday" dates nothing.
        let reply = element_reply(
            &room,
            &promise,
            "max",
            "We can have it fixed by Friday",
            "Great, the PDF export fails the same way",
        );
        w.bob.send_json(&room, reply).await;
        // A command edited: the edit is not a second command.
        let note = w.lea.say(&room, "!keel note #1 checking the logs").await;
        w.lea
            .next_where("the answer to note", |ev| {
                ev.sender == keel && ev.content.body().starts_with("#1 note added")
            })
            .await;
        w.lea
            .send_json(&room, element_edit(&note, "!keel note #1 checking the server logs"))
            .await;
        // bob's request edited: the task's title follows, and no second task is made.
        w.bob
            .send_json(&room, element_edit(&asked, "The invoice export is broken since Monday"))
            .await;
        let tasks = w
            .wait_tasks("the title follows the edit", |t| {
                t[0]["title"].as_str().is_some_and(|s| s.ends_with("since Monday"))
            })
            .await;
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0]["due_at"], Value::Null, "a quoted date dates nothing");
        let extra = w.lea.keel_messages_until_quiet(Duration::from_secs(3)).await;
        assert!(
            extra.is_empty(),
            "keel said nothing more: {:?}",
            extra.iter().map(|e| e.content.body()).collect::<Vec<_>>()
        );
        let kinds: Vec<String> = support::events(&w.db)
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(kinds.iter().filter(|k| *k == "note").count(), 1, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| *k == "due").count(), 0, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| *k == "edited").count(), 1, "{kinds:?}");
    });
}

#[test]
fn a_teammate_who_never_wrote_is_found_by_id_or_pill_on_matrix() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 3).await;
        let room = w.client_room("acme", false).await;
        w.first_request(&room).await;
        let keel = id("keel");
        // max is in the team (config) and has never written.
        w.lea.say(&room, "!keel assign #1 @max:localhost").await;
        w.lea.say(&room, "!keel assign #1 @nobody:localhost").await;
        // A pill, as Element writes it: the display name in the body, the link in the HTML.
        let pill = serde_json::json!({
            "msgtype": "m.text",
            "body": "!keel assign #1 lea",
            "format": "org.matrix.custom.html",
            "formatted_body": "!keel assign #1 <a href=\"https://matrix.to/#/@lea:localhost\">lea</a>",
            "m.mentions": {"user_ids": ["@lea:localhost"]},
        });
        w.lea.send_json(&room, pill).await;
        let mut answers = Vec::new();
        while answers.len() < 2 {
            let ev = w
                .lea
                .next_where("keel's answers", |ev| {
                    ev.sender == keel && ev.content.body().starts_with("#1 owner")
                })
                .await;
            answers.push(ev.content.body().to_string());
        }
        assert_eq!(answers, ["#1 owner @max", "#1 owner @lea"]);
        // The room is shared with acme: the mistake's answer is lea's alone.
        let nobody = w
            .lea
            .direct_from_keel("the unknown person", |ev| {
                ev.content.body().contains("nobody on matrix")
            })
            .await;
        assert_eq!(
            nobody.content.body(),
            "In acme: nobody on matrix is called @nobody:localhost (name them as the platform does, or with a mention)"
        );
    });
}

#[test]
fn a_command_in_a_tasks_thread_acts_on_that_task() {
    let _turn = one_at_a_time();
    support::runtime().block_on(async {
        let mut w = world("sqlite", 3).await;
        let room = w.client_room("acme", false).await;
        let asked = w.first_request(&room).await;
        let keel = id("keel");
        // In #1's thread (m.thread), lea names no task.
        w.lea.send(&room, in_thread(&asked, "!keel take")).await;
        let taken = w
            .lea
            .next_where("take's answer", |ev| {
                ev.sender == keel && ev.content.body().starts_with("#1 owner")
            })
            .await;
        assert_eq!(taken.content.body(), "#1 owner @lea");
        assert_eq!(thread_root(&taken).as_ref(), Some(&asked), "answered in the thread");
        w.lea.send(&room, in_thread(&asked, "@keel due friday")).await;
        let due = w
            .lea
            .next_where("due's answer", |ev| {
                ev.sender == keel && ev.content.body().starts_with("#1 due Fri")
            })
            .await;
        assert_eq!(thread_root(&due).as_ref(), Some(&asked));
        w.lea.send(&room, in_thread(&asked, "!keel show")).await;
        let shown = w
            .lea
            .next_where("#1's card", |ev| {
                ev.sender == keel
                    && ev.content.body().starts_with("#1 ")
                    && ev.content.body().contains("invoice export")
            })
            .await;
        assert_eq!(thread_root(&shown).as_ref(), Some(&asked));

        // A reply to the request, as Element writes it (no thread), is about its task too.
        let reply = element_reply(
            &room,
            &asked,
            "bob",
            "Hi, the invoice export is broken again, we need it fixed by Friday",
            "!keel note checked the export logs",
        );
        w.lea.send_json(&room, reply).await;
        let noted = w
            .lea
            .next_where("note's answer", |ev| {
                ev.sender == keel && ev.content.body().starts_with("#1 note")
            })
            .await;
        assert_eq!(noted.content.body(), "#1 note added");

        // Outside the thread the same word needs a task. The room is shared with acme, so the
        // answer, naming lea's open task, is a direct message only she reads.
        w.lea.say(&room, "!keel take").await;
        let which = w
            .lea
            .direct_from_keel("which task", |ev| ev.content.body().contains("which task?"))
            .await;
        assert_eq!(
            which.content.body(),
            "In acme: which task? name it like #12 (usage: take #N) — yours open here: #1"
        );
        w.lea.say(&room, "@keel done fixed it").await;
        let not_an_id = w
            .lea
            .direct_from_keel("not a task id", |ev| ev.content.body().contains("is not a task id"))
            .await;
        assert!(
            not_an_id.content.body().ends_with("— yours open here: #1"),
            "{}",
            not_an_id.content.body()
        );

        w.lea
            .send(&room, in_thread(&asked, "!keel done fixed the SSO config"))
            .await;
        let done = w
            .lea
            .next_where("done's answer", |ev| {
                ev.sender == keel && ev.content.body().starts_with("#1 done")
            })
            .await;
        assert_eq!(done.content.body(), "#1 done: fixed the SSO config");
        // bob, in the shared room, saw the answers in the thread and none of the mistakes.
        let seen_by_bob: Vec<String> = w
            .bob
            .keel_history(&room)
            .await
            .iter()
            .map(|ev| ev.content.body().to_string())
            .collect();
        assert!(seen_by_bob.iter().any(|b| b.starts_with("#1 done")), "{seen_by_bob:?}");
        assert!(
            !seen_by_bob
                .iter()
                .any(|b| b.contains("which task") || b.contains("is not a task id")),
            "{seen_by_bob:?}"
        );
        let tasks = w.tasks();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(
            (tasks[0]["status"].as_str(), tasks[0]["owner"].as_str()),
            (Some("done"), Some("lea"))
        );
        assert!(tasks[0]["due_at"].as_str().is_some(), "{}", tasks[0]);
    });
}

/// An edit (`m.replace`) of an earlier message: keel's cards shown anew, not something keel says.
fn is_edit(ev: &OriginalSyncRoomMessageEvent) -> bool {
    matches!(ev.content.relates_to, Some(Relation::Replacement(_)))
}

/// The edit of `card` a person's client shows: the newest `m.replace` of it seen so far, once its
/// text contains `text`.
async fn edited_to(person: &mut Person, card: &OwnedEventId, text: &str) -> String {
    let edit = person
        .next_where(&format!("an edit of the card saying {text:?}"), |ev| {
            match &ev.content.relates_to {
                Some(Relation::Replacement(r)) => r.event_id == *card && r.new_content.msgtype.body().contains(text),
                _ => false,
            }
        })
        .await;
    match edit.content.relates_to {
        Some(Relation::Replacement(r)) => match r.new_content.msgtype {
            MessageType::Text(t) => t.formatted.map(|f| f.body).unwrap_or_default(),
            other => panic!("the card became {other:?}"),
        },
        _ => unreachable!(),
    }
}

/// keel's card: a formatted message in the request's thread with keel's own 👀 and ✅ under it;
/// `take` edits it in place (the client's client shows the edit); a client's ✅ does nothing; a
/// member's ✅ on the card closes the task, and the card's last edit says so.
async fn cards_in_a_room(backend: &str, encrypted: bool) {
    let mut w = world(backend, 3).await;
    let room = w.client_room("acme", encrypted).await;
    let asked = w
        .bob
        .say(
            &room,
            "Hi, the invoice export is broken again, we need it fixed by Friday",
        )
        .await;
    let card = w.bob.answer_to(&asked).await;
    assert!(card.content.body().starts_with("#1 opened"), "{}", card.content.body());
    let html = match &card.content.msgtype {
        MessageType::Text(t) => t.formatted.clone().map(|f| f.body).unwrap_or_default(),
        other => panic!("the card is {other:?}"),
    };
    assert!(
        html.starts_with("<p><strong>#1 ") && html.contains("invoice export"),
        "{html}"
    );
    assert!(html.contains("<li><b>Owner</b>: nobody yet</li>"), "{html}");
    let keel = id("keel");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let keys: Vec<String> = w
            .bob
            .reactions
            .lock()
            .expect("reactions")
            .iter()
            .filter(|(who, on, _)| *who == keel && *on == card.event_id)
            .map(|(_, _, key)| key.clone())
            .collect();
        if keys == ["👀", "✅"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "keel reacted {keys:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    w.lea.say(&room, "!keel take #1").await;
    let taken = edited_to(&mut w.bob, &card.event_id, "owner @lea").await;
    assert!(taken.contains("<li><b>Owner</b>: @lea</li>"), "{taken}");

    // bob's ✅ is a client's: nothing happens.
    w.bob.react(&room, &card.event_id, "✅").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(w.tasks()[0]["status"], "open");

    // lea's ✅ on the card closes the task; the card's last edit says done, without the hint.
    w.lea.react(&room, &card.event_id, "✅").await;
    w.wait_tasks("closed by ✅", |t| t[0]["status"] == "done").await;
    let closed = edited_to(&mut w.bob, &card.event_id, "status done").await;
    assert!(closed.contains("<li><b>Status</b>: done</li>"), "{closed}");
    assert!(!closed.contains("React"), "{closed}");
    assert_eq!(w.tasks()[0]["owner"], "lea");
}

#[test]
fn a_card_stays_current_and_reactions_on_it_act_in_a_room() {
    let _turn = one_at_a_time();
    support::runtime().block_on(cards_in_a_room("sqlite", false));
}

#[test]
fn a_card_stays_current_and_reactions_on_it_act_in_an_encrypted_room_on_postgres() {
    let _turn = one_at_a_time();
    support::runtime().block_on(cards_in_a_room("postgres", true));
}
