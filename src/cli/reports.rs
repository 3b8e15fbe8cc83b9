//! The commands that read and print: `kpi`, `tasks list`, `clients list`, `export events`,
//! `config check`, `verify`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::app;
use super::args::{Format, KpiFormat, VerifyFormat};
use super::failure::{environment, failed, shown, Failure};
use super::render::{cell, record, rfc3339, write_csv, write_table, ClientRecord, EventLine, TaskRecord, TASK_FIELDS};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::Status;
use crate::store::tasks::{self, Filter};
use crate::store::{people, redact_url, Store};

/// `keel kpi`: the report for a period in text, JSON or CSV.
pub(super) async fn kpi(
    config: &Config,
    clock: Arc<dyn Clock>,
    range: (Option<String>, Option<String>, Option<String>),
    format: KpiFormat,
    chart: Option<PathBuf>,
) -> Result<(), Failure> {
    let keel = app::core(config, clock.clone()).await?;
    let store = keel.store.clone();
    let now = clock.now();
    let tz = keel.settings.team_tz;
    let day = |s: &str| {
        chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| failed(format!("\"{}\" is not a date (YYYY-MM-DD)", shown(s))))
    };
    let period = match range {
        (Some(from), Some(to), None) => crate::kpi::Period::days(day(&from)?, day(&to)?, tz).map_err(failed)?,
        (None, None, Some(week)) => crate::kpi::Period::iso_week(&week, tz).map_err(failed)?,
        _ => crate::kpi::Period::last_week(now, tz),
    };
    let mut conn = store.pool().acquire().await.map_err(anyhow::Error::from)?;
    let rules = crate::service::kpi::rules(&keel, &mut conn).await?;
    let report = crate::kpi::report(&mut conn, Some(store.pool()), &rules, &period, now).await?;
    if let Some(file) = chart {
        let png = crate::kpi::chart_png(&mut conn, &rules, &report, now, &keel.chart_weeks).await?;
        std::fs::write(&file, png)
            .map_err(|e| environment(format!("cannot write the chart to {}: {e}", file.display())))?;
    }
    drop(conn);
    let out = match format {
        KpiFormat::Text => format!("{}\n", report.to_text()),
        KpiFormat::Json => format!("{}\n", report.to_json()),
        KpiFormat::Csv => report.to_csv(),
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| environment(format!("writing output: {e}")))?;
    store.close().await;
    Ok(())
}

pub(super) async fn tasks_list(
    store: &Store,
    status: Option<String>,
    client: Option<String>,
    owner: Option<String>,
    format: Format,
) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let mut filter = Filter::default();
    if let Some(s) = status {
        filter.statuses = match s.as_str() {
            "active" => vec![Status::Open, Status::InProgress, Status::Waiting],
            // Every status: the same as no filter, spelled out as `list all` is in chat.
            "all" => Vec::new(),
            _ => vec![s.parse::<Status>().map_err(|_| {
                failed(format!(
                    "\"{}\" is not a status (try open, in-progress, waiting, done, cancelled, active or all)",
                    shown(&s)
                ))
            })?],
        };
    }
    if let Some(key) = client {
        let c = people::client_by_key(&mut conn, &key.to_lowercase()).await?;
        filter.client_id = Some(
            c.ok_or_else(|| failed(format!("there is no client \"{}\"", shown(&key))))?
                .id,
        );
    }
    if let Some(name) = owner {
        let m = people::member_by_reference(&mut conn, "console", name.trim_start_matches('@')).await?;
        filter.owner_id = Some(
            m.ok_or_else(|| failed(format!("there is no team member \"{}\"", shown(&name))))?
                .id,
        );
    }
    let found = tasks::list(&mut conn, &filter).await?;
    let rows: Vec<Value> = found.iter().map(|v| record(&TaskRecord::of(v))).collect();
    let table = ["id", "status", "priority", "client", "owner", "due_at", "title"];
    let header = ["ID", "STATUS", "PRIORITY", "CLIENT", "OWNER", "DUE", "TITLE"];
    print_records(format, &rows, &TASK_FIELDS, (&table, &header))
}

pub(super) async fn clients_list(store: &Store, format: Format) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let clients = people::clients(&mut conn).await?;
    let mut rows = Vec::new();
    for c in &clients {
        let owner = match c.owner_id {
            Some(id) => people::member_by_id(&mut conn, id).await?.map(|m| m.name),
            None => None,
        };
        let open = tasks::active_for_client(&mut conn, c.id).await?;
        rows.push(record(&ClientRecord {
            key: c.key.clone(),
            name: c.name.clone(),
            owner,
            open_tasks: open,
            contract_signed_at: rfc3339(c.contract_signed_at),
            go_live_at: rfc3339(c.go_live_at),
            churned_at: rfc3339(c.churned_at),
            last_touch_at: rfc3339(c.last_touch_at),
        }));
    }
    let fields = [
        "key",
        "name",
        "owner",
        "open_tasks",
        "contract_signed_at",
        "go_live_at",
        "churned_at",
        "last_touch_at",
    ];
    print_records(
        format,
        &rows,
        &fields,
        (&fields[..5], &["KEY", "NAME", "OWNER", "OPEN", "SIGNED"]),
    )
}

/// Prints records on stdout: a pretty JSON array, CSV with every field, or a table of the
/// `table` fields under their headers.
pub(super) fn print_records(
    format: Format,
    rows: &[Value],
    fields: &[&str],
    table: (&[&str], &[&str]),
) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, rows)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
        Format::Csv => write_csv(&mut out, fields, rows),
        Format::Table => {
            let (columns, header) = table;
            let lines: Vec<Vec<String>> = rows
                .iter()
                .map(|r| columns.iter().map(|f| cell(&r[*f])).collect())
                .collect();
            write_table(&mut out, header, &lines)
        }
    };
    written.map_err(|e| environment(format!("writing output: {e}")))
}

pub(super) async fn export_events(store: &Store) -> Result<(), Failure> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| environment(format!("database: {e}")))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = 0;
    loop {
        let page = tasks::events_after(&mut conn, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in &page {
            let line = record(&EventLine {
                id: e.id,
                task: e.task_id,
                at: rfc3339(Some(e.at)),
                kind: e.event.kind(),
                actor: e.actor.clone(),
                data: e.event.data(),
            });
            writeln!(out, "{line}").map_err(|e| environment(format!("writing output: {e}")))?;
        }
    }
    out.flush().map_err(|e| environment(format!("writing output: {e}")))
}

pub(super) async fn config_check(config: &Config) -> Result<(), Failure> {
    let problems = config.problems();
    for p in &problems {
        eprintln!("{p}");
    }
    if !problems.is_empty() {
        return Err(environment(format!(
            "{} problem(s) in the configuration",
            problems.len()
        )));
    }
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| environment(e.to_string()))?;
    store.close().await;
    let matrix = config
        .matrix
        .as_ref()
        .map(|m| format!(", matrix {} on {}", m.user, m.homeserver))
        .unwrap_or_default();
    println!(
        "configuration ok: database {}, team time zone {}, business hours {}{matrix}",
        redact_url(&config.database_url),
        config.team.timezone,
        config.team.hours
    );
    Ok(())
}

/// `keel verify`: the log replayed against the tasks table; exit 1 when they differ.
pub(super) async fn verify(store: &Store, format: VerifyFormat) -> Result<(), Failure> {
    let report = crate::verify::verify(store).await?;
    let mut out = std::io::stdout().lock();
    match format {
        VerifyFormat::Json => {
            let line = serde_json::to_string(&report).map_err(|e| environment(e.to_string()))?;
            writeln!(out, "{line}").map_err(|e| environment(e.to_string()))?;
        }
        VerifyFormat::Text => {
            for d in &report.differences {
                writeln!(
                    out,
                    "#{} {}: table {}, replayed {}",
                    d.task, d.field, d.table, d.replayed
                )
                .map_err(|e| environment(e.to_string()))?;
            }
            if report.differences.is_empty() {
                writeln!(
                    out,
                    "{} tasks, {} events: the tasks table is what the log says",
                    report.tasks, report.events
                )
                .map_err(|e| environment(e.to_string()))?;
            }
        }
    }
    if report.differences.is_empty() {
        return Ok(());
    }
    let tasks: std::collections::BTreeSet<i64> = report.differences.iter().map(|d| d.task).collect();
    Err(failed(format!(
        "{} differences in {} of {} tasks between the tasks table and its log",
        report.differences.len(),
        tasks.len(),
        report.tasks
    )))
}
