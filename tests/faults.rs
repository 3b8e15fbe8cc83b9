//! keel loses nothing when things break: `kill -9` in the middle of a burst of Slack events, a
//! PostgreSQL restart in the middle of one, and two replicas behind a load balancer. The fake
//! Slack retries unanswered events as Slack does (its schedule compressed from "at once, 1 min,
//! 5 min" to seconds, so the tests take seconds). (Synapse going away is in tests/matrix.rs, with
//! the other Matrix tests.)

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_fake_slack::{Answer, FakeSlack};
use serde_json::Value;
use support::{metric, KeelRun};

const TOKEN: &str = "xoxb-faults-token";
const SECRET: &str = "faults-signing-secret";
/// Slack's retries, compressed: keel may be down for several seconds and still get every event.
const RETRIES: [Duration; 9] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(3),
    Duration::from_secs(5),
    Duration::from_secs(5),
    Duration::from_secs(8),
    Duration::from_secs(8),
];

/// Client channels, one client user in each; keel paces posts to one a second per channel.
const CHANNELS: usize = 40;

fn channel(n: usize) -> String {
    format!("C0K{n:02}")
}

/// The client channels, one per client.
fn client_channels() -> Vec<(String, String)> {
    (0..CHANNELS).map(|n| (channel(n), format!("client{n}"))).collect()
}

/// lea of the team, and one user of each client's own workspace per channel.
fn people() -> Vec<(String, String, String, String)> {
    let lea = ("ULEA".into(), "lea".into(), "TTEAM".into(), "Europe/Berlin".into());
    let contacts = (0..CHANNELS).map(|n| {
        (
            format!("UC{n:02}"),
            format!("contact{n}"),
            format!("TC{n:02}"),
            "UTC".into(),
        )
    });
    std::iter::once(lea).chain(contacts).collect()
}

fn config(database_url: &str, fake: &FakeSlack) -> String {
    format!(
        "database_url = \"{database_url}\"\n[capture]\ngroup_minutes = 0\n[http]\nlisten = \"{{listen}}\"\n\
         [log]\nlevel = \"warn,keel=info\"\n[slack]\nmode = \"events\"\napi_url = \"{}\"\n",
        fake.api_url
    )
}

fn keel_run(database_url: &str, fake: &FakeSlack) -> KeelRun {
    KeelRun::start(
        &config(database_url, fake),
        &[("KEEL_SLACK__BOT_TOKEN", TOKEN), ("KEEL_SLACK__SIGNING_SECRET", SECRET)],
    )
}

/// lea registers a client per channel; waits for keel's answers.
async fn add_clients(fake: &FakeSlack, url: &str) {
    for n in 0..CHANNELS {
        let text = format!(
            "<@UKEEL> client add client{n} \"Client {n}\" <#{}|client{n}>",
            channel(n)
        );
        let said = fake.user_says(&channel(n), "ULEA", &text, None);
        let answers = keel_fake_slack::deliver_event(url, SECRET, &said, &RETRIES).await;
        assert_eq!(answers.last().map(|a| a.status), Some(200), "{answers:?}");
    }
    wait_posts(fake, CHANNELS, Duration::from_secs(90)).await;
}

/// Waits until keel has posted at least `n` messages.
async fn wait_posts(fake: &FakeSlack, n: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while fake.keel_posts().len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "keel posted {} of {n} messages",
            fake.keel_posts().len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The burst: `count` client requests spread over the channels, `parallel` deliveries at a time,
/// each retried as Slack retries. Returns each request's message ts and its delivery answers,
/// and the events as sent. `delivered` counts the requests answered 200 so far.
async fn burst(
    fake: &FakeSlack,
    url: &str,
    count: usize,
    parallel: usize,
    delivered: Arc<AtomicUsize>,
) -> (Vec<(String, Vec<Answer>)>, Vec<Value>) {
    let payloads: Vec<Value> = (0..count)
        .map(|k| {
            let n = k % CHANNELS;
            let text = format!("Request {k}: the report for week {} is wrong", k / CHANNELS);
            fake.user_says(&channel(n), &format!("UC{n:02}"), &text, None)
        })
        .collect();
    let gate = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut sends = Vec::new();
    for payload in payloads.clone() {
        let (gate, url, delivered) = (gate.clone(), url.to_string(), delivered.clone());
        sends.push(tokio::spawn(async move {
            let _turn = gate.acquire_owned().await.expect("gate");
            let answers = keel_fake_slack::deliver_event(&url, SECRET, &payload, &RETRIES).await;
            if answers.last().is_some_and(|a| a.status == 200) {
                delivered.fetch_add(1, Ordering::Relaxed);
            }
            let ts = payload["event"]["ts"].as_str().unwrap_or_default().to_string();
            (ts, answers)
        }));
    }
    let mut out = Vec::new();
    for send in sends {
        out.push(send.await.expect("delivery"));
    }
    (out, payloads)
}

/// Every request was finally taken (200), keel made exactly one task of each and answered each
/// exactly once in its thread, and posted nothing else; waits up to `within` for the answers.
async fn exactly_once(db_url: &str, fake: &FakeSlack, requests: &[(String, Vec<Answer>)], within: Duration) {
    for (ts, answers) in requests {
        assert_eq!(answers.last().map(|a| a.status), Some(200), "request {ts}: {answers:?}");
    }
    let expected = CHANNELS + requests.len();
    wait_posts(fake, expected, within).await;
    // Anything posted twice would come now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let posts = fake.keel_posts();
    let mut per_thread: HashMap<String, usize> = HashMap::new();
    for p in &posts {
        if let Some(t) = &p.thread_ts {
            *per_thread.entry(t.clone()).or_default() += 1;
        }
    }
    for (ts, _) in requests {
        assert_eq!(per_thread.get(ts).copied(), Some(1), "answers to request {ts}");
    }
    assert_eq!(posts.len(), expected, "no message posted twice");
    let tasks = support::tasks_json(&support::TestDb::at(db_url));
    assert_eq!(tasks.len(), requests.len(), "one task per request");
    let titles: std::collections::HashSet<&str> = tasks.iter().filter_map(|t| t["title"].as_str()).collect();
    assert_eq!(titles.len(), requests.len(), "every request is its own task");
}

fn a_burst_survives_kill_9(backend: &str) {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, &client_channels(), &people()).await;
        let db = support::TestDb::new(backend);
        let keel = Arc::new(Mutex::new(keel_run(&db.url, &fake)));
        let url = format!("http://{}/slack/events", keel.lock().expect("keel").http);
        add_clients(&fake, &url).await;

        let delivered = Arc::new(AtomicUsize::new(0));
        let killer = {
            let (keel, delivered) = (keel.clone(), delivered.clone());
            tokio::spawn(async move {
                while delivered.load(Ordering::Relaxed) < 300 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let at = delivered.load(Ordering::Relaxed);
                tokio::task::spawn_blocking(move || {
                    let mut keel = keel.lock().expect("keel");
                    keel.kill();
                    std::thread::sleep(Duration::from_millis(500));
                    keel.restart();
                })
                .await
                .expect("restart");
                at
            })
        };
        let (requests, _) = burst(&fake, &url, 1000, 32, delivered).await;
        let killed_at = killer.await.expect("killer");
        assert!(
            killed_at < 1000,
            "keel was killed mid-burst, after {killed_at} requests"
        );
        let retried = requests.iter().filter(|(_, a)| a.len() > 1).count();
        assert!(retried > 0, "some requests met a dead keel and were retried");
        exactly_once(&db.url, &fake, &requests, Duration::from_secs(180)).await;
        let log = keel.lock().expect("keel").log_text();
        assert_eq!(log.matches("keel is running, HTTP on").count(), 2, "{log}");
    });
}

on_both_backends!(
    kill_9_in_a_burst_of_1000_slack_events_loses_and_repeats_nothing,
    |backend| { a_burst_survives_kill_9(backend) }
);

#[test]
fn a_postgres_restart_in_a_burst_loses_nothing_and_healthz_reports_it() {
    support::runtime().block_on(async {
        let pg = Arc::new(support::OwnPostgres::start());
        let fake = support::fake_slack(TOKEN, &client_channels(), &people()).await;
        let keel = keel_run(&pg.url, &fake);
        let url = format!("http://{}/slack/events", keel.http);
        add_clients(&fake, &url).await;
        let (status, _) = keel.get("/healthz").await;
        assert_eq!(status, 200);

        let delivered = Arc::new(AtomicUsize::new(0));
        let outage = {
            let (pg, delivered, http) = (pg.clone(), delivered.clone(), keel.http.clone());
            tokio::spawn(async move {
                while delivered.load(Ordering::Relaxed) < 100 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let crashed = pg.clone();
                tokio::task::spawn_blocking(move || crashed.crash())
                    .await
                    .expect("crash");
                // While the database is away, /healthz says so.
                let mut reports = Vec::new();
                let down_until = tokio::time::Instant::now() + Duration::from_secs(4);
                while tokio::time::Instant::now() < down_until {
                    reports.push(support::http_get(&http, "/healthz").await);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                tokio::task::spawn_blocking(move || pg.up()).await.expect("up");
                reports
            })
        };
        let (requests, _) = burst(&fake, &url, 300, 16, delivered).await;
        let reports = outage.await.expect("outage");
        let down: Vec<&(u16, String)> = reports.iter().filter(|(status, _)| *status == 503).collect();
        assert!(!down.is_empty(), "/healthz reported the outage: {reports:?}");
        let report: Value = serde_json::from_str(&down[0].1).expect("JSON");
        assert_eq!(report["status"], "down", "{report}");
        assert_eq!(report["database"]["connected"], false, "{report}");
        exactly_once(&pg.url, &fake, &requests, Duration::from_secs(180)).await;
        let (status, body) = keel.get("/healthz").await;
        assert_eq!(status, 200, "reconnected: {body}");
        let log = keel.log_text();
        assert!(
            log.lines().any(|l| l.contains("WARN keel") || l.contains("ERROR keel")),
            "keel noticed the outage: {log}"
        );
    });
}

#[test]
fn two_replicas_behind_a_load_balancer_handle_and_send_each_event_once() {
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, &client_channels(), &people()).await;
        let db = support::TestDb::postgres();
        let one = keel_run(&db.url, &fake);
        let two = keel_run(&db.url, &fake);
        let replicas = [&one, &two].iter().map(|k| k.http.parse().expect("address")).collect();
        let balancer = keel_fake_slack::Balancer::start(replicas).await.expect("balancer");
        let url = format!("{}/slack/events", balancer.url);
        add_clients(&fake, &url).await;

        // Slack sends every event twice (a retry after a slow answer), and the balancer hands
        // the two to different replicas.
        let delivered = Arc::new(AtomicUsize::new(0));
        let (requests, events) = burst(&fake, &url, 400, 16, delivered.clone()).await;
        let retry = [
            ("X-Slack-Retry-Num", "1".to_string()),
            ("X-Slack-Retry-Reason", "http_timeout".to_string()),
        ];
        for event in &events {
            let body = event.to_string();
            let answer =
                keel_fake_slack::send_signed(&url, SECRET, "application/json", body.as_bytes(), None, &retry).await;
            assert_eq!(answer.status, 200, "{answer:?}");
        }
        exactly_once(&db.url, &fake, &requests, Duration::from_secs(180)).await;
        let split = balancer.split();
        assert!(split.iter().all(|n| *n > 100), "both replicas took requests: {split:?}");
        // Each message went out once: the replicas' send counts add up to the posts.
        let mut sent = 0.0;
        for keel in [&one, &two] {
            let (_, text) = keel.get("/metrics").await;
            sent += metric(&text, "keel_outbox_sent_total{adapter=\"slack\"}").unwrap_or(0.0);
        }
        assert_eq!(
            sent as usize,
            fake.keel_posts().len(),
            "sent counts add up to the posts"
        );
    });
}

/// keel stopped between posting a message and recording it: the next attempt finds the post
/// (its outbox key is in the message metadata) and does not post it again; a message whose
/// claim ended before anything was posted is posted once.
fn a_send_cut_short_is_not_repeated(backend: &str) {
    use keel::store::outbox;
    use keel_chat::Adapter;
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, &client_channels(), &people()).await;
        let db = support::TestDb::new(backend);
        let store = keel::store::Store::open(&db.url).await.expect("store");
        let slack = keel_slack::Slack::new(&keel_slack::SlackConfig {
            bot_token: TOKEN.to_string().into(),
            api_url: fake.api_url.clone(),
        })
        .expect("client");
        let posted = fake.user_says(&channel(0), "UC00", "The export is broken", None);
        let ts = posted["event"]["ts"].as_str().expect("ts").to_string();
        let reply = |text: &str| keel_chat::Outbound::Message {
            conversation: channel(0),
            thread: Some(ts.clone()),
            text: text.into(),
        };
        let mut conn = store.writer().acquire().await.expect("conn");
        for text in ["#1 opened", "#2 opened"] {
            outbox::enqueue(&mut conn, "slack", &reply(text), 0)
                .await
                .expect("queued");
        }
        // A dispatcher claims both, posts the first, and dies before recording anything.
        let claimed = outbox::claim(&mut conn, store.backend(), "slack", 1, 10)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 2);
        assert!(claimed.iter().all(|p| !p.uncertain), "a first claim is not in doubt");
        slack
            .send_keyed(&format!("keel-{}", claimed[0].id), &claimed[0].outbound)
            .await
            .expect("posted");
        // Its claims expire.
        sqlx::query("UPDATE outbox SET claimed_until = 0")
            .execute(&mut *conn)
            .await
            .expect("expire");
        drop(conn);
        let dispatcher =
            keel::service::dispatch::Dispatcher::new(store.clone(), vec![Arc::new(slack) as Arc<dyn Adapter>]);
        let round = dispatcher.round().await.expect("round");
        assert_eq!(round.sent, 2, "{round:?}");
        let posts: Vec<String> = fake.keel_posts().iter().map(|p| p.text.clone()).collect();
        assert_eq!(posts, vec!["#1 opened", "#2 opened"], "each posted once");
        let first = fake.keel_posts()[0].ts.clone();
        let mut conn = store.pool().acquire().await.expect("conn");
        let recorded = outbox::sent_id(&mut conn, claimed[0].id).await.expect("row");
        assert_eq!(recorded, Some(first), "the post found is recorded as the message");
    });
}

on_both_backends!(a_send_cut_short_by_a_crash_is_found_not_posted_again, |backend| {
    a_send_cut_short_is_not_repeated(backend)
});
