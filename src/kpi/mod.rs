//! KPIs for a period, computed from the task event log (PRODUCT.md, "KPIs").
//!
//! Every query is bounded by the period (indexes on task creation, on event kind and time, on
//! touchpoint time, on answered surveys), so a week costs the same whatever the history's length.
//! Figures "at the end of the period" (backlog, owner load, silent clients) are taken at its end,
//! or now while it runs; a past period's backlog is rebuilt from the status events after it.

pub mod chart;
mod period;
pub mod report;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};

pub use period::Period;

use crate::config::SlaConfig;
use crate::domain::calendar::Calendar;
use crate::domain::Status;
use crate::store::kpi::{
    active_rows, changes_since, clients, created_in, escalated_tasks, first_done_before, logged_before, members,
    playbook_items_adapted, resolved_in, spare_connection, survey_answers, touched_clients, waiting_changes, Changed,
    Client, CreatedTask, Pool,
};
use crate::store::Conn;

/// What the KPIs are measured against.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The team's business hours (zone, hours, holidays).
    pub calendar: Calendar,
    pub sla: SlaConfig,
    /// Open tasks above which an owner is overloaded.
    pub overload_tasks: i64,
    /// Days without a touchpoint after which a client is silent.
    pub silent_client_days: i64,
}

impl Rules {
    /// The rules of these settings, with the team's holidays (configured and added in chat).
    pub fn new(settings: &crate::settings::Settings, holidays: std::collections::BTreeSet<chrono::NaiveDate>) -> Rules {
        let mut calendar = Calendar::new(settings.team_tz, settings.team_hours);
        calendar.holidays = holidays;
        Rules {
            calendar,
            sla: settings.sla.clone(),
            overload_tasks: settings.schedules.overload_tasks,
            silent_client_days: settings.schedules.silent_client_days,
        }
    }
}

/// A median and a p90 (nearest rank), in hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spread {
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub count: usize,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return Spread::default();
        }
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
        Spread {
            median: Some(median),
            p90: Some(values[rank - 1]),
            count: n,
        }
    }
}

/// One owner's load at the end of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerLoad {
    pub owner: String,
    pub open_tasks: i64,
    pub active_clients: i64,
}

/// Every KPI for one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub clients_at_start: i64,
    pub clients_retained: i64,
    pub retention_rate: Option<f64>,
    pub first_response_hours: Spread,
    pub resolution_hours: Spread,
    pub sla_decided: i64,
    pub sla_met: i64,
    pub sla_compliance: Option<f64>,
    pub backlog: i64,
    pub overdue: i64,
    pub nps_answers: i64,
    pub nps: Option<f64>,
    pub csat_answers: i64,
    pub csat: Option<f64>,
    pub onboarding_days: Option<f64>,
    pub onboarding_per_client: BTreeMap<String, f64>,
    pub tasks_created: i64,
    pub tasks_escalated: i64,
    pub escalation_rate: Option<f64>,
    pub owner_load: Vec<OwnerLoad>,
    pub overloaded_owners: Vec<String>,
    pub silent_clients: Vec<String>,
    pub sentiment: Option<f64>,
    pub sentiment_per_client: BTreeMap<String, f64>,
    pub template_trap: Vec<String>,
}

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

/// Computes the KPIs of `period` and of the period before it. With `spare`, a pool with a
/// connection to spare, the two periods are computed at once on two connections (each is a
/// handful of independent reads; a week at 1,000,000 tasks: SQLite 253 -> 149 ms, PostgreSQL
/// 218 -> 136 ms); otherwise one after the other on `conn`.
pub async fn report(
    conn: &mut Conn,
    spare: Option<&Pool>,
    rules: &Rules,
    period: &Period,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let tz = rules.calendar.tz;
    let previous_period = period.previous(tz);
    let clients = clients(conn).await?;
    let members = members(conn).await?;
    let second = match spare {
        Some(pool) => spare_connection(pool).await,
        None => None,
    };
    let earlier = second.map(|mut c| {
        let (rules, period, clients, members) =
            (rules.clone(), previous_period.clone(), clients.clone(), members.clone());
        tokio::spawn(async move { figures(&mut c, &rules, &period, now, &clients, &members).await })
    });
    let current = figures(conn, rules, period, now, &clients, &members).await?;
    let previous = match earlier {
        Some(task) => task.await??,
        None => figures(conn, rules, &previous_period, now, &clients, &members).await?,
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
        let f = figures(conn, rules, &week, now, &clients, &members).await?;
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

fn instant(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Business time as a running total: the team's working periods over a range, so the business
/// seconds between two instants are two binary searches instead of a walk over the days.
struct Clock {
    periods: Vec<(i64, i64)>,
    /// Business seconds before each period.
    before: Vec<i64>,
}

impl Clock {
    fn new(calendar: &Calendar, from: i64, to: i64) -> Clock {
        let periods: Vec<(i64, i64)> = calendar
            .periods_between(instant(from), instant(to))
            .into_iter()
            .map(|(s, e)| (s.timestamp(), e.timestamp()))
            .collect();
        let mut before = Vec::with_capacity(periods.len());
        let mut total = 0;
        for (s, e) in &periods {
            before.push(total);
            total += e - s;
        }
        Clock { periods, before }
    }

    /// Business seconds from the range's start to `t`.
    fn at(&self, t: i64) -> i64 {
        match self.periods.partition_point(|(s, _)| *s <= t) {
            0 => 0,
            k => self.before[k - 1] + (t.min(self.periods[k - 1].1) - self.periods[k - 1].0),
        }
    }

    /// Business seconds in `[from, to)`.
    fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            0
        } else {
            self.at(to) - self.at(from)
        }
    }
}

/// Business seconds a task spent waiting on the client before `until`.
fn waited(calendar: &Clock, events: Option<&Vec<(i64, Option<Status>)>>, until: i64) -> i64 {
    let mut total = 0;
    let mut since: Option<i64> = None;
    for (at, to) in events.into_iter().flatten() {
        if *at >= until {
            break;
        }
        if *to == Some(Status::Waiting) {
            since.get_or_insert(*at);
        } else if let Some(start) = since.take() {
            total += calendar.between(start, *at);
        }
    }
    if let Some(start) = since {
        total += calendar.between(start, until);
    }
    total
}

async fn figures(
    conn: &mut Conn,
    rules: &Rules,
    period: &Period,
    now: DateTime<Utc>,
    clients: &[Client],
    members: &HashMap<i64, String>,
) -> anyhow::Result<Figures> {
    let (from, to) = (period.from.timestamp(), period.to.timestamp());
    let as_of = period.as_of(now).timestamp();
    let hours = |s: i64| s as f64 / 3600.0;
    let mut f = Figures::default();

    // Retention: clients active at the start and not churned by the end.
    let at_start: Vec<&Client> = clients.iter().filter(|c| c.active_at(from)).collect();
    f.clients_at_start = at_start.len() as i64;
    f.clients_retained = at_start.iter().filter(|c| c.churned_at.is_none_or(|x| x >= to)).count() as i64;
    f.retention_rate = ratio(f.clients_retained, f.clients_at_start);

    // Tasks created in the period.
    let created = created_in(conn, from, to).await?;
    let requests: Vec<&CreatedTask> = created.iter().filter(|t| t.source != "playbook").collect();
    f.tasks_created = requests.len() as i64;

    // Resolutions in the period: the last `done` of each task.
    let mut resolved: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in resolved_in(conn, from, to).await? {
        resolved.insert(r.task_id, (r.done_at, r.created_at));
    }

    // Waiting pauses the resolution clock: the waiting spells of every task measured here.
    let client_requests: Vec<&&CreatedTask> = requests.iter().filter(|t| t.from_client).collect();
    let mut ids: Vec<i64> = resolved.keys().copied().collect();
    ids.extend(client_requests.iter().map(|t| t.id));
    ids.sort_unstable();
    ids.dedup();
    let waiting = waiting_changes(conn, &ids).await?;

    // One business clock over every instant measured here.
    let earliest = created
        .iter()
        .map(|t| t.created_at)
        .chain(resolved.values().map(|r| r.1))
        .chain(waiting.values().flatten().map(|(at, _)| *at))
        .fold(from, i64::min);
    let clock = Clock::new(&rules.calendar, earliest, to.max(as_of) + 1);
    let cal = &clock;
    f.first_response_hours = Spread::of(
        client_requests
            .iter()
            .filter_map(|t| {
                let answered = t.first_response_at.filter(|a| *a < to)?;
                Some(hours(cal.between(t.created_at, answered)))
            })
            .collect(),
    );
    f.resolution_hours = Spread::of(
        resolved
            .iter()
            .map(|(id, (done_at, created_at))| {
                let elapsed = cal.between(*created_at, *done_at);
                hours(elapsed - waited(cal, waiting.get(id), *done_at))
            })
            .collect(),
    );

    // SLA compliance of the client requests created in the period, once both targets are decided.
    let mut done_at: HashMap<i64, i64> = resolved.iter().map(|(id, (at, _))| (*id, *at)).collect();
    let undone: Vec<i64> = client_requests
        .iter()
        .map(|t| t.id)
        .filter(|id| !done_at.contains_key(id))
        .collect();
    done_at.extend(first_done_before(conn, &undone, as_of).await?);
    for t in &client_requests {
        let start = t.created_at;
        let first_target = rules.sla.first_response_hours.seconds(t.priority);
        let first = match t.first_response_at.filter(|a| *a <= as_of) {
            Some(a) => Some(cal.between(start, a) <= first_target),
            None => (cal.between(start, as_of) > first_target).then_some(false),
        };
        let resolution_target = rules.sla.resolution_hours.seconds(t.priority);
        let until = done_at.get(&t.id).copied().filter(|d| *d <= as_of);
        let end = until.unwrap_or(as_of);
        let used = cal.between(start, end) - waited(cal, waiting.get(&t.id), end);
        let resolution = match until {
            Some(_) => Some(used <= resolution_target),
            None => (used > resolution_target).then_some(false),
        };
        if let (Some(first), Some(resolution)) = (first, resolution) {
            f.sla_decided += 1;
            f.sla_met += i64::from(first && resolution);
        }
    }
    f.sla_compliance = ratio(f.sla_met, f.sla_decided);

    // Backlog at the end: tasks open then, rebuilt from the status events after it.
    let open = open_at(conn, as_of).await?;
    f.backlog = open.len() as i64;
    f.overdue = open.iter().filter(|t| t.due_at.is_some_and(|d| d < as_of)).count() as i64;

    // Surveys answered in the period.
    let answers = survey_answers(conn, from, to).await?;
    let (mut promoters, mut detractors, mut thumbs_up) = (0, 0, 0);
    for answer in &answers {
        let Some(score) = answer.score else { continue };
        match answer.kind.as_str() {
            "nps" => {
                f.nps_answers += 1;
                promoters += i64::from(score >= 9);
                detractors += i64::from(score <= 6);
            }
            "csat" => {
                f.csat_answers += 1;
                thumbs_up += i64::from(score > 0);
            }
            _ => {}
        }
    }
    f.nps = ratio(promoters - detractors, f.nps_answers).map(|r| (r * 1000.0).round() / 10.0);
    f.csat = ratio(thumbs_up, f.csat_answers);

    // Onboarding: signed to live, for clients that went live in the period.
    for c in clients {
        if let (Some(signed), Some(live)) = (c.signed_at, c.live_at) {
            if (from..to).contains(&live) {
                let days = (live - signed) as f64 / 86_400.0;
                f.onboarding_per_client
                    .insert(c.key.clone(), (days * 10.0).round() / 10.0);
            }
        }
    }
    f.onboarding_days = Spread::of(f.onboarding_per_client.values().copied().collect()).median;

    // Escalated tasks (in the period) per task created.
    f.tasks_escalated = escalated_tasks(conn, from, to).await?;
    f.escalation_rate = ratio(f.tasks_escalated, f.tasks_created);

    // Owner load at the end: open tasks and active clients per owner.
    let mut load: BTreeMap<String, OwnerLoad> = BTreeMap::new();
    for t in &open {
        if let Some(o) = t.owner_id {
            owner_entry(&mut load, members, o).open_tasks += 1;
        }
    }
    for c in clients.iter().filter(|c| c.active_at(as_of)) {
        if let Some(o) = c.owner_id {
            owner_entry(&mut load, members, o).active_clients += 1;
        }
    }
    f.owner_load = load.into_values().collect();
    f.overloaded_owners = f
        .owner_load
        .iter()
        .filter(|l| l.open_tasks > rules.overload_tasks)
        .map(|l| l.owner.clone())
        .collect();

    // Silent clients at the end: active, known for the whole window, and no touchpoint in it.
    let window = rules.silent_client_days * 86_400;
    let touched = touched_clients(conn, as_of - window, as_of).await?;
    f.silent_clients = clients
        .iter()
        .filter(|c| c.active_at(as_of) && c.created_at <= as_of - window && !touched.contains(&c.id))
        .map(|c| c.key.clone())
        .collect();

    // Sentiment: the mean of client requests' scores, per client.
    let keys: HashMap<i64, &str> = clients.iter().map(|c| (c.id, c.key.as_str())).collect();
    let mut per_client: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut all = (0.0, 0usize);
    for t in &client_requests {
        all.0 += t.sentiment;
        all.1 += 1;
        if let Some(key) = t.client_id.and_then(|id| keys.get(&id)) {
            let e = per_client.entry(key.to_string()).or_default();
            e.0 += t.sentiment;
            e.1 += 1;
        }
    }
    let mean = |(sum, n): (f64, usize)| (sum / n as f64 * 1000.0).round() / 1000.0;
    f.sentiment = (all.1 > 0).then(|| mean(all));
    f.sentiment_per_client = per_client.into_iter().map(|(k, v)| (k, mean(v))).collect();

    // Template trap: clients onboarding in the period whose playbook tasks nobody adapted.
    for c in clients {
        let onboarding = c.signed_at.is_some_and(|s| s < to) && c.live_at.is_none_or(|l| l >= from);
        if !onboarding {
            continue;
        }
        let (items, adapted) = playbook_items_adapted(conn, c.id, as_of).await?;
        if items > 0 && adapted == 0 {
            f.template_trap.push(c.key.clone());
        }
    }
    Ok(f)
}

fn owner_entry<'a>(
    load: &'a mut BTreeMap<String, OwnerLoad>,
    members: &HashMap<i64, String>,
    id: i64,
) -> &'a mut OwnerLoad {
    let name = members.get(&id).cloned().unwrap_or_else(|| format!("member {id}"));
    load.entry(name.clone()).or_insert(OwnerLoad {
        owner: name,
        open_tasks: 0,
        active_clients: 0,
    })
}

/// A task open at some instant.
struct OpenTask {
    owner_id: Option<i64>,
    due_at: Option<i64>,
}

/// Tasks open (open, in progress or waiting) at `at`. A task whose status and due date have not
/// changed since `at` is as its row says. For the tasks changed since (few, for a recent `at`),
/// one read of the changes tells the rest: a status event records the status it left, so the
/// first one after `at` says what the status was then; only a task whose due date changed since
/// is looked up in its log before `at`.
async fn open_at(conn: &mut Conn, at: i64) -> anyhow::Result<Vec<OpenTask>> {
    /// What the changes since `at` tell of a task then.
    struct Then {
        /// The row's status, until the first status change since `at` says where it came from.
        status: Option<Status>,
        status_seen: bool,
        /// Its log before `at` must be read: its due date changed since (or a status change
        /// did not say where it came from).
        look_up: bool,
        owner_id: Option<i64>,
        due_at: Option<i64>,
    }
    let mut then: BTreeMap<i64, Then> = BTreeMap::new();
    for change in changes_since(conn, at).await? {
        let entry = then.entry(change.task_id).or_insert_with(|| Then {
            status: change.status,
            status_seen: false,
            look_up: false,
            owner_id: change.owner_id,
            due_at: change.due_at,
        });
        match change.changed {
            Changed::Status(from) if !entry.status_seen => {
                entry.status_seen = true;
                entry.status = from;
                entry.look_up |= entry.status.is_none();
            }
            Changed::Due => entry.look_up = true,
            Changed::Status(_) => {}
        }
    }
    let mut out: Vec<OpenTask> = active_rows(conn, at)
        .await?
        .into_iter()
        .filter(|row| !then.contains_key(&row.id))
        .map(|row| OpenTask {
            owner_id: row.owner_id,
            due_at: row.due_at,
        })
        .collect();
    let mut look_up = Vec::new();
    for (id, t) in &then {
        if t.look_up {
            look_up.push(*id);
        } else if t.status.is_some_and(Status::is_active) {
            out.push(OpenTask {
                owner_id: t.owner_id,
                due_at: t.due_at,
            });
        }
    }
    for task in logged_before(conn, &look_up, at).await? {
        if task.status.unwrap_or(Status::Open).is_active() {
            out.push(OpenTask {
                owner_id: task.owner_id,
                due_at: task.due_at,
            });
        }
    }
    Ok(out)
}
