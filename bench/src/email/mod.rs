//! `keel-bench email --messages N`: keel reading a real mailbox (Dovecot over IMAPS, with IDLE)
//! against a bare IMAP client reading the same mailbox, both in one run on one `scripts/mail`.
//!
//! 1. Fill: N client mails as Gmail writes them (multipart/alternative, a subject, a due date in
//!    the text, 200 senders at 50 client domains) go through the SMTP server into keel's mailbox
//!    `support`; the run waits until all N are in its Maildir.
//! 2. Baseline: a bare async-imap client over IMAPS (the test CA, certificates verified):
//!    connect, LOGIN, SELECT, UID SEARCH, then `UID FETCH … (UID BODY.PEEK[])` 100 at a time, as
//!    keel fetches; `baseline_per_s` is N over that time.
//! 3. keel: the in-process core on a fresh SQLite file, with the email adapter reading the
//!    mailbox into the ingest (`deliver`, the path `keel run` wires); `per_s` is N over the time
//!    from starting the adapter until N tasks are committed: each handover to the ingest returns
//!    once its task is committed, so the bench times the last of them and then counts the tasks
//!    once (polling the database meanwhile would take CPU from keel).
//!
//!    Dovecot builds its index and cache of new mails when they are first read: a first read by
//!    the bare client, not counted, comes before both, so neither reads cold mails. Steps 2 and
//!    3 then take about 0.05 s and 0.17 s, and either varies by a third from one run to the next
//!    on a shared machine, so they run in turn five times (each keel on a fresh database;
//!    between rounds the bench waits until keel has flagged every mail, stops it and marks the
//!    mails unread again), and `baseline_per_s` and `per_s` are the medians.
//! 4. Latency: with the last round's keel in IDLE, 400 more mails at 20 a second; each one's time from the SMTP
//!    server accepting it (`accepted_at` of DIR/sent/*.json, matched by Message-ID) until a task
//!    has its Message-ID (`task_messages` polled every 5 ms): p50 and p99.
//!
//! Lost mails (no task) and duplicates (more tasks than mails with one) are counted over every
//! round and the paced mails. The servers are stopped at the end, also when the run fails. The progress lines on
//! stderr split keel's time: when the adapter had handed the last mail over (IMAP, reading) and
//! when keel had committed it, and for the paced mails the SMTP-accept-to-handover and
//! handover-to-task shares. They also time the writer alone, five times: the mails as the adapter
//! made them in a pass before the rounds (not counted), handed to a fresh core at once, and
//! count the CPU time each of the process's threads took in those runs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use keel::clock::SystemClock;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::settings::MailSettings;
use keel::store::Store;
use keel_chat::{Address, Inbound, InboundSink};
use keel_email::{EmailAdapter, EmailConfig};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use sqlx::{ConnectOptions, SqliteConnection};
use tokio::sync::Notify;

/// keel's mailbox: the login `support`, its Maildir `DIR/mail/support`.
const KEEL: &str = "support@keel.test";
const USER: &str = "support";
/// Distinct client senders, spread over `DOMAINS` client domains (a client each).
const SENDERS: usize = 200;
const DOMAINS: usize = 50;
/// Mails sent while keel idles, and their pace.
const LATENCY_MAILS: usize = 400;
const LATENCY_PER_S: u32 = 20;
/// Rounds of the bare client and keel reading the filled mailbox; the medians are reported.
const ROUNDS: usize = 5;
/// Mails fetched per `UID FETCH`, as keel's adapter fetches them.
const CHUNK: usize = 100;
/// Every Message-ID of the run starts so (a LIKE pattern without `_`, which LIKE reads as any).
const ID_PREFIX: &str = "CAKbench-";
/// The longest wait for the Maildir to fill, and for keel to make the tasks.
const PATIENCE: Duration = Duration::from_secs(600);

mod mails;
mod writer;

use mails::{client_mail, fill, send, smtp, Outgoing, Servers, Smtp};

/// TLS trusting the test CA only; certificates are verified.
fn tls_config(ca: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca)? {
        roots.add(cert?)?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A session on keel's INBOX over IMAPS: connect, LOGIN, SELECT.
async fn inbox(
    servers: &Servers,
    tls: Arc<rustls::ClientConfig>,
) -> anyhow::Result<async_imap::Session<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", servers.imaps)).await?;
    tcp.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?;
    let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await?;
    let mut client = async_imap::Client::new(stream);
    client.read_response().await?.context("no IMAP greeting")?;
    let mut session = client
        .login(USER, &servers.password)
        .await
        .map_err(|(e, _)| anyhow::anyhow!("LOGIN: {e}"))?;
    session.select("INBOX").await?;
    Ok(session)
}

/// The bare client: connect, LOGIN, SELECT, UID SEARCH, fetch every mail whole 100 at a time;
/// returns the time taken and the mails fetched.
async fn baseline(servers: &Servers) -> anyhow::Result<(Duration, usize)> {
    let tls = tls_config(&servers.ca)?;
    let started = Instant::now();
    let mut session = inbox(servers, tls).await?;
    let mut uids: Vec<u32> = session.uid_search("ALL").await?.into_iter().collect();
    uids.sort_unstable();
    let mut fetched = 0;
    for chunk in uids.chunks(CHUNK) {
        let set: Vec<String> = chunk.iter().map(u32::to_string).collect();
        let mails: Vec<async_imap::types::Fetch> = session
            .uid_fetch(set.join(","), "(UID BODY.PEEK[])")
            .await?
            .try_collect()
            .await?;
        fetched += mails.iter().filter(|m| m.body().is_some()).count();
    }
    let elapsed = started.elapsed();
    session.logout().await?;
    Ok((elapsed, fetched))
}

/// keel's core on a fresh SQLite file, with 50 clients whose mail comes from their domain, and
/// the ingest the adapter hands mail to.
struct Core {
    store: Store,
    ingest: Ingest,
    writer: tokio::task::JoinHandle<()>,
    url: String,
}

/// Opens the store in `dir`, adds the clients and starts the ingest, with keel's mailbox set
/// as `[email]` sets it (new requests acknowledged by mail, cards to the console).
async fn core(dir: &Path) -> anyhow::Result<Core> {
    let url = format!("sqlite://{}", dir.join("keel.db").display());
    let store = Store::open(&url).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    for c in 0..DOMAINS {
        sqlx::query("INSERT INTO clients (key, name, created_at) VALUES ($1, $2, 0)")
            .bind(format!("client{c}"))
            .bind(format!("Client {c}"))
            .execute(store.pool())
            .await?;
        sqlx::query(
            "INSERT INTO client_channels (adapter, channel, client_id) SELECT 'email', $1, id FROM clients WHERE key = $2",
        )
        .bind(format!("client{c}.example"))
        .bind(format!("client{c}"))
        .execute(store.pool())
        .await?;
    }
    let settings = Settings {
        mail: Some(MailSettings {
            address: KEEL.into(),
            name: "Keel Support".into(),
            team_domains: vec!["keel.test".into()],
            notify: ("console".into(), "mail".into()),
            acknowledge: true,
            client_acknowledge: Vec::new(),
        }),
        ..Settings::default()
    };
    let keel = Keel::new(store.clone(), Arc::new(SystemClock), settings);
    let (ingest, writer) = Ingest::start(keel, Arc::new(Notify::new()));
    Ok(Core {
        store,
        ingest,
        writer,
        url,
    })
}

/// What the adapter handed over: how many events, and when (since the adapter started) the first
/// and the last handover began and when the last returned (committed).
#[derive(Default, Clone, Copy)]
struct Handovers {
    count: usize,
    first_called: Option<Duration>,
    last_called: Duration,
    last_returned: Duration,
    /// Handovers keel took (each returns once its task is committed), and when the last did.
    committed: usize,
    last_committed: Duration,
}

/// The ingest as the adapter's sink, timing each handover, so the progress lines tell the
/// adapter's share of keel's time (IMAP, reading, handing over) from the core's (handling).
struct Timed {
    ingest: Ingest,
    started: Instant,
    handovers: Mutex<Handovers>,
    /// When each event was handed over (unix s), by Message-ID.
    handed: Mutex<HashMap<String, f64>>,
}

impl Timed {
    /// The handovers so far.
    fn handovers(&self) -> Handovers {
        self.handovers.lock().map(|h| *h).unwrap_or_default()
    }

    /// When each Message-ID was handed over (unix s).
    fn handed(&self) -> HashMap<String, f64> {
        self.handed.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl InboundSink for Timed {
    async fn deliver(&self, inbound: Inbound) -> anyhow::Result<()> {
        let called = self.started.elapsed();
        if let Ok(mut h) = self.handed.lock() {
            h.insert(inbound.message_id.clone(), unix_now());
        }
        let result = self.ingest.deliver(inbound).await;
        if let Ok(mut h) = self.handovers.lock() {
            h.count += 1;
            h.first_called = Some(h.first_called.map_or(called, |first| first.min(called)));
            h.last_called = h.last_called.max(called);
            h.last_returned = self.started.elapsed();
            if result.is_ok() {
                h.committed += 1;
                h.last_committed = h.last_returned;
            }
        }
        result
    }
}

/// The adapter's configuration for keel's mailbox: IMAPS with the test CA, IDLE.
fn email_config(servers: &Servers, state: &Path) -> anyhow::Result<EmailConfig> {
    Ok(EmailConfig {
        imap_url: url::Url::parse(&format!("imaps://127.0.0.1:{}", servers.imaps))?,
        smtp_url: url::Url::parse(&format!("smtp://127.0.0.1:{}", servers.smtp))?,
        user: USER.into(),
        password: servers.password.clone().into(),
        mailbox: "INBOX".into(),
        from: Address {
            email: KEEL.into(),
            name: "Keel Support".into(),
        },
        team_domains: vec!["keel.test".into()],
        done_folder: None,
        ca_file: Some(servers.ca.clone()),
        state_path: state.to_path_buf(),
        poll_seconds: 60,
    })
}

/// A read-only connection of the bench's own to keel's database.
async fn observer(url: &str) -> anyhow::Result<SqliteConnection> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?.read_only(true);
    Ok(options.connect().await?)
}

/// Waits until keel has taken `target` of the adapter's handovers, each of which returns once its
/// mail's task is committed (looking every millisecond, without a query that would take CPU from
/// keel); returns when the last was committed (since the adapter started, or the time
/// [`PATIENCE`] ran out) and the tasks the database then holds.
async fn until_committed(sink: &Timed, db: &mut SqliteConnection, target: usize) -> anyhow::Result<(Duration, i64)> {
    let took = loop {
        let handed = sink.handovers();
        if handed.committed >= target {
            break handed.last_committed;
        }
        if sink.started.elapsed() > PATIENCE {
            break sink.started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    Ok((took, count_tasks(db).await?))
}

/// The tasks in keel's database.
async fn count_tasks(db: &mut SqliteConnection) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tasks").fetch_one(db).await?)
}

/// The unix time now, in seconds.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Polls `task_messages` every 5 ms for the Message-IDs sent (the first `sent` of `ids`) and not
/// seen yet, and records when each is first seen (unix seconds), until all are seen or
/// `give_up` is notified. Only those few are looked up, so the polling takes little from keel.
async fn watch_ids(
    mut db: SqliteConnection,
    ids: Vec<String>,
    sent: Arc<AtomicUsize>,
    give_up: Arc<Notify>,
) -> anyhow::Result<HashMap<String, f64>> {
    let mut seen: HashMap<String, f64> = HashMap::new();
    let stop = give_up.notified();
    tokio::pin!(stop);
    while seen.len() < ids.len() {
        let sent = sent.load(Ordering::Acquire).min(ids.len());
        let waiting: Vec<&String> = ids[..sent].iter().filter(|id| !seen.contains_key(*id)).collect();
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT message_id FROM task_messages WHERE adapter = 'email' \
             AND message_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(serde_json::to_string(&waiting)?)
        .fetch_all(&mut db)
        .await?;
        let now = unix_now();
        for id in found {
            seen.entry(id).or_insert(now);
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    Ok(seen)
}

/// Sends the mails at `per_s` a second (each on its own task, so a slow answer delays none
/// after it) while watching for their tasks; returns the timing of each mail that got a task.
async fn latency(
    servers: &Servers,
    smtp: &Smtp,
    url: &str,
    mails: Vec<Outgoing>,
    per_s: u32,
) -> anyhow::Result<Vec<Timing>> {
    let ids: Vec<String> = mails.iter().map(|m| m.id.clone()).collect();
    let give_up = Arc::new(Notify::new());
    let handed_to_smtp = Arc::new(AtomicUsize::new(0));
    let watcher = tokio::spawn(watch_ids(
        observer(url).await?,
        ids,
        handed_to_smtp.clone(),
        give_up.clone(),
    ));
    let count = mails.len();
    let start = tokio::time::Instant::now();
    let mut sends = Vec::with_capacity(count);
    for (i, mail) in mails.into_iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs(1) * i as u32 / per_s).await;
        let smtp = smtp.clone();
        sends.push(tokio::spawn(async move { send(&smtp, &mail).await }));
        handed_to_smtp.store(i + 1, Ordering::Release);
    }
    for sent in sends {
        sent.await??;
    }
    eprintln!("email: {count} mails sent in {:.1} s", start.elapsed().as_secs_f64());
    // The last mails have 30 s to become tasks.
    let stopper = {
        let give_up = give_up.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            give_up.notify_one();
        })
    };
    let seen = watcher.await??;
    stopper.abort();
    let accepted = servers.accepted()?;
    let mut times = Vec::with_capacity(seen.len());
    for (id, at) in seen {
        let sent = *accepted
            .get(&id)
            .with_context(|| format!("the SMTP server has no record of {id}"))?;
        times.push(Timing { id, sent, seen: at });
    }
    Ok(times)
}

/// One paced mail: when the SMTP server accepted it and when its task was first seen (unix s).
struct Timing {
    id: String,
    sent: f64,
    seen: f64,
}

/// Splits the paced mails' latency in the adapter's share (SMTP accept until it was handed
/// over) and the core's (until the task was seen), p50 and p99 of each, for the progress.
fn shares(times: &[Timing], handed: &HashMap<String, f64>) -> String {
    let mut adapter = Vec::new();
    let mut core = Vec::new();
    for t in times {
        if let Some(at) = handed.get(&t.id) {
            adapter.push((at - t.sent) * 1000.0);
            core.push((t.seen - at) * 1000.0);
        }
    }
    adapter.sort_by(f64::total_cmp);
    core.sort_by(f64::total_cmp);
    format!(
        "SMTP accept to handover p50 {:.1} ms, p99 {:.1} ms; handover to task p50 {:.1} ms, p99 {:.1} ms",
        percentile(&adapter, 50),
        percentile(&adapter, 99),
        percentile(&core, 50),
        percentile(&core, 99)
    )
}

/// The run's mails as keel's database holds them.
struct Tally {
    tasks: i64,
    /// The run's Message-IDs that belong to a task.
    mails: i64,
    /// Message-IDs that belong to more than one task.
    shared: i64,
}

/// Counts the tasks, and the mails of a phase (`fill`, `late`, or `` for both) that have one.
async fn tally(db: &mut SqliteConnection, phase: &str) -> anyhow::Result<Tally> {
    let pattern = format!("{ID_PREFIX}{phase}%");
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(&mut *db)
        .await?;
    let mails: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT message_id) FROM task_messages WHERE adapter = 'email' AND message_id LIKE ?1",
    )
    .bind(&pattern)
    .fetch_one(&mut *db)
    .await?;
    let shared: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT message_id FROM task_messages WHERE adapter = 'email' \
         AND message_id LIKE ?1 GROUP BY message_id HAVING COUNT(DISTINCT task_id) > 1)",
    )
    .bind(&pattern)
    .fetch_one(&mut *db)
    .await?;
    Ok(Tally { tasks, mails, shared })
}

/// The value below which `p` percent of the sorted values lie.
fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// The bare client's rate over the filled mailbox, in mails a second.
async fn baseline_rate(servers: &Servers, messages: usize) -> anyhow::Result<f64> {
    let (took, fetched) = baseline(servers).await?;
    anyhow::ensure!(
        fetched == messages,
        "the bare client fetched {fetched} of {messages} mails"
    );
    eprintln!("email: baseline fetched {fetched} mails in {:.3} s", took.as_secs_f64());
    Ok(messages as f64 / took.as_secs_f64())
}

/// keel running on the filled mailbox: its core, the adapter's task, and what it made.
struct Running {
    /// Holds the database and the adapter's state.
    _dir: tempfile::TempDir,
    core: Core,
    reader: tokio::task::JoinHandle<()>,
    sink: Arc<Timed>,
    db: SqliteConnection,
}

impl Running {
    /// Stops the adapter and the core, letting the writer commit what it holds.
    async fn stop(self) {
        self.reader.abort();
        let _ = self.reader.await;
        drop(self.db);
        self.core.stop().await;
    }
}

impl Core {
    /// Stops taking events, lets the writer commit what it holds, and closes the store.
    async fn stop(self) {
        self.ingest.close();
        drop(self.ingest);
        let _ = tokio::time::timeout(Duration::from_secs(30), self.writer).await;
        self.store.close().await;
    }
}

/// Starts keel on a fresh database with the adapter reading the mailbox, and waits until it
/// has made a task of each of the `messages` unread mails; returns it running, its rate in
/// mails a second, and the mails it lost and made twice.
async fn throughput(servers: &Servers, messages: usize) -> anyhow::Result<(Running, f64, i64, i64)> {
    let dir = tempfile::tempdir()?;
    let core = core(dir.path()).await?;
    let adapter = EmailAdapter::new(email_config(servers, &dir.path().join("email-state.json"))?)?;
    let mut db = observer(&core.url).await?;
    let started = Instant::now();
    let sink = Arc::new(Timed {
        ingest: core.ingest.clone(),
        started,
        handovers: Mutex::default(),
        handed: Mutex::default(),
    });
    let reader = adapter.start(sink.clone());
    let (took, tasks) = until_committed(&sink, &mut db, messages).await?;
    let per_s = tasks.min(messages as i64) as f64 / took.as_secs_f64();
    let filled = tally(&mut db, "fill").await?;
    let handed = sink.handovers();
    eprintln!(
        "email: keel made {tasks} tasks in {:.3} s ({} of the mails have one, {} on two tasks); \
         the adapter handed over the first mail at {:.3} s and {} by {:.3} s, keel committed the last by {:.3} s",
        took.as_secs_f64(),
        filled.mails,
        filled.shared,
        handed.first_called.unwrap_or_default().as_secs_f64(),
        handed.count,
        handed.last_called.as_secs_f64(),
        handed.last_returned.as_secs_f64()
    );
    let lost = messages as i64 - filled.mails;
    let duplicates = filled.tasks - filled.mails + filled.shared;
    let running = Running {
        _dir: dir,
        core,
        reader,
        sink,
        db,
    };
    Ok((running, per_s, lost, duplicates))
}

/// Waits until keel has flagged every mail it made a task of, stops it (`stop`), and marks the
/// mails unread again for the next round.
async fn next_round(servers: &Servers, stop: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let mut session = inbox(servers, tls_config(&servers.ca)?).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !session.uid_search("UNSEEN").await?.is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "keel left mails unflagged for 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.await;
    let _: Vec<async_imap::types::Fetch> = session
        .uid_store("1:*", "-FLAGS.SILENT (\\Seen)")
        .await?
        .try_collect()
        .await?;
    session.logout().await?;
    Ok(())
}

/// The middle value of a few (the upper one of the two in the middle of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs the four steps (see the module's doc) on one pair of servers and returns the JSON line.
pub async fn run(messages: usize) -> anyhow::Result<serde_json::Value> {
    // The process-wide TLS provider, for the clients that take the default one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let servers = Servers::start()?;
    eprintln!("email: mail servers in {}", servers.dir.path().display());
    let smtp = smtp(servers.smtp);

    let filling = Instant::now();
    let mails: Vec<Outgoing> = (0..messages).map(|i| client_mail(i, "fill")).collect();
    fill(&servers, &smtp, &mails, messages).await?;
    eprintln!(
        "email: {messages} mails delivered in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    // Dovecot builds its index and cache of new mails on their first read: a first read, not
    // counted, so that the bare client reads what keel reads, mails read before.
    let (warming, _) = baseline(&servers).await?;
    eprintln!("email: a first read took {:.3} s (not counted)", warming.as_secs_f64());
    let events = writer::record(&servers, messages).await?;
    // Rounds of the bare client and keel in turn, each keel on a fresh database, the mails
    // unread again between rounds; the last keel stays running for the paced mails.
    let (mut baselines, mut rates) = (Vec::new(), Vec::new());
    let (mut lost, mut duplicates) = (0, 0);
    let mut running = None;
    for round in 1..=ROUNDS {
        baselines.push(baseline_rate(&servers, messages).await?);
        let (keel, per_s, round_lost, round_duplicates) = throughput(&servers, messages).await?;
        rates.push(per_s);
        if round < ROUNDS {
            // The last round's are counted with the paced mails.
            lost += round_lost;
            duplicates += round_duplicates;
            next_round(&servers, keel.stop()).await?;
        } else {
            running = Some(keel);
        }
    }
    let mut keel = running.context("no round ran")?;
    let (baseline_per_s, per_s) = (median(baselines), median(rates));
    let mut alone = Vec::new();
    let mut cpu: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..ROUNDS {
        let run = writer::alone(&events).await?;
        alone.push(run.took.as_secs_f64());
        for (name, spent) in run.cpu {
            cpu.entry(name).or_default().push(spent.as_secs_f64() * 1e3);
        }
    }
    let shown: Vec<String> = alone.iter().map(|s| format!("{s:.3}")).collect();
    eprintln!(
        "email: the writer alone (the mails read first, then handed over at once) made {messages} tasks in {} s (median {:.3} s)",
        shown.join(", "),
        median(alone.clone())
    );
    let threads: Vec<String> = cpu
        .into_iter()
        .map(|(name, runs)| (name, median(runs)))
        .filter(|(_, ms)| *ms >= 0.5)
        .map(|(name, ms)| format!("{name} {ms:.1} ms"))
        .collect();
    eprintln!(
        "email: the writer alone's CPU time per run by thread (medians): {}",
        threads.join(", ")
    );

    let late: Vec<Outgoing> = (messages..messages + LATENCY_MAILS)
        .map(|i| client_mail(i, "late"))
        .collect();
    let times = latency(&servers, &smtp, &keel.core.url, late, LATENCY_PER_S).await?;
    let mut millis: Vec<f64> = times.iter().map(|t| (t.seen - t.sent) * 1000.0).collect();
    millis.sort_by(f64::total_cmp);
    eprintln!(
        "email: {} of {LATENCY_MAILS} paced mails became tasks; {}",
        millis.len(),
        shares(&times, &keel.sink.handed())
    );

    let all = tally(&mut keel.db, "").await?;
    lost += (messages + LATENCY_MAILS) as i64 - all.mails;
    duplicates += all.tasks - all.mails + all.shared;
    keel.stop().await;

    Ok(json!({
        "messages": messages,
        "per_s": super::round1(per_s),
        "baseline_per_s": super::round1(baseline_per_s),
        "ratio": super::round3(per_s / baseline_per_s),
        "p50_ms": super::round1(percentile(&millis, 50)),
        "p99_ms": super::round1(percentile(&millis, 99)),
        "lost": lost,
        "duplicates": duplicates,
    }))
}
