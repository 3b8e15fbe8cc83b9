//! The email adapter against real mail servers: Dovecot (IMAPS, IMAP with STARTTLS, IDLE) and an
//! SMTP server (STARTTLS and implicit TLS), started by `scripts/mail` in a temporary folder for
//! each test and stopped when it ends, also when it fails. `scripts/mail install` must have run;
//! a missing script or a server that does not start fails the test: it is never skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keel_chat::{Adapter, Address, Inbound, InboundKind, InboundSink, Outbound, OutboundMail, SendError};
use keel_email::{EmailAdapter, EmailConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// keel's mailbox on the test servers: the login `support`, its Maildir `mail/support`.
const KEEL: &str = "support@keel.test";

/// Mail servers of one test, in a temporary folder; stopped when dropped.
struct Servers {
    dir: tempfile::TempDir,
    imap: u16,
    imaps: u16,
    smtp: u16,
    smtps: u16,
    ca: PathBuf,
    password: String,
}

fn script() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mail");
    assert!(
        path.exists(),
        "scripts/mail is missing at {}: the live email tests need it",
        path.display()
    );
    path
}

impl Servers {
    fn start() -> Servers {
        // The adapter's logs, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("keel_email=debug")
            .with_test_writer()
            .try_init();
        let _ = metrics::set_global_recorder(Totals);
        // Dovecot's sockets live in the folder, whose path may be at most 70 characters.
        let dir = tempfile::Builder::new().prefix("keel-mail").tempdir_in("/tmp").unwrap();
        let out = Command::new(script()).arg("start").arg(dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "scripts/mail start failed (did `scripts/mail install` run?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("scripts/mail start printed {line:?}: {e}"));
        let port = |key: &str| json[key].as_u64().unwrap_or_else(|| panic!("no {key} port in {line}")) as u16;
        Servers {
            imap: port("imap"),
            imaps: port("imaps"),
            smtp: port("smtp"),
            smtps: port("smtps"),
            ca: PathBuf::from(json["ca"].as_str().expect("no ca in the JSON line")),
            password: json["password"]
                .as_str()
                .expect("no password in the JSON line")
                .to_string(),
            dir,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// keel's Maildir.
    fn maildir(&self) -> PathBuf {
        self.path().join("mail").join("support")
    }

    fn restart_imap(&self) {
        let out = Command::new(script())
            .arg("restart-imap")
            .arg(self.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "restart-imap failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A configuration for keel's mailbox on these servers.
    fn config(&self, imap: &str, smtp: &str, ca: &Path) -> EmailConfig {
        let port = |scheme: &str| match scheme {
            "imap" => self.imap,
            "imaps" => self.imaps,
            "smtp" => self.smtp,
            _ => self.smtps,
        };
        EmailConfig {
            imap_url: url::Url::parse(&format!("{imap}://localhost:{}", port(imap))).unwrap(),
            smtp_url: url::Url::parse(&format!("{smtp}://localhost:{}", port(smtp))).unwrap(),
            user: "support".into(),
            password: self.password.clone().into(),
            mailbox: "INBOX".into(),
            from: Address {
                email: KEEL.into(),
                name: "Keel Support".into(),
            },
            team_domains: vec!["keel.test".into()],
            done_folder: None,
            ca_file: Some(ca.to_path_buf()),
            state_path: self.path().join("keel").join("email-state.json"),
            poll_seconds: 5,
        }
    }

    /// keel's mailbox over IMAPS and SMTP with STARTTLS, with the test CA.
    fn adapter(&self) -> EmailAdapter {
        EmailAdapter::new(self.config("imaps", "smtp", &self.ca)).unwrap()
    }

    /// A client's mail to keel, handed to the SMTP server (plain: this is the client's side).
    async fn mail_keel(&self, n: usize) -> Instant {
        let mail = Message::builder()
            .from("Kim Ito <kim@client.example>".parse().unwrap())
            .to(KEEL.parse().unwrap())
            .subject(format!("Request {n}"))
            .message_id(Some(format!("<{n}.test@client.example>")))
            .body(format!("Please look at thing {n}.\n"))
            .unwrap();
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.smtp)
            .build();
        smtp.send(mail).await.unwrap();
        Instant::now()
    }

    /// Puts a raw mail straight into keel's Maildir (tmp/, then new/), owned as Dovecot's own.
    fn drop_into_maildir(&self, name: &str, raw: &[u8]) {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(self.maildir().join("new")).unwrap();
        let tmp = self.maildir().join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        std::os::unix::fs::chown(&tmp, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::rename(&tmp, self.maildir().join("new").join(name)).unwrap();
    }

    /// The state file: (uidvalidity, last_uid).
    fn state(&self) -> Option<(u64, u64)> {
        let text = std::fs::read_to_string(self.path().join("keel").join("email-state.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        Some((
            json["uidvalidity"].as_u64().unwrap(),
            json["last_uid"].as_u64().unwrap(),
        ))
    }

    /// How many mails in keel's Maildir are flagged seen (`:2,…S…` in the name, in cur/).
    fn seen(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(self.maildir().join("cur")) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.rsplit_once(":2,").is_some_and(|(_, flags)| flags.contains('S'))
            })
            .count()
    }

    /// The mails the SMTP server took, as (raw mail, its envelope JSON), oldest first.
    fn sent(&self) -> Vec<(String, serde_json::Value)> {
        let dir = self.path().join("sent");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let stem = n.trim_end_matches(".json");
                let eml = std::fs::read_to_string(dir.join(format!("{stem}.eml"))).unwrap();
                let json = serde_json::from_str(&std::fs::read_to_string(dir.join(n)).unwrap()).unwrap();
                (eml, json)
            })
            .collect()
    }
}

impl Drop for Servers {
    /// Stops the servers before their folder goes; should the script fail, by their pid files.
    fn drop(&mut self) {
        let stopped = Command::new(script()).arg("stop").arg(self.path()).output();
        if stopped.is_ok_and(|out| out.status.success()) {
            return;
        }
        for pidfile in ["dovecot.pid", "smtp.pid"] {
            if let Ok(pid) = std::fs::read_to_string(self.path().join(pidfile)) {
                let _ = Command::new("kill").arg(pid.trim()).output();
            }
        }
    }
}

/// keel's side in the tests: collects what the adapter hands over, and refuses the first
/// `fail_first` tries, as a core whose database is away would.
#[derive(Default)]
struct Collector {
    events: Mutex<Vec<Inbound>>,
    fail_first: AtomicUsize,
    tries: AtomicUsize,
}

#[async_trait]
impl InboundSink for Collector {
    async fn deliver(&self, inbound: Inbound) -> anyhow::Result<()> {
        let tries = self.tries.fetch_add(1, Ordering::SeqCst);
        if tries < self.fail_first.load(Ordering::SeqCst) {
            anyhow::bail!("the database is away (try {})", tries + 1);
        }
        self.events.lock().unwrap().push(inbound);
        Ok(())
    }
}

impl Collector {
    fn failing(n: usize) -> Arc<Collector> {
        let sink = Collector::default();
        sink.fail_first.store(n, Ordering::SeqCst);
        Arc::new(sink)
    }

    fn events(&self) -> Vec<Inbound> {
        self.events.lock().unwrap().clone()
    }

    /// The subjects handed over, in order.
    fn subjects(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .map(|e| match e.kind {
                InboundKind::Mail(mail) => mail.subject,
                other => panic!("not a mail: {other:?}"),
            })
            .collect()
    }

    /// Waits until `n` events have come, failing after `limit`.
    async fn wait_for(&self, n: usize, limit: Duration) -> Duration {
        let started = Instant::now();
        while self.events().len() < n {
            assert!(
                started.elapsed() < limit,
                "{} of {n} events after {limit:?}: {:?}",
                self.events().len(),
                self.subjects()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        started.elapsed()
    }
}

/// What the adapter reported through the `metrics` facade, by `name{label=value,…}`: counters
/// summed and gauges as last set, over all the tests of this binary (they run at once).
static METRICS: Mutex<BTreeMap<String, f64>> = Mutex::new(BTreeMap::new());

/// A recorder that writes into [`METRICS`].
struct Totals;

/// One metric's handle: its rendered key.
struct Slot(String);

impl metrics::CounterFn for Slot {
    fn increment(&self, value: u64) {
        *METRICS.lock().unwrap().entry(self.0.clone()).or_default() += value as f64;
    }
    fn absolute(&self, value: u64) {
        METRICS.lock().unwrap().insert(self.0.clone(), value as f64);
    }
}

impl metrics::GaugeFn for Slot {
    fn increment(&self, value: f64) {
        *METRICS.lock().unwrap().entry(self.0.clone()).or_default() += value;
    }
    fn decrement(&self, value: f64) {
        *METRICS.lock().unwrap().entry(self.0.clone()).or_default() -= value;
    }
    fn set(&self, value: f64) {
        METRICS.lock().unwrap().insert(self.0.clone(), value);
    }
}

impl metrics::Recorder for Totals {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(Slot(render(key))))
    }
    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(Arc::new(Slot(render(key))))
    }
    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

fn render(key: &metrics::Key) -> String {
    let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
    if labels.is_empty() {
        key.name().to_string()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

/// The value recorded for `key` (`name` or `name{label=value}`), if any.
fn metric(key: &str) -> Option<f64> {
    METRICS.lock().unwrap().get(key).copied()
}

/// Waits until `check` holds, failing with `what` after `limit`.
async fn until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn until_up(adapter: &EmailAdapter) {
    let link = adapter.connection().unwrap();
    until("the IMAP connection up", Duration::from_secs(10), || link.is_up()).await;
}

/// A CA that signed nothing the servers hold.
fn wrong_ca(dir: &Path) -> PathBuf {
    let (key, pem) = (dir.join("wrong-ca.key"), dir.join("wrong-ca.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=wrong CA",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pem
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_and_starttls_connect_with_the_test_ca_and_a_wrong_ca_fails() {
    let servers = Servers::start();
    let wrong = wrong_ca(servers.path());
    let sink: Arc<dyn InboundSink> = Arc::new(Collector::default());
    let mut tasks = Vec::new();
    for scheme in ["imaps", "imap"] {
        let good = EmailAdapter::new(servers.config(scheme, "smtps", &servers.ca)).unwrap();
        tasks.push(good.start(sink.clone()));
        until_up(&good).await;

        let bad = EmailAdapter::new(servers.config(scheme, "smtps", &wrong)).unwrap();
        let link = bad.connection().unwrap();
        tasks.push(bad.start(sink.clone()));
        until(
            &format!("{scheme}: a certificate error"),
            Duration::from_secs(10),
            || link.why().contains("UnknownIssuer"),
        )
        .await;
        assert!(!link.is_up());
        assert!(link.why().contains("invalid peer certificate"), "{}", link.why());
        assert!(!link.why().contains(&servers.password), "{}", link.why());
    }
    // SMTP trusts the same roots: with the wrong CA the mail waits (unreachable), not refused.
    let bad = EmailAdapter::new(servers.config("imaps", "smtps", &wrong)).unwrap();
    match bad.send(&outbound("ca.1@keel.test", false)).await {
        Err(SendError::Unreachable(why)) => {
            assert!(why.contains("certificate") || why.contains("UnknownIssuer"), "{why}")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    tasks.iter().for_each(|t| t.abort());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_arrives_through_idle_is_flagged_and_not_handed_over_twice() {
    let servers = Servers::start();
    let sink = Arc::new(Collector::default());
    let adapter = servers.adapter();
    let task = adapter.start(sink.clone());
    until_up(&adapter).await;
    // IDLE is under way once the first catch-up found nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent = servers.mail_keel(1).await;
    sink.wait_for(1, Duration::from_secs(3)).await;
    let took = sent.elapsed();
    let event = &sink.events()[0];
    assert_eq!(event.message_id, "1.test@client.example");
    assert_eq!(sink.subjects(), ["Request 1"]);
    until("the mail flagged seen", Duration::from_secs(3), || servers.seen() == 1).await;
    until("the state file", Duration::from_secs(3), || {
        servers.state().is_some_and(|(_, uid)| uid == 1)
    })
    .await;
    eprintln!("delivered through IDLE in {took:?}");
    assert!(metric("keel_mail_imap_up").is_some());

    // Started again: nothing is handed over twice.
    task.abort();
    let _ = task.await;
    let again = servers.adapter();
    let task = again.start(sink.clone());
    until_up(&again).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.events().len(), 1, "{:?}", sink.subjects());
    assert_eq!(servers.state().map(|(_, uid)| uid), Some(1));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_that_came_while_keel_was_stopped_is_handed_over_on_start() {
    let servers = Servers::start();
    let sink = Arc::new(Collector::default());
    let adapter = servers.adapter();
    let task = adapter.start(sink.clone());
    servers.mail_keel(1).await;
    sink.wait_for(1, Duration::from_secs(10)).await;
    until("the state file", Duration::from_secs(3), || servers.state().is_some()).await;
    task.abort();
    let _ = task.await;

    servers.mail_keel(2).await;
    servers.mail_keel(3).await;
    let task = adapter.start(sink.clone());
    sink.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(sink.subjects(), ["Request 1", "Request 2", "Request 3"]);
    until("three mails seen", Duration::from_secs(3), || servers.seen() == 3).await;
    until("the state at UID 3", Duration::from_secs(3), || {
        servers.state().is_some_and(|(_, uid)| uid == 3)
    })
    .await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_the_imap_server_loses_nothing() {
    let servers = Arc::new(Servers::start());
    let sink = Arc::new(Collector::default());
    let adapter = servers.adapter();
    let link = adapter.connection().unwrap();
    let task = adapter.start(sink.clone());
    until_up(&adapter).await;

    // Watch the connection: down at some point, up again.
    let watch = {
        let link = link.clone();
        tokio::spawn(async move {
            let mut went_down = None;
            loop {
                if !link.is_up() && went_down.is_none() {
                    went_down = Some(link.why());
                }
                if went_down.is_some() && link.is_up() {
                    return went_down;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    for n in 1..=20 {
        servers.mail_keel(n).await;
        if n == 10 {
            let servers = servers.clone();
            tokio::task::spawn_blocking(move || servers.restart_imap())
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink.wait_for(20, Duration::from_secs(30)).await;
    let why = tokio::time::timeout(Duration::from_secs(30), watch)
        .await
        .unwrap()
        .unwrap();
    eprintln!(
        "20 mails across a restart in {:?}; down because: {why:?}",
        started.elapsed()
    );
    let subjects: BTreeSet<String> = sink.subjects().into_iter().collect();
    let expected: BTreeSet<String> = (1..=20).map(|n| format!("Request {n}")).collect();
    assert_eq!(subjects, expected);
    assert!(link.is_up());
    assert!(why.is_some_and(|w| !w.is_empty()));
    until("20 mails seen", Duration::from_secs(5), || servers.seen() == 20).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_mail_is_flagged_and_skipped() {
    let servers = Servers::start();
    let sink = Arc::new(Collector::default());
    let adapter = servers.adapter();
    let task = adapter.start(sink.clone());
    // Logged in, Dovecot has made the Maildir: the mail goes into new/ as a delivery agent puts it.
    until_up(&adapter).await;
    servers.drop_into_maildir("1700000000.M1P1Q1.garbage", b"\x00\x01\x02\x03 no header at all\n");
    servers.mail_keel(2).await;
    sink.wait_for(1, Duration::from_secs(10)).await;
    until("both mails seen", Duration::from_secs(3), || servers.seen() == 2).await;
    assert_eq!(sink.subjects(), ["Request 2"]);
    assert!(metric("keel_mail_received_total{outcome=unreadable}") >= Some(1.0));
    assert!(metric("keel_mail_received_total{outcome=event}") >= Some(1.0));
    until("the state at UID 2", Duration::from_secs(3), || {
        servers.state().is_some_and(|(_, uid)| uid == 2)
    })
    .await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_done_folder_handled_mail_is_moved_there() {
    let servers = Servers::start();
    let mut config = servers.config("imap", "smtp", &servers.ca);
    config.done_folder = Some("Done".into());
    let adapter = EmailAdapter::new(config).unwrap();
    let sink = Arc::new(Collector::default());
    let task = adapter.start(sink.clone());
    servers.mail_keel(1).await;
    servers.mail_keel(2).await;
    sink.wait_for(2, Duration::from_secs(10)).await;
    // Dovecot's Maildir++ keeps the folder `Done` in `.Done/`.
    let files = |dir: PathBuf| std::fs::read_dir(dir).map_or(0, |d| d.count());
    until("both mails moved", Duration::from_secs(3), || {
        files(servers.maildir().join(".Done").join("cur")) + files(servers.maildir().join(".Done").join("new")) == 2
    })
    .await;
    until("INBOX empty", Duration::from_secs(3), || {
        files(servers.maildir().join("cur")) + files(servers.maildir().join("new")) == 0
    })
    .await;
    assert_eq!(servers.seen(), 0, "moved, not flagged");
    until("the state at UID 2", Duration::from_secs(3), || {
        servers.state().is_some_and(|(_, uid)| uid == 2)
    })
    .await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_keel_cannot_take_yet_is_retried_and_flagged_only_after() {
    let servers = Servers::start();
    let sink = Collector::failing(2);
    let adapter = servers.adapter();
    let task = adapter.start(sink.clone());
    until_up(&adapter).await;
    servers.mail_keel(1).await;
    until("a first refused try", Duration::from_secs(3), || {
        sink.tries.load(Ordering::SeqCst) >= 1
    })
    .await;
    assert_eq!(servers.seen(), 0, "flagged before keel took it");
    assert_eq!(servers.state(), None);
    // Refused twice: 1 s and 2 s of backoff.
    sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(sink.tries.load(Ordering::SeqCst), 3);
    until("the mail seen", Duration::from_secs(3), || servers.seen() == 1).await;
    task.abort();
}

fn outbound(id: &str, automatic: bool) -> Outbound {
    Outbound::Mail(Box::new(OutboundMail {
        to: vec![Address {
            email: "kim@client.example".into(),
            name: "Kim Ito".into(),
        }],
        cc: vec![Address {
            email: "lea+acme@client.example".into(),
            name: String::new(),
        }],
        subject: "Re: Request 1 [#12]".into(),
        text: "Hello Kim,\n\nwe are on it.\n".into(),
        message_id: id.into(),
        in_reply_to: Some("1.test@client.example".into()),
        references: vec!["0.test@client.example".into(), "1.test@client.example".into()],
        automatic,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_reaches_the_smtp_server_over_starttls_and_smtps() {
    let servers = Servers::start();
    for (n, smtp) in ["smtp", "smtps"].into_iter().enumerate() {
        let adapter = EmailAdapter::new(servers.config("imaps", smtp, &servers.ca)).unwrap();
        let id = format!("keel.task-12.{n}@keel.test");
        let sent = adapter.send(&outbound(&id, n == 0)).await.unwrap();
        assert_eq!(sent.message_id.as_deref(), Some(id.as_str()));
        assert!(metric("keel_mail_sent_total") >= Some((n + 1) as f64));
        let all = servers.sent();
        assert_eq!(all.len(), n + 1, "{smtp}");
        let (eml, envelope) = &all[n];
        for header in [
            format!("Message-ID: <{id}>"),
            "In-Reply-To: <1.test@client.example>".into(),
            "References: <0.test@client.example> <1.test@client.example>".into(),
            "Subject: Re: Request 1 [#12]".into(),
            "To: \"Kim Ito\" <kim@client.example>".into(),
            "Cc: lea+acme@client.example".into(),
            "From: \"Keel Support\" <support@keel.test>".into(),
            "X-Auto-Response-Suppress: All".into(),
        ] {
            assert!(eml.contains(&header), "{smtp}: no {header:?} in\n{eml}");
        }
        assert_eq!(eml.contains("Auto-Submitted: auto-generated"), n == 0, "{smtp}:\n{eml}");
        assert_eq!(envelope["mail_from"], KEEL);
        assert_eq!(
            envelope["rcpt_tos"],
            serde_json::json!(["kim@client.example", "lea+acme@client.example", KEEL]),
            "keel's own copy goes with the mail, in the same transaction"
        );
        assert!(!eml.contains("Bcc:"), "the copy is not written into the mail: {eml}");
        let refused = adapter
            .send(&Outbound::Direct {
                user: "kim".into(),
                text: "hi".into(),
            })
            .await;
        assert_eq!(
            refused.unwrap_err(),
            SendError::Rejected("email sends mail only".into())
        );
    }
}
