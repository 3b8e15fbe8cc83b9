//! The platform-neutral boundary between keel's core and its chat adapters.
//!
//! An adapter turns platform events into [`Inbound`] values and carries [`Outbound`] values back
//! to its platform. It knows nothing of tasks or clients; the core knows nothing of Slack or
//! Matrix. Both sides depend on this crate and on nothing of each other.

pub mod card;
pub mod form;
pub mod mail;
pub mod quotes;

pub use card::{Card, DatePick, Field, CARD_ACTION};
pub use form::{Form, FormField, Home, Input, Quoted, Section, Values, TRACK_FORM};
pub use mail::{Address, Attachment, Mail, OutboundMail};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who wrote an inbound event, as the platform knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speaker {
    /// The platform's stable user id (`U123`, `@bob:example.org`, or the console name).
    pub id: String,
    /// The name people see, used in replies and reports.
    pub name: String,
    /// True for a user outside the team: a Slack Connect user, a Matrix user not in the team,
    /// a console speaker started with `--client`.
    pub external: bool,
    /// The client key the platform associates with an external user, when it knows one.
    pub client_hint: Option<String>,
    /// The user's IANA time zone when the platform tells it (`Europe/Berlin`).
    pub tz: Option<String>,
}

/// Where an inbound event happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The platform's channel or room id.
    pub id: String,
    /// A readable name for replies (`acme`); may equal `id`.
    pub name: String,
    /// True for a direct conversation between one person and keel.
    pub direct: bool,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboundKind {
    /// A message. `to_keel` is true when it addressed keel (a mention, `!keel`, a direct
    /// conversation); the adapter has then removed the address from `text`.
    Message { text: String, to_keel: bool },
    /// A slash command (`/keel <text>`); `text` is everything after the command name.
    Command { text: String },
    /// A reaction added to a message. The adapter passes the message's text and author when
    /// the platform tells them (🎫 turns that message into a task).
    Reaction {
        emoji: String,
        message_id: String,
        message_text: Option<String>,
        author: Option<Speaker>,
    },
    /// A message was edited; `message_id` is the original message.
    Edit { message_id: String, text: String },
    /// A button or similar interactive element was used.
    Action {
        action_id: String,
        value: String,
        message_id: Option<String>,
    },
    /// A mail: its subject, what it adds, the ids it answers, who else it went to, its
    /// attachments. The event's `message_id` is its Message-ID (without `<>`), `thread` the first
    /// id of its References (the thread's root), `reply_to` its In-Reply-To; the conversation is
    /// the sender's address, where an answer goes.
    Mail(Box<Mail>),
    /// A person asked for a form (Slack: a message shortcut, `/keel track` without a text):
    /// `trigger` lets keel open it now (Slack's `trigger_id`, good for 3 s); `message` is the
    /// message it starts from.
    FormAsked {
        form: String,
        trigger: String,
        message: Option<Box<Quoted>>,
    },
    /// A person submitted a form keel opened: its values, and the context keel gave it.
    FormSent {
        form: String,
        values: Values,
        context: String,
    },
    /// A person opened their home (Slack's App Home).
    HomeOpened,
}

/// One event from a chat platform, ready for the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    /// The adapter that received it (`console`, `slack`, `matrix`).
    pub adapter: String,
    /// The platform's id for the event; the core drops a second event with the same id.
    pub event_id: String,
    /// When the platform says it happened.
    pub at: DateTime<Utc>,
    pub speaker: Speaker,
    pub conversation: Conversation,
    /// The platform's id of the message itself (for threads, reactions, links).
    pub message_id: String,
    /// The thread this event belongs to: the id of the thread's root message.
    pub thread: Option<String>,
    /// The message this one replies to outside a thread (a Matrix reply): a reply to a task's
    /// message is about that task, as a message in its thread is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// A link to the message where the platform has permalinks.
    pub permalink: Option<String>,
    pub kind: InboundKind,
    /// The people the text names, as the platform knows them (looked up by the adapter), so a
    /// teammate keel has not seen yet can be given a task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named: Vec<Named>,
}

/// A person a message names (`<@U0123>`, `@kim`, a Matrix pill or `@kim:example.org`) and who
/// the platform says that may be: one person, several when a plain name fits more than one,
/// nobody when it fits no one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// The reference as the core reads it from the text: without its `@` (`U0123`, `kim`,
    /// `kim:example.org`).
    pub reference: String,
    pub candidates: Vec<Speaker>,
}

/// The people a text names: `@word`, `<@U0123>` or `<@U0123|name>`, each once, without the
/// sigils (a trailing `,` `.` `:` `;` `!` `?` is not part of the name).
pub fn person_references(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for token in text.split_whitespace() {
        let token = token.trim_end_matches([',', '.', ':', ';', '!', '?', ')']);
        let token = token.trim_start_matches('(');
        let inner = match token.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
            Some(slack) => slack.split('|').next().unwrap_or(slack),
            None => match token.strip_prefix('@') {
                Some(name) => name,
                None => continue,
            },
        };
        if !inner.is_empty() && inner.len() <= 255 && !found.iter().any(|f| f == inner) {
            found.push(inner.to_string());
        }
    }
    found
}

/// Something the core wants said or done on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outbound {
    /// A message in a conversation, in a thread when `thread` is set.
    Message {
        conversation: String,
        thread: Option<String>,
        text: String,
    },
    /// A private message to one person.
    Direct { user: String, text: String },
    /// A message only `user` sees in `conversation`, in `thread` when set (Slack); where a
    /// platform has no such message (Matrix), a direct message.
    Ephemeral {
        conversation: String,
        user: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<String>,
    },
    /// A reaction on a message.
    Reaction {
        conversation: String,
        message_id: String,
        emoji: String,
    },
    /// A question with fixed answers (a survey): buttons where the platform has them; elsewhere
    /// the text followed by `fallback`, which says how to answer in words or with a reaction.
    /// A pressed button comes back as [`InboundKind::Action`] with the choice's `value`.
    Question {
        conversation: String,
        thread: Option<String>,
        text: String,
        /// What the buttons do (`survey`); each button's id is `<action>_<n>`.
        action: String,
        choices: Vec<Choice>,
        fallback: String,
    },
    /// A task's card: its fields and the buttons that act on it where the platform has them
    /// (a press comes back as [`InboundKind::Action`] with [`CARD_ACTION`]); elsewhere its text.
    Card {
        conversation: String,
        thread: Option<String>,
        card: Box<Card>,
    },
    /// A card keel posted before, shown as it stands now: edited in place (`message_id` is the
    /// card's platform id; the outbox hands adapters no other).
    CardUpdate {
        conversation: String,
        message_id: String,
        card: Box<Card>,
    },
    /// A mail, threaded by its headers (email only).
    Mail(Box<OutboundMail>),
    /// A form for one person, opened with the `trigger` of what they just did (Slack: a modal);
    /// its submission comes back from `conversation`, where it was asked for.
    Form {
        conversation: String,
        user: String,
        trigger: String,
        form: Box<Form>,
    },
    /// A person's home as it stands (Slack: the App Home, published anew).
    Home { user: String, home: Box<Home> },
    /// A PNG image with a caption.
    Image {
        conversation: String,
        thread: Option<String>,
        name: String,
        caption: String,
        png: Vec<u8>,
    },
}

/// One answer to an [`Outbound::Question`]: the label people see and the value keel gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    pub value: String,
}

impl Outbound {
    /// The conversation the outbound goes to, or the user for a direct message; messages to the
    /// same target are delivered in order.
    pub fn target(&self) -> &str {
        match self {
            Outbound::Message { conversation, .. }
            | Outbound::Ephemeral { conversation, .. }
            | Outbound::Reaction { conversation, .. }
            | Outbound::Question { conversation, .. }
            | Outbound::Card { conversation, .. }
            | Outbound::CardUpdate { conversation, .. }
            | Outbound::Image { conversation, .. } => conversation,
            Outbound::Direct { user, .. } | Outbound::Form { user, .. } | Outbound::Home { user, .. } => user,
            Outbound::Mail(mail) => mail.to.first().map_or("", |a| a.email.as_str()),
        }
    }
}

/// A question as plain text, for platforms without buttons: the question, then how to answer.
pub fn plain_question(text: &str, fallback: &str) -> String {
    format!("{text}\n{fallback}")
}

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The platform asked to wait (HTTP 429, `M_LIMIT_EXCEEDED`); try again after the delay.
    RetryAfter(Duration),
    /// The platform answered with a failure that may pass (a 5xx, an unexpected answer): try
    /// again with backoff; the outbox counts these, and gives a message up after many.
    Transient(String),
    /// The platform could not be reached (connection refused or reset, no answer): the message
    /// waits, with backoff, however long that lasts; these are not counted against it.
    Unreachable(String),
    /// The platform refused for good (unknown channel, not allowed): do not retry.
    Rejected(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::RetryAfter(d) => write!(f, "rate limited, retry after {} ms", d.as_millis()),
            SendError::Transient(e) => write!(f, "transient failure: {e}"),
            SendError::Unreachable(e) => write!(f, "unreachable: {e}"),
            SendError::Rejected(e) => write!(f, "rejected: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

/// What the platform answered for a delivered outbound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The platform's id for the posted message, when it has one.
    pub message_id: Option<String>,
}

/// Whether an adapter's connection to its platform is up, as the adapter last saw it (for
/// `/healthz`, and so the outbox can retry at once when a platform comes back). Cheap to clone;
/// the clones share one state.
#[derive(Debug, Clone, Default)]
pub struct ConnectionState {
    up: Arc<AtomicBool>,
    /// Why it is down (the last error, one line), empty while up.
    why: Arc<Mutex<String>>,
}

impl ConnectionState {
    /// A link that is up until told otherwise.
    pub fn up() -> ConnectionState {
        let link = ConnectionState::default();
        link.set_up();
        link
    }

    pub fn set_up(&self) {
        self.up.store(true, Ordering::Relaxed);
        if let Ok(mut why) = self.why.lock() {
            why.clear();
        }
    }

    /// Marks the link down, saying why (no secret belongs in it: it is shown on `/healthz`).
    pub fn set_down(&self, why: &str) {
        if let Ok(mut slot) = self.why.lock() {
            *slot = why.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        self.up.store(false, Ordering::Relaxed);
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Why the link is down; empty while it is up.
    pub fn why(&self) -> String {
        self.why.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

/// A chat platform connection as the core sees it: it delivers outbound messages.
///
/// Inbound events travel the other way through an [`InboundSink`] that the core hands to the
/// adapter when it starts.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// The adapter's name, stored with every event and outbox row (`console`, `slack`).
    fn name(&self) -> &str;
    /// Deliver one outbound message or action.
    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError>;

    /// Deliver with the message's stable key (`keel-<outbox id>`), the same on every retry. A
    /// platform that deduplicates sends (Matrix transaction ids) or lets a sender find its own
    /// earlier message (Slack message metadata) uses it so that a crash between sending and
    /// recording the send does not post the message twice. By default the key is not used.
    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        let _ = key;
        self.send(outbound).await
    }

    /// Finds a message already posted under this key: asked before a message is sent again
    /// after an attempt that ended without a recorded outcome (keel stopped between sending and
    /// recording the send). `Some` counts it as sent; `None` sends it. Platforms that deduplicate
    /// by key themselves (Matrix transaction ids) need nothing here.
    async fn find_sent(&self, key: &str, outbound: &Outbound) -> Option<Sent> {
        let _ = (key, outbound);
        None
    }

    /// How many conversations the dispatcher may send to at once through this adapter, each in
    /// order. One (the default) keeps every message in the order it was queued, as a terminal
    /// needs; a platform that paces each conversation (Slack) gains from several.
    fn parallel(&self) -> usize {
        1
    }

    /// The state of the adapter's connection to its platform; `None` for an adapter that holds
    /// none (the console).
    fn connection(&self) -> Option<ConnectionState> {
        None
    }
}

/// Where an adapter hands inbound events to the core.
#[async_trait]
pub trait InboundSink: Send + Sync {
    /// Hand one event to the core. Returns once the event is durably recorded (or recognised as
    /// a duplicate), so an adapter may acknowledge it to its platform afterwards.
    async fn deliver(&self, inbound: Inbound) -> anyhow::Result<()>;

    /// Hand one event to the core to be handled shortly. Returns once the event is durably
    /// recorded, usually before it is handled: for platforms that want a quick acknowledgement
    /// (Slack's 3 s). Sinks without a queue of their own handle it at once.
    async fn accept(&self, inbound: Inbound) -> anyhow::Result<()> {
        self.deliver(inbound).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_round_trips_through_json() {
        let out = Outbound::Message {
            conversation: "acme".into(),
            thread: Some("m1".into()),
            text: "#1 opened".into(),
        };
        let json = serde_json::to_string(&out).unwrap();
        assert!(json.contains("\"type\":\"message\""));
        let back: Outbound = serde_json::from_str(&json).unwrap();
        assert_eq!(back, out);
        assert_eq!(back.target(), "acme");
    }

    #[test]
    fn a_link_goes_down_with_a_reason_and_up_again() {
        let link = ConnectionState::up();
        let seen = link.clone();
        assert!(seen.is_up());
        link.set_down("connection refused\n(os error 111)");
        assert!(!seen.is_up());
        assert_eq!(seen.why(), "connection refused (os error 111)");
        link.set_up();
        assert!(seen.is_up() && seen.why().is_empty());
    }
}
