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

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

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

/// The most weeks a `WeekCache` keeps: ten years.
const CACHED_WEEKS: usize = 520;

/// Chart weeks measured already. A week that ended more than a day ago keeps its figures: the
/// log grows only at the present (a late delivery is at most minutes late), so its resolutions,
/// backlog and answers are settled. The key holds the business calendar too (zone, hours,
/// holidays): a holiday added later measures the week again.
#[derive(Default)]
pub struct WeekCache(Mutex<HashMap<(NaiveDate, NaiveDate, u64), chart::Week>>);

impl WeekCache {
    fn key(week: &Period, rules: &Rules) -> (NaiveDate, NaiveDate, u64) {
        let mut hasher = DefaultHasher::new();
        format!("{:?}", rules.calendar).hash(&mut hasher);
        (week.first, week.last, hasher.finish())
    }

    fn get(&self, week: &Period, rules: &Rules) -> Option<chart::Week> {
        let weeks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        weeks.get(&Self::key(week, rules)).cloned()
    }

    fn keep(&self, week: &Period, rules: &Rules, now: DateTime<Utc>, measured: &chart::Week) {
        if week.to > now - chrono::Duration::days(1) {
            return;
        }
        let mut weeks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if weeks.len() >= CACHED_WEEKS {
            weeks.clear();
        }
        weeks.insert(Self::key(week, rules), measured.clone());
    }
}

/// The chart's data: the 8 weeks ending on the report's last day, and the report's owner load.
/// Weeks settled long enough come from `cache`, and go into it once measured.
pub async fn chart_data(
    conn: &mut Conn,
    rules: &Rules,
    report: &Report,
    now: DateTime<Utc>,
    cache: &WeekCache,
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
        if let Some(known) = cache.get(&week, rules) {
            weeks.push(known);
            continue;
        }
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
        let point = chart::Week {
            label: week.first.format("%-d %b").to_string(),
            resolution_median: f.resolution_hours.median,
            backlog: f.backlog,
            overdue: f.overdue,
            nps: f.nps,
        };
        cache.keep(&week, rules, now, &point);
        weeks.push(point);
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
pub async fn chart_png(
    conn: &mut Conn,
    rules: &Rules,
    report: &Report,
    now: DateTime<Utc>,
    cache: &WeekCache,
) -> anyhow::Result<Vec<u8>> {
    let data = chart_data(conn, rules, report, now, cache).await?;
    chart::render(&data)
}

/// The report's chart as an SVG document, drawn as the PNG is.
pub async fn chart_svg(
    conn: &mut Conn,
    rules: &Rules,
    report: &Report,
    now: DateTime<Utc>,
    cache: &WeekCache,
) -> anyhow::Result<String> {
    let data = chart_data(conn, rules, report, now, cache).await?;
    chart::render_svg(&data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::SlaBook;
    use crate::settings::Settings;

    #[test]
    fn only_settled_weeks_are_kept_and_a_new_holiday_measures_again() {
        let settings = Settings::default();
        let tz = settings.team_tz;
        let rules = Rules::new(&settings, Default::default(), SlaBook::new(settings.sla.targets()));
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).expect("a date");
        let week = Period::days(day(16), day(22), tz).expect("a week");
        let point = chart::Week {
            label: "16 Nov".into(),
            resolution_median: Some(2.5),
            backlog: 7,
            overdue: 1,
            nps: None,
        };
        let cache = WeekCache::default();
        // Ended 12 hours ago: not settled, not kept.
        cache.keep(&week, &rules, week.to + chrono::Duration::hours(12), &point);
        assert_eq!(cache.get(&week, &rules), None);
        cache.keep(&week, &rules, week.to + chrono::Duration::hours(25), &point);
        assert_eq!(cache.get(&week, &rules), Some(point));
        let mut with_holiday = rules.clone();
        with_holiday.calendar.holidays.insert(day(18));
        assert_eq!(cache.get(&week, &with_holiday), None);
    }
}
