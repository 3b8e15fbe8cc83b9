//! The commands that set up scheduled work: `standup …` and `holiday …`.

use chrono::NaiveDate;

use super::format::format_time;
use super::standup::{self, member_tz};
use super::{user, Outcome, Turn};
use crate::domain::due::{parse_due, DueContext};
use crate::domain::schedule::Schedule;
use crate::store::{jobs, standups};

/// `standup set "<cron>" [questions …] [in #channel]`.
pub(super) async fn standup_set(
    turn: &mut Turn<'_>,
    cron: &str,
    questions: Vec<String>,
    channel: Option<String>,
) -> Outcome {
    let inbound = turn.inbound;
    let channel = match channel {
        Some(c) => (c.clone(), c),
        None if !inbound.conversation.direct => (inbound.conversation.id.clone(), inbound.conversation.name.clone()),
        None => {
            return user(format!(
                "where should the summary go? standup set \"{cron}\" in #standup"
            ))
        }
    };
    let Ok(schedule) = Schedule::parse(cron) else {
        return user(format!(
            "\"{}\" is not a cron schedule like \"0 9 * * 1-5\"",
            crate::domain::truncate(cron, 40)
        ));
    };
    let adapter = inbound.adapter.clone();
    let member = turn.who.member().cloned();
    let mut ctx = turn.ctx().await?;
    let set = standup::set(&mut ctx, cron, questions, (&adapter, &channel.0, &channel.1)).await?;
    let mut text = format!(
        "standup set: \"{}\" in each member's own time zone, {} questions, summary in #{}",
        set.cron,
        set.questions.len(),
        channel.1.trim_start_matches('#')
    );
    if let Some(m) = member {
        let tz = member_tz(turn.keel, &m);
        if let Some(next) = schedule.next_after(tz, turn.at()) {
            text.push_str(&format!("; your next prompt: {}", format_time(next.timestamp(), tz)));
        }
    }
    turn.reply(text);
    Ok(())
}

/// `standup now`.
pub(super) async fn standup_now(turn: &mut Turn<'_>) -> Outcome {
    let mut ctx = turn.ctx().await?;
    match standup::prompt_everyone_now(&mut ctx).await? {
        None => user("there is no standup yet: standup set \"0 9 * * 1-5\" in #standup"),
        Some(0) => {
            turn.reply("everyone has had today's standup already");
            Ok(())
        }
        Some(n) => {
            turn.reply(format!(
                "standup started: asked {n} {}",
                if n == 1 { "person" } else { "people" }
            ));
            Ok(())
        }
    }
}

/// A date the speaker typed, as a day in their time zone.
fn day(turn: &Turn<'_>, text: &str) -> Outcome<NaiveDate> {
    let context: DueContext = turn.due_context();
    let at = parse_due(text, &context).map_err(|e| super::Fail::User(e.to_string()))?;
    Ok(at.with_timezone(&context.tz).date_naive())
}

/// `standup skip <date>`.
pub(super) async fn standup_skip(turn: &mut Turn<'_>, date: &str) -> Outcome {
    let day = day(turn, date)?;
    let Some(active) = standups::active(turn.db().await?).await? else {
        return user("there is no standup to skip");
    };
    let key = day.format("%Y-%m-%d").to_string();
    if standups::skip(turn.db().await?, active.id, &key).await? {
        turn.reply(format!("no standup on {}", day.format("%a %-d %b %Y")));
    } else {
        turn.reply(format!(
            "the standup on {} is already skipped",
            day.format("%a %-d %b %Y")
        ));
    }
    Ok(())
}

/// `standup off`.
pub(super) async fn standup_off(turn: &mut Turn<'_>) -> Outcome {
    let conn = turn.db().await?;
    let Some(active) = standups::active(conn).await? else {
        return user("there is no standup to stop");
    };
    standups::stop(conn).await?;
    jobs::delete_prefixed(conn, &format!("{}:{}:", standup::PROMPT_JOB, active.id)).await?;
    turn.reply("standup stopped");
    Ok(())
}

/// `holiday add <date> [name]`: the date is read in the team's time zone.
pub(super) async fn holiday_add(turn: &mut Turn<'_>, date: &str, name: &str) -> Outcome {
    let day = team_day(turn, date)?;
    let name = crate::domain::truncate(name.trim(), 100);
    let key = day.format("%Y-%m-%d").to_string();
    let label = day.format("%a %-d %b %Y");
    if jobs::add_holiday(turn.db().await?, &key, &name).await? {
        let named = if name.is_empty() {
            String::new()
        } else {
            format!(" ({name})")
        };
        turn.reply(format!(
            "holiday on {label}{named}: no standups, nudges or SLA clock that day"
        ));
    } else {
        turn.reply(format!("{label} is already a holiday"));
    }
    Ok(())
}

/// `holiday list`: stored and configured holidays, in date order.
pub(super) async fn holiday_list(turn: &mut Turn<'_>) -> Outcome {
    let mut days: Vec<(String, String)> = jobs::holidays(turn.db().await?).await?;
    for configured in &turn.keel.settings.holidays {
        let key = configured.format("%Y-%m-%d").to_string();
        if !days.iter().any(|(d, _)| *d == key) {
            days.push((key, "(config)".into()));
        }
    }
    days.sort();
    if days.is_empty() {
        turn.reply("no holidays: holiday add 2026-12-25 Christmas");
        return Ok(());
    }
    let lines: Vec<String> = days
        .iter()
        .map(|(d, n)| if n.is_empty() { d.clone() } else { format!("{d} {n}") })
        .collect();
    turn.reply(format!("holidays: {}", lines.join(" · ")));
    Ok(())
}

/// `holiday remove <date>`.
pub(super) async fn holiday_remove(turn: &mut Turn<'_>, date: &str) -> Outcome {
    let day = team_day(turn, date)?;
    let label = day.format("%a %-d %b %Y");
    if jobs::remove_holiday(turn.db().await?, &day.format("%Y-%m-%d").to_string()).await? {
        turn.reply(format!("{label} is no longer a holiday"));
        Ok(())
    } else {
        user(format!("{label} is not a holiday"))
    }
}

/// A date read in the team's time zone.
fn team_day(turn: &Turn<'_>, text: &str) -> Outcome<NaiveDate> {
    let mut context = turn.due_context();
    context.tz = turn.keel.settings.team_tz;
    let at = parse_due(text, &context).map_err(|e| super::Fail::User(e.to_string()))?;
    Ok(at.with_timezone(&context.tz).date_naive())
}
