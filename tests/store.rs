//! The storage suite: the same checks on SQLite and on PostgreSQL.

mod support;

use keel::domain::event::{Created, TaskEvent};
use keel::domain::Status;
use keel::store::{outbox, people, tasks, Backend, Store};
use keel_chat::Outbound;
use support::{runtime, TestDb};

async fn open(db: &TestDb) -> Store {
    Store::open(&db.url).await.expect("store opens")
}

fn sample_task(id: i64) -> tasks::Task {
    tasks::Task {
        id,
        title: "renew the certificate".into(),
        client_id: None,
        adapter: "console".into(),
        channel: "general".into(),
        channel_name: "general".into(),
        thread: Some(format!("m{id}")),
        permalink: None,
        requester_id: "lea".into(),
        requester_name: "lea".into(),
        requester_is_client: false,
        owner_id: None,
        status: keel::domain::Status::Open,
        priority: keel::domain::Priority::Normal,
        source: keel::domain::Source::Cli,
        sentiment: 0.25,
        frustrated: false,
        created_at: 1_764_000_000,
        due_at: Some(1_764_100_000),
        first_response_at: None,
        resolved_at: None,
        last_activity_at: 1_764_000_000,
        last_client_message_at: None,
        snoozed_until: None,
        escalated_at: None,
    }
}

/// The `created` event that opens `task` as it is.
fn created(task: &tasks::Task) -> Created {
    Created {
        text: task.title.clone(),
        title: Some(task.title.clone()),
        priority: Some(task.priority),
        due_at: task.due_at,
        ..Created::default()
    }
}

on_both_backends!(migrations_apply_once_and_again_do_nothing, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        assert_eq!(
            store.backend(),
            if backend == "sqlite" {
                Backend::Sqlite
            } else {
                Backend::Postgres
            }
        );
        assert_eq!(
            store.migrate().await.expect("migrate"),
            0,
            "open() applied everything already"
        );
        assert!(store.ping().await);
    });
});

on_both_backends!(contacts_seen_twice_in_one_write_keep_the_last, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        let mut conn = store.pool().acquire().await.expect("conn");
        for key in ["acme", "globex"] {
            sqlx::query("INSERT INTO clients (key, name, created_at) VALUES ($1, $1, 0)")
                .bind(key)
                .execute(&mut *conn)
                .await
                .expect("client");
        }
        let seen = |id: &str, name: &str, client_id: i64, at: i64| people::SeenContact {
            adapter: "email".into(),
            contact: people::Contact {
                platform_id: id.into(),
                name: name.into(),
                client_id,
                tz: None,
            },
            at,
        };
        let rows = || async {
            let mut conn = store.pool().acquire().await.expect("conn");
            let rows: Vec<(String, String, i64, i64)> =
                sqlx::query_as("SELECT platform_id, name, client_id, created_at FROM contacts ORDER BY platform_id")
                    .fetch_all(&mut *conn)
                    .await
                    .expect("contacts");
            rows
        };
        let first = [
            seen("bob@acme.example", "bob", 1, 10),
            seen("carl@acme.example", "Carl\u{7}", 1, 20),
            seen("bob@acme.example", "Bob Smith", 2, 30),
        ];
        people::upsert_contacts(&mut conn, &first).await.expect("written");
        assert_eq!(
            rows().await,
            [
                ("bob@acme.example".to_string(), "Bob Smith".to_string(), 2, 10),
                ("carl@acme.example".to_string(), "Carl".to_string(), 1, 20),
            ],
            "one row each: as last seen, since first seen, the name clean"
        );
        // Seen again later: name and client follow, the first sighting stays.
        people::upsert_contacts(&mut conn, &[seen("carl@acme.example", "Carl Jones", 2, 40)])
            .await
            .expect("written");
        assert_eq!(
            rows().await[1],
            ("carl@acme.example".to_string(), "Carl Jones".to_string(), 2, 20)
        );
        people::upsert_contacts(&mut conn, &[]).await.expect("nothing to write");
    });
});

on_both_backends!(inbound_events_are_seen_once, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        let mut conn = store.pool().acquire().await.expect("conn");
        assert!(tasks::first_sighting(&mut conn, "slack", "Ev1", 1)
            .await
            .expect("insert"));
        assert!(!tasks::first_sighting(&mut conn, "slack", "Ev1", 2).await.expect("dup"));
        assert!(tasks::first_sighting(&mut conn, "matrix", "Ev1", 2)
            .await
            .expect("other adapter"));
        let batch = [("slack", "Ev2"), ("slack", "Ev1"), ("slack", "Ev2"), ("slack", "Ev3")];
        let fresh = tasks::first_sightings(&mut conn, &batch, 3).await.expect("batch");
        assert_eq!(
            fresh,
            vec![true, false, false, true],
            "seen before and repeated in the batch are not fresh"
        );
    });
});

on_both_backends!(task_ids_are_never_reused_even_after_a_rollback, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        let mut tx = store.begin().await.expect("tx");
        let first = tasks::next_task_id(&mut tx).await.expect("id");
        tasks::insert(&mut tx, &sample_task(first), "lea", created(&sample_task(first)))
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        let mut tx = store.begin().await.expect("tx");
        let second = tasks::next_task_id(&mut tx).await.expect("id");
        tasks::insert(&mut tx, &sample_task(second), "lea", created(&sample_task(second)))
            .await
            .expect("insert");
        tx.rollback().await.expect("rollback");
        let mut tx = store.begin().await.expect("tx");
        let third = tasks::next_task_id(&mut tx).await.expect("id");
        tx.commit().await.expect("commit");
        assert_eq!(
            (first, second, third),
            (1, 2, 2),
            "a rolled-back id was never shown to anyone"
        );
        let mut conn = store.pool().acquire().await.expect("conn");
        assert!(
            tasks::by_id(&mut conn, 2).await.expect("read").is_none(),
            "the rolled-back task left nothing"
        );
        let events = tasks::events(&mut conn, 1).await.expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.kind(), "created");
    });
});

on_both_backends!(the_projection_and_its_event_commit_together, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        let mut tx = store.begin().await.expect("tx");
        tasks::insert(&mut tx, &sample_task(1), "lea", created(&sample_task(1)))
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        let mut changed = sample_task(1);
        changed.status = keel::domain::Status::Done;
        changed.resolved_at = Some(1_764_050_000);
        let mut tx = store.begin().await.expect("tx");
        tasks::record(
            &mut tx,
            &changed,
            1_764_050_000,
            "lea",
            TaskEvent::Status {
                from: Status::Open,
                to: Status::Done,
                note: None,
            },
        )
        .await
        .expect("record");
        tx.rollback().await.expect("rollback");
        let mut conn = store.pool().acquire().await.expect("conn");
        let stored = tasks::by_id(&mut conn, 1).await.expect("read").expect("task");
        assert_eq!(stored.task.status, keel::domain::Status::Open);
        assert_eq!(tasks::events(&mut conn, 1).await.expect("events").len(), 1);
        drop(conn);
        let mut tx = store.begin().await.expect("tx");
        tasks::record(
            &mut tx,
            &changed,
            1_764_050_000,
            "lea",
            TaskEvent::Status {
                from: Status::Open,
                to: Status::Done,
                note: None,
            },
        )
        .await
        .expect("record");
        tx.commit().await.expect("commit");
        let mut conn = store.pool().acquire().await.expect("conn");
        let stored = tasks::by_id(&mut conn, 1).await.expect("read").expect("task");
        assert_eq!(stored.task, changed, "every field round-trips");
        assert_eq!(tasks::events(&mut conn, 1).await.expect("events").len(), 2);
    });
});

on_both_backends!(outbox_rows_are_claimed_once_and_retried_in_order, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        let mut conn = store.pool().acquire().await.expect("conn");
        for n in 0..3 {
            let out = Outbound::Message {
                conversation: "acme".into(),
                thread: None,
                text: format!("reply {n}"),
            };
            outbox::enqueue(&mut conn, "slack", &out, 100).await.expect("enqueue");
        }
        let claimed = outbox::claim(&mut conn, store.backend(), "slack", 1000, 10)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 3);
        assert_eq!(claimed.iter().map(|p| p.id).collect::<Vec<_>>(), {
            let mut ids: Vec<i64> = claimed.iter().map(|p| p.id).collect();
            ids.sort();
            ids
        });
        let again = outbox::claim(&mut conn, store.backend(), "slack", 1000, 10)
            .await
            .expect("claim");
        assert!(again.is_empty(), "claimed rows are not handed out twice");
        outbox::mark_sent(&mut conn, claimed[0].id, 1000, None)
            .await
            .expect("sent");
        outbox::mark_retry(&mut conn, claimed[1].id, 1030, "ratelimited", false)
            .await
            .expect("retry");
        outbox::release(&mut conn, claimed[2].id).await.expect("release");
        // reply 2 waits behind reply 1, which waits for its retry: no overtaking.
        let now = outbox::claim(&mut conn, store.backend(), "slack", 1001, 10)
            .await
            .expect("claim");
        assert!(now.is_empty(), "{now:?}");
        let later = outbox::claim(&mut conn, store.backend(), "slack", 1030, 10)
            .await
            .expect("claim");
        assert_eq!(
            later.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![claimed[1].id, claimed[2].id]
        );
        assert_eq!(later[0].attempts, 1);
        assert_eq!(outbox::depth(&mut conn).await.expect("depth"), 2);
        outbox::mark_failed(&mut conn, later[0].id, 1031, "channel_not_found")
            .await
            .expect("failed");
        assert_eq!(outbox::depth(&mut conn).await.expect("depth"), 1);
        let expired = outbox::claim(
            &mut conn,
            store.backend(),
            "slack",
            1030 + outbox::CLAIM_SECONDS + 1,
            10,
        )
        .await
        .expect("claim");
        assert_eq!(expired.len(), 1, "a claim that outlived its holder is taken over");
    });
});

on_both_backends!(people_and_clients_round_trip, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        let mut conn = store.pool().acquire().await.expect("conn");
        let lea = people::add_member(&mut conn, "console", "lea", "Lea", None, 1)
            .await
            .expect("lea");
        let sam = people::add_member(&mut conn, "console", "sam", "Sam", Some("Europe/Berlin"), 2)
            .await
            .expect("sam");
        assert_eq!(lea.role, keel::domain::Role::Admin, "the first member is the admin");
        assert_eq!(sam.role, keel::domain::Role::Member);
        assert_eq!(
            people::member_by_reference(&mut conn, "slack", "sam")
                .await
                .expect("ref")
                .map(|m| m.id),
            Some(sam.id)
        );
        let acme = people::add_client(&mut conn, "acme", "Acme Corp", Some(lea.id), 3)
            .await
            .expect("add")
            .expect("new");
        assert!(people::add_client(&mut conn, "acme", "Again", None, 4)
            .await
            .expect("add")
            .is_none());
        assert_eq!(
            people::link_channel(&mut conn, "console", "acme", acme.id)
                .await
                .expect("link"),
            None
        );
        let other = people::add_client(&mut conn, "globex", "Globex", None, 5)
            .await
            .expect("add")
            .expect("new");
        assert_eq!(
            people::link_channel(&mut conn, "console", "acme", other.id)
                .await
                .expect("link"),
            Some("acme".to_string())
        );
        let found = people::client_by_channel(&mut conn, "console", "acme")
            .await
            .expect("by channel");
        assert_eq!(found.map(|c| c.key), Some("acme".into()));
        people::add_touchpoint(&mut conn, acme.id, 50, "console", "acme", "bob", true)
            .await
            .expect("touch");
        people::add_touchpoint(&mut conn, acme.id, 40, "console", "acme", "lea", false)
            .await
            .expect("touch");
        let acme = people::client_by_key(&mut conn, "acme")
            .await
            .expect("read")
            .expect("acme");
        assert_eq!(
            acme.last_touch_at,
            Some(50),
            "an older touchpoint does not move the last touch back"
        );
        assert_eq!(people::touchpoint_count(&mut conn, acme.id).await.expect("count"), 2);
    });
});

on_both_backends!(version_1_rows_survive_later_migrations, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let first = if backend == "sqlite" {
            include_str!("../migrations/sqlite/0001_foundation.sql")
        } else {
            include_str!("../migrations/postgres/0001_foundation.sql")
        };
        let store = Store::connect(&db.url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL); \
             {first} \
             INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0);"
        )))
        .execute(store.pool())
        .await
        .expect("version 1");
        let mut conn = store.pool().acquire().await.expect("conn");
        // The task as version 1 wrote it: the row, and its event without later columns.
        tasks::insert_tasks(&mut conn, &[sample_task(7)]).await.expect("task");
        sqlx::query("INSERT INTO task_events (task_id, at, kind, actor, data) VALUES (7, 1, 'created', 'lea', '{\"text\": \"renew the certificate\", \"due_at\": 1764100000}')")
            .execute(&mut *conn)
            .await
            .expect("its event");
        tasks::link_messages(
            &mut conn,
            &[tasks::TaskMessage {
                adapter: "slack".into(),
                channel: "C1".into(),
                message_id: "1.2".into(),
                task_id: 7,
            }],
        )
        .await
        .expect("link");
        assert!(tasks::first_sighting(&mut conn, "slack", "Ev1", 1).await.expect("seen"));
        drop(conn);
        store.close().await;

        let store = open(&db).await;
        let mut conn = store.pool().acquire().await.expect("conn");
        let linked = tasks::by_message(&mut conn, "slack", "C1", "1.2").await.expect("read");
        assert_eq!(linked.map(|t| t.id), Some(7), "the message link survived");
        assert!(
            !tasks::first_sighting(&mut conn, "slack", "Ev1", 2).await.expect("seen"),
            "the event is still known: a redelivery stays a duplicate"
        );
    });
});

on_both_backends!(sqlite_connections_live_as_long_as_the_store, |backend| {
    runtime().block_on(async {
        let db = TestDb::new(backend);
        let store = open(&db).await;
        // A renewed SQLite connection starts with a cold page cache and no prepared statements
        // (the soak's writer renewal at minute 30 held answers 63 ms); a PostgreSQL session is
        // renewed as sqlx does by default.
        let renewed = (backend == "postgres").then_some(std::time::Duration::from_secs(30 * 60));
        let idle = (backend == "postgres").then_some(std::time::Duration::from_secs(10 * 60));
        for pool in [store.pool(), store.writer()] {
            assert_eq!(pool.options().get_max_lifetime(), renewed);
            assert_eq!(pool.options().get_idle_timeout(), idle);
        }
        store.close().await;
    });
});

/// The page size of the SQLite file behind `store`.
async fn page_size(store: &Store) -> i64 {
    let row = sqlx::query("PRAGMA page_size")
        .fetch_one(store.writer())
        .await
        .expect("page size");
    sqlx::Row::get::<i64, _>(&row, 0)
}

#[test]
fn a_new_sqlite_file_has_small_pages_and_an_old_one_keeps_its_own() {
    runtime().block_on(async {
        // New: 1 KiB pages (a new task changes ~27 pages; each goes to the log whole).
        let db = TestDb::sqlite();
        let store = open(&db).await;
        assert_eq!(page_size(&store).await, 1024);
        let mut conn = store.writer().acquire().await.expect("conn");
        tasks::insert(&mut conn, &sample_task(1), "lea", created(&sample_task(1)))
            .await
            .expect("task");
        drop(conn);
        store.close().await;
        let store = open(&db).await;
        assert_eq!(page_size(&store).await, 1024, "reopened, it keeps 1 KiB");
        store.close().await;

        // A file made before (SQLite's default 4 KiB, in WAL mode) keeps 4 KiB and works.
        let old = TestDb::sqlite();
        sqlx::any::install_default_drivers();
        let raw = sqlx::AnyPool::connect(&format!("{}?mode=rwc", old.url))
            .await
            .expect("raw");
        sqlx::raw_sql("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE made_before (a BIGINT)")
            .execute(&raw)
            .await
            .expect("4 KiB file");
        raw.close().await;
        let store = open(&old).await;
        assert_eq!(page_size(&store).await, 4096, "an existing file keeps its page size");
        let mut conn = store.writer().acquire().await.expect("conn");
        tasks::insert(&mut conn, &sample_task(2), "lea", created(&sample_task(2)))
            .await
            .expect("task");
        let read = tasks::by_id(&mut conn, 2).await.expect("read");
        assert_eq!(read.map(|t| t.task.title), Some("renew the certificate".to_string()));
    });
}
