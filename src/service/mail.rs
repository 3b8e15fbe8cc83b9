//! Mail: a client's mail becoming a task or joining one, the card announcing it in the team's
//! mail channel, the acknowledgement, and the team's answer by mail (`reply #N`, or `reply:` in
//! the card's thread).
//!
//! A mail joins the task of any message its In-Reply-To or References name (a client's mail or
//! one keel sent), else the task its subject names (`[#12]`) when it is that task's client's;
//! anything else is a new request, even from the same person. Whatever the handlers around it
//! answer "in the conversation" goes to the card's thread: the client's conversation is mail,
//! and only `reply` writes to it.

use keel_chat::{Address, Mail, Outbound, OutboundMail};

use super::batch::{ack_key, ACK_NOTICE};
use super::capture::{reopen_or_chase, touchpoint};
use super::format::{describe_new_task, quoted, size, task_ref};
use super::lookup::{client_named, existing};
use super::outcome::{user, Outcome};
use super::task::{first_response, open_task, Request};
use super::turn::{about_message, Turn, Who};
use crate::capture::noise;
use crate::domain::event::{Attachment, MailEvent, Side, TaskEvent};
use crate::domain::{Source, TaskId};
use crate::settings::MailSettings;
use crate::store::outbox::{self, Queued, ThreadStart};
use crate::store::people::{self, Client};
use crate::store::tasks::{self, Task, TaskMessage};

/// The adapter mail comes and goes through.
pub const EMAIL: &str = "email";

/// The most Message-IDs a sent mail's References carry (the root and the newest).
const REFERENCES: usize = 20;

/// A mail from a client (the team's own mail makes nothing: they answer with `reply`).
pub(super) async fn arrived(turn: &mut Turn<'_>, mail: &Mail) -> Outcome {
    let Some(settings) = turn.keel.settings.mail.clone() else {
        tracing::warn!("a mail arrived, but [email] is not configured; it is left alone");
        return Ok(());
    };
    let Who::Client { client, .. } = turn.who.clone() else {
        return Ok(());
    };
    if let Some(c) = &client {
        let name = turn.inbound.speaker.name.clone();
        touchpoint(turn, c.id, &name, true);
    }
    match thread_task(turn, mail, client.as_ref()).await? {
        Some(task) => joined(turn, &settings, task, mail).await,
        None => new_request(turn, &settings, client, mail).await,
    }
}

/// The task a mail belongs to: by its references, else by its subject's `[#N]` when the sender
/// is that task's client's.
async fn thread_task(turn: &mut Turn<'_>, mail: &Mail, client: Option<&Client>) -> Outcome<Option<Task>> {
    let inbound = turn.inbound;
    let mut ids = mail.references.clone();
    ids.extend(about_message(inbound).map(str::to_string));
    // A new thread (no references) reads nothing: a read would first write the batch's rows.
    if !ids.is_empty() {
        if let Some(task) = tasks::by_any_message(turn.db().await?, EMAIL, &ids).await? {
            return Ok(Some(task));
        }
    }
    let (Some(number), Some(client)) = (subject_token(&mail.subject), client) else {
        return Ok(None);
    };
    let task = tasks::by_id(turn.db().await?, number).await?.map(|v| v.task);
    Ok(task.filter(|t| t.client_id == Some(client.id)))
}

/// `Re: Invoice [#12]` → 12.
fn subject_token(subject: &str) -> Option<i64> {
    let start = subject.find("[#")? + 2;
    let digits = &subject[start..];
    let end = digits.find(']')?;
    let number = &digits[..end];
    if number.is_empty() || number.len() > 9 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// A later mail of a task's thread: on its log, shown in the card's thread, and a reopen when
/// the task was done and it asks for more (a thanks does not).
async fn joined(turn: &mut Turn<'_>, settings: &MailSettings, mut task: Task, mail: &Mail) -> Outcome {
    let inbound = turn.inbound;
    let at = turn.at().timestamp();
    link(turn, &inbound.conversation.id, &inbound.message_id, task.id);
    task.last_activity_at = at;
    task.last_client_message_at = Some(at);
    turn.record(&task, TaskEvent::Mail(received(turn, mail))).await?;
    let line = format!(
        "✉ {} wrote on {}: {}{}",
        sender(turn),
        task_ref(&task),
        quoted(&mail.text),
        attachments_line(&mail.attachments)
    );
    let (adapter, channel) = settings.notify.clone();
    let thread = tasks::linked_message(turn.db().await?, task.id, &adapter, &channel).await?;
    turn.send(
        "reply",
        &adapter,
        Outbound::Message {
            conversation: channel,
            thread: thread.clone(),
            text: line,
        },
    );
    reopen_or_chase(turn, &mut task, &mail.text).await?;
    to_the_card(turn, settings, thread);
    Ok(())
}

/// A mail that starts a thread: a task (the subject its title, the body read for a due date and
/// priority), the card in the team's mail channel, and the acknowledgement.
async fn new_request(turn: &mut Turn<'_>, settings: &MailSettings, client: Option<Client>, mail: &Mail) -> Outcome {
    let inbound = turn.inbound;
    let subject = mail.subject.trim();
    if subject.is_empty() && noise::is_noise(&mail.text) {
        return Ok(());
    }
    let text = crate::capture::mail_request(subject, &mail.text);
    let request = Request {
        text: &text,
        source: Source::Email,
        requester: &inbound.speaker,
        requester_is_client: true,
        speaker_client: client.clone(),
        message_id: &inbound.message_id,
        thread: Some(inbound.message_id.clone()),
        answer_here: false,
        fixed: None,
    };
    let task = open_task(turn, request).await?;
    turn.record(&task, TaskEvent::Mail(received(turn, mail))).await?;
    card(turn, settings, &task, client.as_ref(), mail).await?;
    if settings.acknowledges(client.as_ref().map(|c| c.key.as_str())) {
        acknowledge(turn, settings, &task, mail).await?;
    }
    Ok(())
}

/// The new request's card in the team's mail channel: what keel understood, who wrote, the
/// attachments, how to answer, and how to link an unknown sender to a client.
async fn card(
    turn: &mut Turn<'_>,
    settings: &MailSettings,
    task: &Task,
    client: Option<&Client>,
    mail: &Mail,
) -> Outcome {
    let (adapter, channel) = settings.notify.clone();
    let owner = match task.owner_id {
        Some(id) => turn.unqueued().await?.member_by_id(id).await?,
        None => None,
    };
    let shown = Task {
        adapter: adapter.clone(),
        ..task.clone()
    };
    let mut text = format!(
        "✉ {} · from {}{}\nAnswer with `reply {} <text>`, or `reply: <text>` in this thread.",
        describe_new_task(&shown, client, owner.as_ref(), None, turn.keel.settings.team_tz),
        sender(turn),
        attachments_line(&mail.attachments),
        task_ref(task)
    );
    if client.is_none() {
        let address = &turn.inbound.speaker.id;
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        text.push_str(&format!(
            "\nNo client has {address}: `client email <key> {domain}` (everyone there) or `client email <key> {address}`."
        ));
    }
    let outbound = Outbound::Message {
        conversation: channel.clone(),
        thread: None,
        text,
    };
    let at = turn.at().timestamp();
    turn.writes().thread_start(ThreadStart {
        adapter,
        kind: outbox::MAIL_CARD,
        channel,
        outbound,
        task_id: task.id,
        at,
    });
    Ok(())
}

/// "We have your request #12", threaded under the client's mail, at most once an hour per
/// sender (a client writing ten mails gets one).
async fn acknowledge(turn: &mut Turn<'_>, settings: &MailSettings, task: &Task, mail: &Mail) -> Outcome {
    let inbound = turn.inbound;
    let at = turn.at().timestamp();
    let key = ack_key(&inbound.speaker.id, at);
    if !turn.first_notice(&key, ACK_NOTICE, at).await? {
        return Ok(());
    }
    let tz = turn.speaker_tz();
    let due = match task.due_at {
        Some(due) => format!("due {}", super::format::format_time(due, tz)),
        None => "no due date yet".into(),
    };
    let text = format!(
        "Hello {},\n\nWe have your request #{}: \"{}\" ({due}, priority {}). We will answer in this thread; \
         keep [#{}] in the subject when you write about it.\n\n{}",
        inbound.speaker.name,
        task.id,
        task.title,
        task.priority,
        task.id,
        signature(settings)
    );
    let mut references = mail.references.iter().rev().cloned().collect::<Vec<_>>();
    references.push(inbound.message_id.clone());
    let message_id = format!("keel.task-{}.0@{}", task.id, settings.domain());
    let outbound = OutboundMail {
        to: vec![requester(task)],
        cc: Vec::new(),
        subject: reply_subject(&mail.subject, task),
        text,
        message_id: message_id.clone(),
        in_reply_to: Some(inbound.message_id.clone()),
        references: keep_root_and_newest(references),
        automatic: true,
    };
    link(turn, &task.channel, &message_id, task.id);
    turn.send("mail_ack", EMAIL, Outbound::Mail(Box::new(outbound)));
    Ok(())
}

/// `reply #N <text>`, and `reply: <text>` in a card's thread: a threaded mail to the requester,
/// copied to the client's other people on the thread; the first response when it is the first.
pub(super) async fn reply(turn: &mut Turn<'_>, id: TaskId, text: &str) -> Outcome {
    let Some(settings) = turn.keel.settings.mail.clone() else {
        return user("keel has no mailbox: set up [email] to answer by mail");
    };
    let mut task = existing(turn, id).await?;
    if task.adapter != EMAIL {
        return user(format!(
            "{} did not come by mail: answer in its conversation",
            task_ref(&task)
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return user("what is the answer? reply #N <text>");
    }
    let events = tasks::events(turn.db().await?, task.id).await?;
    let thread: Vec<MailEvent> = events
        .into_iter()
        .filter_map(|e| match e.event {
            TaskEvent::Mail(m) => Some(m),
            _ => None,
        })
        .collect();
    let sent = thread.iter().filter(|m| m.from == Side::Team).count();
    let message_id = format!("keel.task-{}.{}@{}", task.id, sent + 1, settings.domain());
    let to = requester(&task);
    let cc = copied(&thread, &settings, &to.email);
    let subject = thread.first().map_or(task.title.as_str(), |m| m.subject.as_str());
    let mut references: Vec<String> = thread.iter().map(|m| m.message_id.clone()).collect();
    let in_reply_to = thread
        .iter()
        .rev()
        .find(|m| m.from == Side::Client)
        .map(|m| m.message_id.clone());
    references.dedup();
    let speaker = turn.who.name().to_string();
    let body = format!("{text}\n\n{speaker}\n{}", signature(&settings));
    let outbound = OutboundMail {
        to: vec![to.clone()],
        cc: cc.clone(),
        subject: reply_subject(subject, &task),
        text: body,
        message_id: message_id.clone(),
        in_reply_to,
        references: keep_root_and_newest(references),
        automatic: false,
    };
    let channel = task.channel.clone();
    link(turn, &channel, &message_id, task.id);
    turn.send("mail", EMAIL, Outbound::Mail(Box::new(outbound)));
    let at = turn.at().timestamp();
    let sent_event = MailEvent {
        from: Side::Team,
        address: settings.address.clone(),
        message_id,
        subject: reply_subject(subject, &task),
        text: text.to_string(),
        quoted: String::new(),
        to: vec![to.email.clone()],
        cc: cc.iter().map(|a| a.email.clone()).collect(),
        attachments: Vec::new(),
    };
    task.last_activity_at = at;
    let mut events = vec![TaskEvent::Mail(sent_event)];
    if task.first_response_at.is_none() {
        events.push(first_response(turn, &mut task, at));
    }
    turn.record_all(&task, events).await?;
    if let Some(client_id) = task.client_id {
        touchpoint_sent(turn, client_id, &channel, &speaker);
    }
    let copies = match cc.is_empty() {
        true => String::new(),
        false => format!(
            " (cc {})",
            cc.iter().map(|a| a.email.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    turn.reply(format!("{} answered by mail to {}{copies}", task_ref(&task), to.email));
    Ok(())
}

/// A team member's message in the thread of a mail request's card: `reply: <text>` answers the
/// client by mail; anything else is the team talking among themselves (not a response to the
/// client). False when the thread is no mail request's.
pub(super) async fn in_card_thread(turn: &mut Turn<'_>, text: &str) -> Outcome<bool> {
    let inbound = turn.inbound;
    let Some(root) = about_message(inbound) else {
        return Ok(false);
    };
    if turn.keel.settings.mail.is_none() || turn.who.member().is_none() {
        return Ok(false);
    }
    let task = tasks::by_message(turn.db().await?, &inbound.adapter, &inbound.conversation.id, root).await?;
    let Some(task) = task.filter(|t| t.adapter == EMAIL) else {
        return Ok(false);
    };
    let trimmed = text.trim_start();
    let answer = trimmed
        .get(..6)
        .filter(|head| head.eq_ignore_ascii_case("reply:"))
        .map(|_| &trimmed[6..]);
    match answer {
        Some(answer) => reply(turn, TaskId(task.id), answer).await?,
        None => {
            let mut task = task;
            task.last_activity_at = turn.at().timestamp();
            turn.record(&task, TaskEvent::Message { from: Side::Team }).await?;
        }
    }
    Ok(true)
}

/// `client email <key> [add|remove] <address or domain>`: mail from the address, or from anyone
/// at the domain, is the client's.
pub(super) async fn link_address(turn: &mut Turn<'_>, key: &str, add: bool, address: &str) -> Outcome {
    let client = client_named(turn, key).await?;
    if add {
        if let Some(other) = people::link_channel(turn.db().await?, EMAIL, address, client.id).await? {
            return user(format!("mail from {address} is client {other}'s already"));
        }
    } else if !people::unlink_channel(turn.db().await?, EMAIL, address, client.id).await? {
        return user(format!("{address} is not one of client {key}'s addresses"));
    }
    let linked: Vec<String> = people::client_channels(turn.db().await?, client.id)
        .await?
        .into_iter()
        .filter(|(a, _)| a == EMAIL)
        .map(|(_, c)| c)
        .collect();
    let now = if linked.is_empty() {
        "none".to_string()
    } else {
        linked.join(", ")
    };
    let done = if add { "added" } else { "removed" };
    turn.reply(format!("client {key}: mail from {address} {done} · mail from {now}"));
    Ok(())
}

/// The mail as the task's log keeps it.
fn received(turn: &Turn<'_>, mail: &Mail) -> MailEvent {
    let inbound = turn.inbound;
    MailEvent {
        from: Side::Client,
        address: inbound.speaker.id.clone(),
        message_id: inbound.message_id.clone(),
        subject: mail.subject.clone(),
        text: mail.text.clone(),
        quoted: if mail.full_text.trim() == mail.text.trim() {
            String::new()
        } else {
            mail.full_text.clone()
        },
        to: mail.to.iter().map(|a| a.email.clone()).collect(),
        cc: mail.cc.iter().map(|a| a.email.clone()).collect(),
        attachments: mail
            .attachments
            .iter()
            .map(|a| Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
            })
            .collect(),
    }
}

/// Who wrote: `Bob Li <bob@acme.com>`, or the address alone.
fn sender(turn: &Turn<'_>) -> String {
    let speaker = &turn.inbound.speaker;
    if speaker.name.is_empty() || speaker.name == speaker.id {
        speaker.id.clone()
    } else {
        format!("{} <{}>", speaker.name, speaker.id)
    }
}

fn attachments_line(attachments: &[keel_chat::Attachment]) -> String {
    attachments
        .iter()
        .map(|a| format!(" · 📎 {} ({}, {})", a.name, a.content_type, size(a.size)))
        .collect()
}

/// The task's requester, where answers go.
fn requester(task: &Task) -> Address {
    Address {
        email: task.channel.clone(),
        name: task.requester_name.clone(),
    }
}

/// The client's other people on the thread: every sender and recipient of its mails but the
/// requester, keel and the team.
fn copied(thread: &[MailEvent], settings: &MailSettings, to: &str) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::new();
    for mail in thread.iter().filter(|m| m.from == Side::Client) {
        let people = std::iter::once(&mail.address).chain(&mail.to).chain(&mail.cc);
        for email in people {
            let email = email.to_lowercase();
            let keel_own = settings.address.split_once('@').is_some_and(|(local, domain)| {
                email.ends_with(&format!("@{domain}")) && email.starts_with(&format!("{local}+"))
            });
            if email == to || settings.is_team(&email) || keel_own || out.iter().any(|a| a.email == email) {
                continue;
            }
            out.push(Address {
                email,
                name: String::new(),
            });
        }
    }
    out
}

/// `Re: <subject> [#12]`, without the `Re:`/`Fwd:` and task tokens it had.
fn reply_subject(subject: &str, task: &Task) -> String {
    let mut base = subject.trim();
    loop {
        let lower = base.to_lowercase();
        let prefix = ["re:", "aw:", "sv:", "fwd:", "fw:", "wg:", "tr:"]
            .iter()
            .find(|p| lower.starts_with(**p));
        match prefix {
            Some(p) => base = base[p.len()..].trim_start(),
            None => break,
        }
    }
    let token = format!("[#{}]", task.id);
    let base = base.replace(&token, "");
    let base = base.trim();
    let base = if base.is_empty() { task.title.as_str() } else { base };
    format!("Re: {base} {token}")
}

/// A thread's References: its root and the newest ids, at most `REFERENCES`.
fn keep_root_and_newest(ids: Vec<String>) -> Vec<String> {
    if ids.len() <= REFERENCES {
        return ids;
    }
    let mut kept = vec![ids[0].clone()];
    kept.extend(ids[ids.len() - (REFERENCES - 1)..].iter().cloned());
    kept
}

fn signature(settings: &MailSettings) -> String {
    match settings.name.is_empty() {
        true => settings.address.clone(),
        false => settings.name.clone(),
    }
}

/// Links a mail's Message-ID (in the conversation of `address`) to a task.
fn link(turn: &mut Turn<'_>, address: &str, message_id: &str, task_id: i64) {
    turn.writes().task_message(TaskMessage {
        adapter: EMAIL.into(),
        channel: address.to_string(),
        message_id: message_id.to_string(),
        task_id,
    });
}

/// A team answer sent by mail, as a touchpoint with the client.
fn touchpoint_sent(turn: &mut Turn<'_>, client_id: i64, address: &str, speaker: &str) {
    let at = turn.inbound.at.timestamp();
    turn.writes().touchpoint(crate::store::people::Touchpoint {
        client_id,
        at,
        adapter: EMAIL.into(),
        channel: address.to_string(),
        speaker: speaker.to_string(),
        from_client: false,
    });
}

/// What the handlers said "in the conversation" of a mail (a reopen) goes to the thread of the
/// task's card in the team's mail channel: the client's conversation is mail, and only `reply`
/// and the acknowledgement write to it.
fn to_the_card(turn: &mut Turn<'_>, settings: &MailSettings, thread: Option<String>) {
    let (adapter, channel) = &settings.notify;
    for queued in turn.out.iter_mut().filter(|q| q.adapter == EMAIL) {
        let text = match &queued.outbound {
            Outbound::Message { text, .. } | Outbound::Ephemeral { text, .. } => text.clone(),
            _ => continue,
        };
        *queued = Queued {
            adapter: adapter.clone(),
            kind: queued.kind.clone(),
            outbound: Outbound::Message {
                conversation: channel.clone(),
                thread: thread.clone(),
                text,
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_names_its_task_once() {
        assert_eq!(subject_token("Re: Invoice [#12]"), Some(12));
        assert_eq!(subject_token("[#7] and [#8]"), Some(7));
        assert_eq!(subject_token("Re: [#] nothing"), None);
        assert_eq!(subject_token("[#12a]"), None);
        assert_eq!(subject_token("[#1234567890]"), None);
        assert_eq!(subject_token("no token"), None);
    }

    #[test]
    fn references_keep_the_root_and_the_newest() {
        let ids: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        let kept = keep_root_and_newest(ids);
        assert_eq!(kept.len(), REFERENCES);
        assert_eq!(kept[0], "m0");
        assert_eq!(kept[1], "m11");
        assert_eq!(kept.last().map(String::as_str), Some("m29"));
    }
}
