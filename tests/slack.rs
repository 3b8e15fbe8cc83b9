//! The Slack adapter's way out, against the fake Slack server: keel's answers become Web API
//! calls with Slack's threads, pacing and rate limits. (Events in, Socket Mode and the Events API
//! come next; here the core is handed the events an adapter would hand it.)

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::store::Store;
use keel_chat::{Adapter, Conversation, Inbound, InboundKind, Speaker};
use keel_fake_slack::FakeSlack;
use keel_slack::{Slack, SlackConfig};
use tokio::sync::Notify;

const TOKEN: &str = "xoxb-test-token";

fn event(id: &str, user: (&str, bool), ts: &str, kind: InboundKind) -> Inbound {
    Inbound {
        adapter: keel_slack::NAME.into(),
        event_id: id.into(),
        at: Utc::now(),
        speaker: Speaker {
            id: user.0.into(),
            name: user.0.to_lowercase(),
            external: user.1,
            client_hint: None,
            tz: None,
        },
        conversation: Conversation {
            id: "C0ACME".into(),
            name: "acme".into(),
            direct: false,
        },
        message_id: ts.into(),
        thread: None,
        reply_to: None,
        permalink: None,
        named: Vec::new(),
        kind,
    }
}

/// keel on a fresh database, sending through the Slack adapter to the fake.
async fn keel_with_slack(db: &support::TestDb, fake: &FakeSlack) -> (Ingest, Dispatcher) {
    let store = Store::open(&db.url).await.expect("store");
    let core = Keel::new(store.clone(), Arc::new(keel::clock::SystemClock), Settings::default());
    let (ingest, _writer) = Ingest::start(core, Arc::new(Notify::new()));
    let slack = slack_client(fake, TOKEN);
    let dispatcher = Dispatcher::new(store, vec![Arc::new(slack) as Arc<dyn Adapter>]);
    (ingest, dispatcher)
}

/// The client's shared channel and a team channel.
const CHANNELS: &[(&str, &str)] = &[("C0ACME", "acme"), ("C0OPS", "ops")];

/// Two team members (lea, max) and bob from the client's own workspace.
const USERS: &[(&str, &str, &str, &str)] = &[
    ("ULEA", "lea", "TTEAM", "Europe/Berlin"),
    ("UMAX", "max", "TTEAM", "Europe/Berlin"),
    ("UBOB", "bob", "TACME", "America/New_York"),
];

/// A top-level message in a channel.
fn message(channel: &str, text: impl Into<String>) -> keel_chat::Outbound {
    keel_chat::Outbound::Message {
        conversation: channel.into(),
        thread: None,
        text: text.into(),
    }
}

/// keel's Slack client against the fake, with this bot token.
fn slack_client(fake: &FakeSlack, token: &str) -> Slack {
    Slack::new(&SlackConfig {
        bot_token: token.to_string().into(),
        api_url: fake.api_url.clone(),
    })
    .expect("client")
}

/// lea adds the client acme with its shared channel (a slash command at 1795600000.000001).
async fn add_acme(ingest: &Ingest) {
    ingest
        .submit(event(
            "Ev1",
            ("ULEA", false),
            "1795600000.000001",
            InboundKind::Command {
                text: "client add acme \"Acme Corp\" <#C0ACME|acme>".into(),
            },
        ))
        .await
        .expect("handled");
}

/// Rounds of delivery until `n` messages were posted or `within` passed.
async fn deliver_until(dispatcher: &Dispatcher, fake: &FakeSlack, n: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while fake.posts().len() < n && tokio::time::Instant::now() < deadline {
        dispatcher.round().await.expect("round");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A burst to one conversation (ten notices for #ops, which Slack takes at one post a second)
/// does not hold up another: a message for #acme queued after the burst is out at once, while
/// #ops's ten go out in order, paced.
#[test]
fn a_paced_conversation_does_not_hold_up_the_others() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
            let db = support::TestDb::new(backend);
            let store = Store::open(&db.url).await.expect("store");
            {
                let mut conn = store.writer().acquire().await.expect("connection");
                let now = Utc::now().timestamp();
                for i in 0..10 {
                    let notice = message("C0OPS", format!("notice {i}"));
                    keel::store::outbox::enqueue(&mut conn, keel_slack::NAME, &notice, now)
                        .await
                        .expect("queued");
                }
                keel::store::outbox::enqueue(&mut conn, keel_slack::NAME, &message("C0ACME", "answer"), now)
                    .await
                    .expect("queued");
            }
            let slack = slack_client(&fake, TOKEN);
            let dispatcher = Dispatcher::new(store.clone(), vec![Arc::new(slack) as Arc<dyn Adapter>]);
            let (stopping, stop) = tokio::sync::watch::channel(false);
            let started = tokio::time::Instant::now();
            let running = tokio::spawn(dispatcher.run(Arc::new(Notify::new()), stop));
            let posted = |channel: &str| -> Vec<String> {
                fake.keel_posts()
                    .into_iter()
                    .filter(|p| p.channel == channel)
                    .map(|p| p.text)
                    .collect()
            };
            while posted("C0ACME").is_empty() {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{backend}: the answer never went out"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let waited = started.elapsed();
            let ops_by_then = posted("C0OPS").len();
            assert!(
                waited < Duration::from_secs(3) && ops_by_then < 10,
                "{backend}: the answer waited {waited:?}, behind {ops_by_then} notices"
            );
            while posted("C0OPS").len() < 10 {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{backend}: {:?}",
                    posted("C0OPS")
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let expected: Vec<String> = (0..10).map(|i| format!("notice {i}")).collect();
            assert_eq!(posted("C0OPS"), expected, "{backend}: in order, once each");
            assert!(
                started.elapsed() >= Duration::from_secs(8),
                "{backend}: ten posts to one channel are paced a second apart"
            );
            let _ = stopping.send(true);
            tokio::time::timeout(Duration::from_secs(10), running)
                .await
                .expect("the dispatcher stops")
                .expect("no panic");
            assert_eq!(posted("C0ACME"), ["answer"], "{backend}");
        }
    });
}

#[test]
fn answers_go_to_the_request_thread_and_a_ratelimited_one_waits_and_goes_once() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
            let db = support::TestDb::new(backend);
            let (ingest, dispatcher) = keel_with_slack(&db, &fake).await;
            add_acme(&ingest).await;
            deliver_until(&dispatcher, &fake, 1, Duration::from_secs(10)).await;
            let posts = fake.posts();
            assert_eq!(posts.len(), 1, "{posts:?}");
            assert!(posts[0].text.starts_with("client acme added"), "{}", posts[0].text);
            assert_eq!(posts[0].thread_ts.as_deref(), Some("1795600000.000001"));

            // Slack says "ratelimited, retry after 2 s" to the next post.
            fake.rate_limit("chat.postMessage", 1, 2);
            ingest
                .submit(event(
                    "Ev2",
                    ("UBOB", true),
                    "1795600001.000001",
                    InboundKind::Message {
                        text: "The invoice export is broken again".into(),
                        to_keel: false,
                    },
                ))
                .await
                .expect("handled");
            deliver_until(&dispatcher, &fake, 2, Duration::from_secs(15)).await;
            let posts = fake.posts();
            assert_eq!(posts.len(), 2, "delivered once: {posts:?}");
            assert!(posts[1].text.starts_with("#1 opened"), "{}", posts[1].text);
            assert_eq!(posts[1].thread_ts.as_deref(), Some("1795600001.000001"));
            assert_eq!(
                posts[1].key.as_deref(),
                Some("keel-2"),
                "the outbox key travels with it"
            );
            let calls = fake.calls("chat.postMessage");
            assert_eq!(calls.len(), 3, "one refused, then one delivered");
            assert!(
                calls[2].duration_since(calls[1]) >= Duration::from_secs(2),
                "waited as Slack asked: {:?}",
                calls[2].duration_since(calls[1])
            );
            drop(ingest);
        }
    });
}

#[test]
fn posts_to_one_channel_are_paced_to_one_per_second() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let slack = slack_client(&fake, TOKEN);
        let started = std::time::Instant::now();
        for n in 0..3 {
            slack
                .send(&message("C0ACME", format!("message {n}")))
                .await
                .expect("sent");
        }
        let posts = fake.posts();
        assert_eq!(posts.len(), 3);
        for pair in posts.windows(2) {
            let gap = pair[1].at.duration_since(pair[0].at);
            assert!(gap >= Duration::from_millis(990), "{gap:?} between posts");
        }
        assert!(started.elapsed() >= Duration::from_secs(2));
        // A channel that does not exist is a final answer, not a retry.
        let refused = slack.send(&message("C0NOPE", "hello")).await.expect_err("refused");
        assert_eq!(refused, keel_chat::SendError::Rejected("channel_not_found".into()));
        // A wrong token is refused too.
        let wrong = slack_client(&fake, "xoxb-wrong");
        let refused = wrong.send(&message("C0ACME", "hello")).await.expect_err("refused");
        assert_eq!(refused, keel_chat::SendError::Rejected("invalid_auth".into()));
    });
}

#[test]
fn a_rate_limit_holds_only_its_method_for_the_time_slack_asked() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let slack = slack_client(&fake, TOKEN);
        fake.rate_limit("chat.postMessage", 1, 3);
        let first = slack.send(&message("C0ACME", "one")).await.expect_err("limited");
        assert_eq!(first, keel_chat::SendError::RetryAfter(Duration::from_secs(3)));
        // Within the 3 s, keel does not call chat.postMessage again (another channel's message
        // is held too: the limit is the method's), and says how long is left.
        let second = slack.send(&message("C0OPS", "two")).await.expect_err("held");
        match second {
            keel_chat::SendError::RetryAfter(left) => {
                assert!(
                    left <= Duration::from_secs(3) && left > Duration::from_secs(2),
                    "{left:?}"
                )
            }
            other => panic!("expected a hold, got {other:?}"),
        }
        assert_eq!(fake.calls("chat.postMessage").len(), 1, "no call while held");
        // Another method is not held: a reaction goes at once.
        let reaction = keel_chat::Outbound::Reaction {
            conversation: "C0ACME".into(),
            message_id: "1795600000.000001".into(),
            emoji: "👀".into(),
        };
        slack.send(&reaction).await.expect("reacted while posts are held");
        assert_eq!(fake.reactions().len(), 1);
        // After the hold, posting works again.
        tokio::time::sleep(Duration::from_millis(3100)).await;
        slack.send(&message("C0OPS", "two")).await.expect("sent after the hold");
        assert_eq!(fake.calls("chat.postMessage").len(), 2);
        assert_eq!(fake.keel_posts().len(), 1);
    });
}

#[test]
fn reactions_direct_messages_and_images_use_their_slack_methods() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let slack = slack_client(&fake, TOKEN);
        let reaction = keel_chat::Outbound::Reaction {
            conversation: "C0ACME".into(),
            message_id: "1795600000.000001".into(),
            emoji: "🎫".into(),
        };
        slack.send(&reaction).await.expect("reacted");
        // Sent again (a retry after a lost answer): Slack says already_reacted, which is done.
        slack.send(&reaction).await.expect("already there is fine");
        assert_eq!(
            fake.reactions(),
            vec![("C0ACME".into(), "1795600000.000001".into(), "ticket".into())]
        );

        slack
            .send(&keel_chat::Outbound::Direct {
                user: "ULEA".into(),
                text: "Standup: what did you do yesterday?".into(),
            })
            .await
            .expect("direct message");
        let posts = fake.posts();
        assert_eq!(posts.last().map(|p| p.channel.as_str()), Some("DULEA"));

        let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/one-pixel.png")).expect("png");
        slack
            .send(&keel_chat::Outbound::Image {
                conversation: "C0ACME".into(),
                thread: None,
                name: "kpi-2026-W48.png".into(),
                caption: "Week 48".into(),
                png: png.clone(),
            })
            .await
            .expect("uploaded");
        let files = fake.shared_files();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "C0ACME");
        assert_eq!(files[0].1, "kpi-2026-W48.png");
        assert_eq!(files[0].2, png, "the bytes arrived whole");
        assert_eq!(files[0].3.as_deref(), Some("Week 48"));
    });
}

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const FAST_RETRIES: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
];

/// How Slack reaches keel in a test, and keel's database (to wait for its inbox).
enum Transport {
    /// The Events API: keel's HTTP server at this base URL.
    Events(String, Store),
    /// Socket Mode through the fake's WebSocket.
    Socket(Store),
}

impl Transport {
    /// Waits until keel has handled everything it acknowledged (its inbox is empty).
    async fn handled(&self) {
        let (Transport::Events(_, store) | Transport::Socket(store)) = self;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let waiting = keel::store::inbox::count(store).await.expect("inbox");
            if waiting == 0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{waiting} events still waiting");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Slack delivers an event; returns once keel has acknowledged and handled it.
    async fn event(&self, fake: &FakeSlack, payload: &serde_json::Value) {
        match self {
            Transport::Events(base, _) => {
                let answers =
                    keel_fake_slack::deliver_event(&format!("{base}/slack/events"), SECRET, payload, &FAST_RETRIES)
                        .await;
                assert_eq!(answers.len(), 1, "answered at the first try: {answers:?}");
                assert_eq!(answers[0].status, 200);
            }
            Transport::Socket(_) => acked(fake, fake.send_envelope("events_api", payload.clone())).await,
        }
        self.handled().await;
    }

    /// Someone types `/keel …`; returns once keel has acknowledged and handled it.
    async fn command(&self, fake: &FakeSlack, user: &str, text: &str, trigger: &str) {
        let body = slash(user, "C0ACME", text, trigger);
        match self {
            Transport::Events(base, _) => {
                let answer = keel_fake_slack::send_signed(
                    &format!("{base}/slack/commands"),
                    SECRET,
                    "application/x-www-form-urlencoded",
                    body.as_bytes(),
                    None,
                    &[],
                )
                .await;
                assert_eq!(answer.status, 200, "{answer:?}");
            }
            Transport::Socket(_) => {
                let form: serde_json::Map<_, _> = url::form_urlencoded::parse(body.as_bytes())
                    .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                    .collect();
                acked(fake, fake.send_envelope("slash_commands", form.into())).await;
            }
        }
        self.handled().await;
    }
}

impl Transport {
    /// Someone presses a button; returns once keel has acknowledged and handled it.
    async fn interaction(&self, fake: &FakeSlack, payload: &serde_json::Value) {
        match self {
            Transport::Events(base, _) => {
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("payload", &payload.to_string())
                    .finish();
                let answer = keel_fake_slack::send_signed(
                    &format!("{base}/slack/interactivity"),
                    SECRET,
                    "application/x-www-form-urlencoded",
                    form.as_bytes(),
                    None,
                    &[],
                )
                .await;
                assert_eq!(answer.status, 200, "{answer:?}");
            }
            Transport::Socket(_) => acked(fake, fake.send_envelope("interactive", payload.clone())).await,
        }
        self.handled().await;
    }
}

/// Waits until keel acknowledged a Socket Mode envelope.
async fn acked(fake: &FakeSlack, envelope: String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !fake.acked().contains(&envelope) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{envelope} was not acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// keel with the Slack adapter, reached over the Events API (its endpoints on a free port) or
/// Socket Mode; the dispatcher delivers to the fake.
async fn keel_on_slack(db: &support::TestDb, fake: &FakeSlack, events_api: bool) -> Transport {
    start_on_slack(db, fake, events_api, false).await
}

/// keel on Slack as [`keel_on_slack`], with its scheduler running too.
async fn keel_on_slack_with_jobs(db: &support::TestDb, fake: &FakeSlack, events_api: bool) -> Transport {
    start_on_slack(db, fake, events_api, true).await
}

async fn start_on_slack(db: &support::TestDb, fake: &FakeSlack, events_api: bool, jobs: bool) -> Transport {
    let store = Store::open(&db.url).await.expect("store");
    let core = Keel::new(store.clone(), Arc::new(keel::clock::SystemClock), Settings::default());
    let committed = Arc::new(Notify::new());
    if jobs {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Kept for the test's whole run: the scheduler stops when its sender goes.
        std::mem::forget(stop);
        let scheduler = keel::service::scheduler::Scheduler::new(core.clone());
        tokio::spawn(scheduler.run(committed.clone(), Arc::new(Notify::new()), stopped));
    }
    let (ingest, _writer) = Ingest::start(core, committed.clone());
    let slack = slack_client(fake, TOKEN);
    let translator = keel_slack::inbound::Translator::new(slack.clone());
    let transport = if events_api {
        let app = keel_slack::events::router(SECRET.to_string().into(), translator, Arc::new(ingest));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Transport::Events(url, store.clone())
    } else {
        // Detached: it ends with the test's runtime.
        drop(keel_slack::socket::start(
            slack.clone(),
            fake.app_token().into(),
            translator,
            Arc::new(ingest),
        ));
        Transport::Socket(store.clone())
    };
    let dispatcher = Dispatcher::new(store, vec![Arc::new(slack) as Arc<dyn Adapter>]);
    tokio::spawn(async move {
        loop {
            let _ = dispatcher.round().await;
            tokio::select! {
                _ = committed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    });
    transport
}

fn slash(user: &str, channel: &str, text: &str, trigger: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/keel")
        .append_pair("text", text)
        .append_pair("user_id", user)
        .append_pair("channel_id", channel)
        .append_pair("channel_name", "acme")
        .append_pair("team_id", "TTEAM")
        .append_pair("trigger_id", trigger)
        .append_pair("response_url", "http://127.0.0.1:9/none")
        .finish()
}

/// keel's next post, waiting up to 10 s for it.
async fn keel_post(fake: &FakeSlack, n: usize) -> keel_fake_slack::Post {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let posts = fake.keel_posts();
        if posts.len() > n {
            return posts[n].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "keel posted only {posts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The whole conversation of the issue, over one transport, on one backend.
async fn slack_connect_conversation(backend: &str, events_api: bool) {
    let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
    let db = support::TestDb::new(backend);
    let keel = keel_on_slack(&db, &fake, events_api).await;

    if let Transport::Events(base, _) = &keel {
        // Slack checks the URL when the app is set up.
        let challenge = serde_json::json!({"type": "url_verification", "challenge": "c-123", "token": "t"});
        let answer = keel_fake_slack::deliver_event(&format!("{base}/slack/events"), SECRET, &challenge, &[]).await;
        assert_eq!(answer[0].status, 200);
        assert_eq!(answer[0].body, "c-123");
    }

    // lea adds the client with the slash command; keel answers in the channel.
    keel.command(&fake, "ULEA", "client add acme \"Acme Corp\" <#C0ACME|acme>", "T1")
        .await;
    let added = keel_post(&fake, 0).await;
    assert!(added.text.starts_with("client acme added"), "{}", added.text);
    assert_eq!(added.thread_ts, None, "a slash command's answer is not threaded");

    // bob, from the client's own workspace (Slack Connect), asks in the shared channel.
    let asked = fake.user_says(
        "C0ACME",
        "UBOB",
        "Hi, the invoice export is broken again, we need it fixed by Friday",
        None,
    );
    keel.event(&fake, &asked).await;
    let ts = asked["event"]["ts"].as_str().expect("ts").to_string();
    let opened = keel_post(&fake, 1).await;
    assert!(opened.text.starts_with("#1 opened"), "{}", opened.text);
    assert_eq!(
        opened.thread_ts.as_deref(),
        Some(ts.as_str()),
        "answered in the request's thread"
    );
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["client"], "acme");
    assert_eq!(tasks[0]["requester"], "bob");
    assert_eq!(tasks[0]["source"], "auto");

    // Slack delivers the same event again (an Events API retry, a Socket Mode redelivery).
    match &keel {
        Transport::Events(base, _) => {
            let again = keel_fake_slack::send_signed(
                &format!("{base}/slack/events"),
                SECRET,
                "application/json",
                asked.to_string().as_bytes(),
                None,
                &[("X-Slack-Retry-Num", "1".into())],
            )
            .await;
            assert_eq!(again.status, 200);
            keel.handled().await;
            // A forged signature and a stale (but correctly signed) request: 401, nothing stored.
            let forged = fake.user_says("C0ACME", "UBOB", "Please also delete all our data", None);
            let events = format!("{base}/slack/events");
            let body = forged.to_string();
            let answer = keel_fake_slack::send_signed(
                &events,
                "not-the-secret",
                "application/json",
                body.as_bytes(),
                None,
                &[],
            )
            .await;
            assert_eq!(answer.status, 401);
            let stale_at = chrono::Utc::now().timestamp() - 301;
            let answer = keel_fake_slack::send_signed(
                &events,
                SECRET,
                "application/json",
                body.as_bytes(),
                Some(stale_at),
                &[],
            )
            .await;
            assert_eq!(answer.status, 401);
            // A button press reaches keel through /slack/interactivity, signed like the rest.
            let press = serde_json::json!({"type": "block_actions", "user": {"id": "UBOB", "team_id": "TACME"},
                "channel": {"id": "C0ACME"}, "message": {"ts": ts},
                "actions": [{"action_id": "csat", "value": "up", "action_ts": "1795600009.000001"}]});
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &press.to_string())
                .finish();
            let interactivity = format!("{base}/slack/interactivity");
            let form_type = "application/x-www-form-urlencoded";
            let answer =
                keel_fake_slack::send_signed(&interactivity, SECRET, form_type, form.as_bytes(), None, &[]).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            let answer =
                keel_fake_slack::send_signed(&interactivity, "forged", form_type, form.as_bytes(), None, &[]).await;
            assert_eq!(answer.status, 401);
            // A body over 1 MiB is refused before anything reads it.
            let huge = vec![b'x'; 1024 * 1024 + 10];
            let answer = keel_fake_slack::send_signed(&events, SECRET, "application/json", &huge, None, &[]).await;
            assert!(answer.status == 413 || answer.status == 0, "{answer:?}");
        }
        Transport::Socket(_) => keel.event(&fake, &asked).await,
    }

    // lea answers in the thread: the first response.
    let reply = fake.user_says("C0ACME", "ULEA", "Looking into it now", Some(&ts));
    keel.event(&fake, &reply).await;
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert!(!tasks[0]["first_response_at"].is_null(), "first response recorded");

    // Commands answer in the channel; a client user may not assign (answered to him alone).
    let commands: &[(&str, &str, &str)] = &[
        ("ULEA", "list", "#1 open"),
        ("ULEA", "start #1", "#1 in-progress"),
        ("ULEA", "priority #1 urgent", "#1 priority urgent"),
        ("ULEA", "due #1 2026-12-24", "#1 due Thu 24 Dec 2026"),
        ("ULEA", "due #99 tomorrow", "#99 does not exist"),
        ("UBOB", "assign #1 <@ULEA>", "only team members can assign tasks"),
    ];
    for (n, (who, text, expected)) in commands.iter().enumerate() {
        keel.command(&fake, who, text, &format!("C{n}")).await;
        let answer = keel_post(&fake, 2 + n).await;
        assert!(
            answer.text.contains(expected),
            "/keel {text} was answered {:?}",
            answer.text
        );
        let private = answer.only_for.as_deref();
        match *expected {
            "#99 does not exist" => assert_eq!(private, Some("ULEA")),
            "only team members can assign tasks" => assert_eq!(private, Some("UBOB")),
            _ => assert_eq!(private, None, "{text}"),
        }
    }
    let seen = 2 + commands.len();

    // 🎫 on a team message in another channel captures it, once, whoever adds it.
    let ask = fake.user_says(
        "C0OPS",
        "UMAX",
        "Can someone renew the portal certificate by Friday",
        None,
    );
    keel.event(&fake, &ask).await;
    let ask_ts = ask["event"]["ts"].as_str().expect("ts").to_string();
    for who in ["ULEA", "UMAX"] {
        keel.event(&fake, &fake.user_reacts("C0OPS", who, &ask_ts, "ticket"))
            .await;
    }
    let captured = keel_post(&fake, seen).await;
    assert!(captured.text.starts_with("#2"), "{}", captured.text);
    assert_eq!(captured.thread_ts.as_deref(), Some(ask_ts.as_str()));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(tasks[1]["source"], "reaction");
    assert_eq!(tasks[0]["owner"], "lea");
    assert_eq!(fake.keel_posts().len(), seen + 1, "{:?}", fake.keel_posts());

    // Done: bob gets the CSAT question in #1's thread with 👍/👎 buttons and presses 👍; the
    // thanks is his alone. lea's press on bob's question is refused to her alone.
    keel.command(&fake, "ULEA", "done #1", "CDONE").await;
    let done = keel_post(&fake, seen + 1).await;
    assert!(done.text.contains("#1 done"), "{}", done.text);
    let question = keel_post(&fake, seen + 2).await;
    assert!(
        question.text.contains("Did we solve it to your satisfaction?"),
        "{}",
        question.text
    );
    assert_eq!(question.thread_ts.as_deref(), Some(ts.as_str()));
    let labels: Vec<_> = question.blocks.as_ref().expect("buttons")[1]["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .map(|e| e["text"]["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(labels, ["👍", "👎"]);
    let up = keel_fake_slack::press(&question, "UBOB", "TACME", "👍").expect("a 👍 button");
    keel.interaction(&fake, &up).await;
    let thanks = keel_post(&fake, seen + 3).await;
    assert!(thanks.text.contains("👍 recorded."), "{}", thanks.text);
    assert_eq!(thanks.only_for.as_deref(), Some("UBOB"));
    let down = keel_fake_slack::press(&question, "ULEA", "TTEAM", "👎").expect("a 👎 button");
    keel.interaction(&fake, &down).await;
    let refused = keel_post(&fake, seen + 4).await;
    assert!(refused.text.contains("this question was for"), "{}", refused.text);
    assert_eq!(refused.only_for.as_deref(), Some("ULEA"));
    let answers: Vec<_> = support::events(&db)
        .into_iter()
        .filter(|e| e["kind"] == "survey_answered")
        .collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["data"]["score"], 1);
    assert_eq!(answers[0]["task"], 1);
}

#[test]
fn events_api_a_slack_connect_conversation_and_forged_or_repeated_deliveries() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            slack_connect_conversation(backend, true).await;
        }
    });
}

#[test]
fn socket_mode_a_slack_connect_conversation_and_redeliveries() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            slack_connect_conversation(backend, false).await;
        }
    });
}

#[test]
fn socket_mode_requests_commands_and_a_dropped_connection_lose_nothing() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let store = Store::open(&db.url).await.expect("store");
        // Grouping off: each request its own task.
        let settings = Settings {
            group_window_secs: 0,
            ..Settings::default()
        };
        let core = Keel::new(store.clone(), Arc::new(keel::clock::SystemClock), settings);
        let committed = Arc::new(Notify::new());
        let (ingest, _writer) = Ingest::start(core, committed.clone());
        let slack = slack_client(&fake, TOKEN);
        let translator = keel_slack::inbound::Translator::new(slack.clone());
        let _socket = keel_slack::socket::start(slack.clone(), fake.app_token().into(), translator, Arc::new(ingest));
        let dispatcher = Dispatcher::new(store, vec![Arc::new(slack) as Arc<dyn Adapter>]);
        tokio::spawn(async move {
            loop {
                let _ = dispatcher.round().await;
                tokio::select! {
                    _ = committed.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        });

        // The slash command arrives as an envelope with the command's fields.
        let form: serde_json::Value = url::form_urlencoded::parse(
            slash("ULEA", "C0ACME", "client add acme \"Acme Corp\" <#C0ACME|acme>", "T1").as_bytes(),
        )
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect::<serde_json::Map<_, _>>()
        .into();
        let first = fake.send_envelope("slash_commands", form);
        let added = keel_post(&fake, 0).await;
        assert!(added.text.starts_with("client acme added"), "{}", added.text);

        let asked = fake.user_says("C0ACME", "UBOB", "The invoice export is broken again", None);
        let second = fake.send_envelope("events_api", asked.clone());
        let opened = keel_post(&fake, 1).await;
        assert!(opened.text.starts_with("#1 opened"), "{}", opened.text);
        assert_eq!(opened.thread_ts.as_deref(), asked["event"]["ts"].as_str());

        // The network drops; Slack queues what happens meanwhile and keel reconnects by itself.
        fake.drop_connection();
        let later = fake.user_says("C0ACME", "UBOB", "And the import fails too", None);
        let third = fake.send_envelope("events_api", later.clone());
        let reopened = keel_post(&fake, 2).await;
        assert!(reopened.text.starts_with("#2 opened"), "{}", reopened.text);
        assert!(fake.connections() >= 2, "keel opened a new connection");
        // Slack asks for a refresh: keel reconnects and carries on.
        let before = fake.connections();
        fake.request_disconnect("refresh_requested");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while fake.connections() == before {
            assert!(tokio::time::Instant::now() < deadline, "keel did not reconnect");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The same event delivered again (Slack redelivers what it has no ack for): one task.
        let fourth = fake.send_envelope("events_api", later);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !fake.acked().contains(&fourth) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the repeat was not acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let acked = fake.acked();
        for id in [&first, &second, &third] {
            assert!(acked.contains(id), "{id} acknowledged: {acked:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(support::tasks_json(&db).len(), 2);
        assert_eq!(fake.keel_posts().len(), 3, "{:?}", fake.keel_posts());
    });
}

/// `keel run` with a `[slack]` section, as a team runs it; stopped when dropped.
/// `keel run` on `db` with this `[slack]` section, as a team runs it.
fn keel_run(db: &support::TestDb, slack_section: &str) -> support::KeelRun {
    let config = format!(
        "database_url = \"{}\"\n[capture]\ngroup_minutes = 0\n[http]\nlisten = \"{{listen}}\"\n[slack]\n{slack_section}\n",
        db.url
    );
    support::KeelRun::start(
        &config,
        &[
            ("KEEL_SLACK__BOT_TOKEN", TOKEN),
            ("KEEL_SLACK__APP_TOKEN", "xapp-test-token"),
            ("KEEL_SLACK__SIGNING_SECRET", SECRET),
        ],
    )
}

/// keel's post number `n` from `run`; its log tells why when it does not come.
async fn keel_post_of(fake: &FakeSlack, n: usize, run: &support::KeelRun) -> keel_fake_slack::Post {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let posts = fake.keel_posts();
        if posts.len() > n {
            return posts[n].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "keel posted only {posts:?}\nkeel's log:\n{}",
            run.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn keel_run_talks_to_slack_in_socket_mode_and_over_the_events_api() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let socket = keel_run(&db, &format!("mode = \"socket\"\napi_url = \"{}\"", fake.api_url));
        let form: serde_json::Value = url::form_urlencoded::parse(
            slash("ULEA", "C0ACME", "client add acme \"Acme Corp\" <#C0ACME|acme>", "T1").as_bytes(),
        )
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect::<serde_json::Map<_, _>>()
        .into();
        fake.send_envelope("slash_commands", form);
        assert!(keel_post_of(&fake, 0, &socket)
            .await
            .text
            .starts_with("client acme added"));
        let asked = fake.user_says("C0ACME", "UBOB", "The invoice export is broken again", None);
        fake.send_envelope("events_api", asked);
        assert!(keel_post_of(&fake, 1, &socket).await.text.starts_with("#1 opened"));
        // Stopped as a team switching modes stops it. A `kill -9` between Slack's answer to a
        // post and the outbox row marked sent leaves the row claimed for 30 s, and the
        // channel's later replies wait behind it (the order of a conversation is kept).
        let mut socket = socket;
        assert_eq!(socket.terminate(), Some(0), "{}", socket.log_text());

        // The same database, now over the Events API on keel's HTTP server.
        let events = keel_run(&db, &format!("mode = \"events\"\napi_url = \"{}\"", fake.api_url));
        let later = fake.user_says("C0ACME", "UBOB", "And the import fails too", None);
        let answers = keel_fake_slack::deliver_event(
            &format!("http://{}/slack/events", events.http),
            SECRET,
            &later,
            &FAST_RETRIES,
        )
        .await;
        assert_eq!(answers[0].status, 200, "{answers:?}");
        assert!(keel_post_of(&fake, 2, &events).await.text.starts_with("#2 opened"));
        assert_eq!(support::tasks_json(&db).len(), 2);
    });
}

#[test]
fn a_slack_outage_backs_off_and_the_message_goes_once_and_a_newcomer_is_looked_up_on_joining() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let (ingest, dispatcher) = keel_with_slack(&db, &fake).await;
        // Slack answers 503 twice; keel backs off (1 s, 2 s) and posts once.
        fake.fail_next("chat.postMessage", 2, 503);
        add_acme(&ingest).await;
        deliver_until(&dispatcher, &fake, 1, Duration::from_secs(15)).await;
        assert_eq!(fake.keel_posts().len(), 1);
        let calls = fake.calls("chat.postMessage");
        assert_eq!(calls.len(), 3, "two failures, one success");
        assert!(
            calls[2].duration_since(calls[0]) >= Duration::from_secs(2),
            "it backed off"
        );

        // Someone joins the shared channel: keel learns who they are before they speak.
        let translator = keel_slack::inbound::Translator::new(slack_client(&fake, TOKEN));
        let joined = translator.event(&fake.user_joins("C0ACME", "UBOB")).await;
        assert!(joined.is_empty(), "joining is not a request");
        assert_eq!(fake.calls("users.info").len(), 1);
        let said = translator
            .event(&fake.user_says("C0ACME", "UBOB", "Hello there", None))
            .await;
        assert_eq!(said.len(), 1);
        assert!(said[0].speaker.external, "bob is from another workspace");
        assert_eq!(said[0].speaker.tz.as_deref(), Some("America/New_York"));
        assert_eq!(fake.calls("users.info").len(), 1, "answered from the cache");
    });
}

/// `/keel <text>` from `user` in `channel`, signed, to `keel run`'s endpoint; answered 200.
async fn slash_to(run: &support::KeelRun, user: &str, channel: &str, text: &str, trigger: &str) {
    let answer = keel_fake_slack::send_signed(
        &format!("http://{}/slack/commands", run.http),
        SECRET,
        "application/x-www-form-urlencoded",
        slash(user, channel, text, trigger).as_bytes(),
        None,
        &[],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

/// `keel run` over the Events API against the fake (`extra` settings after `[slack]`), with
/// acme's channel linked by lea.
async fn events_keel_with_acme(db: &support::TestDb, fake: &FakeSlack, extra: &str) -> support::KeelRun {
    let run = keel_run(
        db,
        &format!("mode = \"events\"\napi_url = \"{}\"\n{extra}", fake.api_url),
    );
    slash_to(
        &run,
        "ULEA",
        "C0ACME",
        "client add acme \"Acme Corp\" <#C0ACME|acme>",
        "T1",
    )
    .await;
    assert!(keel_post_of(fake, 0, &run).await.text.starts_with("client acme added"));
    run
}

/// `keel outbox list [--failed] --format json`, parsed.
fn outbox_rows(db: &support::TestDb, failed: bool) -> Vec<serde_json::Value> {
    let mut args = vec!["outbox", "list", "--db", &db.url, "--format", "json"];
    if failed {
        args.push("--failed");
    }
    let out = support::keel(&args, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The dead letters and the messages waiting for Slack, as `/metrics` counts them.
async fn outbox_gauges(run: &support::KeelRun) -> (Option<f64>, Option<f64>) {
    let (status, text) = support::http_get(&run.http, "/metrics").await;
    assert_eq!(status, 200);
    (
        support::metric(&text, "keel_outbox_dead_letters{adapter=\"slack\"}"),
        support::metric(&text, "keel_outbox_depth{adapter=\"slack\"}"),
    )
}

/// Slack goes away for 30 s, longer than the twelve tries keel used to give a message before
/// dropping it (with the backoff capped at 1 s, a try comes every 2 s or so): every answer waits and
/// goes out once, in order, when Slack is back. A message Slack refuses for good is a dead letter
/// that `/metrics` counts, `keel outbox list --failed` shows and `keel outbox retry` sends again.
fn an_outage_loses_nothing_and_dead_letters_can_be_sent_again(backend: &str) {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        // Stamped now: a request stamped days ago is past its SLA, and a sweep falling in the
        // test's minute (every quarter hour) would queue breach notices among the answers.
        fake.stamp_with_wall_clock();
        let db = support::TestDb::new(backend);
        let run = events_keel_with_acme(&db, &fake, "[outbox]\nbackoff_max_seconds = 1").await;
        let say = |text: String| {
            let payload = fake.user_says("C0ACME", "UBOB", &text, None);
            let run = &run;
            async move { deliver(run, &payload).await }
        };
        say("Can you check the invoice export? It fails for November".into()).await;
        assert!(keel_post_of(&fake, 1, &run).await.text.starts_with("#1 opened"));

        fake.go_away();
        for n in 2..=6 {
            say(format!("Request {n}: the report number {n} is empty")).await;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(fake.keel_posts().len(), 2, "nothing got through while Slack was away");
        let waiting = outbox_rows(&db, false);
        assert_eq!(waiting.len(), 5, "{waiting:#?}");
        assert!(
            waiting[0]["attempts"].as_i64().unwrap_or(0) >= 12,
            "tried more often than the old limit: {}",
            waiting[0]
        );
        assert_eq!(waiting[0]["refusals"], 0, "Slack refused nothing: it was away");
        assert!(outbox_rows(&db, true).is_empty(), "nothing was given up");
        assert_eq!(outbox_gauges(&run).await, (Some(0.0), Some(5.0)));

        fake.come_back();
        let last = keel_post_of(&fake, 6, &run).await;
        assert!(last.text.starts_with("#6 opened"), "{last:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let posts = fake.keel_posts();
        let answers: Vec<&str> = posts[2..].iter().map(|p| &p.text[..9]).collect();
        assert_eq!(
            answers,
            ["#2 opened", "#3 opened", "#4 opened", "#5 opened", "#6 opened"],
            "each once, in order"
        );

        // Slack refuses an answer for good (the channel was archived): a dead letter.
        fake.refuse_next("chat.postMessage", 1, "is_archived");
        say("Request 7: and the export of December".into()).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let failed = loop {
            let failed = outbox_rows(&db, true);
            if !failed.is_empty() || tokio::time::Instant::now() > deadline {
                break failed;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert_eq!(failed[0]["last_error"], "rejected: is_archived");
        assert!(failed[0]["text"].as_str().unwrap_or("").starts_with("#7 opened"));
        assert_eq!(outbox_gauges(&run).await, (Some(1.0), Some(0.0)));

        let unknown = support::keel(&["outbox", "retry", "99999", "--db", &db.url], "");
        assert_eq!(unknown.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&unknown.stderr).trim(),
            "keel: no message 99999 was given up (see keel outbox list --failed)"
        );
        let retried = support::keel(&["outbox", "retry", "--all", "--db", &db.url], "");
        assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
        assert_eq!(String::from_utf8_lossy(&retried.stdout), "1 message queued again\n");
        assert!(keel_post_of(&fake, 7, &run).await.text.starts_with("#7 opened"));
        assert_eq!(outbox_gauges(&run).await, (Some(0.0), Some(0.0)));
        assert!(outbox_rows(&db, true).is_empty());
    });
}

#[test]
fn an_outage_loses_nothing_and_dead_letters_can_be_sent_again_sqlite() {
    an_outage_loses_nothing_and_dead_letters_can_be_sent_again("sqlite");
}

#[test]
fn an_outage_loses_nothing_and_dead_letters_can_be_sent_again_postgres() {
    an_outage_loses_nothing_and_dead_letters_can_be_sent_again("postgres");
}

/// Delivers one event to `keel run`'s Events API endpoint, answered at once.
async fn deliver(run: &support::KeelRun, payload: &serde_json::Value) {
    let events = format!("http://{}/slack/events", run.http);
    let answers = keel_fake_slack::deliver_event(&events, SECRET, payload, &FAST_RETRIES).await;
    assert_eq!(answers[0].status, 200, "{answers:?}");
}

#[test]
fn a_quoted_block_is_read_as_what_the_reply_adds() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let run = events_keel_with_acme(&db, &fake, "").await;
        let asked = fake.user_says("C0ACME", "UBOB", "The invoice export is broken", None);
        deliver(&run, &asked).await;
        let opened = keel_post_of(&fake, 1, &run).await;
        assert!(opened.text.starts_with("#1 opened"), "{opened:?}");
        let root = asked["event"]["ts"].as_str().expect("ts").to_string();

        // lea quotes bob's message (Slack sends `>` as `&gt;`) and asks keel to give her #1.
        let quoting = fake.user_says(
            "C0ACME",
            "ULEA",
            "&gt; The invoice export is broken, we need it by Friday\n<@UKEEL> take #1",
            Some(&root),
        );
        deliver(&run, &quoting).await;
        let taken = keel_post_of(&fake, 2, &run).await;
        assert!(taken.text.starts_with("#1 owner <@ULEA>"), "{taken:?}");
        // bob shares the message again with a line of his own: only his line is his.
        let mut shared = fake.user_says(
            "C0ACME",
            "UBOB",
            "&gt; The invoice export is broken\nany news?",
            Some(&root),
        );
        shared["event"]["attachments"] = serde_json::json!([{"is_share": true, "text": "due by Friday"}]);
        deliver(&run, &shared).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let tasks = support::tasks_json(&db);
        assert_eq!(tasks.len(), 1, "{tasks:#?}");
        assert_eq!(tasks[0]["owner"], "lea");
        assert_eq!(
            tasks[0]["due_at"],
            serde_json::Value::Null,
            "a quoted date dates nothing"
        );
        assert_eq!(fake.keel_posts().len(), 3, "{:?}", fake.keel_posts());
    });
}

/// keel's post number `n` in `channel` (direct messages and other channels aside).
async fn post_in(fake: &FakeSlack, run: &support::KeelRun, channel: &str, n: usize) -> keel_fake_slack::Post {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let posts: Vec<keel_fake_slack::Post> =
            fake.keel_posts().into_iter().filter(|p| p.channel == channel).collect();
        if posts.len() > n {
            return posts[n].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "keel posted only {:?}\nkeel's log:\n{}",
            fake.keel_posts(),
            run.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What Slack's own `chat.getPermalink` answers for a message.
async fn slack_permalink(fake: &FakeSlack, channel: &str, ts: &str) -> String {
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/chat.getPermalink?channel={channel}&message_ts={ts}",
            fake.api_url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("chat.getPermalink")
        .text()
        .await
        .expect("body");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("json");
    answer["permalink"].as_str().expect("a permalink").to_string()
}

#[test]
fn answers_on_slack_name_channels_and_people_as_slack_shows_them() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let run = keel_run(&db, &format!("mode = \"events\"\napi_url = \"{}\"", fake.api_url));
        let keel = &run;
        let command =
            |text: &'static str, n: usize| async move { slash_to(keel, "ULEA", "C0OPS", text, &format!("T{n}")).await };
        command("client add acme \"Acme Corp\" <#C0ACME|acme> owner <@ULEA>", 1).await;
        let added = post_in(&fake, &run, "C0OPS", 0).await;
        assert_eq!(
            added.text,
            "client acme added: Acme Corp · channels <#C0ACME> · owner <@ULEA>"
        );

        let asked = fake.user_says("C0ACME", "UBOB", "The invoice export is broken", None);
        deliver(&run, &asked).await;
        let opened = post_in(&fake, &run, "C0ACME", 0).await;
        assert!(opened.text.ends_with("owner <@ULEA>"), "{opened:?}");
        let ts = asked["event"]["ts"].as_str().expect("ts");
        let link = slack_permalink(&fake, "C0ACME", ts).await;

        // max has spoken where keel is, so keel knows him.
        deliver(&run, &fake.user_says("C0OPS", "UMAX", "morning all", None)).await;
        command("assign #1 <@UMAX>", 2).await;
        assert_eq!(post_in(&fake, &run, "C0OPS", 1).await.text, "#1 owner <@UMAX>");
        command("show #1", 3).await;
        let card = post_in(&fake, &run, "C0OPS", 2).await;
        assert!(card.text.contains(&link), "show links to the message: {card:?}");
        assert!(card.text.contains("<#C0ACME>"), "{card:?}");
        command("client show acme", 4).await;
        let client = post_in(&fake, &run, "C0OPS", 3).await;
        assert!(client.text.contains("channels <#C0ACME> (slack)"), "{client:?}");
    });
}

#[test]
fn a_teammate_who_never_wrote_is_found_by_mention_or_name_on_slack() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        for (id, name) in [("UKIM", "kim"), ("UTOM", "tom"), ("USAM1", "sam"), ("USAM2", "sam")] {
            fake.add_user(id, name, "TTEAM", "Europe/Berlin");
        }
        let db = support::TestDb::new("sqlite");
        let run = keel_run(&db, &format!("mode = \"events\"\napi_url = \"{}\"", fake.api_url));
        let mut n = 0;
        let keel = &run;
        let mut command = |text: &'static str| {
            n += 1;
            let trigger = format!("T{n}");
            async move { slash_to(keel, "ULEA", "C0OPS", text, &trigger).await }
        };
        command("client add acme \"Acme Corp\" <#C0ACME|acme>").await;
        assert!(post_in(&fake, &run, "C0OPS", 0)
            .await
            .text
            .starts_with("client acme added"));
        deliver(
            &run,
            &fake.user_says("C0ACME", "UBOB", "The invoice export is broken", None),
        )
        .await;
        let opened = post_in(&fake, &run, "C0ACME", 0).await;
        assert!(opened.text.starts_with("#1 opened"), "{:?}", fake.keel_posts());
        let answers = [
            ("assign #1 <@UKIM>", "#1 owner <@UKIM>"),
            ("assign #1 @tom", "#1 owner <@UTOM>"),
            (
                "assign #1 @sam",
                "@sam could be <@USAM1> (sam) or <@USAM2> (sam): name one with their mention",
            ),
            (
                "assign #1 @zed",
                "nobody on slack is called @zed (name them as the platform does, or with a mention)",
            ),
            ("assign #1 <@UBOB>", "@bob is a client user, not a team member"),
        ];
        for (n, (text, expected)) in answers.iter().enumerate() {
            command(text).await;
            let answer = post_in(&fake, &run, "C0OPS", 1 + n).await;
            let mut got = answer.text.clone();
            // The candidates come in the directory's order.
            got = got.replace("<@USAM2> (sam) or <@USAM1> (sam)", "<@USAM1> (sam) or <@USAM2> (sam)");
            assert_eq!(got, *expected, "/keel {text}");
        }
        let tasks = support::tasks_json(&db);
        assert_eq!(tasks[0]["owner"], "tom");
        assert_eq!(
            fake.calls("users.list").len(),
            1,
            "the directory is read for tom, and not again within a minute for zed"
        );
    });
}

/// keel's first post that `matches`, waiting up to 10 s for it.
async fn post_where(
    fake: &FakeSlack,
    run: &support::KeelRun,
    what: &str,
    matches: impl Fn(&keel_fake_slack::Post) -> bool,
) -> keel_fake_slack::Post {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(post) = fake.keel_posts().into_iter().find(|p| matches(p)) {
            return post;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what}: keel posted {:?}\nkeel's log:\n{}",
            fake.keel_posts(),
            run.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_command_in_a_tasks_thread_acts_on_that_task() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let run = events_keel_with_acme(&db, &fake, "").await;
        let first = fake.user_says("C0ACME", "UBOB", "The SSO login fails for everyone", None);
        deliver(&run, &first).await;
        post_where(&fake, &run, "#1", |p| p.text.starts_with("#1 opened")).await;
        let second = fake.user_says("C0ACME", "UBOB", "Also the export is slow", None);
        deliver(&run, &second).await;
        post_where(&fake, &run, "#2", |p| p.text.starts_with("#2 opened")).await;
        let ts = |e: &serde_json::Value| e["event"]["ts"].as_str().expect("ts").to_string();
        let (one, two) = (ts(&first), ts(&second));

        // In each task's thread, lea names no task.
        let in_thread =
            |root: &str, text: &str| fake.user_says("C0ACME", "ULEA", &format!("<@UKEEL> {text}"), Some(root));
        deliver(&run, &in_thread(&one, "take")).await;
        let taken = post_where(&fake, &run, "take's answer", |p| p.text.starts_with("#1 owner")).await;
        assert_eq!(taken.text, "#1 owner <@ULEA>");
        assert_eq!(taken.thread_ts.as_deref(), Some(one.as_str()));
        deliver(&run, &in_thread(&two, "take")).await;
        post_where(&fake, &run, "#2's owner", |p| p.text == "#2 owner <@ULEA>").await;
        deliver(&run, &in_thread(&two, "due friday")).await;
        post_where(&fake, &run, "#2's due date", |p| p.text.starts_with("#2 due Fri")).await;
        deliver(&run, &in_thread(&one, "done fixed the SSO config")).await;
        let done = post_where(&fake, &run, "done's answer", |p| p.text.starts_with("#1 done")).await;
        assert_eq!(done.text, "#1 done: fixed the SSO config");

        deliver(&run, &in_thread(&two, "show")).await;
        let shown = post_where(&fake, &run, "#2's card", |p| p.text.starts_with("#2 ")).await;
        assert!(shown.text.contains("Also the export is slow"), "{}", shown.text);
        assert_eq!(shown.thread_ts.as_deref(), Some(two.as_str()));

        // Outside a thread the same words need a task, and the answer names lea's open one
        // here. In the client's channel only lea sees it (chat.postEphemeral).
        deliver(&run, &fake.user_says("C0ACME", "ULEA", "<@UKEEL> take", None)).await;
        let which = post_where(&fake, &run, "which task", |p| p.text.starts_with("which task?")).await;
        assert_eq!(
            which.text,
            "which task? name it like #12 (usage: take #N) — yours open here: #2"
        );
        assert_eq!(which.only_for.as_deref(), Some("ULEA"), "private in a client's channel");
        deliver(&run, &fake.user_says("C0ACME", "ULEA", "<@UKEEL> done fixed it", None)).await;
        let not_an_id = post_where(&fake, &run, "not a task id", |p| p.text.contains("is not a task id")).await;
        assert_eq!(
            not_an_id.text,
            "\"fixed\" is not a task id (try \"#12\") (usage: done #N [note]) — yours open here: #2"
        );
        assert_eq!(not_an_id.only_for.as_deref(), Some("ULEA"));
        // A mistake in a thread the client reads stays private, in that thread.
        deliver(&run, &in_thread(&two, "due someday")).await;
        let bad_date = post_where(&fake, &run, "bad date", |p| p.text.contains("\"someday\"")).await;
        assert_eq!(
            (bad_date.only_for.as_deref(), bad_date.thread_ts.as_deref()),
            (Some("ULEA"), Some(two.as_str()))
        );
        // In a team channel the answer may stay in the thread, for all to see.
        let ops = fake.user_says("C0OPS", "ULEA", "<@UKEEL> take", None);
        deliver(&run, &ops).await;
        let in_ops = post_where(&fake, &run, "which task in ops", |p| {
            p.channel == "C0OPS" && p.text.starts_with("which task?")
        })
        .await;
        assert_eq!(in_ops.only_for, None);
        assert_eq!(in_ops.thread_ts.as_deref(), Some(ts(&ops).as_str()));
        let public: Vec<String> = fake
            .posts()
            .into_iter()
            .filter(|p| p.channel == "C0ACME" && p.user == "UKEEL" && p.only_for.is_none())
            .map(|p| p.text)
            .filter(|t| t.contains("which task") || t.contains("is not a") || t.contains("someday"))
            .collect();
        assert!(public.is_empty(), "the client saw the team's mistakes: {public:?}");
        let tasks = support::tasks_json(&db);
        assert_eq!(tasks.len(), 2, "no command became a task: {tasks:#?}");
        assert_eq!(
            (tasks[0]["status"].as_str(), tasks[0]["owner"].as_str()),
            (Some("done"), Some("lea"))
        );
        assert!(
            tasks[1]["due_at"].as_str().is_some_and(|d| d.starts_with("2026-11-27")),
            "{}",
            tasks[1]
        );
    });
}

/// bob asks after his request in its thread, as clients do: a chase on the task's log, never a
/// task of its own, and nothing said in the channel the client reads. (When the owner hears is
/// business time: tests/scheduler.rs drives that with a fixed clock.)
#[test]
fn a_client_asking_after_a_request_in_its_thread_is_a_chase_not_a_task() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let db = support::TestDb::new("sqlite");
        let run = events_keel_with_acme(&db, &fake, "").await;
        let asked = fake.user_says("C0ACME", "UBOB", "The SSO login fails for everyone", None);
        deliver(&run, &asked).await;
        post_where(&fake, &run, "#1", |p| p.text.starts_with("#1 opened")).await;
        let root = asked["event"]["ts"].as_str().expect("ts").to_string();
        let in_acme = || {
            fake.posts()
                .into_iter()
                .filter(|p| p.user == "UKEEL" && p.channel == "C0ACME")
                .map(|p| p.text)
                .collect::<Vec<_>>()
        };
        let before = in_acme();
        for chase in ["any update?", "?"] {
            deliver(&run, &fake.user_says("C0ACME", "UBOB", chase, Some(&root))).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let chased = loop {
            let chased: Vec<String> = support::events(&db)
                .into_iter()
                .filter(|e| e["kind"] == "chased")
                .map(|e| e["data"]["text"].as_str().unwrap_or("").to_string())
                .collect();
            if chased.len() == 2 || tokio::time::Instant::now() > deadline {
                break chased;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(chased, ["any update?", "?"]);
        assert_eq!(support::tasks_json(&db).len(), 1, "no chase became a task");
        assert_eq!(in_acme(), before, "keel said nothing where the client reads");
    });
}

/// Waits until keel has edited messages `n` times with `chat.update`.
async fn updated(fake: &FakeSlack, n: usize) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let updates = fake.updates();
        if updates.len() >= n {
            return updates;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {updates:?} of {n} updates"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The labels of a message's buttons, and the field texts of its first section.
fn card_of(post: &keel_fake_slack::Post) -> (Vec<String>, Vec<String>) {
    let blocks = post.blocks.as_ref().expect("a card has blocks");
    let texts = |list: &serde_json::Value, at: &str| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.pointer(at).and_then(|t| t.as_str()).map(str::to_string))
            .collect()
    };
    let buttons = blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| texts(&b["elements"], "/text/text"))
        .collect();
    (buttons, texts(&blocks[0]["fields"], "/text"))
}

/// A client's request gets a card with buttons; a client's press is refused to them alone; a
/// member's Take (delivered twice) makes them the owner with one `chat.update`; the date picker
/// sets the due date; with Slack away, two typed status changes wait and the card ends in the
/// last one once Slack is back, never posted twice; Done closes it, the card loses its buttons
/// and the CSAT question follows.
async fn cards_on_slack(backend: &str, events_api: bool) {
    let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
    let db = support::TestDb::new(backend);
    let keel = keel_on_slack(&db, &fake, events_api).await;
    keel.command(&fake, "ULEA", "client add acme \"Acme Corp\" <#C0ACME|acme>", "K1")
        .await;
    keel_post(&fake, 0).await;
    let asked = fake.user_says("C0ACME", "UBOB", "Could you export the Q3 invoices by Friday?", None);
    keel.event(&fake, &asked).await;
    let card = keel_post(&fake, 1).await;
    assert!(
        card.text.starts_with("#1 opened: \"Could you export the Q3 invoices"),
        "{}",
        card.text
    );
    assert_eq!(card.thread_ts.as_deref(), asked["event"]["ts"].as_str());
    let (buttons, fields) = card_of(&card);
    assert_eq!(buttons, ["Take", "Start", "Waiting", "Done"]);
    assert!(fields.contains(&"*Owner*\nnobody yet".to_string()), "{fields:?}");
    assert!(fields.contains(&"*Client*\nacme".to_string()), "{fields:?}");

    // bob is the client: his press is answered to him alone and changes nothing.
    let bobs = keel_fake_slack::press(&card, "UBOB", "TACME", "Take").expect("a Take button");
    keel.interaction(&fake, &bobs).await;
    let refused = keel_post(&fake, 2).await;
    assert_eq!(refused.only_for.as_deref(), Some("UBOB"), "{}", refused.text);
    assert!(refused.text.contains("team"), "{}", refused.text);

    // lea's Take, delivered twice (a retry): one owner change, one edit of the card.
    let take = keel_fake_slack::press(&card, "ULEA", "TTEAM", "Take").expect("a Take button");
    keel.interaction(&fake, &take).await;
    keel.interaction(&fake, &take).await;
    let updates = updated(&fake, 1).await;
    assert_eq!(updates[0], ("C0ACME".to_string(), card.ts.clone()));
    let taken = fake.post("C0ACME", &card.ts).expect("the card");
    assert!(
        !fake.keel_posts().iter().any(|p| p.text.starts_with("#1 owner")),
        "the card answers the press, no reply is posted"
    );
    let (buttons, fields) = card_of(&taken);
    assert_eq!(buttons, ["Start", "Waiting", "Done"]);
    assert!(fields.contains(&"*Owner*\n<@ULEA>".to_string()), "{fields:?}");

    // The date picker sets the due date.
    let due = keel_fake_slack::pick_date(&taken, "ULEA", "TTEAM", "2031-03-14").expect("a date picker");
    keel.interaction(&fake, &due).await;
    updated(&fake, 2).await;
    let dated = fake.post("C0ACME", &card.ts).expect("the card");
    assert!(
        card_of(&dated)
            .1
            .iter()
            .any(|f| f.starts_with("*Due*\nFri 14 Mar 2031")),
        "{:?}",
        card_of(&dated).1
    );

    // Slack goes away; two typed changes wait in the outbox and go in order once it is back.
    let posts = fake.posts().len();
    fake.go_away();
    keel.command(&fake, "ULEA", "wait #1", "K2").await;
    keel.command(&fake, "ULEA", "start #1", "K3").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.come_back();
    let settled = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = fake.post("C0ACME", &card.ts).expect("the card");
        if card_of(&now).1.contains(&"*Status*\nin progress".to_string()) && fake.updates().len() >= 4 {
            break;
        }
        assert!(tokio::time::Instant::now() < settled, "the card is {:?}", card_of(&now));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cards = fake
        .keel_posts()
        .iter()
        .filter(|p| {
            p.blocks
                .as_ref()
                .is_some_and(|b| b[0]["text"]["text"].as_str().is_some_and(|t| t.starts_with("*#1 ")))
        })
        .count();
    assert_eq!(cards, 1, "the card was posted once");
    assert_eq!(fake.posts().len(), posts + 2, "the two answers, nothing twice");

    // Done closes it: the card keeps its fields and loses its controls; the CSAT question follows.
    let now = fake.post("C0ACME", &card.ts).expect("the card");
    let done = keel_fake_slack::press(&now, "ULEA", "TTEAM", "Done").expect("a Done button");
    keel.interaction(&fake, &done).await;
    updated(&fake, 5).await;
    let closed = fake.post("C0ACME", &card.ts).expect("the card");
    let (buttons, fields) = card_of(&closed);
    assert!(buttons.is_empty(), "{buttons:?}");
    assert!(fields.contains(&"*Status*\ndone".to_string()), "{fields:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !fake.keel_posts().iter().any(|p| p.text.contains("Did we solve it")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no CSAT question: {:?}",
            fake.keel_posts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks[0]["owner"], "lea");
    assert_eq!(tasks[0]["status"], "done");
}

#[test]
fn cards_on_slack_over_the_events_api() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            cards_on_slack(backend, true).await;
        }
    });
}

#[test]
fn cards_on_slack_in_socket_mode() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            cards_on_slack(backend, false).await;
        }
    });
}

/// A home view's sections: each header with the lines and the card headings under it.
fn home_sections(view: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for block in view["blocks"].as_array().into_iter().flatten() {
        let text = block["text"]["text"].as_str().unwrap_or_default().to_string();
        match block["type"].as_str() {
            Some("header") => sections.push((text, Vec::new())),
            Some("section") => {
                if let Some(last) = sections.last_mut() {
                    last.1.push(text.trim_matches('*').to_string());
                }
            }
            _ => {}
        }
    }
    sections
}

/// The lines of the home section headed `heading`.
fn home_section(view: &serde_json::Value, heading: &str) -> Vec<String> {
    home_sections(view)
        .into_iter()
        .find(|(h, _)| h.starts_with(heading))
        .map(|(_, lines)| lines)
        .unwrap_or_default()
}

/// Waits until keel publishes a home for `user` that `fits`.
async fn home_where(fake: &FakeSlack, user: &str, fits: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(home) = fake.homes(user).into_iter().rev().find(|h| fits(h)) {
            return home;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no such home: {:?}",
            fake.homes(user).last().map(home_sections)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until keel has opened `n` modals.
async fn modal(fake: &FakeSlack, n: usize) -> keel_fake_slack::Modal {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(m) = fake.modals().get(n - 1) {
            return m.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} modals",
            fake.modals().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A modal input's initial value: text, select, user or date.
fn initial(modal: &keel_fake_slack::Modal, block: &str) -> Option<String> {
    let input = modal.view["blocks"]
        .as_array()?
        .iter()
        .find(|b| b["block_id"] == block)?;
    let e = &input["element"];
    [
        &e["initial_value"],
        &e["initial_option"]["value"],
        &e["initial_user"],
        &e["initial_date"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().map(str::to_string))
}

/// The App Home lists a member's work and follows it: an unowned request waits for an owner,
/// Take pressed in the home moves it to the member's tasks. "Track as task" on a Slack Connect
/// message in a channel linked to no client opens a form filled in from the message; submitted
/// (twice: a retry) with a client chosen, it makes one task linked to the message, with the
/// card in its thread. `/keel track` alone opens the form; submitted, it makes the task as
/// filled in. A client's shortcut is refused to them alone.
async fn views_on_slack(backend: &str, events_api: bool) {
    let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
    fake.add_channel("C0BETA", "beta-shared");
    fake.add_user("UCARA", "cara", "TBETA", "Europe/Paris");
    let db = support::TestDb::new(backend);
    let keel = keel_on_slack_with_jobs(&db, &fake, events_api).await;
    keel.command(&fake, "ULEA", "client add acme \"Acme Corp\" <#C0ACME|acme>", "K1")
        .await;
    keel.command(&fake, "ULEA", "client add beta \"Beta GmbH\"", "K2").await;

    // lea opens her home: nothing yet, and the team's figures (she is the admin).
    keel.event(&fake, &fake.home_opened("ULEA")).await;
    let home = home_where(&fake, "ULEA", |_| true).await;
    assert_eq!(home_section(&home, "Your open tasks"), ["Nothing is yours right now."]);
    assert!(
        home_sections(&home).iter().any(|(h, _)| h.starts_with("This week")),
        "{:?}",
        home_sections(&home)
    );

    // bob asks; the request waits for an owner in lea's home, then she takes it from there.
    let asked = fake.user_says("C0ACME", "UBOB", "Could you export the Q3 invoices by Friday?", None);
    keel.event(&fake, &asked).await;
    let home = home_where(&fake, "ULEA", |h| {
        !home_section(h, "Waiting for an owner").is_empty()
            && home_section(h, "Waiting for an owner")[0].starts_with("#1 ")
    })
    .await;
    assert!(home_section(&home, "Your open tasks")[0].starts_with("Nothing"));
    let take = fake
        .press_in_home("ULEA", "TTEAM", 1, "Take")
        .expect("Take on #1 in the home");
    keel.interaction(&fake, &take).await;
    let home = home_where(&fake, "ULEA", |h| {
        home_section(h, "Your open tasks")
            .first()
            .is_some_and(|l| l.starts_with("#1 "))
    })
    .await;
    assert_eq!(
        home_section(&home, "Waiting for an owner"),
        ["No client request is waiting for an owner."]
    );
    assert_eq!(support::tasks_json(&db)[0]["owner"], "lea");
    let answered = fake.keel_posts();
    assert!(
        !answered.iter().any(|p| p.text.contains("#1 owner")),
        "the home answers the press: {answered:?}"
    );

    // cara (Beta's workspace, a Slack Connect channel linked to no client) asks: no task.
    let said = fake.user_says(
        "C0BETA",
        "UCARA",
        "Can you check the failed SEPA payment from Monday? urgent",
        None,
    );
    keel.event(&fake, &said).await;
    assert_eq!(support::tasks_json(&db).len(), 1);
    let shortcut = fake.message_shortcut(&said, "ULEA", "TTEAM", "track");
    keel.interaction(&fake, &shortcut).await;
    let form = modal(&fake, 1).await;
    assert_eq!(form.user, "ULEA");
    assert_eq!(
        initial(&form, "title").as_deref(),
        Some("Can you check the failed SEPA payment from Monday? urgent")
    );
    assert_eq!(initial(&form, "priority").as_deref(), Some("urgent"));
    assert_eq!(initial(&form, "owner").as_deref(), Some("ULEA"));
    assert_eq!(initial(&form, "client"), None, "the channel has no client");
    let submitted = fake
        .submit(
            &form.id,
            "ULEA",
            "TTEAM",
            &[("client", "beta"), ("title", "Failed SEPA payment from Monday")],
        )
        .expect("a submission");
    keel.interaction(&fake, &submitted).await;
    keel.interaction(&fake, &submitted).await;
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let tracked = &tasks[1];
    assert_eq!(tracked["title"], "Failed SEPA payment from Monday");
    assert_eq!(tracked["client"], "beta");
    assert_eq!(tracked["owner"], "lea");
    assert_eq!(tracked["priority"], "urgent");
    assert_eq!(tracked["source"], "shortcut");
    let ts = said["event"]["ts"].as_str().expect("ts");
    let link = format!("https://team.slack.com/archives/C0BETA/p{}", ts.replace('.', ""));
    let store = Store::open(&db.url).await.expect("store");
    let mut conn = store.pool().acquire().await.expect("a connection");
    let stored = keel::store::tasks::by_id(&mut conn, 2)
        .await
        .expect("read")
        .expect("#2");
    assert_eq!(stored.task.permalink.as_deref(), Some(link.as_str()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let card = loop {
        let found = fake
            .keel_posts()
            .into_iter()
            .find(|p| p.channel == "C0BETA" && p.text.starts_with("#2 opened"));
        if let Some(card) = found {
            break card;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no card for #2: {:?}",
            fake.keel_posts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        card.thread_ts.as_deref(),
        Some(ts),
        "the card is in the message's thread"
    );
    assert!(card_of(&card).1.contains(&"*Client*\nbeta".to_string()));

    // `/keel track` alone opens the form; submitted, it makes the task as filled in.
    let trigger = fake.slash_trigger("ULEA");
    keel.command(&fake, "ULEA", "track", &trigger).await;
    let form = modal(&fake, 2).await;
    assert_eq!(initial(&form, "title"), None);
    assert_eq!(
        initial(&form, "client").as_deref(),
        Some("acme"),
        "the channel's client"
    );
    let submitted = fake
        .submit(
            &form.id,
            "ULEA",
            "TTEAM",
            &[
                ("title", "Renew the TLS certificate"),
                ("due", "2031-04-01"),
                ("priority", "high"),
                ("owner", "UMAX"),
            ],
        )
        .expect("a submission");
    keel.interaction(&fake, &submitted).await;
    let tasks = support::tasks_json(&db);
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert_eq!(tasks[2]["title"], "Renew the TLS certificate");
    assert_eq!(tasks[2]["client"], "acme");
    assert_eq!(
        tasks[2]["owner"], "max",
        "a teammate keel had not seen joins as the owner"
    );
    assert_eq!(tasks[2]["priority"], "high");
    assert_eq!(tasks[2]["source"], "slash");
    assert!(
        tasks[2]["due_at"].as_str().is_some_and(|d| d.starts_with("2031-04-01")),
        "{}",
        tasks[2]
    );

    // bob is a client: his shortcut is refused to him alone, and opens nothing.
    let bobs = fake.message_shortcut(&asked, "UBOB", "TACME", "track");
    keel.interaction(&fake, &bobs).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let refused = loop {
        if let Some(p) = fake
            .keel_posts()
            .into_iter()
            .find(|p| p.only_for.as_deref() == Some("UBOB"))
        {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "bob was told nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.channel, "C0ACME");
    assert!(refused.text.contains("team members"), "{}", refused.text);
    assert_eq!(fake.modals().len(), 2, "no form for a client");
}

#[test]
fn home_shortcut_and_track_form_over_the_events_api() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            views_on_slack(backend, true).await;
        }
    });
}

#[test]
fn home_shortcut_and_track_form_in_socket_mode() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            views_on_slack(backend, false).await;
        }
    });
}
