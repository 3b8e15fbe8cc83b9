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
        link: None,
        kind,
    }
}

/// keel on a fresh database, sending through the Slack adapter to the fake.
async fn keel_with_slack(db: &support::TestDb, fake: &FakeSlack) -> (Ingest, Dispatcher) {
    let store = Store::open(&db.url).await.expect("store");
    let core = Keel::new(store.clone(), Arc::new(keel::clock::SystemClock), Settings::default());
    let (ingest, _writer) = Ingest::start(core, Arc::new(Notify::new()));
    let slack = Slack::new(&SlackConfig {
        bot_token: TOKEN.to_string().into(),
        api_url: fake.api_url.clone(),
    })
    .expect("client");
    let dispatcher = Dispatcher::new(store, vec![Arc::new(slack) as Arc<dyn Adapter>]);
    (ingest, dispatcher)
}

/// Rounds of delivery until `n` messages were posted or `within` passed.
async fn deliver_until(dispatcher: &Dispatcher, fake: &FakeSlack, n: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while fake.posts().len() < n && tokio::time::Instant::now() < deadline {
        dispatcher.round().await.expect("round");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn answers_go_to_the_request_thread_and_a_ratelimited_one_waits_and_goes_once() {
    support::runtime().block_on(async {
        for backend in ["sqlite", "postgres"] {
            let fake = FakeSlack::start(TOKEN).await.expect("fake slack");
            fake.add_channel("C0ACME", "acme");
            let db = support::TestDb::new(backend);
            let (ingest, dispatcher) = keel_with_slack(&db, &fake).await;
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
        let fake = FakeSlack::start(TOKEN).await.expect("fake slack");
        fake.add_channel("C0ACME", "acme");
        let slack = Slack::new(&SlackConfig {
            bot_token: TOKEN.to_string().into(),
            api_url: fake.api_url.clone(),
        })
        .expect("client");
        let started = std::time::Instant::now();
        for n in 0..3 {
            slack
                .send(&keel_chat::Outbound::Message {
                    conversation: "C0ACME".into(),
                    thread: None,
                    text: format!("message {n}"),
                })
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
        let refused = slack
            .send(&keel_chat::Outbound::Message {
                conversation: "C0NOPE".into(),
                thread: None,
                text: "hello".into(),
            })
            .await
            .expect_err("refused");
        assert_eq!(refused, keel_chat::SendError::Rejected("channel_not_found".into()));
        // A wrong token is refused too.
        let wrong = Slack::new(&SlackConfig {
            bot_token: "xoxb-wrong".to_string().into(),
            api_url: fake.api_url.clone(),
        })
        .expect("client");
        let refused = wrong
            .send(&keel_chat::Outbound::Message {
                conversation: "C0ACME".into(),
                thread: None,
                text: "hello".into(),
            })
            .await
            .expect_err("refused");
        assert_eq!(refused, keel_chat::SendError::Rejected("invalid_auth".into()));
    });
}

#[test]
fn reactions_direct_messages_and_images_use_their_slack_methods() {
    support::runtime().block_on(async {
        let fake = FakeSlack::start(TOKEN).await.expect("fake slack");
        fake.add_channel("C0ACME", "acme");
        fake.add_user("ULEA", "lea", "TTEAM", "Europe/Berlin");
        let slack = Slack::new(&SlackConfig {
            bot_token: TOKEN.to_string().into(),
            api_url: fake.api_url.clone(),
        })
        .expect("client");
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
