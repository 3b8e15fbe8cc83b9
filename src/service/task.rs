//! What happens to a task, whoever asked for it: opening it from a request, linking messages to
//! it, assigning it, changing its status.

use keel_chat::Speaker;

use super::cards;
use super::format::{channel_label, describe_new_task, mention, quoted, task_ref};
use super::lookup::existing;
use super::outcome::{user, Outcome};
use super::surveys;
use super::turn::Turn;
use crate::capture::{Understood, FRUSTRATED};
use crate::domain::event::{Created, TaskEvent};
use crate::domain::{truncate, Priority, Source, Status, TaskId};
use crate::store::people::{Client, Member};
use crate::store::tasks::{NewEvent, Task, TaskMessage};

/// How much of a note an answer repeats.
const ECHO_CHARS: usize = 80;

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
    /// Whether keel answers in the conversation with what it understood (not by mail: the mail
    /// adapter's card and acknowledgement say it).
    pub answer_here: bool,
    /// What a person settled in a form, taken as is instead of read from the text.
    pub fixed: Option<Fixed>,
}

/// A new task's fields as a person chose them (the track form).
pub(super) struct Fixed {
    pub title: String,
    pub client: Option<Client>,
    pub owner: Option<Member>,
    pub due_at: Option<i64>,
    pub priority: Priority,
    /// The link to the message the task comes from.
    pub permalink: Option<String>,
}

/// Opens a task from a request and answers with everything keel understood.
pub(super) async fn open_task(turn: &mut Turn<'_>, request: Request<'_>) -> Outcome<Task> {
    let inbound = turn.inbound;
    let (understood, owner, client, unknown_people) = read(turn, &request).await?;
    let frustrated = request.requester_is_client && understood.sentiment <= FRUSTRATED;
    let mut priority = understood.priority.unwrap_or(Priority::Normal);
    if frustrated && request.fixed.is_none() {
        priority = priority.max(Priority::High);
    }
    let fixed_due = request.fixed.as_ref().and_then(|f| f.due_at);
    let permalink = request
        .fixed
        .as_ref()
        .and_then(|f| f.permalink.clone())
        .or_else(|| inbound.permalink.clone());
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
        permalink,
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
        due_at: fixed_due.or(understood.due.as_ref().map(|d| d.at.timestamp())),
        first_response_at: None,
        resolved_at: None,
        last_activity_at: at,
        last_client_message_at: request.requester_is_client.then_some(at),
        snoozed_until: None,
        escalated_at: None,
    };
    let created = TaskEvent::Created(Created {
        text: request.text.to_string(),
        source: Some(request.source),
        priority: Some(priority),
        due_at: task.due_at,
        title: Some(task.title.clone()),
        owner: owner.as_ref().map(|m| m.name.clone()),
        client: client.as_ref().map(|c| c.key.clone()),
        owner_id: task.owner_id,
        client_id: task.client_id,
        sentiment: Some(understood.sentiment),
        frustrated: Some(frustrated),
        ..Created::default()
    });
    let created = NewEvent::new(id, at, turn.who.name(), created);
    turn.writes().insert_task(task.clone(), created);
    link(turn, request.message_id, id);
    // A request at the top of a channel starts its own thread: one link names both.
    if let Some(root) = thread.as_deref().filter(|root| *root != request.message_id) {
        link(turn, root, id);
    }
    let tz = turn.speaker_tz();
    if request.answer_here {
        let mut text = describe_new_task(
            &task,
            client.as_ref(),
            owner.as_ref(),
            understood.due.as_ref().map(|d| d.phrase.as_str()),
            tz,
        );
        let notes = unsure(&understood, &unknown_people, id);
        text.push_str(&notes.iter().map(|n| format!(" · {n}")).collect::<String>());
        let mut card = cards::card(&task, client.as_ref(), owner.as_ref(), tz, text);
        card.notes = notes;
        turn.card_in(thread, card);
    }
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

/// What a request says: read from its text, or as a form settled it; who owns it, its client,
/// and the people it names whom nobody in the team has.
async fn read(
    turn: &mut Turn<'_>,
    request: &Request<'_>,
) -> Outcome<(Understood, Option<Member>, Option<Client>, Vec<String>)> {
    let mut understood = turn.understand(request.text);
    if let Some(fixed) = &request.fixed {
        understood = Understood {
            title: crate::capture::title(&fixed.title),
            due: None,
            unclear_due: None,
            priority: Some(fixed.priority),
            mentions: Vec::new(),
            for_words: Vec::new(),
            sentiment: understood.sentiment,
        };
    }
    if understood.title.is_empty() {
        return user("there is nothing to track in an empty message");
    }
    let (owner, client, unknown_people) = match &request.fixed {
        Some(fixed) => (fixed.owner.clone(), fixed.client.clone(), Vec::new()),
        None => owner_and_client(turn, &understood, request).await?,
    };
    Ok((understood, owner, client, unknown_people))
}

/// What keel could not settle about a new task: a due date that reads two ways, people it does
/// not know.
fn unsure(understood: &Understood, unknown_people: &[String], id: i64) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some((input, (a, b))) = understood
        .unclear_due
        .as_ref()
        .and_then(|e| Some((&e.input, e.readings?)))
    {
        notes.push(format!(
            "no due date yet: \"{input}\" could be {} or {} (`due #{id} {}`)",
            a.format("%-d %b"),
            b.format("%-d %b"),
            b.format("%b %-d")
        ));
    }
    if !unknown_people.is_empty() {
        let names: Vec<String> = unknown_people.iter().map(|p| format!("@{p}")).collect();
        notes.push(format!("not in the team: {}", names.join(", ")));
    }
    notes
}

/// Who a new task belongs to and which client it is for: the first team member it mentions (or,
/// for auto-capture, the client's owner), the channel's client (or `for <client>`, or the
/// speaker's); and the mentioned names nobody in the team has.
async fn owner_and_client(
    turn: &mut Turn<'_>,
    understood: &Understood,
    request: &Request<'_>,
) -> Outcome<(Option<Member>, Option<Client>, Vec<String>)> {
    let inbound = turn.inbound;
    let mut unknown_people = Vec::new();
    let mut owner = None;
    for name in &understood.mentions {
        match turn
            .unqueued()
            .await?
            .member_by_reference(&inbound.adapter, name)
            .await?
        {
            Some(m) if owner.is_none() => owner = Some(m),
            Some(_) => {}
            None => unknown_people.push(name.clone()),
        }
    }
    let mut client = turn.channel_client.clone();
    if client.is_none() {
        for word in &understood.for_words {
            if let Some(c) = turn.unqueued().await?.client_by_key(word).await? {
                client = Some(c);
                break;
            }
        }
    }
    let client = client.or(request.speaker_client.clone());
    if owner.is_none() && matches!(request.source, Source::Auto | Source::Email) {
        if let Some(owner_id) = client.as_ref().and_then(|c| c.owner_id) {
            owner = turn.unqueued().await?.member_by_id(owner_id).await?;
        }
    }
    Ok((owner, client, unknown_people))
}

/// The team's first answer to a client's request, at `at`: the speaker becomes the owner of a
/// task that has none.
pub(super) fn first_response(turn: &Turn<'_>, task: &mut Task, at: i64) -> TaskEvent {
    task.first_response_at = Some(at);
    let mut owner = None;
    if task.owner_id.is_none() {
        if let Some(m) = turn.who.member() {
            task.owner_id = Some(m.id);
            owner = Some(m.name.clone());
        }
    }
    TaskEvent::FirstResponse {
        after_seconds: at - task.created_at,
        owner_id: task.owner_id.filter(|_| owner.is_some()),
        owner,
    }
}

/// Queues the link from a message in the event's conversation to a task.
pub(super) fn link(turn: &mut Turn<'_>, message_id: &str, task_id: i64) {
    let inbound = turn.inbound;
    turn.writes().task_message(TaskMessage {
        adapter: inbound.adapter.clone(),
        channel: inbound.conversation.id.clone(),
        message_id: message_id.to_string(),
        task_id,
    });
}

/// Makes `owner` the task's owner and tells them.
pub(super) async fn assign(turn: &mut Turn<'_>, id: TaskId, owner: Member) -> Outcome {
    let mut task = existing(turn, id).await?;
    if task.owner_id == Some(owner.id) {
        return user(format!(
            "{} is {}'s already",
            task_ref(&task),
            mention(&owner, &turn.inbound.adapter)
        ));
    }
    task.owner_id = Some(owner.id);
    task.last_activity_at = turn.at().timestamp();
    turn.record(
        &task,
        TaskEvent::Assigned {
            owner: owner.name.clone(),
            owner_id: Some(owner.id),
        },
    )
    .await?;
    if Some(owner.id) != turn.who.member().map(|m| m.id) {
        let note = format!(
            "{} is yours now ({} assigned it): {}",
            task_ref(&task),
            turn.who.name(),
            quoted(&task.title)
        );
        turn.direct(&owner, note);
    }
    turn.reply(format!(
        "{} owner {}",
        task_ref(&task),
        mention(&owner, &turn.inbound.adapter)
    ));
    Ok(())
}

/// Moves the task to another status, refusing the moves that make no sense.
pub(super) async fn set_status(turn: &mut Turn<'_>, mut task: Task, to: Status, note: Option<&str>) -> Outcome {
    let from = task.status;
    if from == to {
        return user(format!("{} is {} already", task_ref(&task), to));
    }
    if to == Status::Open && from.is_active() {
        return user(format!("{} is {from}, not done or cancelled", task_ref(&task)));
    }
    if !from.is_active() && to != Status::Open {
        return user(format!("{} is {from}; reopen it first", task_ref(&task)));
    }
    let at = turn.at().timestamp();
    task.status = to;
    task.last_activity_at = at;
    task.resolved_at = match to {
        Status::Done => Some(at),
        Status::Open => None,
        _ => task.resolved_at,
    };
    let event = TaskEvent::Status {
        from,
        to,
        note: note.map(str::to_string),
    };
    turn.record(&task, event).await?;
    let mut answer = format!("{} {to}", task_ref(&task));
    if let Some(n) = note {
        // The whole note is in the task's timeline; the answer stays one short line.
        answer.push_str(&format!(": {}", truncate(n, ECHO_CHARS)));
    }
    turn.reply(answer);
    if to == Status::Done {
        surveys::after_done(turn, &task).await?;
    }
    Ok(())
}

/// 👀 takes the task of the reacted message, ✅ marks it done.
pub(super) async fn reaction_command(turn: &mut Turn<'_>, task: Task, member: &Member, done: bool) -> Outcome {
    if done {
        if !task.status.is_active() {
            return Ok(());
        }
        return set_status(turn, task, Status::Done, None).await;
    }
    if task.owner_id == Some(member.id) {
        return Ok(());
    }
    assign(turn, TaskId(task.id), member.clone()).await
}
