//! What keel shows outside a conversation, where a platform has the place for it: a form to fill
//! in (a Slack modal) and a person's home (Slack's App Home). The core decides what they hold;
//! the adapter draws them and hands back what the person did: a submitted form as
//! [`crate::InboundKind::FormSent`], a press on a home's card as a card's press.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Card, Choice, Speaker};

/// The form that makes a task: asked for by Slack's "Track as task" message shortcut and by
/// `/keel track` without a text.
pub const TRACK_FORM: &str = "track";

/// A form: what it is for (`id`, back with its submission), its heading and submit label, its
/// fields, and `context`, opaque to the platform and handed back as it was (at most 3,000
/// characters, Slack's `private_metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub title: String,
    pub submit: String,
    pub fields: Vec<FormField>,
    pub context: String,
}

/// One field of a form; its value comes back under `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub id: String,
    pub label: String,
    pub optional: bool,
    pub input: Input,
}

/// What a field takes. A chosen person comes back as their platform id, a date as
/// `YYYY-MM-DD`, a choice as its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    Text {
        initial: String,
        multiline: bool,
    },
    Pick {
        options: Vec<Choice>,
        initial: Option<String>,
    },
    Person {
        initial: Option<String>,
    },
    Date {
        initial: Option<NaiveDate>,
    },
}

/// A filled-in form's values by field id; a field left empty is absent.
pub type Values = BTreeMap<String, String>;

/// The message a form starts from (a message shortcut's): its id, text, author and thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quoted {
    pub message_id: String,
    pub text: String,
    pub author: Option<Speaker>,
    /// The thread the message is in, when it is a reply.
    pub thread: Option<String>,
    pub permalink: Option<String>,
}

/// A person's home: sections of lines and task cards, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    pub sections: Vec<Section>,
}

/// One section of a home: a heading, lines of text (figures, or why it is empty), the cards,
/// and a line on what did not fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub lines: Vec<String>,
    pub cards: Vec<Card>,
    pub more: Option<String>,
}
