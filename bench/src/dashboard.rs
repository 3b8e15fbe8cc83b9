//! `keel-bench dashboard --tasks N --backend sqlite|postgres`: the dashboard's server time with N
//! tasks and their events (two years at 1,000,000; the data of `keel-bench kpi`). Each page is
//! asked of the real router, in process, with a signed-in session, and timed until its whole body
//! is built: the overview (the week's KPI report and the 8-week chart), a task list filtered to
//! one client's active work sorted by due date, and a task page (card, SLA clocks, timeline) of a
//! different task each time; and, not among the targets, the clients page. The baselines, from the same run and database: the week's KPI
//! report alone, and a bare query for 50 tasks by id.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{TimeZone, Utc};
use keel::clock::FixedClock;
use keel::kpi::{self, Period, Rules};
use keel::service::dashboard::{link_for, sign_in};
use keel::service::{Keel, Settings};
use keel::store::people;
use serde_json::json;
use tower::ServiceExt;

use super::{kpi as data, Backend};

/// Timed task lists and task pages: 1,000, so the p99 is the tenth slowest, not one pause of
/// the machine's.
const SAMPLES: i64 = 1_000;
/// Timed overviews (and KPI weeks alone), each about 100 ms at 1,000,000 tasks.
const OVERVIEWS: usize = 60;

/// Times of one page, sorted: (p50, p99) in milliseconds.
fn percentiles(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (super::round3(at(0.5)), super::round3(at(0.99)))
}

/// One GET through the router: its time in milliseconds, after checking it is a full page.
async fn page(app: &axum::Router, path: &str, cookie: &str, expect: &str) -> anyhow::Result<f64> {
    let request = Request::get(path).header(header::COOKIE, cookie).body(Body::empty())?;
    let started = Instant::now();
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24).await?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let text = String::from_utf8_lossy(&body);
    anyhow::ensure!(
        status == StatusCode::OK && text.contains(expect),
        "{path}: {status}, no {expect:?} in {} bytes",
        text.len()
    );
    Ok(elapsed)
}

pub async fn run(backend: Backend, tasks: i64, postgres: &str) -> anyhow::Result<serde_json::Value> {
    let (db, store, events) = data::filled(backend, tasks, postgres).await?;
    let now = Utc.timestamp_opt(data::end(), 0).single().unwrap_or_default();
    let settings = Settings::default();
    let keel = Keel::new(store.clone(), Arc::new(FixedClock(now)), settings.clone());
    let member = {
        let mut conn = store.pool().acquire().await?;
        people::members(&mut conn)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no member"))?
    };
    let link = {
        let mut conn = store.writer().acquire().await?;
        link_for(&mut conn, &keel, &member, now.timestamp()).await?
    };
    let token = link.rsplit('/').next().unwrap_or_default();
    let session = sign_in(&keel, token, now.timestamp())
        .await?
        .map_err(|_| anyhow::anyhow!("the link did not sign in"))?;
    let cookie = format!("keel_session={session}");
    let app = keel::web::router(keel.clone());

    // Warm up once: the overview's settled chart weeks, and every pooled connection's prepared
    // statements (a task list and a task page on tasks the timed runs do not open).
    page(&app, "/dashboard", &cookie, "<svg").await?;
    for i in 0..100_i64 {
        let path = format!("/dashboard/tasks?client=client{}&sort=due", 1 + (i * 37) % 200);
        page(&app, &path, &cookie, "role=\"status\"").await?;
        let id = tasks - i * 13 % tasks;
        page(&app, &format!("/dashboard/tasks/{id}"), &cookie, "Timeline").await?;
    }
    let mut overview = Vec::new();
    for _ in 0..OVERVIEWS {
        overview.push(page(&app, "/dashboard", &cookie, "<svg").await?);
    }
    let mut list = Vec::new();
    for i in 0..SAMPLES {
        let path = format!("/dashboard/tasks?client=client{}&sort=due", 1 + i % 200);
        list.push(page(&app, &path, &cookie, "role=\"status\"").await?);
    }
    let mut task = Vec::new();
    for i in 0..SAMPLES {
        let id = 1 + (i * 7_919) % tasks;
        task.push(page(&app, &format!("/dashboard/tasks/{id}"), &cookie, "Timeline").await?);
    }

    // Baselines on the same database.
    let team_sla = keel::domain::sla::SlaBook::new(settings.sla.targets());
    let rules = Rules::new(&settings, settings.holidays.clone(), team_sla);
    let week = Period::trailing(now, settings.team_tz, 7);
    let mut report = Vec::new();
    for _ in 0..OVERVIEWS {
        let mut conn = store.pool().acquire().await?;
        let started = Instant::now();
        kpi::report(&mut conn, Some(store.pool()), &rules, &week, now).await?;
        report.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let mut bare = Vec::new();
    for i in 0..SAMPLES {
        let mut conn = store.pool().acquire().await?;
        let started = Instant::now();
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, title FROM tasks WHERE id > $1 ORDER BY id LIMIT 50")
            .bind((i * 7_919) % tasks)
            .fetch_all(&mut *conn)
            .await?;
        anyhow::ensure!(!rows.is_empty(), "no rows");
        bare.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The clients page (a 90-day report), fewer times: it is not among the targets.
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(page(&app, "/dashboard/clients", &cookie, "Client 1").await?);
    }
    // And the overview again after it: does the 90-day read leave it slower?
    let mut after = Vec::new();
    for _ in 0..20 {
        after.push(page(&app, "/dashboard", &cookie, "<svg").await?);
    }

    store.close().await;
    db.cleanup().await;

    let (overview_p50, overview_p99) = percentiles(overview);
    let (list_p50, list_p99) = percentiles(list);
    let (task_p50, task_p99) = percentiles(task);
    let (report_p50, _) = percentiles(report);
    let (bare_p50, _) = percentiles(bare);
    let (clients_p50, _) = percentiles(clients);
    let (after_p50, _) = percentiles(after);
    Ok(json!({
        "backend": match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" },
        "tasks": tasks,
        "events": events,
        "overview_p50_ms": overview_p50,
        "overview_p99_ms": overview_p99,
        "list_p50_ms": list_p50,
        "list_p99_ms": list_p99,
        "task_p50_ms": task_p50,
        "task_p99_ms": task_p99,
        "clients_p50_ms": clients_p50,
        "overview_after_clients_p50_ms": after_p50,
        "baseline_kpi_week_p50_ms": report_p50,
        "baseline_bare_50_tasks_p50_ms": bare_p50,
    }))
}
