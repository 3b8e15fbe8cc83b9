//! One handler per command. Each checks, changes the task and its log together, and answers.

use chrono_tz::Tz;
use keel_chat::Outbound;

use super::format::{card, channel_label, format_time, list_line, mention, quoted, task_ref};
use super::lookup::{client_named, existing, member_named, speaker_member};
use super::outcome::{user, Outcome};
use super::task::{assign, open_task, set_status, Request};
use super::teammates::teammate;
use super::turn::{about_message, reply_thread, Turn, Who};
use super::{clients, dashboard, kpi, mail, playbooks, standup, surveys, team_calendar};
use crate::command::{self, Allowed, Command, ListScope, ParseError, Spec};
use crate::domain::event::TaskEvent;
use crate::domain::{truncate, Priority, Role, Source, Status, TaskId, WorkingHours};
use crate::store::people::{self, Member};
use crate::store::tasks::{self, Filter};

/// How many tasks `list` shows before it says how many more there are.
const LIST_LIMIT: i64 = 30;

/// Commands that act on the task of the thread they are written in when they name none.
const THREAD_COMMANDS: &[&str] = &[
    "take", "start", "wait", "done", "cancel", "reopen", "due", "priority", "note", "snooze", "escalate", "assign",
    "show",
];

/// Text addressed to keel: a command, or else a request to track.
pub(super) async fn run(turn: &mut Turn<'_>, text: &str, slash: bool) -> Outcome {
    let text = match in_thread_task(turn, text).await? {
        Some(with_id) => with_id,
        None => text.to_string(),
    };
    let text = text.as_str();
    match command::parse(text) {
        Ok((command, spec)) => {
            permit(turn, spec)?;
            execute(turn, command, slash).await
        }
        Err(ParseError::Usage(message))
            if message.starts_with("which task?") || message.contains("is not a task id") =>
        {
            user(format!("{message}{}", probably_meant(turn).await?))
        }
        Err(ParseError::Usage(message)) => user(message),
        Err(ParseError::NotACommand) => {
            let first = text.split_whitespace().next().unwrap_or("");
            if first.is_empty() {
                return user("say \"help\" to see what I can do");
            }
            if turn.inbound.conversation.direct && matches!(turn.who, Who::Team(_)) {
                return user(format!(
                    "\"{}\" is not a command; say \"help\", or \"track <text>\" to record a request",
                    truncate(first, 30)
                ));
            }
            track(turn, text, slash).await
        }
    }
}

/// A card's button, menu entry or date: the command it carries, run as if typed after `/keel`
/// (the same permissions, the same mistakes answered); anything else is no button of keel's. The
/// card answers a press that worked: it is edited to show the change, so the command's own answer
/// in the conversation is not posted (messages to others, a direct note to a new owner or the
/// CSAT question, still go).
pub(super) async fn press(turn: &mut Turn<'_>, command: &str) -> Outcome {
    match command::parse(command) {
        Ok((command, spec)) => {
            permit(turn, spec)?;
            let before = turn.out.len();
            execute(turn, command, true).await?;
            let here = turn.inbound.conversation.id.clone();
            let mut n = 0;
            turn.out.retain(|queued| {
                n += 1;
                let answer =
                    matches!(&queued.outbound, Outbound::Message { conversation, .. } if *conversation == here);
                n <= before || !(answer && queued.kind == "reply")
            });
            Ok(())
        }
        Err(ParseError::Usage(message)) => user(message),
        Err(ParseError::NotACommand) => user("that button does nothing here"),
    }
}

/// A task command written without `#N` in a task's thread, with the thread's task put in:
/// `done fixed it` in #2's thread is `done #2 fixed it`.
async fn in_thread_task(turn: &mut Turn<'_>, text: &str) -> Outcome<Option<String>> {
    let inbound = turn.inbound;
    let Some(root) = about_message(inbound) else {
        return Ok(None);
    };
    let trimmed = text.trim_start();
    let mut words = trimmed.split_whitespace();
    let Some(first) = words.next() else {
        return Ok(None);
    };
    if !THREAD_COMMANDS.contains(&first.to_lowercase().as_str())
        || words.next().is_some_and(|w| TaskId::parse(w).is_ok())
    {
        return Ok(None);
    }
    let task = tasks::by_message(turn.db().await?, &inbound.adapter, &inbound.conversation.id, root).await?;
    Ok(task.map(|t| format!("{first} #{}{}", t.id, &trimmed[first.len()..])))
}

/// The tasks a team member probably meant by a command without `#N`: their most recent open
/// ones in this conversation (` — yours open here: #3, #5`), else anyone's (` — open here: #2`).
async fn probably_meant(turn: &mut Turn<'_>) -> Outcome<String> {
    let Some(me) = turn.who.member().map(|m| m.id) else {
        return Ok(String::new());
    };
    let filter = Filter {
        statuses: vec![Status::Open, Status::InProgress, Status::Waiting],
        channel: Some((turn.inbound.adapter.clone(), turn.inbound.conversation.id.clone())),
        ..Filter::default()
    };
    let open: Vec<_> = tasks::list(turn.db().await?, &filter)
        .await?
        .into_iter()
        .rev()
        .map(|v| v.task)
        .collect();
    let refs = |ids: Vec<i64>| {
        ids.iter()
            .take(3)
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mine: Vec<i64> = open.iter().filter(|t| t.owner_id == Some(me)).map(|t| t.id).collect();
    Ok(if !mine.is_empty() {
        format!(" — yours open here: {}", refs(mine))
    } else if !open.is_empty() {
        format!(" — open here: {}", refs(open.iter().map(|t| t.id).collect()))
    } else {
        String::new()
    })
}

/// Refuses a command the speaker may not run.
fn permit(turn: &Turn<'_>, spec: &Spec) -> Outcome {
    let allowed = match (&turn.who, spec.allowed) {
        (_, Allowed::Everyone) => true,
        (Who::Client { .. }, _) => return user(format!("only team members can {}", spec.does)),
        (Who::Team(_), Allowed::Team) => true,
        (Who::Team(m), Allowed::Leads) => m.role.is_lead(),
        (Who::Team(m), Allowed::Admins) => m.role == Role::Admin,
    };
    match (allowed, spec.allowed) {
        (true, _) => Ok(()),
        (false, Allowed::Admins) => user(format!("only admins can {}", spec.does)),
        (false, _) => user(format!("only leads and admins can {}", spec.does)),
    }
}

async fn execute(turn: &mut Turn<'_>, command: Command, slash: bool) -> Outcome {
    match command {
        Command::Help { topic } => {
            let for_client = matches!(turn.who, Who::Client { .. });
            turn.reply(command::help(topic.as_deref(), for_client));
            Ok(())
        }
        Command::Track { text } => track(turn, &text, slash).await,
        Command::List { scope, client, owner } => list(turn, scope, client.map(|c| c.to_string()), owner).await,
        Command::Show { task } => show(turn, task).await,
        Command::Assign { task, who } => {
            let owner = teammate(turn, &who).await?;
            assign(turn, task, owner).await
        }
        Command::Take { task } => {
            let me = speaker_member(turn)?;
            assign(turn, task, me).await
        }
        Command::SetStatus { task, status, note } => {
            let task = existing(turn, task).await?;
            set_status(turn, task, status, note.as_deref()).await
        }
        Command::Due { task, date } => set_due(turn, task, date).await,
        Command::Priority { task, level } => set_priority(turn, task, level).await,
        Command::Note { task, text } => add_note(turn, task, text).await,
        Command::Reply { task, text } => mail::reply(turn, task, &text).await,
        Command::Snooze { task, date } => snooze(turn, task, date).await,
        Command::Escalate { task, why } => escalate(turn, task, why).await,
        Command::ClientAdd {
            key,
            name,
            channels,
            owner,
        } => clients::add(turn, key.as_str(), &name, &channels, owner).await,
        Command::ClientList => clients::list(turn).await,
        Command::ClientShow { key } => clients::show(turn, key.as_str()).await,
        Command::ClientOwner { key, owner } => clients::owner(turn, key.as_str(), &owner).await,
        Command::ClientChannel { key, add, channel } => clients::channel(turn, key.as_str(), add, &channel).await,
        Command::ClientEmail { key, add, address } => mail::link_address(turn, key.as_str(), add, &address).await,
        Command::ClientRename { key, name } => clients::rename(turn, key.as_str(), &name).await,
        Command::ClientSla { key, change } => clients::sla(turn, key.as_str(), change).await,
        Command::ClientStage { key, stage, date } => clients::stage(turn, key.as_str(), stage, date).await,
        Command::Away { until } => away(turn, until).await,
        Command::Back => back(turn).await,
        Command::Tz { tz } => set_tz(turn, tz).await,
        Command::Hours { hours } => set_hours(turn, hours).await,
        Command::Role { who, role } => set_role(turn, &who, role).await,
        Command::StandupSet {
            cron,
            questions,
            channel,
        } => team_calendar::standup_set(turn, &cron, questions, channel).await,
        Command::StandupNow => team_calendar::standup_now(turn).await,
        Command::StandupSkip { date } => team_calendar::standup_skip(turn, &date).await,
        Command::StandupOff => team_calendar::standup_off(turn).await,
        Command::HolidayAdd { date, name } => team_calendar::holiday_add(turn, &date, &name).await,
        Command::HolidayList => team_calendar::holiday_list(turn).await,
        Command::Kpi { range } => kpi::kpi(turn, range).await,
        Command::KpiWeeklyHere => kpi::weekly_here(turn).await,
        Command::Dashboard => dashboard::dashboard(turn).await,
        Command::PlaybookRun { name, target } => playbooks::run(turn, &name, &target).await,
        Command::PlaybookList => playbooks::list(turn).await,
        Command::SurveyNps { client } => surveys::survey_nps(turn, &client).await,
        Command::HolidayRemove { date } => team_calendar::holiday_remove(turn, &date).await,
        Command::Meet { people, minutes, when } => team_calendar::meet(turn, &people, minutes, when).await,
    }
}

/// `due #N <date>`.
async fn set_due(turn: &mut Turn<'_>, task: TaskId, date: String) -> Outcome {
    let mut task = existing(turn, task).await?;
    let due = turn.read_date(&date)?;
    task.due_at = Some(due.timestamp());
    task.last_activity_at = turn.at().timestamp();
    turn.record(
        &task,
        TaskEvent::Due {
            phrase: date,
            due_at: task.due_at,
        },
    )
    .await?;
    let when = format_time(due.timestamp(), turn.speaker_tz());
    turn.reply(format!("{} due {when}", task_ref(&task)));
    Ok(())
}

/// `priority #N <level>`.
async fn set_priority(turn: &mut Turn<'_>, task: TaskId, level: Priority) -> Outcome {
    let mut task = existing(turn, task).await?;
    if task.priority == level {
        return user(format!("{} is {} already", task_ref(&task), level));
    }
    let from = std::mem::replace(&mut task.priority, level);
    task.last_activity_at = turn.at().timestamp();
    turn.record(&task, TaskEvent::Priority { from, to: level }).await?;
    turn.reply(format!("{} priority {level} (was {from})", task_ref(&task)));
    Ok(())
}

/// `note #N <text>`.
async fn add_note(turn: &mut Turn<'_>, task: TaskId, text: String) -> Outcome {
    let mut task = existing(turn, task).await?;
    task.last_activity_at = turn.at().timestamp();
    turn.record(&task, TaskEvent::Note { text }).await?;
    turn.reply(format!("{} note added", task_ref(&task)));
    Ok(())
}

/// `snooze #N <date>`.
async fn snooze(turn: &mut Turn<'_>, task: TaskId, date: String) -> Outcome {
    let mut task = existing(turn, task).await?;
    let until = turn.read_date(&date)?;
    task.snoozed_until = Some(until.timestamp());
    turn.record(
        &task,
        TaskEvent::Snoozed {
            phrase: date,
            until: task.snoozed_until,
        },
    )
    .await?;
    let when = format_time(until.timestamp(), turn.speaker_tz());
    turn.reply(format!("{} snoozed until {when}", task_ref(&task)));
    Ok(())
}

/// `away until <date>`: no nudges or standups until then.
async fn away(turn: &mut Turn<'_>, until: String) -> Outcome {
    let mut me = speaker_member(turn)?;
    let until = turn.read_date(&until)?;
    me.away_until = Some(until.timestamp());
    people::update_member(turn.db().await?, &me).await?;
    turn.reply(format!(
        "away until {}: no nudges or standups until then",
        format_time(until.timestamp(), turn.speaker_tz())
    ));
    Ok(())
}

/// `back`: the speaker is available again.
async fn back(turn: &mut Turn<'_>) -> Outcome {
    let mut me = speaker_member(turn)?;
    me.away_until = None;
    people::update_member(turn.db().await?, &me).await?;
    turn.reply("welcome back");
    Ok(())
}

/// `tz <Area/City>`: the speaker's time zone.
async fn set_tz(turn: &mut Turn<'_>, tz: Tz) -> Outcome {
    let mut me = speaker_member(turn)?;
    me.tz = Some(tz.name().to_string());
    people::update_member(turn.db().await?, &me).await?;
    // The next standup prompt follows the new zone.
    let (now, keel) = (turn.at().timestamp(), turn.keel);
    standup::schedule_member(turn.db().await?, keel, &me, now).await?;
    turn.reply(format!("your time zone is {}", tz.name()));
    Ok(())
}

/// `hours 09:00-17:00`: the speaker's working hours.
async fn set_hours(turn: &mut Turn<'_>, hours: WorkingHours) -> Outcome {
    let mut me = speaker_member(turn)?;
    me.hours = hours;
    people::update_member(turn.db().await?, &me).await?;
    turn.reply(format!("your working hours are {hours}"));
    Ok(())
}

async fn track(turn: &mut Turn<'_>, text: &str, slash: bool) -> Outcome {
    let inbound = turn.inbound;
    let (requester_is_client, speaker_client) = match &turn.who {
        Who::Client { client, .. } => (true, client.clone()),
        Who::Team(_) => (false, None),
    };
    let request = Request {
        text,
        source: if slash { Source::Slash } else { Source::Mention },
        requester: &inbound.speaker,
        requester_is_client,
        speaker_client,
        message_id: &inbound.message_id,
        thread: reply_thread(inbound),
        answer_here: true,
        fixed: None,
    };
    open_task(turn, request).await.map(|_| ())
}

async fn list(turn: &mut Turn<'_>, scope: ListScope, client: Option<String>, owner: Option<String>) -> Outcome {
    let active = vec![Status::Open, Status::InProgress, Status::Waiting];
    let now = turn.at().timestamp();
    let mut filter = Filter {
        limit: Some(LIST_LIMIT + 1),
        ..Filter::default()
    };
    match &turn.who {
        Who::Client { client: Some(c), .. } => {
            // Clients see their own client's open requests and nothing else.
            if client.as_ref().is_some_and(|key| *key != c.key) {
                return user("only team members can list other clients' tasks");
            }
            filter.statuses = active;
            filter.client_id = Some(c.id);
        }
        Who::Client { client: None, .. } => {
            return user("I don't know which client you are with yet, so I cannot list requests");
        }
        Who::Team(me) => {
            filter.statuses = match scope {
                ListScope::Waiting => vec![Status::Waiting],
                ListScope::All => Vec::new(),
                _ => active,
            };
            if scope == ListScope::Mine {
                filter.owner_id = Some(me.id);
            }
            if scope == ListScope::Overdue {
                filter.due_before = Some(now);
            }
            if let Some(key) = client {
                filter.client_id = Some(client_named(turn, &key).await?.id);
            }
            if let Some(who) = owner {
                filter.owner_id = Some(member_named(turn, &who).await?.id);
            }
        }
    }
    let found = tasks::list(turn.db().await?, &filter).await?;
    if found.is_empty() {
        turn.reply("no tasks match");
        return Ok(());
    }
    let tz = turn.speaker_tz();
    let mut lines: Vec<String> = found
        .iter()
        .take(LIST_LIMIT as usize)
        .map(|v| list_line(v, now, tz))
        .collect();
    if found.len() as i64 > LIST_LIMIT {
        lines.push(format!(
            "… more after #{} (narrow with mine, overdue, for <client> or @owner)",
            found[LIST_LIMIT as usize - 1].task.id
        ));
    }
    turn.reply(lines.join("\n"));
    Ok(())
}

async fn show(turn: &mut Turn<'_>, id: TaskId) -> Outcome {
    let Some(view) = tasks::by_id(turn.db().await?, id.0).await? else {
        return user(format!("{id} does not exist"));
    };
    let events = tasks::events(turn.db().await?, id.0).await?;
    turn.reply(card(&view, &events, turn.speaker_tz()));
    Ok(())
}

async fn escalate(turn: &mut Turn<'_>, id: TaskId, why: Option<String>) -> Outcome {
    let mut task = existing(turn, id).await?;
    if !task.status.is_active() {
        return user(format!(
            "{} is {}; reopen it before escalating",
            task_ref(&task),
            task.status
        ));
    }
    let at = turn.at().timestamp();
    task.escalated_at = Some(at);
    task.last_activity_at = at;
    turn.record(
        &task,
        TaskEvent::Escalated {
            text: why.clone(),
            by: None,
        },
    )
    .await?;
    let mut notify: Vec<Member> = people::members(turn.db().await?)
        .await?
        .into_iter()
        .filter(|m| m.role.is_lead())
        .collect();
    if let Some(owner_id) = match task.client_id {
        Some(cid) => people::client_by_id(turn.db().await?, cid)
            .await?
            .and_then(|c| c.owner_id),
        None => None,
    } {
        if let Some(owner) = people::member_by_id(turn.db().await?, owner_id).await? {
            notify.insert(0, owner);
        }
    }
    let me = turn.who.member().map(|m| m.id);
    notify.retain(|m| Some(m.id) != me);
    notify.dedup_by_key(|m| m.id);
    let reason = why
        .as_deref()
        .map(|w| format!(": {}", truncate(w, 200)))
        .unwrap_or_default();
    let message = format!(
        "{} escalated by {}{reason} — {} ({})",
        task_ref(&task),
        turn.who.name(),
        quoted(&task.title),
        channel_label(&task)
    );
    let names: Vec<String> = notify.iter().map(|m| mention(m, &turn.inbound.adapter)).collect();
    for m in &notify {
        turn.direct(m, message.clone());
    }
    if names.is_empty() {
        turn.reply(format!(
            "{} escalated (no client owner or lead to notify yet)",
            task_ref(&task)
        ));
    } else {
        turn.reply(format!("{} escalated to {}", task_ref(&task), names.join(", ")));
    }
    Ok(())
}

async fn set_role(turn: &mut Turn<'_>, who: &str, role: Role) -> Outcome {
    let mut member = teammate(turn, who).await?;
    if member.role == Role::Admin && role != Role::Admin {
        let admins = people::members(turn.db().await?)
            .await?
            .iter()
            .filter(|m| m.role == Role::Admin)
            .count();
        if admins <= 1 {
            return user(format!(
                "@{} is the last admin; make someone else admin first",
                member.name
            ));
        }
    }
    member.role = role;
    people::update_member(turn.db().await?, &member).await?;
    turn.reply(format!("@{} is {role} now", member.name));
    Ok(())
}
