//! Mail as the core sees it: what an inbound mail carries beyond a chat message, and the mail the
//! core asks the email adapter to send, with every header that threads it.

use serde::{Deserialize, Serialize};

/// A mailbox: the address (lowercase) and the name shown with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// The domain of an address (`bob@acme.com` → `acme.com`), for clients linked by domain.
pub fn domain_of(address: &str) -> Option<&str> {
    address.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// A file attached to a mail: listed in the task, its content not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

/// An inbound mail, beyond the sender (the event's speaker) and its ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub subject: String,
    /// What this mail adds: the body without quoted history and signature.
    pub text: String,
    /// The whole body as received, as text (HTML turned into text).
    pub full_text: String,
    /// Every Message-ID this mail answers: In-Reply-To, then References newest first.
    pub references: Vec<String>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// The tag of the plus address keel's mailbox was reached at (`support+acme@…` → `acme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A mail for the email adapter to send: the core decides every header that threads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMail {
    pub to: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Address>,
    pub subject: String,
    pub text: String,
    /// Its Message-ID, without `<>` (`keel.task-12.3@example.com`): the same on every retry.
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// An automatic mail (an acknowledgement): sent with `Auto-Submitted: auto-generated`.
    #[serde(default)]
    pub automatic: bool,
}
