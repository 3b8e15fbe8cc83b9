//! The commands that set up scheduled work: `standup …` and `holiday …`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::format::format_time;

use super::calendar::{member_calendar, member_tz, team_holidays};
use super::outcome::{user, Fail, Outcome};
use super::standup;
use super::turn::Turn;
use crate::command::MeetWhen;
use crate::domain::cron::Schedule;
use crate::domain::due::parse_due;
use crate::domain::slots::{earliest_slots, Person};
use crate::store::people::{self, Member};
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
    let at = turn.read_date(text)?;
    Ok(at.with_timezone(&turn.speaker_tz()).date_naive())
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
    jobs::delete_prefixed(conn, &standup::prompt_prefix(active.id)).await?;
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
    let at = parse_due(text, &context).map_err(|e| Fail::User(e.to_string()))?;
    Ok(at.with_timezone(&context.tz).date_naive())
}

/// `meet @a @b 30m [this week|next week]`: the speaker and the people named, the three earliest
/// slots inside everyone's working hours, outside away days, holidays and standups.
pub(super) async fn meet(turn: &mut Turn<'_>, names: &[String], minutes: i64, when: MeetWhen) -> Outcome {
    let adapter = turn.inbound.adapter.clone();
    let mut people: Vec<Member> = turn.who.member().cloned().into_iter().collect();
    for name in names {
        match people::member_by_reference(turn.db().await?, &adapter, name).await? {
            Some(m) if people.iter().any(|p| p.id == m.id) => {}
            Some(m) => people.push(m),
            None => return user(format!("I don't know @{}", crate::domain::truncate(name, 40))),
        }
    }
    let now = turn.at();
    let tz = turn.speaker_tz();
    let local_today = now.with_timezone(&tz).date_naive();
    let monday = local_today - Duration::days(i64::from(local_today.weekday().num_days_from_monday()));
    let start_of = |day: NaiveDate| {
        day.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let (from, to) = match when {
        MeetWhen::Soon => (Some(now), Some(now + Duration::days(14))),
        MeetWhen::ThisWeek => (Some(now), start_of(monday + Duration::days(7))),
        MeetWhen::NextWeek => (
            start_of(monday + Duration::days(7)).map(|t| t.max(now)),
            start_of(monday + Duration::days(14)),
        ),
    };
    let (Some(from), Some(to)) = (from, to) else {
        return user("I cannot work out that week in your time zone");
    };
    let keel = turn.keel;
    let conn = turn.db().await?;
    let holidays = team_holidays(conn, keel).await?;
    let standup = standups::active(conn).await?;
    let availability: Vec<Person> = people
        .iter()
        .map(|m| Person {
            calendar: member_calendar(keel, now, m, &holidays),
            busy: standup_times(keel, standup.as_ref(), m, from, to),
        })
        .collect();
    let slots = earliest_slots(&availability, Duration::minutes(minutes), from, to, 3);
    let who: Vec<String> = people.iter().map(|m| format!("@{}", m.name)).collect();
    if slots.is_empty() {
        turn.reply(format!(
            "no {minutes}-minute slot where {} all work before {}: try next week or a shorter meeting",
            who.join(", "),
            format_time(to.timestamp(), tz)
        ));
        return Ok(());
    }
    let lines: Vec<String> = slots
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let each: Vec<String> = people
                .iter()
                .map(|m| {
                    let local = at.with_timezone(&member_tz(keel, m));
                    format!("{} {}", m.name, local.format("%a %H:%M %Z"))
                })
                .collect();
            format!("{}) {} ({})", i + 1, format_time(at.timestamp(), tz), each.join(" · "))
        })
        .collect();
    turn.reply(format!("{minutes} min with {}: {}", who.join(", "), lines.join("; ")));
    Ok(())
}

/// A member's standup prompts in `[from, to)`, each kept free for 15 minutes.
fn standup_times(
    keel: &super::keel::Keel,
    standup: Option<&standups::Standup>,
    member: &Member,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let Some(schedule) = standup.and_then(|s| Schedule::parse(&s.cron).ok()) else {
        return Vec::new();
    };
    let tz = member_tz(keel, member);
    let mut busy = Vec::new();
    let mut cursor = from - Duration::minutes(15);
    while let Some(next) = schedule.next_after(tz, cursor) {
        if next >= to || busy.len() > 400 {
            break;
        }
        busy.push((next, next + Duration::minutes(15)));
        cursor = next;
    }
    busy
}
