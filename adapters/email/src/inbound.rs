//! A read mail as an inbound event for the core.
//!
//! The core threads mail as it threads chat: the event's `message_id` is the Message-ID, its
//! `thread` the thread's root (the first id of References), its `reply_to` the mail it answers
//! (In-Reply-To), and the conversation is the address an answer goes to. Mail a machine sent,
//! mail without a sender and keel's own mail coming back make no event.

use chrono::{DateTime, Duration, Utc};
use keel_chat::{Conversation, Inbound, InboundKind, Mail, Speaker};

use crate::read::{base_address, plus_tag, ReadMail};

/// The most ids an event's `references` carries: enough for any thread keel answers in.
const MAX_REFERENCES: usize = 50;

/// How far in the future a mail's Date may be and still be believed (clocks drift; a Date
/// further ahead is a wrong clock, and the time of arrival is used instead).
const MAX_CLOCK_AHEAD: Duration = Duration::days(1);

/// keel's own mailbox, as the adapter is configured: to recognise its own mail, the plus
/// address a client wrote to, and who is on the team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// keel's own address, lowercase (`support@keel.test`).
    pub address: String,
    /// The team's mail domains, lowercase, without `@` (`keel.test`): a sender from any other
    /// domain is external, a client.
    pub team_domains: Vec<String>,
}

/// The core's event for a mail; `None` for a mail that must make no event: an automatic one
/// (see [`ReadMail::automatic`]), one without a sender, or keel's own mail coming back.
///
/// `fallback_id` is the event's id when the mail has no Message-ID (the caller passes
/// `uid:<uidvalidity>:<uid>`, stable for the mailbox); `at` is when the mail arrived, used
/// when its Date is missing or more than a day ahead of it.
pub fn to_inbound(mail: ReadMail, fallback_id: &str, at: DateTime<Utc>, mailbox: &Mailbox) -> Option<Inbound> {
    if mail.automatic.is_some() {
        return None;
    }
    let from = mail.from?;
    let own = base_address(&mailbox.address);
    if base_address(&from.email) == own {
        return None;
    }
    let message_id = mail.message_id.unwrap_or_else(|| fallback_id.to_string());
    let tag = mail
        .delivered_to
        .iter()
        .chain(mail.to.iter().map(|a| &a.email))
        .chain(mail.cc.iter().map(|a| &a.email))
        .filter(|address| base_address(address) == own)
        .find_map(|address| plus_tag(address));
    let domain = from.email.rsplit_once('@').map_or("", |(_, domain)| domain);
    let external = !mailbox
        .team_domains
        .iter()
        .any(|team| team.eq_ignore_ascii_case(domain));
    let speaker = Speaker {
        id: from.email.clone(),
        name: if from.name.is_empty() {
            from.email.clone()
        } else {
            from.name.clone()
        },
        external,
        client_hint: tag.clone(),
        tz: None,
    };
    let answer_to = mail.reply_to.map_or(from.email, |reply_to| reply_to.email);
    let conversation = Conversation {
        id: answer_to.clone(),
        name: answer_to,
        direct: true,
    };
    let thread = mail.references.first().cloned().or_else(|| mail.in_reply_to.clone());
    let references = answered(mail.in_reply_to.as_deref(), &mail.references);
    let latest = at
        .checked_add_signed(MAX_CLOCK_AHEAD)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let when = mail.date.filter(|date| *date <= latest).unwrap_or(at);
    Some(Inbound {
        adapter: "email".to_string(),
        event_id: format!("mail:{message_id}"),
        at: when,
        speaker,
        conversation,
        message_id,
        thread,
        reply_to: mail.in_reply_to,
        permalink: None,
        kind: InboundKind::Mail(Box::new(Mail {
            subject: mail.subject,
            text: mail.text,
            full_text: mail.full_text,
            references,
            to: mail.to,
            cc: mail.cc,
            tag,
            attachments: mail.attachments,
        })),
        named: Vec::new(),
    })
}

/// Every id the mail answers, nearest first: In-Reply-To, then References newest (last) first;
/// each once, at most [`MAX_REFERENCES`].
fn answered(in_reply_to: Option<&str>, references: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in in_reply_to
        .into_iter()
        .chain(references.iter().rev().map(String::as_str))
    {
        if ids.len() == MAX_REFERENCES {
            break;
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    ids
}
