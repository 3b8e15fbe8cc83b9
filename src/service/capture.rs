//! Requests becoming tasks: auto-capture of client messages, `track`, 🎫, follow-ups in threads,
//! and the team's first response.
//!
//! Invariant: the handlers reached without a command (`conversation`, `reaction`, `edit`) fail
//! with a user error only before they write anything; they run without a savepoint.

use keel_chat::{InboundKind, Speaker};
use serde_json::json;

use super::format::{describe_new_task, quoted};
use super::{status_change, user, Outcome, Turn, Who};
use crate::capture::{self, noise, understand, FRUSTRATED};
use crate::domain::{Priority, Source, Status};
use crate::store::people::Touchpoint;
use crate::store::people::{self, Client};
use crate::store::tasks::{self, Link, NewEvent, Task};

/// A request about to become a task.
pub(super) struct Request<'a> {
    pub text: &'a str,
    pub source: Source,
    pub requester: &'a Speaker,
    pub requester_is_client: bool,
    /// The client the speaker belongs to, when they are a client user.
    pub speaker_client: Option<Client>,
    /// The message the task comes from.
    pub message_id: &'a str,
    /// The thread the task's conversation happens in (and keel's answer goes to).
    pub thread: Option<String>,
}

/// An ordinary message in a conversation (not addressed to keel).
pub(super) async fn conversation(turn: &mut Turn<'_>, text: &str) -> Outcome {
    let inbound = turn.inbound;
    let at = turn.at().timestamp();
    let thread_task = match &inbound.thread {
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
            if noise::is_noise(text) {
                return Ok(());
            }
            let window = turn.keel.settings.group_window_secs;
            if window > 0 {
                if let Some(task) = groupable(turn, at, window).await? {
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
                thread: super::reply_thread(inbound),
            };
            open_task(turn, request).await.map(|_| ())
        }
        Who::Team(member) => {
            if let Some(c) = turn.channel_client.clone() {
                touchpoint(turn, c.id, &member.name, false);
            }
            match thread_task {
                Some(task) => team_follow_up(turn, task).await,
                None if turn.channel_client.is_some() => {
                    // A team member speaking at the top of a client channel has answered every
                    // request there still waiting for an answer.
                    let waiting =
                        tasks::awaiting_response(turn.db().await?, &inbound.adapter, &inbound.conversation.id).await?;
                    for task in waiting {
                        team_follow_up(turn, task).await?;
                    }
                    Ok(())
                }
                None => Ok(()),
            }
        }
    }
}

/// Opens a task from a request and answers with everything keel understood.
pub(super) async fn open_task(turn: &mut Turn<'_>, request: Request<'_>) -> Outcome<Task> {
    let inbound = turn.inbound;
    let understood = understand(request.text, &turn.due_context());
    if understood.title.is_empty() {
        return user("there is nothing to track in an empty message");
    }
    let mut unknown_people = Vec::new();
    let mut owner = None;
    for name in &understood.mentions {
        match people::member_by_reference(turn.peek(), &inbound.adapter, name).await? {
            Some(m) if owner.is_none() => owner = Some(m),
            Some(_) => {}
            None => unknown_people.push(name.clone()),
        }
    }
    let mut client = turn.channel_client.clone();
    if client.is_none() {
        for word in &understood.for_words {
            if let Some(c) = people::client_by_key(turn.peek(), word).await? {
                client = Some(c);
                break;
            }
        }
    }
    let client = client.or(request.speaker_client.clone());
    if owner.is_none() && request.source == Source::Auto {
        if let Some(owner_id) = client.as_ref().and_then(|c| c.owner_id) {
            owner = people::member_by_id(turn.peek(), owner_id).await?;
        }
    }
    let frustrated = request.requester_is_client && understood.sentiment <= FRUSTRATED;
    let mut priority = understood.priority.unwrap_or(Priority::Normal);
    if frustrated {
        priority = priority.max(Priority::High);
    }
    let at = turn.at().timestamp();
    let id = turn.next_task_id().await?;
    let thread = request.thread.clone();
    let task = Task {
        id,
        title: understood.title.clone(),
        client_id: client.as_ref().map(|c| c.id),
        adapter: inbound.adapter.clone(),
        channel: inbound.conversation.id.clone(),
        channel_name: inbound.conversation.name.clone(),
        thread: thread.clone(),
        link: inbound.link.clone(),
        requester_id: request.requester.id.clone(),
        requester_name: crate::domain::clean_name(&request.requester.name),
        requester_is_client: request.requester_is_client,
        owner_id: owner.as_ref().map(|m| m.id),
        status: Status::Open,
        priority,
        source: request.source,
        sentiment: understood.sentiment,
        frustrated,
        created_at: at,
        due_at: understood.due.as_ref().map(|d| d.at.timestamp()),
        first_response_at: None,
        resolved_at: None,
        last_activity_at: at,
        last_client_message_at: request.requester_is_client.then_some(at),
        snoozed_until: None,
        escalated_at: None,
    };
    let data = json!({
        "text": request.text,
        "source": request.source.as_str(),
        "priority": priority.as_str(),
        "due_at": task.due_at,
        "owner": owner.as_ref().map(|m| m.name.clone()),
        "client": client.as_ref().map(|c| c.key.clone()),
        "sentiment": understood.sentiment,
        "frustrated": frustrated,
    });
    let created = NewEvent::new(id, at, "created", turn.who.name(), data);
    turn.writes().insert_task(task.clone(), created);
    link(turn, request.message_id, id);
    if let Some(root) = &thread {
        link(turn, root, id);
    }
    let tz = turn.speaker_tz();
    let mut text = describe_new_task(
        &task,
        client.as_ref(),
        owner.as_ref(),
        understood.due.as_ref().map(|d| d.phrase.as_str()),
        tz,
    );
    if !unknown_people.is_empty() {
        let names: Vec<String> = unknown_people.iter().map(|p| format!("@{p}")).collect();
        text.push_str(&format!(" · not in the team: {}", names.join(", ")));
    }
    turn.reply_in(thread, text);
    if let Some(m) = &owner {
        if Some(m.id) != turn.who.member().map(|w| w.id) {
            let note = format!(
                "{} is yours: {} ({})",
                task_ref(&task),
                quoted(&task.title),
                channel_label(&task)
            );
            turn.direct(m, note);
        }
    }
    Ok(task)
}

/// A client's later message in a task's thread: activity, and a reopen when it asks for more.
async fn client_follow_up(turn: &mut Turn<'_>, mut task: Task, text: &str) -> Outcome {
    let at = turn.at().timestamp();
    task.last_activity_at = at;
    task.last_client_message_at = Some(at);
    if task.status == Status::Done && !noise::is_noise(text) {
        let from = task.status;
        task.status = Status::Open;
        task.resolved_at = None;
        turn.record(
            &task,
            "status",
            status_change(from, Status::Open, Some("the client wrote again")),
        )
        .await?;
        turn.reply(format!("{} reopened: the client wrote again", task_ref(&task)));
        return Ok(());
    }
    turn.record(&task, "message", json!({ "from": "client" })).await
}

/// A team member's message about a task: the first one is the first response.
async fn team_follow_up(turn: &mut Turn<'_>, mut task: Task) -> Outcome {
    let at = turn.at().timestamp();
    task.last_activity_at = at;
    if task.first_response_at.is_none() && task.requester_is_client {
        task.first_response_at = Some(at);
        let member = turn.who.member().cloned();
        let mut data = json!({ "after_seconds": at - task.created_at });
        if task.owner_id.is_none() {
            if let Some(m) = &member {
                task.owner_id = Some(m.id);
                data["owner"] = json!(m.name);
            }
        }
        return turn.record(&task, "first_response", data).await;
    }
    turn.record(&task, "message", json!({ "from": "team" })).await
}

/// A client message arriving soon after another joins that message's task.
async fn join(turn: &mut Turn<'_>, mut task: Task, text: &str) -> Outcome {
    let inbound = turn.inbound;
    let at = turn.at().timestamp();
    let understood = understand(text, &turn.due_context());
    task.last_activity_at = at;
    task.last_client_message_at = Some(at);
    if let Some(p) = understood.priority {
        task.priority = task.priority.max(p);
    }
    if understood.sentiment <= FRUSTRATED {
        task.frustrated = true;
        task.priority = task.priority.max(Priority::High);
    }
    if task.due_at.is_none() {
        task.due_at = understood.due.map(|d| d.at.timestamp());
    }
    link(turn, &inbound.message_id, task.id);
    turn.record(
        &task,
        "message_joined",
        json!({ "text": text, "sentiment": understood.sentiment }),
    )
    .await
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
            };
            open_task(turn, request).await.map(|_| ())
        }
        "eyes" | "done" => {
            let (Some(task), Some(member)) = (existing, turn.who.member().cloned()) else {
                return Ok(());
            };
            super::commands::reaction_command(turn, task, &member, emoji_name(emoji) == "done").await
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
    let captured_here = events
        .first()
        .and_then(|e| e.data.get("text"))
        .and_then(|t| t.as_str())
        .map(capture::title);
    if captured_here.as_deref() != Some(task.title.as_str()) {
        return Ok(());
    }
    let title = capture::title(text);
    if title.is_empty() || title == task.title {
        return Ok(());
    }
    let from = std::mem::replace(&mut task.title, title.clone());
    turn.record(&task, "edited", json!({ "from": from, "to": title })).await
}

/// The task a client message at `at` joins: the newest open auto-captured task in the channel
/// whose last client message lies within `window` seconds (either side: platforms may deliver out
/// of order). Tasks queued in this batch are newer than any in the database, so they come first.
async fn groupable(turn: &mut Turn<'_>, at: i64, window: i64) -> Outcome<Option<Task>> {
    let inbound = turn.inbound;
    let joinable = |t: &&Task| {
        t.adapter == inbound.adapter
            && t.channel == inbound.conversation.id
            && t.source == Source::Auto
            && t.status == Status::Open
            && t.last_client_message_at.is_some_and(|last| (last - at).abs() <= window)
    };
    if let Some(queued) = turn.writes().newest_queued(|t| joinable(&t)) {
        return Ok(Some(queued.clone()));
    }
    if let Some(stored) = turn
        .batch
        .groupable(&inbound.adapter, &inbound.conversation.id, at, window)
    {
        return Ok(stored.iter().rev().find(joinable).cloned());
    }
    Ok(tasks::groupable(turn.peek(), &inbound.adapter, &inbound.conversation.id, at, window).await?)
}

/// Queues a touchpoint for the event's conversation.
fn touchpoint(turn: &mut Turn<'_>, client_id: i64, speaker: &str, from_client: bool) {
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

/// Queues the link from a message in the event's conversation to a task.
fn link(turn: &mut Turn<'_>, message_id: &str, task_id: i64) {
    let inbound = turn.inbound;
    turn.writes().link(Link {
        adapter: inbound.adapter.clone(),
        channel: inbound.conversation.id.clone(),
        message_id: message_id.to_string(),
        task_id,
    });
}

/// `#12`.
pub(super) fn task_ref(task: &Task) -> String {
    format!("#{}", task.id)
}

/// `#acme`, or `direct message` for a direct conversation.
pub(super) fn channel_label(task: &Task) -> String {
    if task.channel_name.starts_with('@') {
        "direct message".to_string()
    } else {
        format!("#{}", task.channel_name)
    }
}
