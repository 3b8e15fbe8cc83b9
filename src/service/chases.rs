//! A client chasing a task ("any update?"): recorded on the task's log, and the person who
//! answers for the task told at once when they are working, else when their working hours start,
//! at most once per task per business day.
//!
//! Who answers for a task: its owner; else (no owner, or the owner is away) its client's owner;
//! else the leads. The telling is a `chase_notice:<task>` job so that a chase at night waits for
//! the morning; each notice is a `chase:<task>:<member>:<their local date>` key in the notices
//! table, which is what keeps it to once a day.

use chrono::{DateTime, Utc};
use keel_chat::Outbound;

use super::calendar::{member_calendar, team_holidays};
use super::context::{Ctx, Next};
use super::format::{channel_label, quoted, task_ref};
use super::outcome::Outcome;
use super::turn::Turn;
use crate::domain::event::TaskEvent;
use crate::domain::truncate;
use crate::store::jobs::{self, Job, JobKind, NewJob};
use crate::store::people::{self, Member};
use crate::store::tasks::{self, Task};

/// The longest chase text kept on the log.
const CHASE_CHARS: usize = 200;

/// Records a client's chase on its task and has the person who answers for it told.
pub(super) async fn chased(turn: &mut Turn<'_>, task: &Task, text: &str) -> Outcome {
    let text = truncate(text.trim(), CHASE_CHARS);
    turn.record(task, TaskEvent::Chased { text }).await?;
    let job = NewJob {
        key: format!("{}:{}", JobKind::ChaseNotice.as_str(), task.id),
        kind: JobKind::ChaseNotice,
        at: turn.at().timestamp(),
    };
    turn.ctx().await?.schedule(vec![job]).await?;
    Ok(())
}

/// The `chase_notice:<task>` job: tells whoever answers for the task and is working now, once
/// per task and business day; waits for the others' working hours.
pub(crate) async fn notice_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let Some(id) = job.key.rsplit(':').next().and_then(|id| id.parse::<i64>().ok()) else {
        return Ok(Next::Done);
    };
    let Some(view) = tasks::by_id(ctx.conn, id).await? else {
        return Ok(Next::Done);
    };
    let task = view.task;
    if !task.status.is_active() {
        return Ok(Next::Done);
    }
    let chases: Vec<(String, String)> = tasks::events(ctx.conn, id)
        .await?
        .into_iter()
        .filter_map(|e| match e.event {
            TaskEvent::Chased { text } => Some((e.actor, text)),
            _ => None,
        })
        .collect();
    let Some((who, said)) = chases.last() else {
        return Ok(Next::Done);
    };
    let text = format!(
        "{who} is chasing {} {} ({}): {} — chased {}× so far. Answer in its thread, or `show {}`.",
        task_ref(&task),
        quoted(&task.title),
        channel_label(&task),
        quoted(said),
        chases.len(),
        task_ref(&task),
    );
    let holidays = team_holidays(ctx.conn, ctx.keel).await?;
    let now = ctx.now;
    let mut wait: Option<DateTime<Utc>> = None;
    for member in answering(ctx, &task).await? {
        let calendar = member_calendar(ctx.keel, now, &member, &holidays);
        if !calendar.is_business_time(now) {
            if let Some(next) = calendar.next_business_moment(now) {
                wait = Some(wait.map_or(next, |w| w.min(next)));
            }
            continue;
        }
        let key = format!("chase:{id}:{}:{}", member.id, calendar.local_date(now));
        if jobs::first_notice(ctx.conn, &key, "chase", now.timestamp()).await? {
            let outbound = Outbound::Direct {
                user: member.platform_id.clone(),
                text: text.clone(),
            };
            ctx.send("chase", &member.adapter, outbound);
        }
    }
    Ok(wait.map_or(Next::Done, Next::At))
}

/// Who answers for a task: its owner, else its client's owner, else the leads; nobody away.
async fn answering(ctx: &mut Ctx<'_>, task: &Task) -> anyhow::Result<Vec<Member>> {
    let now = ctx.now.timestamp();
    let here = |m: &Member| m.away_until.is_none_or(|until| now >= until);
    if let Some(owner) = task.owner_id {
        if let Some(m) = people::member_by_id(ctx.conn, owner).await?.filter(here) {
            return Ok(vec![m]);
        }
    }
    if let Some(client) = task.client_id {
        let owner = people::client_by_id(ctx.conn, client).await?.and_then(|c| c.owner_id);
        if let Some(owner) = owner {
            if let Some(m) = people::member_by_id(ctx.conn, owner).await?.filter(here) {
                return Ok(vec![m]);
            }
        }
    }
    let mut leads: Vec<Member> = people::members(ctx.conn)
        .await?
        .into_iter()
        .filter(|m| m.role.is_lead() && here(m))
        .collect();
    leads.sort_by_key(|m| m.id);
    Ok(leads)
}
