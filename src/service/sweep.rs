//! The sweep: every 15 minutes, the scheduled warnings about work — stalled-task nudges and
//! their escalation, SLA warnings and breaches, silent clients, overloaded owners.
//!
//! Each notice has a key naming what it is about (`nudge:12:<last activity>:1`,
//! `sla_breach:first_response:12:lea`, …) written with it in the notices table, so none repeats
//! for the same thing. A notice to a person waits for that person's business hours (their time
//! zone and working hours, the team's holidays, not while away): it goes out at the first sweep
//! inside them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use keel_chat::Outbound;

use super::calendar::{member_calendar, team_holidays};
use super::context::{Ctx, Next};
use super::format::{channel_label, quoted, task_ref};
use crate::domain::calendar::Calendar;
use crate::domain::event::TaskEvent;
use crate::domain::sla::SlaBook;
use crate::domain::Status;
use crate::store::jobs::{self, Job};
use crate::store::people::{self, Client, Member};
use crate::store::tasks::{self, Filter, NewEvent, Task, TaskView};

/// How often the sweep runs (seconds); runs fall on the quarter hours.
const EVERY: i64 = 15 * 60;

/// Notices one person gets from one sweep. The rest are not recorded as sent, so they come in
/// the next sweeps; the person gets one line saying how many wait. (Without a cap, a lead with
/// thousands of unowned urgent requests got a direct message per request every quarter hour,
/// and Slack takes one post a second into a conversation.)
pub(crate) const NOTICES_PER_SWEEP: usize = 20;

/// The people and calendars one sweep works with.
struct Team {
    members: HashMap<i64, Member>,
    leads: Vec<Member>,
    /// Each member's calendar: their zone and hours, the team's holidays, their away days.
    calendars: HashMap<i64, Calendar>,
    team: Calendar,
    /// The SLA targets in force.
    sla: SlaBook,
    /// Per member: notices queued by this sweep, and notices held back for the next ones.
    given: std::sync::Mutex<HashMap<i64, (usize, usize)>>,
}

impl Team {
    /// True when a message to this member may go out now.
    fn reachable(&self, now: DateTime<Utc>, m: &Member) -> bool {
        let away = m.away_until.is_some_and(|u| now.timestamp() < u);
        !away && self.calendars.get(&m.id).is_some_and(|c| c.is_business_time(now))
    }

    /// Reads or counts a member's notices of this sweep (queued, held back).
    fn tally<R>(&self, member: i64, f: impl FnOnce(&mut (usize, usize)) -> R) -> R {
        f(self
            .given
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(member)
            .or_default())
    }
}

/// The sweep job: runs every check, then waits for the next quarter hour.
pub(crate) async fn sweep_job(ctx: &mut Ctx<'_>, _job: &Job) -> anyhow::Result<Next> {
    let team = load_team(ctx).await?;
    // Only the tasks that may be due a notice are loaded (a business second is never shorter
    // than a wall-clock one), so a sweep's memory and time follow the work at risk, not the
    // whole backlog.
    let settings = &ctx.keel.settings;
    let now = ctx.now.timestamp();
    let nudge_after = team
        .members
        .values()
        .map(|m| {
            let (start, end) = m.hours.to_minutes();
            settings.schedules.nudge_after_days * (end - start) * 60
        })
        .filter(|p| *p > 0)
        .min();
    let shortest = team.sla.shortest();
    let sla_after = (shortest > 0).then(|| (settings.schedules.sla_warning_at * shortest as f64).floor() as i64);
    let active = tasks::list(
        ctx.conn,
        &Filter {
            statuses: vec![Status::Open, Status::InProgress, Status::Waiting],
            sweep_before: Some((
                nudge_after.map_or(i64::MIN, |p| now - p),
                sla_after.map_or(i64::MIN, |t| now - t),
            )),
            ..Filter::default()
        },
    )
    .await?;
    let clients: HashMap<i64, Client> = people::clients(ctx.conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    for view in &active {
        stalled(ctx, &team, &clients, view).await?;
        sla(ctx, &team, &clients, view).await?;
    }
    silent_clients(ctx, &team, &clients).await?;
    overloaded(ctx, &team).await?;
    held_back(ctx, &team);
    let next = (ctx.now.timestamp() / EVERY + 1) * EVERY;
    Ok(Next::At(
        Utc.timestamp_opt(next, 0)
            .single()
            .unwrap_or(ctx.now + Duration::seconds(EVERY)),
    ))
}

async fn load_team(ctx: &mut Ctx<'_>) -> anyhow::Result<Team> {
    let holidays = team_holidays(ctx.conn, ctx.keel).await?;
    let members: HashMap<i64, Member> = people::members(ctx.conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut leads: Vec<Member> = members.values().filter(|m| m.role.is_lead()).cloned().collect();
    leads.sort_by_key(|m| m.id);
    let calendars = members
        .values()
        .map(|m| (m.id, member_calendar(ctx.keel, ctx.now, m, &holidays)))
        .collect();
    let mut team = Calendar::new(ctx.keel.settings.team_tz, ctx.keel.settings.team_hours);
    team.holidays = holidays;
    Ok(Team {
        members,
        leads,
        calendars,
        team,
        sla: ctx.keel.settings.sla_book(ctx.conn).await?,
        given: std::sync::Mutex::default(),
    })
}

/// One line to each person whose notices this sweep held back.
fn held_back(ctx: &mut Ctx<'_>, team: &Team) {
    let given = std::mem::take(&mut *team.given.lock().unwrap_or_else(|p| p.into_inner()));
    let mut held: Vec<(i64, usize)> = given
        .into_iter()
        .filter(|(_, (_, held))| *held > 0)
        .map(|(id, (_, held))| (id, held))
        .collect();
    held.sort();
    for (id, n) in held {
        let Some(to) = team.members.get(&id) else { continue };
        let text = format!(
            "…and {n} more notices (stalled work, SLA warnings) are waiting: they follow in the next sweeps, \
             {NOTICES_PER_SWEEP} at a time. All open work: `tasks` (or `keel tasks list`)."
        );
        let outbound = Outbound::Direct {
            user: to.platform_id.clone(),
            text,
        };
        ctx.send("notices_held", &to.adapter, outbound);
    }
}

/// Sends a notice to a member once per key, when they can be reached now; true when sent.
async fn notify(
    ctx: &mut Ctx<'_>,
    team: &Team,
    kind: &str,
    key: &str,
    to: &Member,
    text: &str,
) -> anyhow::Result<bool> {
    if !team.reachable(ctx.now, to) {
        return Ok(false);
    }
    let key = format!("{key}:{}", to.id);
    if team.tally(to.id, |(queued, _)| *queued) >= NOTICES_PER_SWEEP {
        // Held back only when it was not sent before: a notice goes once per key.
        if !jobs::notice_sent(ctx.conn, &key).await? {
            team.tally(to.id, |(_, held)| *held += 1);
        }
        return Ok(false);
    }
    if !jobs::first_notice(ctx.conn, &key, kind, ctx.now.timestamp()).await? {
        return Ok(false);
    }
    let outbound = Outbound::Direct {
        user: to.platform_id.clone(),
        text: text.to_string(),
    };
    ctx.send(kind, &to.adapter, outbound);
    team.tally(to.id, |(queued, _)| *queued += 1);
    Ok(true)
}

/// The client's owner first, then the leads, each once.
fn escalation_recipients(team: &Team, clients: &HashMap<i64, Client>, task: &Task) -> Vec<Member> {
    let mut to: Vec<Member> = Vec::new();
    to.extend(client_owner(team, clients, task).cloned());
    for lead in &team.leads {
        if !to.iter().any(|m| m.id == lead.id) {
            to.push(lead.clone());
        }
    }
    to
}

/// The owner of the task's client, when it has a client with an owner on the team.
fn client_owner<'t>(team: &'t Team, clients: &HashMap<i64, Client>, task: &Task) -> Option<&'t Member> {
    task.client_id
        .and_then(|c| clients.get(&c))
        .and_then(|c| c.owner_id)
        .and_then(|id| team.members.get(&id))
}

fn about(task: &Task) -> String {
    format!("{} ({})", quoted(&task.title), channel_label(task))
}

/// Appends an event to a task's log without changing the task (a nudge, an automatic
/// escalation's notice).
async fn log_event(ctx: &mut Ctx<'_>, task: &Task, event: TaskEvent) -> anyhow::Result<()> {
    let event = NewEvent::new(task.id, ctx.now.timestamp(), "keel", event);
    tasks::append_events(ctx.conn, &[event]).await
}

/// Stalled work: a nudge to the owner every `nudge_after_days` business days without activity,
/// then, after `escalate_after_nudges` nudges, one escalation.
async fn stalled(
    ctx: &mut Ctx<'_>,
    team: &Team,
    clients: &HashMap<i64, Client>,
    view: &TaskView,
) -> anyhow::Result<()> {
    let task = &view.task;
    let now = ctx.now.timestamp();
    if !matches!(task.status, Status::Open | Status::InProgress) || task.snoozed_until.is_some_and(|s| s > now) {
        return Ok(());
    }
    let owner = task.owner_id.and_then(|id| team.members.get(&id));
    // Nobody's task: the client's owner hears of it, else the leads; the first one's hours count.
    let to: Vec<Member> = match (owner, client_owner(team, clients, task)) {
        (Some(o), _) => vec![o.clone()],
        (None, Some(c)) => vec![c.clone()],
        (None, None) => team.leads.clone(),
    };
    let Some(first) = to.first() else {
        return Ok(());
    };
    let Some(cal) = team.calendars.get(&first.id) else {
        return Ok(());
    };
    let since = Utc.timestamp_opt(task.last_activity_at, 0).single().unwrap_or(ctx.now);
    let idle = cal.business_seconds_between(since, ctx.now);
    let (start, end) = first.hours.to_minutes();
    let period = ctx.keel.settings.schedules.nudge_after_days * (end - start) * 60;
    let periods = if period > 0 { idle / period } else { 0 };
    if periods == 0 {
        return Ok(());
    }
    let limit = ctx.keel.settings.schedules.escalate_after_nudges;
    if periods <= limit {
        let days = periods * ctx.keel.settings.schedules.nudge_after_days;
        let text = match owner {
            Some(_) => format!(
                "{} has had no activity for {days} business days: {}. Update it, or snooze #{} <date>.",
                task_ref(task),
                about(task),
                task.id
            ),
            None => format!(
                "{} has no owner and no activity for {days} business days: {}. Take it (take #{}), assign it, or snooze #{} <date>.",
                task_ref(task),
                about(task),
                task.id,
                task.id
            ),
        };
        let key = format!("nudge:{}:{}:{periods}", task.id, task.last_activity_at);
        let mut sent = Vec::new();
        for member in &to {
            if notify(ctx, team, "nudge", &key, member, &text).await? {
                sent.push(member.name.clone());
            }
        }
        if !sent.is_empty() {
            let nudged = TaskEvent::Nudged {
                count: periods,
                owner: sent.join(", "),
            };
            log_event(ctx, task, nudged).await?;
        }
        return Ok(());
    }
    let text = format!(
        "{} is stalled: no activity after {limit} nudges to {} — {}",
        task_ref(task),
        to.iter().map(|m| format!("@{}", m.name)).collect::<Vec<_>>().join(", "),
        about(task)
    );
    escalate(ctx, team, clients, task, "stalled", &text).await
}

/// Sends an escalation to the client's owner and the leads (each once, in their hours) and
/// records it on the task the first time.
async fn escalate(
    ctx: &mut Ctx<'_>,
    team: &Team,
    clients: &HashMap<i64, Client>,
    task: &Task,
    why: &str,
    text: &str,
) -> anyhow::Result<()> {
    let key = format!("escalation:{why}:{}:{}", task.id, task.last_activity_at);
    let mut sent = false;
    for to in escalation_recipients(team, clients, task) {
        sent |= notify(ctx, team, "escalation", &key, &to, text).await?;
    }
    if sent && jobs::first_notice(ctx.conn, &key, "escalation", ctx.now.timestamp()).await? {
        let mut escalated = task.clone();
        escalated.escalated_at = escalated.escalated_at.or(Some(ctx.now.timestamp()));
        tasks::update(ctx.conn, &escalated).await?;
        let escalated = TaskEvent::Escalated {
            text: Some(why.to_string()),
            by: Some("keel".to_string()),
        };
        log_event(ctx, task, escalated).await?;
    }
    Ok(())
}

/// SLA warnings at `sla_warning_at` of a target and breach notices at 100 %, for the first
/// response and the resolution, counted in the team's business hours; the resolution clock
/// leaves out the time the task spent waiting on the client.
async fn sla(ctx: &mut Ctx<'_>, team: &Team, clients: &HashMap<i64, Client>, view: &TaskView) -> anyhow::Result<()> {
    let task = &view.task;
    if !task.requester_is_client {
        return Ok(());
    }
    let created = Utc.timestamp_opt(task.created_at, 0).single().unwrap_or(ctx.now);
    let elapsed = team.team.business_seconds_between(created, ctx.now);
    let settings = &ctx.keel.settings;
    let warn_at = settings.schedules.sla_warning_at;
    let targets = team.sla.targets(task.client_id, task.priority);
    if task.first_response_at.is_none() {
        let target = targets.first_response;
        sla_step(ctx, team, clients, task, "first_response", elapsed, target, warn_at).await?;
    }
    if task.status != Status::Waiting {
        let target = targets.resolution;
        if elapsed as f64 >= warn_at * target as f64 {
            let paused = waiting_seconds(ctx, team, task).await?;
            sla_step(
                ctx,
                team,
                clients,
                task,
                "resolution",
                elapsed - paused,
                target,
                warn_at,
            )
            .await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn sla_step(
    ctx: &mut Ctx<'_>,
    team: &Team,
    clients: &HashMap<i64, Client>,
    task: &Task,
    clock: &str,
    elapsed: i64,
    target: i64,
    warn_at: f64,
) -> anyhow::Result<()> {
    if target <= 0 || (elapsed as f64) < warn_at * target as f64 {
        return Ok(());
    }
    let label = clock.replace('_', " ");
    let hours = |s: i64| format!("{:.1}", s as f64 / 3600.0).trim_end_matches(".0").to_string();
    let owner = task.owner_id.and_then(|id| team.members.get(&id)).cloned();
    let to: Vec<Member> = match owner {
        Some(o) => vec![o],
        None => team.leads.clone(),
    };
    let (kind, what) = if elapsed < target {
        (
            "sla_warning",
            format!("{} of {} business hours used", hours(elapsed), hours(target)),
        )
    } else {
        (
            "sla_breach",
            format!("breached: {} business hours, target {}", hours(elapsed), hours(target)),
        )
    };
    let text = format!(
        "{} {label} SLA {what} ({} priority) — {}",
        task_ref(task),
        task.priority,
        about(task)
    );
    let key = format!("{kind}:{clock}:{}", task.id);
    for m in &to {
        notify(ctx, team, kind, &key, m, &text).await?;
    }
    if kind == "sla_warning" {
        return Ok(());
    }
    escalate(ctx, team, clients, task, &format!("sla_{clock}"), &text).await
}

/// Business seconds the task spent in `waiting`, from its status events.
async fn waiting_seconds(ctx: &mut Ctx<'_>, team: &Team, task: &Task) -> anyhow::Result<i64> {
    let mut total = 0;
    let mut since: Option<DateTime<Utc>> = None;
    for e in tasks::events(ctx.conn, task.id).await? {
        let Some((_, to)) = e.event.status_change() else {
            continue;
        };
        let at = Utc.timestamp_opt(e.at, 0).single().unwrap_or(ctx.now);
        if to == Status::Waiting {
            since.get_or_insert(at);
        } else if let Some(start) = since.take() {
            total += team.team.business_seconds_between(start, at);
        }
    }
    if let Some(start) = since {
        total += team.team.business_seconds_between(start, ctx.now);
    }
    Ok(total)
}

/// Clients with no touchpoint for `silent_client_days`: their owner (or the leads) hear once per
/// silence.
async fn silent_clients(ctx: &mut Ctx<'_>, team: &Team, clients: &HashMap<i64, Client>) -> anyhow::Result<()> {
    let days = ctx.keel.settings.schedules.silent_client_days;
    let mut ids: Vec<&i64> = clients.keys().collect();
    ids.sort();
    for id in ids {
        let Some(c) = clients.get(id) else { continue };
        if c.churned_at.is_some() {
            continue;
        }
        let last = c.last_touch_at.unwrap_or(c.created_at);
        if ctx.now.timestamp() - last < days * 86_400 {
            continue;
        }
        let since = Utc
            .timestamp_opt(last, 0)
            .single()
            .map(|t| t.format("%a %-d %b").to_string())
            .unwrap_or_default();
        let text = format!(
            "{} has been silent for {days}+ days (last touch {since}): time to check in",
            c.name
        );
        let to: Vec<Member> = match c.owner_id.and_then(|o| team.members.get(&o)) {
            Some(owner) => vec![owner.clone()],
            None => team.leads.clone(),
        };
        let key = format!("silent_client:{}:{last}", c.id);
        for m in &to {
            notify(ctx, team, "silent_client", &key, m, &text).await?;
        }
    }
    Ok(())
}

/// Owners with more than `overload_tasks` active tasks: they and the leads hear once a week.
async fn overloaded(ctx: &mut Ctx<'_>, team: &Team) -> anyhow::Result<()> {
    let limit = ctx.keel.settings.schedules.overload_tasks;
    let heavy: Vec<(i64, i64)> = tasks::active_by_owner(ctx.conn)
        .await?
        .into_iter()
        .filter(|(_, n)| *n > limit)
        .collect();
    let week = ctx.now.format("%G-W%V").to_string();
    for (owner_id, n) in heavy {
        let Some(owner) = team.members.get(&owner_id).cloned() else {
            continue;
        };
        let text = format!(
            "@{} has {n} active tasks (more than {limit}): time to rebalance",
            owner.name
        );
        let key = format!("overload:{owner_id}:{week}");
        let mut to = vec![owner.clone()];
        to.extend(team.leads.iter().filter(|l| l.id != owner.id).cloned());
        for m in &to {
            notify(ctx, team, "overload", &key, m, &text).await?;
        }
    }
    Ok(())
}
