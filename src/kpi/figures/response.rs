//! First response, resolution and SLA compliance. They share one business clock and the spells
//! a task waited on the client, which do not count against the team.

use std::collections::{BTreeMap, HashMap};

use super::span::Span;
use super::stats::{ratio, Spread};
use crate::domain::Status;
use crate::kpi::business_clock::BusinessClock;
use crate::kpi::rules::Rules;
use crate::store::kpi::{first_done_before, resolved_in, waiting_changes, CreatedTask};
use crate::store::Conn;

pub(super) struct Response {
    pub first_response_hours: Spread,
    pub resolution_hours: Spread,
    pub sla_decided: i64,
    pub sla_met: i64,
    pub sla_compliance: Option<f64>,
    /// By client id: requests with both targets decided, and how many met both.
    pub sla_per_client: BTreeMap<i64, (i64, i64)>,
}

/// Each task's changes into and out of `waiting`, `(at, to)` in order.
type Waiting = HashMap<i64, Vec<(i64, Option<Status>)>>;

fn hours(seconds: i64) -> f64 {
    seconds as f64 / 3600.0
}

/// The figures of the tasks `created` in the span, of which `client_requests` are the
/// requests from clients.
pub(super) async fn response(
    conn: &mut Conn,
    rules: &Rules,
    span: &Span,
    created: &[CreatedTask],
    client_requests: &[&CreatedTask],
) -> anyhow::Result<Response> {
    // Resolutions in the period: the last `done` of each task, `(done at, created at)`.
    let mut resolved: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in resolved_in(conn, span.from, span.to).await? {
        resolved.insert(r.task_id, (r.done_at, r.created_at));
    }
    let mut ids: Vec<i64> = resolved.keys().copied().collect();
    ids.extend(client_requests.iter().map(|t| t.id));
    ids.sort_unstable();
    ids.dedup();
    let waiting = waiting_changes(conn, &ids).await?;

    // One clock over every instant measured here.
    let earliest = created
        .iter()
        .map(|t| t.created_at)
        .chain(resolved.values().map(|r| r.1))
        .chain(waiting.values().flatten().map(|(at, _)| *at))
        .fold(span.from, i64::min);
    let clock = BusinessClock::new(&rules.calendar, earliest, span.to.max(span.as_of) + 1);

    let first_response_hours = Spread::of(
        client_requests
            .iter()
            .filter_map(|t| {
                let answered = t.first_response_at.filter(|a| *a < span.to)?;
                Some(hours(clock.between(t.created_at, answered)))
            })
            .collect(),
    );
    let resolution_hours = Spread::of(
        resolved
            .iter()
            .map(|(id, (done_at, created_at))| {
                let elapsed = clock.between(*created_at, *done_at);
                hours(elapsed - waited(&clock, waiting.get(id), *done_at))
            })
            .collect(),
    );

    // A request still open at the period's end may have been done since.
    let mut done_at: HashMap<i64, i64> = resolved.iter().map(|(id, (at, _))| (*id, *at)).collect();
    let undone: Vec<i64> = client_requests
        .iter()
        .map(|t| t.id)
        .filter(|id| !done_at.contains_key(id))
        .collect();
    done_at.extend(first_done_before(conn, &undone, span.as_of).await?);
    let sla_per_client = sla(rules, &clock, &waiting, &done_at, client_requests, span.as_of);
    let (sla_decided, sla_met) = sla_per_client
        .values()
        .fold((0, 0), |(d, m), (dc, mc)| (d + dc, m + mc));
    Ok(Response {
        first_response_hours,
        resolution_hours,
        sla_decided,
        sla_met,
        sla_compliance: ratio(sla_met, sla_decided),
        sla_per_client: sla_per_client
            .into_iter()
            .filter_map(|(id, v)| Some((id?, v)))
            .collect(),
    })
}

/// Of the client requests, per client (`None`: of no client), how many have both SLA targets
/// decided at `as_of` (met, or missed already), and how many of those met both.
fn sla(
    rules: &Rules,
    clock: &BusinessClock,
    waiting: &Waiting,
    done_at: &HashMap<i64, i64>,
    client_requests: &[&CreatedTask],
    as_of: i64,
) -> BTreeMap<Option<i64>, (i64, i64)> {
    let mut per_client: BTreeMap<Option<i64>, (i64, i64)> = BTreeMap::new();
    for t in client_requests {
        let start = t.created_at;
        let targets = rules.sla.targets(t.client_id, t.priority);
        let first_target = targets.first_response;
        let first = match t.first_response_at.filter(|a| *a <= as_of) {
            Some(a) => Some(clock.between(start, a) <= first_target),
            None => (clock.between(start, as_of) > first_target).then_some(false),
        };
        let resolution_target = targets.resolution;
        let until = done_at.get(&t.id).copied().filter(|d| *d <= as_of);
        let end = until.unwrap_or(as_of);
        let used = clock.between(start, end) - waited(clock, waiting.get(&t.id), end);
        let resolution = match until {
            Some(_) => Some(used <= resolution_target),
            None => (used > resolution_target).then_some(false),
        };
        if let (Some(first), Some(resolution)) = (first, resolution) {
            let (decided, met) = per_client.entry(t.client_id).or_default();
            *decided += 1;
            *met += i64::from(first && resolution);
        }
    }
    per_client
}

/// Business seconds a task spent waiting on the client before `until`.
fn waited(clock: &BusinessClock, changes: Option<&Vec<(i64, Option<Status>)>>, until: i64) -> i64 {
    let mut total = 0;
    let mut since: Option<i64> = None;
    for (at, to) in changes.into_iter().flatten() {
        if *at >= until {
            break;
        }
        if *to == Some(Status::Waiting) {
            since.get_or_insert(*at);
        } else if let Some(start) = since.take() {
            total += clock.between(start, *at);
        }
    }
    if let Some(start) = since {
        total += clock.between(start, until);
    }
    total
}
