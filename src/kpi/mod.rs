//! KPIs for a period, computed from the task event log (PRODUCT.md, "KPIs").
//!
//! Every read (`store::kpi`) is bounded by the period, so a week costs the same whatever the
//! history's length. Figures "at the end of the period" (backlog, owner load, silent clients)
//! are taken at its end, or now while it runs.

mod business_clock;
pub mod chart;
mod figures;
mod period;
pub mod report;
mod rules;

use chrono::{DateTime, Utc};

pub use figures::{Figures, OwnerLoad, Spread};
pub use period::Period;
pub use rules::Rules;

use crate::store::kpi::{clients, members, spare_connection, Pool};
use crate::store::Conn;

/// A period's figures with the previous period's.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub period: Period,
    pub previous_period: Period,
    pub as_of: DateTime<Utc>,
    pub current: Figures,
    pub previous: Figures,
    /// Days without a touchpoint after which a client counts as silent.
    pub silent_client_days: i64,
}

/// The instants `period`'s figures are measured at when it is `now`.
fn span(period: &Period, now: DateTime<Utc>) -> figures::Span {
    figures::Span {
        from: period.from.timestamp(),
        to: period.to.timestamp(),
        as_of: period.as_of(now).timestamp(),
    }
}

/// Computes the KPIs of `period` and of the period before it: at once on two connections when
/// `spare` has one to spare (each is a handful of independent reads), else one after the other.
pub async fn report(
    conn: &mut Conn,
    spare: Option<&Pool>,
    rules: &Rules,
    period: &Period,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let previous_period = period.previous(rules.calendar.tz);
    let clients = clients(conn).await?;
    let members = members(conn).await?;
    let second = match spare {
        Some(pool) => spare_connection(pool).await,
        None => None,
    };
    let earlier = second.map(|mut c| {
        let (rules, span, clients, members) = (
            rules.clone(),
            span(&previous_period, now),
            clients.clone(),
            members.clone(),
        );
        tokio::spawn(async move { figures::figures(&mut c, &rules, &span, &clients, &members).await })
    });
    let current = figures::figures(conn, rules, &span(period, now), &clients, &members).await?;
    let previous = match earlier {
        Some(task) => task.await??,
        None => figures::figures(conn, rules, &span(&previous_period, now), &clients, &members).await?,
    };
    Ok(Report {
        period: period.clone(),
        previous_period,
        as_of: period.as_of(now),
        current,
        previous,
        silent_client_days: rules.silent_client_days,
    })
}

/// The chart's data: the 8 weeks ending on the report's last day, and the report's owner load.
pub async fn chart_data(
    conn: &mut Conn,
    rules: &Rules,
    report: &Report,
    now: DateTime<Utc>,
) -> anyhow::Result<chart::ChartData> {
    let tz = rules.calendar.tz;
    let clients = clients(conn).await?;
    let members = members(conn).await?;
    let mut weeks = Vec::new();
    for back in (0..8).rev() {
        let last = report.period.last - chrono::Duration::days(7 * back);
        let Ok(week) = Period::days(last - chrono::Duration::days(6), last, tz) else {
            continue;
        };
        // The report's own periods are measured already.
        let measured;
        let f = if week == report.period {
            &report.current
        } else if week == report.previous_period {
            &report.previous
        } else {
            measured = figures::figures(conn, rules, &span(&week, now), &clients, &members).await?;
            &measured
        };
        weeks.push(chart::Week {
            label: week.first.format("%-d %b").to_string(),
            resolution_median: f.resolution_hours.median,
            backlog: f.backlog,
            overdue: f.overdue,
            nps: f.nps,
        });
    }
    Ok(chart::ChartData {
        title: format!("keel — client service, {}", report.period.label()),
        weeks,
        load: report
            .current
            .owner_load
            .iter()
            .map(|l| (l.owner.clone(), l.open_tasks))
            .collect(),
        overload: rules.overload_tasks,
    })
}

/// The report's chart as PNG bytes.
pub async fn chart_png(conn: &mut Conn, rules: &Rules, report: &Report, now: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    let data = chart_data(conn, rules, report, now).await?;
    chart::render(&data)
}

/// The report's chart as an SVG document, drawn as the PNG is.
pub async fn chart_svg(conn: &mut Conn, rules: &Rules, report: &Report, now: DateTime<Utc>) -> anyhow::Result<String> {
    let data = chart_data(conn, rules, report, now).await?;
    chart::render_svg(&data)
}
