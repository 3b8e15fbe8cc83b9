//! Requests becoming tasks: auto-capture of client messages, `track`, 🎫, follow-ups in threads,
//! and the team's first response.
//!
//! Invariant: the handlers reached without a command (`conversation`, `reaction`, `edit`) fail
//! with a user error only before they write anything; they run without a savepoint.

use super::chases;
use super::format::{format_time, task_ref};
use super::lookup::channel_named;
use super::outcome::{user, Outcome};
use super::task::{first_response, link, open_task, reaction_command, Request};
use super::turn::{about_message, reply_thread, Turn, Who};
use crate::capture::{self, chase, noise, FRUSTRATED};
use crate::domain::event::{Side, TaskEvent};
use crate::domain::{Priority, Source, Status};
use crate::store::jobs;
use crate::store::people::{Client, Touchpoint};
use crate::store::tasks::{self, Task};
use keel_chat::InboundKind;

/// An ordinary message in a conversation (not addressed to keel).
pub(super) async fn conversation(turn: &mut Turn<'_>, text: &str) -> Outcome {
    let inbound = turn.inbound;
    let at = turn.at().timestamp();
    let thread_task = match about_message(inbound) {
        Some(root) => tasks::by_message(turn.db().await?, &inbound.adapter, &inbound.conversation.id, root).await?,
        None => None,
    };
    match turn.who.clone() {
        Who::Client { client, .. } => {
            let client = turn.channel_client.clone().or(client);
            if let Some(c) = &client {
                touchpoint(turn, c.id, &inbound.speaker.name, true);
            }
            if let Some(task) = thread_task {
                return client_follow_up(turn, task, text).await;
            }
            if chase::is_chase(text) {
                if let Some(task) = chased_at_the_top(turn, client.as_ref()).await? {
                    return client_follow_up(turn, task, text).await;
                }
            }
            if noise::is_noise(text) {
                return Ok(());
            }
            if turn.channel_client.is_none() && !inbound.conversation.direct {
                return unlinked_channel(turn, client.as_ref()).await;
            }
            let window = turn.keel.settings.group_window_secs;
            if window > 0 {
                if let Some(task) = turn.groupable(at, window).await? {
                    return join(turn, task, text).await;
                }
            }
            let request = Request {
                text,
                source: Source::Auto,
                requester: &inbound.speaker,
                requester_is_client: true,
                speaker_client: client,
                message_id: &inbound.message_id,
                thread: reply_thread(inbound),
                answer_here: true,
                fixed: None,
            };
            open_task(turn, request).await.map(|_| ())
        }
        Who::Team(member) => {
            if let Some(c) = turn.channel_client.clone() {
                touchpoint(turn, c.id, &member.name, false);
            }
            match thread_task {
                Some(task) => team_follow_up(turn, task, text).await,
                None if turn.channel_client.is_some() && !noise::answers_nothing(text) => {
                    let waiting =
                        tasks::awaiting_response(turn.db().await?, &inbound.adapter, &inbound.conversation.id).await?;
                    for task in answered_at_the_top(waiting, text) {
                        team_follow_up(turn, task, text).await?;
                    }
                    Ok(())
                }
                None => Ok(()),
            }
        }
    }
}

/// A client user wrote in a channel linked to no client: no task. The leads are told once per
/// channel where it comes from and how to link it.
async fn unlinked_channel(turn: &mut Turn<'_>, client: Option<&Client>) -> Outcome {
    let inbound = turn.inbound;
    let key = format!("unlinked:{}:{}", inbound.adapter, inbound.conversation.id);
    let now = turn.at().timestamp();
    if !jobs::first_notice(turn.db().await?, &key, "unlinked_channel", now).await? {
        return Ok(());
    }
    let channel = channel_named(turn, &inbound.conversation.id);
    let from = match client {
        Some(c) => format!("{} ({})", inbound.speaker.name, c.key),
        None => inbound.speaker.name.clone(),
    };
    let key = client.map_or("<key>", |c| c.key.as_str());
    let link = match crate::command::channel_ref(&channel) {
        Some(_) => format!("To capture requests there: client channel {key} add {channel}"),
        None => "Its name cannot be written in a command: give it one of letters, digits, - _ and . to link it".into(),
    };
    let text = format!("{from} wrote in {channel}, which is linked to no client, so keel made no task of it. {link}");
    let leads = turn.unqueued().await?.leads().await?;
    for lead in &leads {
        turn.direct(lead, text.clone());
    }
    Ok(())
}

/// A client's later message in a task's thread: activity, and a reopen when it asks for more.
async fn client_follow_up(turn: &mut Turn<'_>, mut task: Task, text: &str) -> Outcome {
    let at = turn.at().timestamp();
    task.last_activity_at = at;
    task.last_client_message_at = Some(at);
    if reopen_or_chase(turn, &mut task, text).await? {
        return Ok(());
    }
    turn.record(&task, TaskEvent::Message { from: Side::Client }).await
}

/// A client wrote about a task again: a done task is reopened when they ask for more (a thanks
/// does not reopen it), an active one is chased by "any update?". True when it was either.
pub(super) async fn reopen_or_chase(turn: &mut Turn<'_>, task: &mut Task, text: &str) -> Outcome<bool> {
    if task.status == Status::Done && !noise::is_noise(text) {
        let from = task.status;
        task.status = Status::Open;
        task.resolved_at = None;
        let note = Some("the client wrote again".to_string());
        turn.record(
            task,
            TaskEvent::Status {
                from,
                to: Status::Open,
                note,
            },
        )
        .await?;
        turn.reply(format!("{} reopened: the client wrote again", task_ref(task)));
        return Ok(true);
    }
    if task.status.is_active() && chase::is_chase(text) {
        chases::chased(turn, task, text).await?;
        return Ok(true);
    }
    Ok(false)
}

/// The task a client's top-level "any update?" chases: the speaker's newest open request in this
/// conversation, else their client's newest open one here.
async fn chased_at_the_top(turn: &mut Turn<'_>, client: Option<&Client>) -> Outcome<Option<Task>> {
    let Some(client) = client else {
        return Ok(None);
    };
    let inbound = turn.inbound;
    let filter = tasks::Filter {
        statuses: vec![Status::Open, Status::InProgress, Status::Waiting],
        client_id: Some(client.id),
        channel: Some((inbound.adapter.clone(), inbound.conversation.id.clone())),
        ..tasks::Filter::default()
    };
    let here: Vec<Task> = tasks::list(turn.db().await?, &filter)
        .await?
        .into_iter()
        .map(|v| v.task)
        .collect();
    let theirs = here.iter().rev().find(|t| t.requester_id == inbound.speaker.id);
    Ok(theirs.or(here.last()).cloned())
}

/// The waiting requests a team member's top-level message in a client channel answers: those
/// whose requester it mentions, otherwise only the newest one (`waiting` is oldest first).
fn answered_at_the_top(waiting: Vec<Task>, text: &str) -> Vec<Task> {
    let mentioned = capture::mentions(text);
    let names = |t: &Task| {
        mentioned.iter().any(|m| {
            let m = m.to_lowercase();
            m == t.requester_id.to_lowercase()
                || m == t.requester_id.trim_start_matches('@').to_lowercase()
                || m == t.requester_name.to_lowercase()
        })
    };
    if waiting.iter().any(names) {
        return waiting.into_iter().filter(|t| names(t)).collect();
    }
    waiting.into_iter().last().into_iter().collect()
}

/// A team member's message about a task: the first one that is more than a greeting, a thanks
/// or emoji is the first response.
async fn team_follow_up(turn: &mut Turn<'_>, mut task: Task, text: &str) -> Outcome {
    let at = turn.at().timestamp();
    task.last_activity_at = at;
    if task.first_response_at.is_none() && task.requester_is_client && !noise::answers_nothing(text) {
        let first = first_response(turn, &mut task, at);
        return turn.record(&task, first).await;
    }
    turn.record(&task, TaskEvent::Message { from: Side::Team }).await
}

/// A client message arriving soon after another joins that message's task. A due date or a
/// higher priority it brings is recorded as an event of its own and answered in the task's
/// thread, as a new request's are.
async fn join(turn: &mut Turn<'_>, mut task: Task, text: &str) -> Outcome {
    let inbound = turn.inbound;
    let at = turn.at().timestamp();
    let understood = turn.understand(text);
    let frustrated = understood.sentiment <= FRUSTRATED;
    task.last_activity_at = at;
    task.last_client_message_at = Some(at);
    task.frustrated |= frustrated;
    link(turn, &inbound.message_id, task.id);
    let joined = TaskEvent::MessageJoined {
        text: text.to_string(),
        sentiment: understood.sentiment,
        frustrated,
    };
    let mut events = vec![joined];
    let mut changed = Vec::new();
    if let Some(due) = understood.due.filter(|_| task.due_at.is_none()) {
        task.due_at = Some(due.at.timestamp());
        changed.push(format!("due {}", format_time(due.at.timestamp(), turn.speaker_tz())));
        events.push(TaskEvent::Due {
            phrase: due.phrase,
            due_at: task.due_at,
        });
    }
    let mut priority = task.priority.max(understood.priority.unwrap_or(task.priority));
    if frustrated {
        priority = priority.max(Priority::High);
    }
    if priority != task.priority {
        let from = std::mem::replace(&mut task.priority, priority);
        changed.push(format!("priority {priority} (was {from})"));
        events.push(TaskEvent::Priority { from, to: priority });
    }
    turn.record_all(&task, events).await?;
    if !changed.is_empty() {
        let answer = format!("{} {}", task_ref(&task), changed.join(" · "));
        turn.reply_in(task.thread.clone().or_else(|| reply_thread(inbound)), answer);
    }
    Ok(())
}

/// A reaction: 🎫 captures the message, 👀 takes its task, ✅ marks it done.
pub(super) async fn reaction(turn: &mut Turn<'_>, emoji: &str, message_id: &str) -> Outcome {
    let inbound = turn.inbound;
    let (text, author) = match &inbound.kind {
        InboundKind::Reaction {
            message_text, author, ..
        } => (message_text.clone(), author.clone()),
        _ => (None, None),
    };
    let existing = tasks::by_message(turn.db().await?, &inbound.adapter, &inbound.conversation.id, message_id).await?;
    match emoji_name(emoji) {
        "ticket" => {
            if existing.is_some() {
                return Ok(());
            }
            let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
                return user("I cannot read that message, so I cannot track it");
            };
            let requester = author.unwrap_or_else(|| inbound.speaker.clone());
            let speaker_client = match &turn.who {
                Who::Client { client, .. } => client.clone(),
                Who::Team(_) => None,
            };
            let request = Request {
                text: &text,
                source: Source::Reaction,
                requester_is_client: requester.external,
                requester: &requester,
                speaker_client,
                message_id,
                // The answer threads under the reacted message, not under the reaction.
                thread: Some(inbound.thread.clone().unwrap_or_else(|| message_id.to_string())),
                answer_here: true,
                fixed: None,
            };
            open_task(turn, request).await.map(|_| ())
        }
        "eyes" | "done" => {
            let (Some(task), Some(member)) = (existing, turn.who.member().cloned()) else {
                return Ok(());
            };
            reaction_command(turn, task, &member, emoji_name(emoji) == "done").await
        }
        _ => Ok(()),
    }
}

/// Platform-neutral emoji names: Slack sends shortcodes, Matrix the characters.
fn emoji_name(emoji: &str) -> &'static str {
    match emoji.trim_matches(':') {
        "ticket" | "🎫" | "admission_tickets" | "🎟️" | "🎟" => "ticket",
        "eyes" | "👀" => "eyes",
        "white_check_mark" | "heavy_check_mark" | "✅" | "✔️" | "✔" => "done",
        _ => "",
    }
}

/// An edit: the task's title follows its message while nobody has changed the title.
pub(super) async fn edit(turn: &mut Turn<'_>, message_id: &str, text: &str) -> Outcome {
    let inbound = turn.inbound;
    let Some(mut task) =
        tasks::by_message(turn.db().await?, &inbound.adapter, &inbound.conversation.id, message_id).await?
    else {
        return Ok(());
    };
    let events = tasks::events(turn.db().await?, task.id).await?;
    let captured_here = events.first().and_then(|e| match &e.event {
        TaskEvent::Created(created) => Some(capture::title(&created.text)),
        _ => None,
    });
    if captured_here.as_deref() != Some(task.title.as_str()) {
        return Ok(());
    }
    let title = capture::title(text);
    if title.is_empty() || title == task.title {
        return Ok(());
    }
    let from = std::mem::replace(&mut task.title, title.clone());
    turn.record(&task, TaskEvent::Edited { from, to: title }).await
}

/// Queues a touchpoint for the event's conversation.
pub(super) fn touchpoint(turn: &mut Turn<'_>, client_id: i64, speaker: &str, from_client: bool) {
    let inbound = turn.inbound;
    turn.writes().touchpoint(Touchpoint {
        client_id,
        at: inbound.at.timestamp(),
        adapter: inbound.adapter.clone(),
        channel: inbound.conversation.id.clone(),
        speaker: speaker.to_string(),
        from_client,
    });
}
