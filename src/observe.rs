//! What keel tells its operators: Prometheus metrics (`/metrics`) and the health report
//! (`/healthz`).
//!
//! The core counts through the `metrics` facade, which does nothing until a recorder is
//! installed: `keel run` installs the Prometheus one. Gauges that describe the database (outbox
//! depth and age, job lag) are read from it when scraped, so every replica reports the same.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Value};

use crate::store::Store;

/// Events handled for the first time, by adapter and kind (`message`, `command`, …).
pub const INBOUND_EVENTS: &str = "keel_inbound_events_total";
/// Events dropped as repeats of one already handled, by adapter.
pub const DUPLICATES: &str = "keel_inbound_duplicates_total";
/// Tasks created.
pub const TASKS_CREATED: &str = "keel_tasks_created_total";
/// Seconds from an event's arrival at the core to the commit of its transaction (`path` =
/// `direct`), or from the inbox processor taking it to that commit (`path` = `inbox`).
pub const HANDLE_SECONDS: &str = "keel_handle_seconds";
/// Events recorded in the inbox (Slack's, before they are answered), by adapter.
pub const INBOX_RECORDED: &str = "keel_inbox_recorded_total";
/// Inbox events keel gave up on (unreadable, or failing every attempt).
pub const INBOX_GIVEN_UP: &str = "keel_inbox_given_up_total";
/// Events waiting in the inbox: the `inbox` table, and this process's journal on SQLite.
pub const INBOX_DEPTH: &str = "keel_inbox_depth";
/// Messages delivered, by adapter.
pub const SENT: &str = "keel_outbox_sent_total";
/// Sends that failed and will be tried again, by adapter.
pub const RETRIES: &str = "keel_outbox_retries_total";
/// Messages given up on for good, by adapter.
pub const FAILURES: &str = "keel_outbox_failures_total";
/// Messages found already posted after keel stopped between sending and recording, by adapter.
pub const RECOVERED: &str = "keel_outbox_recovered_total";
/// Messages waiting to be sent, by adapter (read from the database when scraped).
pub const OUTBOX_DEPTH: &str = "keel_outbox_depth";
/// Age in seconds of the oldest message waiting, by adapter.
pub const OUTBOX_OLDEST: &str = "keel_outbox_oldest_age_seconds";
/// Messages given up (the platform refused them for good, or too often), by adapter: they wait
/// in the outbox for `keel outbox retry`.
pub const OUTBOX_DEAD: &str = "keel_outbox_dead_letters";
/// Scheduled jobs run, by kind.
pub const JOBS_RUN: &str = "keel_jobs_run_total";
/// Seconds between a job's due time and its run.
pub const JOB_DELAY: &str = "keel_job_delay_seconds";
/// Seconds the earliest due job has been waiting (0 when none is due).
pub const JOB_LAG: &str = "keel_job_lag_seconds";
/// 1 while the database answers.
pub const DATABASE_UP: &str = "keel_database_up";
/// 1 while an adapter's connection to its platform is up, by adapter.
pub const ADAPTER_UP: &str = "keel_adapter_up";

/// How long a health or metrics probe waits for the database.
const PROBE: Duration = Duration::from_secs(2);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls return the same one).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let latency = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let delay = [1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 86400.0];
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HANDLE_SECONDS.into()), &latency)?
        .set_buckets_for_metric(Matcher::Full(JOB_DELAY.into()), &delay)?
        .build_recorder();
    let handle = recorder.handle();
    match metrics::set_global_recorder(recorder) {
        Ok(()) => {
            describe();
            let _ = HANDLE.set(handle.clone());
            Ok(handle)
        }
        // Another recorder came first (a test harness): keel's figures go there.
        Err(_) => Ok(HANDLE.get_or_init(|| handle).clone()),
    }
}

/// How often [`upkeep`] folds recorded histogram samples into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// Keeps the recorder's memory bounded for as long as `keel run` runs: the Prometheus recorder
/// holds every histogram sample until a scrape or an upkeep folds it into bucket counts, so a
/// keel nobody scrapes would keep one per handled event for ever.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut every = tokio::time::interval(UPKEEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(INBOUND_EVENTS, "Events handled for the first time, by adapter and kind");
    describe_counter!(DUPLICATES, "Repeated events dropped, by adapter");
    describe_counter!(TASKS_CREATED, "Tasks created");
    describe_histogram!(
        HANDLE_SECONDS,
        Unit::Seconds,
        "From an event's arrival at the core to its commit"
    );
    describe_counter!(INBOX_RECORDED, "Events recorded in the inbox before they were answered");
    describe_counter!(INBOX_GIVEN_UP, "Inbox events given up on");
    describe_gauge!(INBOX_DEPTH, "Events recorded in the inbox and not handled yet");
    describe_counter!(SENT, "Messages delivered, by adapter");
    describe_counter!(RETRIES, "Sends that failed and will be tried again, by adapter");
    describe_counter!(FAILURES, "Messages given up on, by adapter");
    describe_counter!(
        RECOVERED,
        "Messages found already posted after a stop between sending and recording"
    );
    describe_gauge!(OUTBOX_DEPTH, "Messages waiting to be sent, by adapter");
    describe_gauge!(
        OUTBOX_DEAD,
        "Messages given up (keel outbox list --failed; keel outbox retry sends them again), by adapter"
    );
    describe_gauge!(
        OUTBOX_OLDEST,
        Unit::Seconds,
        "Age of the oldest message waiting, by adapter"
    );
    describe_counter!(JOBS_RUN, "Scheduled jobs run, by kind");
    describe_histogram!(JOB_DELAY, Unit::Seconds, "From a job's due time to its run");
    describe_gauge!(JOB_LAG, Unit::Seconds, "How long the earliest due job has waited");
    describe_gauge!(DATABASE_UP, "1 while the database answers");
    describe_gauge!(ADAPTER_UP, "1 while an adapter's connection to its platform is up");
}

/// The adapters whose connection is watched: name and link.
pub type Connections = Vec<(String, keel_chat::ConnectionState)>;

/// What `/healthz` and `/metrics` look at.
#[derive(Clone)]
pub struct Probe {
    pub store: Store,
    pub links: Connections,
    /// Events in this process's inbox journal not yet handled (the inbox table is counted by SQL).
    pub journal_waiting: std::sync::Arc<std::sync::atomic::AtomicI64>,
    pub prometheus: PrometheusHandle,
}

/// `/healthz` and `/metrics`, for keel's HTTP server.
pub fn router(probe: Probe) -> axum::Router {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    async fn healthz(axum::extract::State(probe): axum::extract::State<Probe>) -> axum::response::Response {
        let (database, report) = health(&probe.store, &probe.links).await;
        let status = if database {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, axum::Json(report)).into_response()
    }
    async fn scrape(axum::extract::State(probe): axum::extract::State<Probe>) -> axum::response::Response {
        // Operational figures run on the real clock, like the outbox.
        let now = crate::clock::Clock::now(&crate::clock::SystemClock).timestamp();
        let text = render(&probe, now).await;
        (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response()
    }
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(scrape))
        .with_state(probe)
}

/// What the database says about the outbox, the inbox and the jobs, for the gauges.
struct Backlog {
    outbox: Vec<crate::store::outbox::Depth>,
    dead: Vec<(String, i64)>,
    inbox: i64,
    earliest_job: Option<i64>,
}

async fn backlog(store: &Store) -> anyhow::Result<Backlog> {
    let outbox = crate::store::outbox::depth_by_adapter(store).await?;
    let dead = crate::store::outbox::failed_by_adapter(store).await?;
    let inbox = crate::store::inbox::in_table(store).await?;
    let mut conn = store.pool().acquire().await?;
    let earliest_job = crate::store::jobs::next_due(&mut conn).await?;
    Ok(Backlog {
        outbox,
        dead,
        inbox,
        earliest_job,
    })
}

/// Sets the gauges read from the database and the links, then renders every metric in
/// Prometheus's text format.
pub async fn render(probe: &Probe, now: i64) -> String {
    let links = &probe.links;
    let found = tokio::time::timeout(PROBE, backlog(&probe.store)).await;
    match found {
        Ok(Ok(b)) => {
            metrics::gauge!(DATABASE_UP).set(1.0);
            // Every watched adapter gets its gauges, 0 when nothing waits for it.
            let mut waiting: std::collections::BTreeMap<String, (i64, i64)> =
                links.iter().map(|(name, _)| (name.clone(), (0, now))).collect();
            waiting.extend(b.outbox.into_iter().map(|d| (d.adapter, (d.messages, d.oldest_at))));
            let mut dead: std::collections::BTreeMap<String, i64> =
                links.iter().map(|(name, _)| (name.clone(), 0)).collect();
            dead.extend(b.dead);
            for (adapter, (n, oldest)) in waiting {
                metrics::gauge!(OUTBOX_DEPTH, "adapter" => adapter.clone()).set(n as f64);
                metrics::gauge!(OUTBOX_OLDEST, "adapter" => adapter).set((now - oldest).max(0) as f64);
            }
            for (adapter, n) in dead {
                metrics::gauge!(OUTBOX_DEAD, "adapter" => adapter).set(n as f64);
            }
            metrics::gauge!(INBOX_DEPTH)
                .set((b.inbox + probe.journal_waiting.load(std::sync::atomic::Ordering::Relaxed).max(0)) as f64);
            let lag = b.earliest_job.map(|at| (now - at).max(0)).unwrap_or(0);
            metrics::gauge!(JOB_LAG).set(lag as f64);
        }
        _ => metrics::gauge!(DATABASE_UP).set(0.0),
    }
    for (adapter, link) in links {
        metrics::gauge!(ADAPTER_UP, "adapter" => adapter.clone()).set(if link.is_up() { 1.0 } else { 0.0 });
    }
    probe.prometheus.render()
}

/// The health report: whether the database answers (within 2 s) and each adapter's link. The
/// HTTP status is 200 while the database answers, 503 when it does not (keel can then neither
/// take nor send anything); a platform that is away makes the report `degraded`.
pub async fn health(store: &Store, links: &Connections) -> (bool, Value) {
    let database = matches!(tokio::time::timeout(PROBE, store.ping()).await, Ok(true));
    let mut adapters = serde_json::Map::new();
    let mut all_up = true;
    for (name, link) in links {
        let up = link.is_up();
        all_up &= up;
        let mut entry = json!({ "connected": up });
        if !up {
            entry["error"] = json!(link.why());
        }
        adapters.insert(name.clone(), entry);
    }
    let status = match (database, all_up) {
        (false, _) => "down",
        (true, false) => "degraded",
        (true, true) => "ok",
    };
    let report = json!({
        "status": status,
        "database": { "connected": database, "backend": match store.backend() {
            crate::store::Backend::Sqlite => "sqlite",
            crate::store::Backend::Postgres => "postgres",
        } },
        "adapters": adapters,
    });
    (database, report)
}
