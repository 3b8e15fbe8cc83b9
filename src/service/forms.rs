//! The track form: a task from a form where the platform has forms (Slack's "Track as task"
//! message shortcut, `/keel track` without a text). Asked for, keel opens it filled in from the
//! message: the title, due date and priority read from its text, the channel's client, the
//! person who asked as the owner. Submitted, it makes the task as those fields say, linked to
//! the message, with the card in the message's thread. Forms are the team's: a client gets the
//! typed way instead.

use keel_chat::{Choice, Form, FormField, Input, Quoted, Speaker, Values, TRACK_FORM};
use serde::{Deserialize, Serialize};

use super::format::task_ref;
use super::outcome::{user, Outcome};
use super::task::{open_task, Fixed, Request};
use super::teammates::teammate;
use super::turn::{reply_thread, Turn};
use crate::capture::FRUSTRATED;
use crate::domain::{truncate, Priority, Source};
use crate::store::{people, tasks};

/// The outbox kind of an opened form.
const FORM: &str = "form";

/// How much of the message's text travels with the form (Slack keeps 3,000 characters of a
/// modal's context, with the conversation and the JSON around it).
const TEXT_CHARS: usize = 800;

/// The most clients a form offers (Slack's limit on a menu).
const MAX_CLIENTS: usize = 100;

/// The message a track form starts from, carried by the form to its submission.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thread: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author: Option<Speaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    text: String,
}

const ONLY_TEAM: &str = "the track form is for team members: write `/keel track <what you need>`";

/// Someone asked for a form: the track form, filled in, for a team member.
pub(super) async fn asked(turn: &mut Turn<'_>, form: &str, trigger: &str, message: Option<&Quoted>) -> Outcome {
    if form != TRACK_FORM {
        return Ok(());
    }
    let Some(me) = turn.who.member().cloned() else {
        return user(ONLY_TEAM);
    };
    let inbound = turn.inbound;
    if let Some(m) = message {
        not_tracked(turn, &m.message_id).await?;
    }
    let text = message.map(|m| m.text.as_str()).unwrap_or_default();
    let understood = turn.understand(text);
    let requester_is_client = message.and_then(|m| m.author.as_ref()).is_some_and(|a| a.external);
    let mut priority = understood.priority.unwrap_or(Priority::Normal);
    if requester_is_client && understood.sentiment <= FRUSTRATED {
        priority = priority.max(Priority::High);
    }
    let tz = turn.speaker_tz();
    let due = understood.due.map(|d| d.at.with_timezone(&tz).date_naive());
    let clients = people::clients(turn.db().await?).await?;
    let mut fields = vec![field(
        "title",
        "Title",
        false,
        Input::Text {
            initial: understood.title,
            multiline: false,
        },
    )];
    if !clients.is_empty() {
        let options = clients
            .iter()
            .take(MAX_CLIENTS)
            .map(|c| Choice {
                label: format!("{} ({})", c.name, c.key),
                value: c.key.clone(),
            })
            .collect();
        let initial = turn.channel_client.as_ref().map(|c| c.key.clone());
        fields.push(field("client", "Client", true, Input::Pick { options, initial }));
    }
    fields.push(field(
        "owner",
        "Owner",
        true,
        Input::Person {
            initial: Some(me.platform_id.clone()),
        },
    ));
    fields.push(field("due", "Due date", true, Input::Date { initial: due }));
    let levels = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];
    let options = levels
        .iter()
        .map(|p| Choice {
            label: p.as_str().to_string(),
            value: p.as_str().to_string(),
        })
        .collect();
    fields.push(field(
        "priority",
        "Priority",
        false,
        Input::Pick {
            options,
            initial: Some(priority.as_str().to_string()),
        },
    ));
    let context = match message {
        Some(m) => Context {
            message: Some(m.message_id.clone()),
            thread: m.thread.clone(),
            author: m.author.clone(),
            link: m.permalink.clone(),
            text: truncate(&m.text, TEXT_CHARS),
        },
        None => Context::default(),
    };
    let form = Form {
        id: TRACK_FORM.into(),
        title: "Track a request".into(),
        submit: "Track".into(),
        fields,
        context: serde_json::to_string(&context).map_err(anyhow::Error::from)?,
    };
    let outbound = keel_chat::Outbound::Form {
        conversation: inbound.conversation.id.clone(),
        user: inbound.speaker.id.clone(),
        trigger: trigger.to_string(),
        form: Box::new(form),
    };
    turn.send(FORM, &inbound.adapter.clone(), outbound);
    Ok(())
}

/// A message of this conversation that no task tracks yet; else the one-line answer naming its task.
async fn not_tracked(turn: &mut Turn<'_>, message_id: &str) -> Outcome {
    let inbound = turn.inbound;
    let conversation = &inbound.conversation.id;
    match tasks::by_message(turn.db().await?, &inbound.adapter, conversation, message_id).await? {
        Some(task) => user(format!("{} tracks that message already", task_ref(&task))),
        None => Ok(()),
    }
}

fn field(id: &str, label: &str, optional: bool, input: Input) -> FormField {
    FormField {
        id: id.into(),
        label: label.into(),
        optional,
        input,
    }
}

/// A submitted track form: the task, as its fields say.
pub(super) async fn sent(turn: &mut Turn<'_>, form: &str, values: &Values, context: &str) -> Outcome {
    if form != TRACK_FORM {
        return Ok(());
    }
    if turn.who.member().is_none() {
        return user(ONLY_TEAM);
    }
    let context: Context = serde_json::from_str(context).unwrap_or_default();
    let title = values.get("title").map(|t| t.trim()).unwrap_or_default();
    if title.is_empty() {
        return user("a task needs a title");
    }
    let client = match values.get("client") {
        Some(key) => Some(super::lookup::client_named(turn, key).await?),
        None => None,
    };
    let owner = match values.get("owner") {
        Some(id) => Some(teammate(turn, id).await?),
        None => None,
    };
    let due_at = match values.get("due") {
        Some(date) => Some(turn.read_date(date)?.timestamp()),
        None => None,
    };
    let priority = match values.get("priority") {
        Some(p) => p
            .parse::<Priority>()
            .map_err(|_| super::outcome::Fail::User(format!("\"{}\" is not a priority", truncate(p, 20))))?,
        None => Priority::Normal,
    };
    let inbound = turn.inbound;
    if let Some(message) = &context.message {
        not_tracked(turn, message).await?;
    }
    let speaker = inbound.speaker.clone();
    let requester = context.author.clone().unwrap_or(speaker);
    let text = if context.text.is_empty() {
        title.to_string()
    } else {
        context.text.clone()
    };
    let (source, message_id, thread) = match &context.message {
        Some(m) => (
            Source::Shortcut,
            m.clone(),
            Some(context.thread.clone().unwrap_or_else(|| m.clone())),
        ),
        None => (Source::Slash, inbound.message_id.clone(), reply_thread(inbound)),
    };
    let request = Request {
        text: &text,
        source,
        requester_is_client: requester.external,
        requester: &requester,
        speaker_client: None,
        message_id: &message_id,
        thread,
        answer_here: true,
        fixed: Some(Fixed {
            title: title.to_string(),
            client,
            owner,
            due_at,
            priority,
            permalink: context.link.clone(),
        }),
    };
    open_task(turn, request).await.map(|_| ())
}
