//! What an operator sees of a running keel: `keel run` serves `/healthz` and `/metrics`, its
//! counters move as people work, its logs carry no token, secret or message text, and it runs
//! with no chat adapter at all.

mod support;

use std::time::Duration;

use keel_fake_slack::FakeSlack;
use serde_json::Value;
use support::{metric, KeelRun, TestDb};

const TOKEN: &str = "xoxb-ops-token-7f3a9c";
const SECRET: &str = "ops-signing-secret-1b2c3d";
const RETRIES: [Duration; 4] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// keel on the Events API against the fake Slack, JSON logs at `info`.
fn keel_on_events_api(db: &TestDb, fake: &FakeSlack) -> KeelRun {
    let config = format!(
        "database_url = \"{}\"\n[capture]\ngroup_minutes = 0\n[http]\nlisten = \"{{listen}}\"\n\
         [log]\nformat = \"json\"\nlevel = \"info\"\n[slack]\nmode = \"events\"\napi_url = \"{}\"\n",
        db.url, fake.api_url
    );
    KeelRun::start(
        &config,
        &[("KEEL_SLACK__BOT_TOKEN", TOKEN), ("KEEL_SLACK__SIGNING_SECRET", SECRET)],
    )
}

async fn scrape(keel: &KeelRun) -> String {
    let (status, text) = keel.get("/metrics").await;
    assert_eq!(status, 200, "{text}");
    text
}

/// Scrapes until `series` reaches at least `at_least` (30 s at most).
async fn wait_metric(keel: &KeelRun, series: &str, at_least: f64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(keel).await;
        if metric(&text, series).is_some_and(|v| v >= at_least) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} never reached {at_least}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn health(keel: &KeelRun) -> (u16, Value) {
    let (status, body) = keel.get("/healthz").await;
    let report = serde_json::from_str(&body).unwrap_or_else(|_| panic!("/healthz is JSON: {body:?}"));
    (status, report)
}

fn run_health_and_metrics(backend: &str) {
    support::runtime().block_on(async {
        let fake = FakeSlack::start(TOKEN).await.expect("fake slack");
        fake.add_channel("C0ACME", "acme");
        fake.add_user("ULEA", "lea", "TTEAM", "Europe/Berlin");
        fake.add_user("UBOB", "bob", "TACME", "America/New_York");
        let db = TestDb::new(backend);
        let keel = keel_on_events_api(&db, &fake);
        let events = format!("http://{}/slack/events", keel.http);

        let (status, report) = health(&keel).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["status"], "ok", "{report}");
        assert_eq!(report["database"]["connected"], true, "{report}");
        assert_eq!(report["adapters"]["slack"]["connected"], true, "{report}");
        let before = scrape(&keel).await;
        assert_eq!(metric(&before, "keel_database_up"), Some(1.0), "{before}");
        assert_eq!(
            metric(&before, "keel_adapter_up{adapter=\"slack\"}"),
            Some(1.0),
            "{before}"
        );
        assert_eq!(
            metric(&before, "keel_tasks_created_total"),
            None,
            "nothing yet: {before}"
        );

        // lea adds the client; bob asks for something; Slack sends bob's event twice.
        let add = fake.user_says(
            "C0ACME",
            "ULEA",
            "<@UKEEL> client add acme \"Acme Corp\" <#C0ACME|acme>",
            None,
        );
        let answers = keel_fake_slack::deliver_event(&events, SECRET, &add, &RETRIES).await;
        assert_eq!(answers.last().map(|a| a.status), Some(200), "{answers:?}");
        let marker = "ZEBRA-7731 the invoice export is broken";
        let asked = fake.user_says("C0ACME", "UBOB", marker, None);
        for _ in 0..2 {
            let answers = keel_fake_slack::deliver_event(&events, SECRET, &asked, &RETRIES).await;
            assert_eq!(answers.last().map(|a| a.status), Some(200), "{answers:?}");
        }
        let text = wait_metric(&keel, "keel_outbox_sent_total{adapter=\"slack\"}", 2.0).await;
        assert_eq!(metric(&text, "keel_tasks_created_total"), Some(1.0), "{text}");
        assert_eq!(
            metric(&text, "keel_inbound_events_total{adapter=\"slack\",kind=\"message\"}"),
            Some(2.0),
            "lea's command and bob's request: {text}"
        );
        assert_eq!(
            metric(&text, "keel_inbound_duplicates_total{adapter=\"slack\"}"),
            Some(1.0),
            "{text}"
        );
        // On a SQLite file the repeat is recorded in the journal and dropped by the core; the
        // PostgreSQL inbox table drops it on its key at once.
        let recorded = if backend == "sqlite" { 3.0 } else { 2.0 };
        assert_eq!(
            metric(&text, "keel_inbox_recorded_total{adapter=\"slack\"}"),
            Some(recorded),
            "{text}"
        );
        assert!(
            metric(&text, "keel_handle_seconds_count{path=\"inbox\"}").is_some_and(|n| n >= 2.0),
            "the handling latency histogram fills: {text}"
        );
        assert!(
            text.contains("keel_handle_seconds_bucket{path=\"inbox\",le=\"0.1\"}"),
            "{text}"
        );
        let text = wait_metric(&keel, "keel_inbox_depth", 0.0).await;
        assert_eq!(metric(&text, "keel_inbox_depth"), Some(0.0), "{text}");
        assert_eq!(
            metric(&text, "keel_outbox_depth{adapter=\"slack\"}"),
            Some(0.0),
            "{text}"
        );
        assert!(metric(&text, "keel_job_lag_seconds").is_some(), "{text}");

        // Slack is away for a moment: the next post fails twice, keel says so and retries.
        fake.fail_next("chat.postMessage", 2, 503);
        let again = fake.user_says("C0ACME", "UBOB", "And the import fails too", None);
        keel_fake_slack::deliver_event(&events, SECRET, &again, &RETRIES).await;
        let mut saw_degraded = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while fake.keel_posts().len() < 3 {
            let (status, report) = health(&keel).await;
            if report["status"] == "degraded" {
                assert_eq!(status, 200, "the database answers: {report}");
                saw_degraded = Some(report);
            }
            assert!(tokio::time::Instant::now() < deadline, "the reply never went out");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let degraded = saw_degraded.expect("/healthz reported Slack away while it was");
        assert_eq!(degraded["adapters"]["slack"]["connected"], false, "{degraded}");
        assert!(
            degraded["adapters"]["slack"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("503")),
            "{degraded}"
        );
        let text = scrape(&keel).await;
        assert_eq!(
            metric(&text, "keel_outbox_retries_total{adapter=\"slack\"}"),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            metric(&text, "keel_outbox_sent_total{adapter=\"slack\"}"),
            Some(3.0),
            "{text}"
        );
        assert_eq!(metric(&text, "keel_tasks_created_total"), Some(2.0), "{text}");
        let (_, report) = health(&keel).await;
        assert_eq!(report["status"], "ok", "Slack is back: {report}");

        // The logs (JSON, info) name events but carry no token, secret or message text.
        let log = keel.log_text();
        assert!(log.lines().any(|l| l.contains("\"level\":\"INFO\"")), "{log}");
        for secret in [TOKEN, SECRET, "ZEBRA-7731", "invoice export", "import fails"] {
            assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
        }
    });
}

on_both_backends!(
    keel_run_serves_health_and_metrics_that_move_and_logs_no_secret,
    |backend| { run_health_and_metrics(backend) }
);

#[test]
fn keel_run_with_no_adapter_serves_http_and_runs_the_scheduler() {
    support::runtime().block_on(async {
        let db = TestDb::sqlite();
        // A lead set a standup in the console a week ago: its prompt fell due while no keel ran.
        let said = support::chat(
            &db,
            "2026-11-24T08:00:00Z",
            &["--as", "lea", "--channel", "standup"],
            "@keel standup set \"0 9 * * 1-5\"\n",
        );
        assert!(said.contains("standup set"), "{said}");
        let dir = tempfile::tempdir().expect("dir");
        let keel = |args: &[&str]| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_keel"));
            command
                .arg("run")
                .args(args)
                .args(["--db", &db.url])
                .env_remove("KEEL_DATABASE_URL")
                .env_remove("KEEL_HTTP__LISTEN")
                .current_dir(dir.path());
            command
        };
        let out = keel(&["--listen", "not an address"]).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("http.listen: \"not an address\""), "{stderr}");

        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let address = taken.local_addr().expect("address").to_string();
        let out = keel(&["--listen", &address]).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "a port in use: {stderr}");
        assert!(stderr.contains(&format!("cannot listen on {address}")), "{stderr}");
        drop(taken);

        let mut child = keel(&["--listen", &address])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("keel runs");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let report = loop {
            let (status, body) = support::http_get(&address, "/healthz").await;
            if status == 200 {
                break serde_json::from_str::<Value>(&body).expect("JSON");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "keel never answered on {address}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(report["status"], "ok", "{report}");
        assert_eq!(report["adapters"], serde_json::json!({}), "{report}");
        // The scheduler ran the prompt that was due (once, for its latest due time).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, text) = support::http_get(&address, "/metrics").await;
            let ran = metric(&text, "keel_jobs_run_total{kind=\"standup\"}").unwrap_or(0.0);
            if ran >= 1.0 {
                assert_eq!(ran, 1.0, "a missed prompt runs once: {text}");
                assert!(
                    metric(&text, "keel_job_delay_seconds_count").is_some_and(|n| n >= 1.0),
                    "{text}"
                );
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no job ran:\n{text}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let status = child.wait().expect("keel stops");
        assert!(status.success(), "SIGTERM stops keel cleanly: {status}");
    });
}
