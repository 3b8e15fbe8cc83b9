//! Standups: a prompt to each member at the schedule's time in their own time zone, answers by
//! direct message, a reminder after an hour, and one summary in the standup channel.
//!
//! A member's day is their local date at the prompt. The `standup_runs` row for (standup,
//! member, day) is written in the transaction that queues the prompt, and its unique key is what
//! makes a prompt go out at most once per member and day: restarts, `standup now` and a second
//! scheduler cannot repeat it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use keel_chat::Outbound;

use super::calendar::member_tz;
use super::context::{Ctx, Next};
use super::keel::Keel;
use crate::domain::cron::Schedule;
use crate::store::jobs::{self, Job, JobKind, NewJob};
use crate::store::people::{self, Member};
use crate::store::standups::{self, Run, RunStatus, Standup};
use crate::store::{outbox, Conn};

/// Where the keys of one standup's prompt jobs start (`standup:<standup>:`).
pub(crate) fn prompt_prefix(standup_id: i64) -> String {
    format!("{}:{standup_id}:", JobKind::StandupPrompt.as_str())
}

/// The questions when `standup set` names none.
pub const DEFAULT_QUESTIONS: [&str; 3] = [
    "What did you do yesterday?",
    "What will you do today?",
    "Anything blocking you?",
];

/// A reminder goes out this long after an unanswered prompt.
const REMINDER_AFTER: i64 = 3600;
/// The summary goes out this long after the day's last prompt at the latest; answers are taken
/// until then.
const WINDOW: i64 = 4 * 3600;

fn prompt_key(standup_id: i64, member_id: i64) -> String {
    format!("{}{member_id}", prompt_prefix(standup_id))
}

fn summary_key(standup_id: i64, day: &str) -> String {
    format!("{}:{standup_id}:{day}", JobKind::StandupSummary.as_str())
}

fn local_day(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).date_naive().format("%Y-%m-%d").to_string()
}

/// `Wed 25 Nov` for a `YYYY-MM-DD` day.
pub(crate) fn day_label(day: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| d.format("%a %-d %b").to_string())
        .unwrap_or_else(|_| day.to_string())
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

/// True when the day is a team holiday (stored or configured).
async fn is_holiday(ctx: &mut Ctx<'_>, day: &str) -> anyhow::Result<bool> {
    if NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok_and(|d| ctx.keel.settings.holidays.contains(&d)) {
        return Ok(true);
    }
    if ctx.looked_up.holidays.is_none() {
        let days = jobs::holidays(ctx.conn).await?.into_iter().map(|(d, _)| d).collect();
        ctx.looked_up.holidays = Some(days);
    }
    Ok(ctx.looked_up.holidays.as_ref().is_some_and(|days| days.contains(day)))
}

async fn is_skipped(ctx: &mut Ctx<'_>, standup_id: i64, day: &str) -> anyhow::Result<bool> {
    let key = (standup_id, day.to_string());
    if let Some(skipped) = ctx.looked_up.skips.get(&key) {
        return Ok(*skipped);
    }
    let skipped = standups::is_skipped(ctx.conn, standup_id, day).await?;
    ctx.looked_up.skips.insert(key, skipped);
    Ok(skipped)
}

async fn standup_by_id(ctx: &mut Ctx<'_>, id: i64) -> anyhow::Result<Option<Standup>> {
    if let Some(known) = ctx.looked_up.standups.get(&id) {
        return Ok(known.clone());
    }
    let found = standups::by_id(ctx.conn, id).await?;
    ctx.looked_up.standups.insert(id, found.clone());
    Ok(found)
}

/// Creates a prompt job for every member of the active standup who has none.
pub(crate) async fn reconcile(conn: &mut Conn, keel: &Keel, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(standup) = standups::active(conn).await? else {
        return Ok(());
    };
    let Ok(schedule) = Schedule::parse(&standup.cron) else {
        return Ok(());
    };
    let have: HashSet<String> = jobs::prefixed(conn, &prompt_prefix(standup.id))
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let mut new = Vec::new();
    for member in people::members(conn).await? {
        let key = prompt_key(standup.id, member.id);
        if have.contains(&key) {
            continue;
        }
        // From when the member could first be asked: a member who joined on Sunday gets
        // Monday's prompt, even when the scheduler first sees them on Monday.
        let since = member.created_at.max(standup.created_at).max(now.timestamp() - 86_400);
        if let Some(next) = schedule.next_after(member_tz(keel, &member), at(since)) {
            new.push(NewJob {
                key,
                kind: JobKind::StandupPrompt,
                at: next.timestamp(),
            });
        }
    }
    jobs::schedule_many(conn, &new).await
}

/// Schedules a member's next prompt from `since` (when they joined, or now when their time zone
/// changed), when a standup is active.
pub(crate) async fn schedule_member(conn: &mut Conn, keel: &Keel, member: &Member, since: i64) -> anyhow::Result<()> {
    let Some(standup) = standups::active(conn).await? else {
        return Ok(());
    };
    let Ok(schedule) = Schedule::parse(&standup.cron) else {
        return Ok(());
    };
    if let Some(next) = schedule.next_after(member_tz(keel, member), at(since.max(standup.created_at))) {
        let key = prompt_key(standup.id, member.id);
        jobs::upsert(
            conn,
            &key,
            JobKind::StandupPrompt,
            next.timestamp(),
            &serde_json::json!({}),
        )
        .await?;
    }
    Ok(())
}

/// `standup set`: the new schedule replaces the old one; every member gets a prompt job.
pub(crate) async fn set(
    ctx: &mut Ctx<'_>,
    cron: &str,
    questions: Vec<String>,
    channel: (&str, &str, &str),
) -> anyhow::Result<Standup> {
    let questions = if questions.is_empty() {
        DEFAULT_QUESTIONS.iter().map(|q| q.to_string()).collect()
    } else {
        questions
    };
    if let Some(old) = standups::active(ctx.conn).await? {
        jobs::delete_prefixed(ctx.conn, &prompt_prefix(old.id)).await?;
    }
    let standup = standups::set(ctx.conn, cron, &questions, channel, ctx.now.timestamp()).await?;
    reconcile(ctx.conn, ctx.keel, ctx.now).await?;
    Ok(standup)
}

/// Looks up, with one query, the members the due prompt jobs are for.
pub(crate) async fn prefetch(ctx: &mut Ctx<'_>, due: &[Job]) -> anyhow::Result<()> {
    let ids: Vec<i64> = due
        .iter()
        .filter(|j| j.kind == Some(JobKind::StandupPrompt))
        .filter_map(|j| j.key.rsplit(':').next().and_then(|id| id.parse().ok()))
        .collect();
    for m in people::members_by_ids(ctx.conn, &ids).await? {
        ctx.looked_up.members.insert(m.id, m);
    }
    Ok(())
}

/// A prompt job: prompts the member for the schedule's latest due time (once, however long keel
/// was down), unless that time is older than the answer window; then waits for the next one.
pub(crate) async fn prompt_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let mut parts = job.key.split(':').skip(1).map(str::parse::<i64>);
    let (Some(Ok(standup_id)), Some(Ok(member_id))) = (parts.next(), parts.next()) else {
        return Ok(Next::Done);
    };
    let Some(standup) = standup_by_id(ctx, standup_id).await?.filter(|s| s.active) else {
        return Ok(Next::Done);
    };
    let member = match ctx.looked_up.members.get(&member_id) {
        Some(m) => Some(m.clone()),
        None => people::member_by_id(ctx.conn, member_id).await?,
    };
    let Some(member) = member else {
        return Ok(Next::Done);
    };
    let Ok(schedule) = Schedule::parse(&standup.cron) else {
        return Ok(Next::Done);
    };
    let tz = member_tz(ctx.keel, &member);
    let latest = latest_due(&schedule, tz, at(job.next_run_at), ctx.now);
    if (ctx.now - latest).num_seconds() <= WINDOW {
        prompt(ctx, &standup, &member, latest).await?;
    }
    Ok(match schedule.next_after(tz, ctx.now) {
        Some(next) => Next::At(next),
        None => Next::Done,
    })
}

/// The schedule's latest time at or before `now`, starting from a due time `from` ≤ `now`.
fn latest_due(schedule: &Schedule, tz: Tz, from: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut latest = from;
    // Bounded: after a very long outage only the last stretch matters.
    let mut cursor = from.max(now - Duration::days(30));
    for _ in 0..10_000 {
        match schedule.next_after(tz, cursor) {
            Some(next) if next <= now => {
                latest = next;
                cursor = next;
            }
            _ => break,
        }
    }
    latest
}

/// Prompts one member for the day of `when` (their local date), at most once per day. Skipped
/// days prompt nobody; on holidays and away days the member is recorded as away.
pub(crate) async fn prompt(
    ctx: &mut Ctx<'_>,
    standup: &Standup,
    member: &Member,
    when: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let day = local_day(member_tz(ctx.keel, member), when);
    if is_skipped(ctx, standup.id, &day).await? {
        return Ok(false);
    }
    let away = member.away_until.is_some_and(|until| when.timestamp() < until) || is_holiday(ctx, &day).await?;
    let status = if away { RunStatus::Away } else { RunStatus::Prompted };
    let now = ctx.now.timestamp();
    let Some(run_id) = standups::start_run(ctx.conn, standup.id, member.id, &day, status, now).await? else {
        return Ok(false);
    };
    let summary = NewJob {
        key: summary_key(standup.id, &day),
        kind: JobKind::StandupSummary,
        at: now + WINDOW,
    };
    if away {
        ctx.schedule(vec![summary]).await?;
        return Ok(false);
    }
    let total = standup.questions.len();
    let first = standup.questions.first().cloned().unwrap_or_default();
    let text = format!("Standup for {} · 1/{total}: {first} (reply here)", day_label(&day));
    ctx.send("standup_prompt", &member.adapter, direct(member, text));
    let reminder = NewJob {
        key: format!("{}:{run_id}", JobKind::StandupReminder.as_str()),
        kind: JobKind::StandupReminder,
        at: now + REMINDER_AFTER,
    };
    ctx.schedule(vec![summary, reminder]).await?;
    Ok(true)
}

fn direct(member: &Member, text: String) -> Outbound {
    Outbound::Direct {
        user: member.platform_id.clone(),
        text,
    }
}

/// `standup now`: prompts every member for today (their local date) who has not had today's.
pub(crate) async fn prompt_everyone_now(ctx: &mut Ctx<'_>) -> anyhow::Result<Option<usize>> {
    let Some(standup) = standups::active(ctx.conn).await? else {
        return Ok(None);
    };
    let mut prompted = 0;
    let now = ctx.now;
    for member in people::members(ctx.conn).await? {
        if prompt(ctx, &standup, &member, now).await? {
            prompted += 1;
        }
    }
    Ok(Some(prompted))
}

/// A reminder job: one reminder when the member has not finished answering.
pub(crate) async fn reminder_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let Some(run_id) = job.key.rsplit(':').next().and_then(|id| id.parse::<i64>().ok()) else {
        return Ok(Next::Done);
    };
    let Some(run) = standups::run_by_id(ctx.conn, run_id).await? else {
        return Ok(Next::Done);
    };
    if run.status != RunStatus::Prompted || ctx.now.timestamp() > run.prompted_at + WINDOW {
        return Ok(Next::Done);
    }
    let (Some(standup), Some(member)) = (
        standups::by_id(ctx.conn, run.standup_id).await?,
        people::member_by_id(ctx.conn, run.member_id).await?,
    ) else {
        return Ok(Next::Done);
    };
    let n = run.answers.len();
    let question = standup.questions.get(n).cloned().unwrap_or_default();
    let text = format!(
        "Reminder: your standup for {} · {}/{}: {question}",
        day_label(&run.day),
        n + 1,
        standup.questions.len()
    );
    ctx.send("standup_reminder", &member.adapter, direct(&member, text));
    Ok(Next::Done)
}

/// A summary job: posts the day's summary, or waits for members whose prompt is still to come.
pub(crate) async fn summary_job(ctx: &mut Ctx<'_>, job: &Job) -> anyhow::Result<Next> {
    let mut parts = job.key.splitn(3, ':').skip(1);
    let (Some(Ok(standup_id)), Some(day)) = (parts.next().map(str::parse::<i64>), parts.next()) else {
        return Ok(Next::Done);
    };
    let Some(standup) = standups::by_id(ctx.conn, standup_id).await? else {
        return Ok(Next::Done);
    };
    if let Some(later) = still_to_prompt(ctx, &standup, day).await? {
        return Ok(Next::At(later + Duration::seconds(WINDOW)));
    }
    post_summary(ctx, &standup, day).await?;
    Ok(Next::Done)
}

/// The latest prompt time still to come on `day` for members with no run that day, if any.
async fn still_to_prompt(ctx: &mut Ctx<'_>, standup: &Standup, day: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    if !standup.active {
        return Ok(None);
    }
    let ran: HashSet<i64> = standups::runs_on(ctx.conn, standup.id, day)
        .await?
        .iter()
        .map(|r| r.member_id)
        .collect();
    let due: HashMap<String, i64> = jobs::prefixed(ctx.conn, &prompt_prefix(standup.id))
        .await?
        .into_iter()
        .collect();
    let mut latest = None;
    for member in people::members(ctx.conn).await? {
        if ran.contains(&member.id) {
            continue;
        }
        let Some(next) = due.get(&prompt_key(standup.id, member.id)).map(|t| at(*t)) else {
            continue;
        };
        if local_day(member_tz(ctx.keel, &member), next) == day {
            latest = latest.max(Some(next));
        }
    }
    Ok(latest)
}

/// Posts the day's summary once: one message in the standup channel, the answers in its thread.
async fn post_summary(ctx: &mut Ctx<'_>, standup: &Standup, day: &str) -> anyhow::Result<()> {
    let now = ctx.now.timestamp();
    if !jobs::first_notice(ctx.conn, &summary_key(standup.id, day), "standup_summary", now).await? {
        return Ok(());
    }
    let runs = standups::runs_on(ctx.conn, standup.id, day).await?;
    if runs.is_empty() {
        return Ok(());
    }
    let names: HashMap<i64, String> = people::members(ctx.conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let name = |r: &Run| format!("@{}", names.get(&r.member_id).map(String::as_str).unwrap_or("someone"));
    let answered: Vec<&Run> = runs.iter().filter(|r| r.status == RunStatus::Answered).collect();
    let silent: Vec<String> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Prompted)
        .map(name)
        .collect();
    let away: Vec<String> = runs.iter().filter(|r| r.status == RunStatus::Away).map(name).collect();
    let asked = runs.len() - away.len();
    let mut text = format!("Standup {}: {} of {asked} answered", day_label(day), answered.len());
    if !silent.is_empty() {
        text.push_str(&format!(" · no answer: {}", silent.join(", ")));
    }
    if !away.is_empty() {
        text.push_str(&format!(" · away: {}", away.join(", ")));
    }
    let parent = Outbound::Message {
        conversation: standup.channel.clone(),
        thread: None,
        text,
    };
    // What is queued so far goes out first, so the summary keeps its place in line.
    outbox::enqueue_queued(ctx.conn, ctx.out, now).await?;
    ctx.out.clear();
    let parent_id = outbox::enqueue_one(ctx.conn, &standup.adapter, "standup_summary", &parent, now).await?;
    for run in answered {
        let lines: Vec<String> = standup
            .questions
            .iter()
            .zip(&run.answers)
            .map(|(q, a)| format!("{q} {a}"))
            .collect();
        let detail = Outbound::Message {
            conversation: standup.channel.clone(),
            thread: Some(outbox::thread_under(parent_id)),
            text: format!("{}: {}", name(run), lines.join(" / ")),
        };
        ctx.send("standup_summary", &standup.adapter, detail);
    }
    jobs::delete(ctx.conn, &summary_key(standup.id, day)).await?;
    Ok(())
}

/// The member's open standup, when a direct message should be taken as its next answer.
pub(crate) async fn open_run(conn: &mut Conn, member: &Member, now: DateTime<Utc>) -> anyhow::Result<Option<Run>> {
    standups::open_run(conn, member.id, now.timestamp() - WINDOW).await
}

/// Records an answer; asks the next question, or thanks the member and posts the summary when
/// everyone is done.
pub(crate) async fn answer(ctx: &mut Ctx<'_>, member: &Member, mut run: Run, text: &str) -> anyhow::Result<()> {
    let Some(standup) = standups::by_id(ctx.conn, run.standup_id).await? else {
        return Ok(());
    };
    run.answers.push(crate::domain::truncate(text.trim(), 1000));
    let total = standup.questions.len();
    if let Some(question) = standup.questions.get(run.answers.len()) {
        standups::save_run(ctx.conn, &run).await?;
        let text = format!("{}/{total}: {question}", run.answers.len() + 1);
        ctx.send("reply", &member.adapter, direct(member, text));
        return Ok(());
    }
    run.status = RunStatus::Answered;
    run.answered_at = Some(ctx.now.timestamp());
    standups::save_run(ctx.conn, &run).await?;
    let thanks = format!("Thanks, that's your standup for {}.", day_label(&run.day));
    ctx.send("reply", &member.adapter, direct(member, thanks));
    let runs = standups::runs_on(ctx.conn, standup.id, &run.day).await?;
    let everyone_done = runs.iter().all(|r| r.status != RunStatus::Prompted);
    if everyone_done && still_to_prompt(ctx, &standup, &run.day).await?.is_none() {
        post_summary(ctx, &standup, &run.day).await?;
    }
    Ok(())
}
