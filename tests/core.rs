//! The real core driven with platform-neutral events, as any adapter would, on both backends:
//! threads, reactions, edits, redeliveries and bursts that the console cannot express.

mod support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use keel::clock::FixedClock;
use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Handled, Keel, Settings};
use keel::store::Store;
use keel_chat::{Adapter, Conversation, Inbound, InboundKind, Outbound, SendError, Sent, Speaker};
use support::{runtime, TestDb};
use tokio::sync::Notify;

/// A platform that records what keel sent.
#[derive(Default)]
struct Platform {
    sent: Mutex<Vec<Outbound>>,
}

#[async_trait]
impl Adapter for Platform {
    fn name(&self) -> &str {
        "test"
    }

    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        self.sent.lock().expect("lock").push(outbound.clone());
        Ok(Sent::default())
    }
}

struct Bot {
    keel: Keel,
    ingest: Ingest,
    dispatcher: Dispatcher,
    platform: Arc<Platform>,
    store: Store,
    next: Mutex<u32>,
    /// Ends once `ingest` (every clone) is dropped and its work committed.
    running: tokio::task::JoinHandle<()>,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).single().expect("time")
}

impl Bot {
    async fn start(db: &TestDb, group_minutes: i64) -> Bot {
        let store = Store::open(&db.url).await.expect("store");
        let settings = Settings {
            group_window_secs: group_minutes * 60,
            ..Settings::default()
        };
        let keel = Keel::new(store.clone(), Arc::new(FixedClock(t0())), settings);
        let (ingest, running) = Ingest::start(keel.clone(), Arc::new(Notify::new()));
        let platform = Arc::new(Platform::default());
        let dispatcher = Dispatcher::new(store.clone(), vec![platform.clone() as Arc<dyn Adapter>]);
        Bot {
            keel,
            ingest,
            dispatcher,
            platform,
            store,
            next: Mutex::new(0),
            running,
        }
    }

    fn event(&self, who: &Speaker, channel: &str, thread: Option<&str>, minutes: i64, kind: InboundKind) -> Inbound {
        let mut n = self.next.lock().expect("lock");
        *n += 1;
        Inbound {
            adapter: "test".into(),
            event_id: format!("ev{n}"),
            at: t0() + Duration::minutes(minutes),
            speaker: who.clone(),
            conversation: Conversation {
                id: channel.into(),
                name: channel.into(),
                direct: channel.starts_with('@'),
            },
            message_id: format!("msg{n}"),
            thread: thread.map(str::to_string),
            reply_to: None,
            permalink: None,
            named: Vec::new(),
            kind,
        }
    }

    async fn say(&self, who: &Speaker, channel: &str, thread: Option<&str>, minutes: i64, text: &str) -> Inbound {
        let to_keel = text.starts_with("@keel ");
        let text = text.trim_start_matches("@keel ").to_string();
        let e = self.event(who, channel, thread, minutes, InboundKind::Message { text, to_keel });
        assert_eq!(
            self.ingest.submit(e.clone()).await.expect("handled"),
            Handled::Processed
        );
        e
    }

    /// Delivers the outbox and returns the texts sent since the last call.
    async fn replies(&self) -> Vec<String> {
        self.dispatcher.round().await.expect("deliver");
        let mut sent = self.platform.sent.lock().expect("lock");
        sent.drain(..)
            .map(|o| match o {
                Outbound::Message { text, thread, .. } => format!("{}{text}", thread.map(|_| "↳ ").unwrap_or("")),
                Outbound::Card { card, thread, .. } => format!("{}{}", thread.map(|_| "↳ ").unwrap_or(""), card.text()),
                Outbound::CardUpdate { card, .. } => format!("(card) {}", card.text()),
                Outbound::Direct { user, text } => format!("@{user}: {text}"),
                Outbound::Ephemeral { user, text, .. } => format!("(to {user}) {text}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    async fn scalar(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .expect("query")
    }

    async fn task(&self, id: i64) -> keel::store::tasks::Task {
        let mut conn = self.store.pool().acquire().await.expect("conn");
        keel::store::tasks::by_id(&mut conn, id)
            .await
            .expect("read")
            .expect("task exists")
            .task
    }
}

fn team(name: &str) -> Speaker {
    Speaker {
        id: name.into(),
        name: name.into(),
        external: false,
        client_hint: None,
        tz: None,
    }
}

fn client(name: &str) -> Speaker {
    Speaker {
        id: name.into(),
        name: name.into(),
        external: true,
        client_hint: None,
        tz: Some("America/New_York".into()),
    }
}

async fn with_acme(bot: &Bot) {
    bot.say(
        &team("lea"),
        "general",
        None,
        0,
        "@keel client add acme \"Acme Corp\" #acme",
    )
    .await;
    bot.replies().await;
}

async fn with_globex(bot: &Bot) {
    bot.say(
        &team("lea"),
        "general",
        None,
        1,
        "@keel client add globex \"Globex\" #globex",
    )
    .await;
    bot.replies().await;
}

on_both_backends!(a_redelivered_event_changes_nothing, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        let e = bot.say(&client("bob"), "acme", None, 1, "The export is broken").await;
        assert_eq!(bot.ingest.submit(e.clone()).await.expect("dup"), Handled::Duplicate);
        assert_eq!(bot.keel.handle(&e).await.expect("dup"), Handled::Duplicate);
        assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 1);
        assert_eq!(bot.replies().await.len(), 1, "one answer, not three");
    });
});

on_both_backends!(
    accepted_events_are_handled_after_the_answer_and_after_a_crash,
    |backend| {
        let db = TestDb::new(backend);
        runtime().block_on(async {
            let bot = Bot::start(&db, 0).await;
            with_acme(&bot).await;
            // 60 client messages accepted (recorded, answered at once), one of them twice.
            let mut accepted = Vec::new();
            for n in 0..60 {
                let e = bot.event(
                    &client("bob"),
                    "acme",
                    None,
                    n,
                    InboundKind::Message {
                        text: format!("Request number {n}: the export is broken"),
                        to_keel: false,
                    },
                );
                bot.ingest.accept(e.clone()).await.expect("accepted");
                accepted.push(e);
            }
            bot.ingest
                .accept(accepted[7].clone())
                .await
                .expect("a repeat is accepted too");
            // Handled in the background: the inbox drains to 60 tasks, one reply each.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while ::keel::store::inbox::count(&bot.store).await.expect("count") > 0 {
                assert!(std::time::Instant::now() < deadline, "the inbox did not drain");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 60);
            let replies = bot.replies().await;
            assert_eq!(replies.len(), 60, "{replies:?}");
            for (n, reply) in replies.iter().enumerate() {
                assert!(reply.starts_with(&format!("↳ #{} opened", n + 1)), "{reply}");
            }
            assert_eq!(bot.ingest.given_up(), 0);

            // keel stops; then events are found in the inbox as a crash after the answer leaves them,
            // one of them handled already (the crash came between handling and removing it). The
            // next start handles the other.
            let fresh = bot.event(
                &client("bob"),
                "acme",
                None,
                90,
                InboundKind::Message {
                    text: "The import fails as well".into(),
                    to_keel: false,
                },
            );
            drop(bot.ingest);
            bot.running.await.expect("stopped");
            let leftovers = [&accepted[59], &fresh];
            match bot.store.journal_dir() {
                // On a SQLite file the inbox is the journal next to it.
                Some(dir) => {
                    let journal = ::keel::store::journal::Journal::open(dir)
                        .expect("journal")
                        .expect("no other process has it");
                    let records = leftovers
                        .iter()
                        .map(|e| serde_json::to_string(e).expect("json"))
                        .collect::<Vec<_>>();
                    journal.append(&records).expect("append");
                }
                None => {
                    let mut tx = bot.store.begin().await.expect("tx");
                    let rows = leftovers
                        .iter()
                        .map(|e| {
                            (
                                e.adapter.as_str(),
                                e.event_id.as_str(),
                                serde_json::to_string(e).expect("json"),
                            )
                        })
                        .collect::<Vec<_>>();
                    ::keel::store::inbox::put(&mut tx, &rows, t0().timestamp())
                        .await
                        .expect("put");
                    tx.commit().await.expect("commit");
                }
            }
            assert_eq!(::keel::store::inbox::count(&bot.store).await.expect("count"), 2);
            let (ingest, running) = Ingest::start(bot.keel.clone(), Arc::new(Notify::new()));
            let bot = Bot { ingest, running, ..bot };
            bot.ingest
                .accept(fresh.clone())
                .await
                .expect("a repeat of a waiting event is accepted");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while ::keel::store::inbox::count(&bot.store).await.expect("count") > 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the inbox did not drain after the restart"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 61);
            let replies = bot.replies().await;
            assert_eq!(replies.len(), 1, "{replies:?}");
            assert!(replies[0].starts_with("↳ #61 opened"), "{replies:?}");
            assert_eq!(bot.ingest.given_up(), 0);
        });
    }
);

on_both_backends!(threads_carry_first_response_and_reopen, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        let first = bot.say(&client("bob"), "acme", None, 0, "The export is broken").await;
        let second = bot
            .say(&client("bob"), "acme", None, 10, "Also, please add Dana as a user")
            .await;
        let opened = bot.replies().await;
        assert!(opened[0].starts_with("↳ #1 opened"), "{opened:?}");
        assert!(opened[1].starts_with("↳ #2 opened"), "{opened:?}");
        bot.say(&team("sam"), "acme", Some(&second.message_id), 14, "On it")
            .await;
        let two = bot.task(2).await;
        assert_eq!(two.first_response_at, Some((t0() + Duration::minutes(14)).timestamp()));
        assert!(
            bot.task(1).await.first_response_at.is_none(),
            "a reply in #2's thread answers #2 only"
        );
        assert!(two.owner_id.is_some(), "the first responder owns an auto-captured task");
        bot.say(&team("sam"), "acme", None, 20, "@keel done #1 fixed the export")
            .await;
        bot.say(&client("bob"), "acme", Some(&first.message_id), 30, "thanks, works now")
            .await;
        assert_eq!(
            bot.task(1).await.status,
            keel::domain::Status::Done,
            "thanks do not reopen"
        );
        bot.say(
            &client("bob"),
            "acme",
            Some(&first.message_id),
            40,
            "it broke again for the March invoices",
        )
        .await;
        let one = bot.task(1).await;
        assert_eq!(one.status, keel::domain::Status::Open);
        assert_eq!(one.resolved_at, None);
        let said = bot.replies().await;
        assert!(
            said.iter().any(|r| r == "↳ #1 reopened: the client wrote again"),
            "{said:?}"
        );
        assert_eq!(
            bot.scalar("SELECT COUNT(*) FROM tasks").await,
            2,
            "follow-ups are no new tasks"
        );
    });
});

on_both_backends!(reactions_capture_once_take_and_close, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        let msg = bot
            .say(&team("sam"), "ops", None, 0, "the backup job failed tonight")
            .await;
        let ticket = |minutes| {
            bot.event(
                &team("lea"),
                "ops",
                None,
                minutes,
                InboundKind::Reaction {
                    emoji: "ticket".into(),
                    message_id: msg.message_id.clone(),
                    message_text: Some("the backup job failed tonight".into()),
                    author: Some(team("sam")),
                },
            )
        };
        bot.ingest.submit(ticket(1)).await.expect("ticket");
        bot.ingest.submit(ticket(2)).await.expect("ticket again");
        assert_eq!(
            bot.scalar("SELECT COUNT(*) FROM tasks").await,
            1,
            "🎫 twice is one task"
        );
        let t = bot.task(1).await;
        assert_eq!(t.source, keel::domain::Source::Reaction);
        assert_eq!(t.requester_name, "sam");
        assert_eq!(t.thread.as_deref(), Some(msg.message_id.as_str()));
        let eyes = bot.event(
            &team("lea"),
            "ops",
            None,
            3,
            InboundKind::Reaction {
                emoji: "👀".into(),
                message_id: msg.message_id.clone(),
                message_text: None,
                author: None,
            },
        );
        bot.ingest.submit(eyes).await.expect("eyes");
        let check = bot.event(
            &team("lea"),
            "ops",
            None,
            4,
            InboundKind::Reaction {
                emoji: "white_check_mark".into(),
                message_id: msg.message_id.clone(),
                message_text: None,
                author: None,
            },
        );
        bot.ingest.submit(check).await.expect("check");
        let t = bot.task(1).await;
        assert_eq!(t.status, keel::domain::Status::Done);
        let said = bot.replies().await;
        assert!(said.contains(&"↳ #1 owner @lea".to_string()), "{said:?}");
        assert!(said.contains(&"↳ #1 done".to_string()), "{said:?}");
    });
});

on_both_backends!(edits_follow_the_captured_message_only, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        let msg = bot.say(&client("bob"), "acme", None, 0, "The exprot is broken").await;
        let edit = |text: &str, minutes| {
            bot.event(
                &client("bob"),
                "acme",
                None,
                minutes,
                InboundKind::Edit {
                    message_id: msg.message_id.clone(),
                    text: text.into(),
                },
            )
        };
        bot.ingest.submit(edit("The export is broken", 1)).await.expect("edit");
        assert_eq!(bot.task(1).await.title, "The export is broken");
        bot.ingest
            .submit(edit("The export is broken!!", 2))
            .await
            .expect("edit");
        assert_eq!(
            bot.task(1).await.title,
            "The export is broken",
            "an edited title is no longer the captured one"
        );
    });
});

on_both_backends!(a_burst_is_committed_in_groups_without_loss, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Arc::new(Bot::start(&db, 0).await);
        with_acme(&bot).await;
        let mut handles = Vec::new();
        for i in 0..200 {
            let e = bot.event(
                &client(&format!("c{}", i % 7)),
                "acme",
                None,
                i,
                InboundKind::Message {
                    text: format!("request number {i}: the report is empty"),
                    to_keel: false,
                },
            );
            let ingest = bot.ingest.clone();
            handles.push(tokio::spawn(async move { ingest.submit(e).await }));
        }
        for h in handles {
            assert_eq!(h.await.expect("join").expect("handled"), Handled::Processed);
        }
        assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 200);
        assert_eq!(bot.scalar("SELECT MAX(id) FROM tasks").await, 200, "ids have no gaps");
        assert_eq!(bot.replies().await.len(), 200);
    });
});

on_both_backends!(a_frustrated_client_raises_priority, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        bot.say(
            &client("bob"),
            "acme",
            None,
            0,
            "This is terrible. The export failed AGAIN and we lost a day of work. Awful.",
        )
        .await;
        let t = bot.task(1).await;
        assert!(t.frustrated);
        assert!(t.sentiment <= -0.5, "{}", t.sentiment);
        assert_eq!(t.priority, keel::domain::Priority::High);
        let said = bot.replies().await;
        assert!(said[0].contains("client sounds frustrated"), "{said:?}");
    });
});

on_both_backends!(a_batch_reads_each_clients_mood_as_alone, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        let angry = "This is terrible. The export failed AGAIN and we lost a day of work. Awful.";
        let calm = "Thanks so much, could you add Dana as a user?";
        let message = |who: &Speaker, minutes: i64, text: &str| {
            let kind = InboundKind::Message {
                text: text.to_string(),
                to_keel: false,
            };
            bot.event(who, "acme", None, minutes, kind)
        };
        // Far enough apart that the second is a request of its own, not a follow-up.
        let batch = vec![message(&client("bob"), 0, angry), message(&client("carl"), 15, calm)];
        for result in bot.keel.handle_batch(&batch).await {
            assert_eq!(result.expect("handled"), Handled::Processed);
        }
        let (one, two) = (bot.task(1).await, bot.task(2).await);
        assert_eq!(one.sentiment, keel::capture::sentiment(angry));
        assert!(one.frustrated);
        assert_eq!(one.priority, keel::domain::Priority::High);
        assert_eq!(two.sentiment, keel::capture::sentiment(calm));
        assert!(two.sentiment > 0.0, "{}", two.sentiment);
        assert!(!two.frustrated);
        assert_eq!(two.priority, keel::domain::Priority::Normal);

        // Through the door at once: the moods are read as the events arrive, before the writer
        // takes them together.
        let texts = [
            "Still broken. This is useless and we are furious.",
            "Lovely work on the report, could you also add the totals?",
            "Could you send the March invoice again?",
            "Horrible support, nobody answers us.",
        ];
        let speakers = [client("bob"), client("carl"), client("bob"), client("carl")];
        let events: Vec<Inbound> = (0..4)
            .map(|i| message(&speakers[i], 30 + 15 * i as i64, texts[i]))
            .collect();
        let before = bot.ingest.batches();
        let handled = tokio::join!(
            bot.ingest.submit(events[0].clone()),
            bot.ingest.submit(events[1].clone()),
            bot.ingest.submit(events[2].clone()),
            bot.ingest.submit(events[3].clone()),
        );
        for result in [handled.0, handled.1, handled.2, handled.3] {
            assert_eq!(result.expect("handled"), Handled::Processed);
        }
        assert!(bot.ingest.batches() - before < 4, "the four were taken together");
        for id in 3..=6 {
            let task = bot.task(id).await;
            let text = texts.iter().find(|t| **t == task.title).expect("a task per text");
            assert_eq!(task.sentiment, keel::capture::sentiment(text), "{text}");
            assert_eq!(task.frustrated, task.sentiment <= keel::capture::FRUSTRATED, "{text}");
        }
    });
});

on_both_backends!(a_batch_records_each_contact_once_as_last_seen, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 0).await;
        with_acme(&bot).await;
        with_globex(&bot).await;
        let message = |who: &Speaker, channel: &str, minutes: i64, text: &str| {
            let kind = InboundKind::Message {
                text: text.to_string(),
                to_keel: false,
            };
            bot.event(who, channel, None, minutes, kind)
        };
        // Bob writes, renames himself, and writes for the other client, all in one batch;
        // Carl writes twice under one name.
        let renamed = Speaker {
            name: "Bob Smith".into(),
            ..client("bob")
        };
        let batch = vec![
            message(&client("bob"), "acme", 10, "The export is broken"),
            message(&client("carl"), "acme", 30, "Please add Dana as a user"),
            message(&renamed, "acme", 50, "The invoices are empty"),
            message(&client("carl"), "acme", 70, "Could you send the March invoice again?"),
            message(&renamed, "globex", 90, "Our logo is wrong"),
        ];
        for result in bot.keel.handle_batch(&batch).await {
            assert_eq!(result.expect("handled"), Handled::Processed);
        }
        assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 5);
        let contacts: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT contacts.platform_id, contacts.name, clients.key FROM contacts \
             JOIN clients ON clients.id = contacts.client_id ORDER BY contacts.platform_id",
        )
        .fetch_all(bot.store.pool())
        .await
        .expect("contacts");
        let expected = [("bob", "Bob Smith", "globex"), ("carl", "carl", "acme")];
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(contacts, expected, "one row each, as last seen");
    });
});

on_both_backends!(one_batch_mixes_capture_threads_and_commands, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        let message = |who: &Speaker, channel: &str, thread: Option<&str>, minutes: i64, text: &str| {
            let to_keel = text.starts_with("@keel ");
            let text = text.trim_start_matches("@keel ").to_string();
            bot.event(who, channel, thread, minutes, InboundKind::Message { text, to_keel })
        };
        let first = message(&client("bob"), "acme", None, 0, "The export is broken");
        let joined = message(&client("bob"), "acme", None, 1, "and the invoices are empty too");
        let other = message(&client("carl"), "acme", None, 10, "Please add Dana as a user");
        let answer = message(&team("sam"), "acme", Some(&first.message_id), 12, "On it");
        let mistake = message(&team("lea"), "general", None, 13, "@keel due #99 tomorrow");
        let show = message(&team("lea"), "general", None, 14, "@keel show #1");
        let later = message(&client("bob"), "acme", None, 20, "One more thing: the logo is wrong");
        let batch = vec![first, joined, other.clone(), answer, mistake, show, later, other];
        let results: Vec<Handled> = bot
            .keel
            .handle_batch(&batch)
            .await
            .into_iter()
            .map(|r| r.expect("handled"))
            .collect();
        assert_eq!(results[..7], [Handled::Processed; 7]);
        assert_eq!(
            results[7],
            Handled::Duplicate,
            "a repeat within the batch is a duplicate"
        );

        assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 3);
        assert_eq!(bot.scalar("SELECT value FROM counters WHERE name = 'task'").await, 3);
        assert_eq!(
            bot.scalar("SELECT COUNT(*) FROM task_messages WHERE task_id = 1").await,
            2
        );
        assert_eq!(bot.scalar("SELECT COUNT(*) FROM touchpoints").await, 5);
        let one = bot.task(1).await;
        assert_eq!(one.first_response_at, Some((t0() + Duration::minutes(12)).timestamp()));
        assert_eq!(
            one.last_client_message_at,
            Some((t0() + Duration::minutes(1)).timestamp())
        );
        assert!(bot.task(2).await.first_response_at.is_none());
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM task_events WHERE task_id = 1 ORDER BY id")
            .fetch_all(bot.store.pool())
            .await
            .expect("events");
        assert_eq!(kinds, ["created", "message_joined", "first_response"]);

        let said = bot.replies().await;
        assert_eq!(said.len(), 5, "{said:?}");
        assert!(said[0].starts_with("↳ #1 opened"), "{said:?}");
        assert!(said[1].starts_with("↳ #2 opened"), "{said:?}");
        assert!(said[2].contains("#99 does not exist"), "{said:?}");
        assert!(said[3].contains("#1") && said[3].contains("first response"), "{said:?}");
        assert!(said[4].starts_with("↳ #3 opened"), "{said:?}");
    });
});

on_both_backends!(a_batch_joins_stored_tasks_and_sees_its_own_changes, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        bot.say(&client("bob"), "acme", None, 0, "The export is broken").await;
        let message = |minutes: i64, text: &str| {
            bot.event(
                &client("bob"),
                "acme",
                None,
                minutes,
                InboundKind::Message {
                    text: text.into(),
                    to_keel: false,
                },
            )
        };
        // 2 minutes after the stored task's message, then 2 minutes after that one: both join
        // #1 only if the batch sees that the first of them moved #1's last client message.
        let batch = vec![
            message(2, "and the invoices are empty"),
            message(4, "and the totals are wrong"),
        ];
        for r in bot.keel.handle_batch(&batch).await {
            assert_eq!(r.expect("handled"), Handled::Processed);
        }
        assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 1);
        assert_eq!(
            bot.scalar("SELECT COUNT(*) FROM task_messages WHERE task_id = 1").await,
            3
        );
        assert_eq!(
            bot.task(1).await.last_client_message_at,
            Some((t0() + Duration::minutes(4)).timestamp())
        );
    });
});

on_both_backends!(a_batch_groups_with_a_task_it_wrote_midway, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        let message = |who: &Speaker, thread: Option<&str>, minutes: i64, text: &str| {
            let kind = InboundKind::Message {
                text: text.into(),
                to_keel: false,
            };
            bot.event(who, "acme", thread, minutes, kind)
        };
        // Sam's answer in the new task's thread makes the batch write #1 before Bob's follow-up
        // a minute later, which must still find it.
        let first = message(&client("bob"), None, 0, "The export is broken");
        let answer = message(&team("sam"), Some(&first.message_id), 1, "Looking at it");
        let more = message(&client("bob"), None, 1, "and the invoices are empty too");
        for r in bot.keel.handle_batch(&[first, answer, more]).await {
            assert_eq!(r.expect("handled"), Handled::Processed);
        }
        assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 1);
        assert_eq!(
            bot.scalar("SELECT COUNT(*) FROM task_messages WHERE task_id = 1").await,
            2
        );
    });
});

/// The tasks, their message links and their logs, as rows to compare.
async fn written(bot: &Bot) -> Vec<String> {
    let pool = bot.store.pool();
    let tasks: Vec<(i64, String, String, String, Option<i64>)> =
        sqlx::query_as("SELECT id, title, status, channel, last_client_message_at FROM tasks ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("tasks");
    let links: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT task_id, channel, message_id FROM task_messages ORDER BY task_id, message_id")
            .fetch_all(pool)
            .await
            .expect("links");
    let events: Vec<(i64, String)> = sqlx::query_as("SELECT task_id, kind FROM task_events ORDER BY task_id, id")
        .fetch_all(pool)
        .await
        .expect("events");
    let touches = bot.scalar("SELECT COUNT(*) FROM touchpoints").await;
    let mut rows: Vec<String> = tasks.iter().map(|t| format!("{t:?}")).collect();
    rows.extend(links.iter().map(|l| format!("{l:?}")));
    rows.extend(events.iter().map(|e| format!("{e:?}")));
    rows.push(format!("touchpoints {touches}"));
    rows
}

on_both_backends!(a_long_batch_writes_what_one_event_at_a_time_writes, |backend| {
    let (one_db, each_db) = (TestDb::new(backend), TestDb::new(backend));
    runtime().block_on(async {
        let one = Bot::start(&one_db, 3).await;
        let each = Bot::start(&each_db, 3).await;
        for bot in [&one, &each] {
            with_acme(bot).await;
            with_globex(bot).await;
        }
        // Enough events for several flushes while the batch goes on: requests a minute or two
        // apart (each joins the one before), others far apart, team answers in their threads,
        // thanks, a command now and then, and a repeated event.
        let mut events: Vec<Inbound> = Vec::new();
        for i in 0..150i64 {
            let minutes = 10 + i * if i % 40 < 20 { 1 } else { 7 };
            let channel = if i % 3 == 0 { "globex" } else { "acme" };
            let message = |who: &Speaker, thread: Option<&str>, text: String| {
                let to_keel = text.starts_with("@keel ");
                let text = text.trim_start_matches("@keel ").to_string();
                one.event(who, channel, thread, minutes, InboundKind::Message { text, to_keel })
            };
            let event = match (i % 10, i % 50) {
                (_, 49) => message(&team("lea"), None, format!("@keel due #{} tomorrow", i / 10)),
                (4, _) if i > 10 => message(
                    &team("sam"),
                    Some(&events[events.len() - 3].message_id.clone()),
                    "On it".into(),
                ),
                (7, _) => message(&client("carl"), None, "thanks!".into()),
                _ => message(
                    &client("bob"),
                    None,
                    format!("Request {i}: the export of report {i} fails"),
                ),
            };
            events.push(event);
        }
        events.push(events[20].clone());
        for r in one.keel.handle_batch(&events).await {
            r.expect("handled");
        }
        for event in &events {
            each.keel.handle(event).await.expect("handled");
        }
        let (batched, alone) = (written(&one).await, written(&each).await);
        assert!(batched.len() > 300, "{}", batched.len());
        let differ = (0..batched.len().max(alone.len())).find(|&i| batched.get(i) != alone.get(i));
        if let Some(i) = differ {
            panic!(
                "row {i}: {:?} in the batch, {:?} one at a time",
                batched.get(i),
                alone.get(i)
            );
        }
    });
});

/// A platform that answers the first send with `ratelimited` + Retry-After, and records the keys.
#[derive(Default)]
struct Flaky {
    keys: Mutex<Vec<String>>,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Adapter for Flaky {
    fn name(&self) -> &str {
        "test"
    }

    async fn send(&self, _outbound: &Outbound) -> Result<Sent, SendError> {
        Err(SendError::Rejected("send_keyed is what the dispatcher calls".into()))
    }

    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        let first = {
            let mut keys = self.keys.lock().expect("lock");
            keys.push(key.to_string());
            keys.len() == 1
        };
        if first {
            return Err(SendError::RetryAfter(std::time::Duration::from_secs(1)));
        }
        if let Outbound::Message { text, .. } = outbound {
            self.sent.lock().expect("lock").push(text.clone());
        }
        Ok(Sent::default())
    }
}

on_both_backends!(a_retried_message_keeps_its_key_and_its_place, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        let flaky = Arc::new(Flaky::default());
        let dispatcher = Dispatcher::new(bot.store.clone(), vec![flaky.clone() as Arc<dyn Adapter>]);
        bot.say(&team("lea"), "general", None, 0, "@keel help").await;
        bot.say(&team("lea"), "general", None, 1, "@keel list").await;
        dispatcher.round().await.expect("round");
        assert!(
            flaky.sent.lock().expect("lock").is_empty(),
            "rate-limited, and the second waits"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        dispatcher.round().await.expect("round");
        let keys = flaky.keys.lock().expect("lock").clone();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(keys[0], keys[1], "a retry sends the same key");
        assert_ne!(keys[1], keys[2]);
        let sent = flaky.sent.lock().expect("lock").clone();
        assert_eq!(sent.len(), 2, "each message once, in order: {sent:?}");
        assert!(sent[0].contains("help") || sent[0].contains("track"), "{sent:?}");
    });
});

on_both_backends!(
    a_colleagues_thumb_in_the_tasks_thread_answers_its_csat_question_once,
    |backend| {
        let db = TestDb::new(backend);
        runtime().block_on(async {
            let bot = Bot::start(&db, 3).await;
            with_acme(&bot).await;
            let asked = bot.say(&client("bob"), "acme", None, 0, "The export is broken").await;
            bot.say(&team("sam"), "acme", None, 5, "@keel done #1 fixed the export")
                .await;
            let said = bot.replies().await;
            assert!(
                said.iter().any(|r| r.contains("Did we solve it to your satisfaction?")),
                "{said:?}"
            );
            // A colleague's 👍 at the top of the channel is no answer (and no task).
            bot.say(&client("carol"), "acme", None, 10, "👍").await;
            assert!(bot.replies().await.is_empty());
            // In the task's thread it answers the question, once.
            bot.say(&client("carol"), "acme", Some(&asked.message_id), 12, "👍")
                .await;
            assert_eq!(bot.replies().await, ["↳ Thank you, carol: 👍 recorded."]);
            bot.say(&client("carol"), "acme", Some(&asked.message_id), 13, "👍")
                .await;
            assert!(bot.replies().await.is_empty(), "a second thumb is only noise");
            let answers = bot
                .scalar("SELECT COUNT(*) FROM surveys WHERE kind = 'csat' AND answered_at IS NOT NULL")
                .await;
            assert_eq!(answers, 1);
            assert_eq!(bot.scalar("SELECT COUNT(*) FROM tasks").await, 1);
        });
    }
);

on_both_backends!(a_client_requests_card_names_its_sla_deadlines, |backend| {
    let db = TestDb::new(backend);
    runtime().block_on(async {
        let bot = Bot::start(&db, 3).await;
        with_acme(&bot).await;
        // Tuesday 15:00 UTC; business hours 09:00-17:00 UTC. Normal priority: a first response
        // within 8 business hours, a resolution within 48.
        bot.say(&client("bob"), "acme", None, 0, "The export is broken").await;
        bot.dispatcher.round().await.expect("deliver");
        let sent = bot.platform.sent.lock().expect("lock").drain(..).collect::<Vec<_>>();
        let card = sent
            .iter()
            .find_map(|o| match o {
                Outbound::Card { card, .. } => Some(card.clone()),
                _ => None,
            })
            .expect("a card");
        let sla = card.fields.iter().find(|f| f.label == "SLA").expect("an SLA field");
        assert_eq!(
            sla.value,
            "first response by Wed 25 Nov 2026 15:00 UTC\nresolution by Wed 2 Dec 2026 15:00 UTC"
        );
        assert!(
            card.text().starts_with("#1 opened: \"The export is broken\""),
            "{}",
            card.text()
        );
        // A team member's own note is no client request: no SLA.
        bot.say(&team("lea"), "general", None, 0, "@keel track renew the certificate")
            .await;
        bot.dispatcher.round().await.expect("deliver");
        let sent = bot.platform.sent.lock().expect("lock").drain(..).collect::<Vec<_>>();
        let Some(Outbound::Card { card, .. }) = sent.iter().find(|o| matches!(o, Outbound::Card { .. })) else {
            panic!("no card: {sent:?}");
        };
        assert!(card.fields.iter().all(|f| f.label != "SLA"), "{:?}", card.fields);
    });
});
