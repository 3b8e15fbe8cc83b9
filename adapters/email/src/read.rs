//! Reading one raw mail (RFC 5322 / MIME) into what keel needs.
//!
//! [`read`] turns the bytes an IMAP server hands over into a [`ReadMail`]: the ids that thread
//! it, who sent it and to whom, its subject and date, its text (whole, and the fresh part
//! without quoted history and signature), its attachments (listed, never kept) and, for a mail
//! a machine sent (an out-of-office, a bounce, a mailing list), why no task must come of it.
//!
//! Mail arrives from anyone, so reading never panics and stays bounded: a mail over 32 MiB is
//! refused, the parser sees at most a few thousand MIME parts and header fields, only parts
//! less than 11 levels deep and the first 500 of them count, HTML is converted only up to a
//! size and nesting depth, and the text kept is at most 256 KiB.

mod automatic;
mod body;
mod bounds;
mod fresh;
mod headers;
mod html;

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use chrono::{DateTime, Utc};
use keel_chat::{Address, Attachment};
use mail_parser::Message;

/// The largest raw mail [`read`] accepts, in bytes (32 MiB): larger mails are refused rather
/// than read, so one mail cannot take a large share of memory.
pub const MAX_RAW_BYTES: usize = 32 * 1024 * 1024;

/// The most text [`ReadMail::full_text`] keeps, in bytes (256 KiB): more is no request a person
/// reads, and the core stores it.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// One mail as keel reads it: what threads it, who wrote it to whom, what it says, what it
/// carries, and whether a machine sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMail {
    /// The Message-ID, without `<>` and trimmed; `None` when the mail has none.
    pub message_id: Option<String>,
    /// The first id of In-Reply-To, without `<>`: the mail this one answers.
    pub in_reply_to: Option<String>,
    /// The ids of the References header in header order (the thread's root first), without
    /// `<>`.
    pub references: Vec<String>,
    /// The sender (the first address of From): email lowercased, name decoded (may be empty).
    pub from: Option<Address>,
    /// Where answers should go (the first address of Reply-To), when the sender set it.
    pub reply_to: Option<Address>,
    /// Every address of the To headers.
    pub to: Vec<Address>,
    /// Every address of the Cc headers.
    pub cc: Vec<Address>,
    /// Every Delivered-To and X-Original-To address, lowercased: where the server delivered
    /// the mail, which shows the plus address keel was reached at even when To does not.
    pub delivered_to: Vec<String>,
    /// The subject, RFC 2047 encoded words decoded and whitespace collapsed; empty when missing.
    pub subject: String,
    /// When the sender's client says it sent the mail.
    pub date: Option<DateTime<Utc>>,
    /// The body as text: the text/plain part, else the HTML part turned into text, else empty;
    /// line ends are `\n`, at most [`MAX_TEXT_BYTES`].
    pub full_text: String,
    /// What this mail adds: `full_text` without quoted history and signature, trimmed. Never
    /// empty when `full_text` has a line that is not a quote: a reply saying only "Thanks!"
    /// keeps it, as the core must see it.
    pub text: String,
    /// The attached files: name, content type and decoded size; their content is not kept.
    pub attachments: Vec<Attachment>,
    /// Why this mail was sent by a machine (an auto-reply, a bounce, a list) and must make no
    /// task nor get an answer, as the header that says so (`Auto-Submitted: auto-replied`);
    /// `None` for a mail a person wrote.
    pub automatic: Option<String>,
}

/// Why a raw mail could not be read at all. Everything else reads into a [`ReadMail`], missing
/// or broken parts left empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// More than [`MAX_RAW_BYTES`].
    TooLarge,
    /// No header field at all: not a mail.
    NoHeaders,
    /// The mail parser failed unexpectedly (a bug of the parser, caught).
    ParserFailed,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::TooLarge => write!(f, "larger than {} MiB", MAX_RAW_BYTES / (1024 * 1024)),
            Unreadable::NoHeaders => write!(f, "no headers"),
            Unreadable::ParserFailed => write!(f, "the mail parser failed"),
        }
    }
}

impl std::error::Error for Unreadable {}

/// Reads a raw mail. Never panics: a mail over 32 MiB or with no header is [`Unreadable`];
/// anything else reads into a [`ReadMail`], best effort when its MIME structure is broken.
pub fn read(raw: &[u8]) -> Result<ReadMail, Unreadable> {
    if raw.len() > MAX_RAW_BYTES {
        return Err(Unreadable::TooLarge);
    }
    let raw = bounds::bounded(raw);
    // mail-parser is written never to panic, but holds `debug_assert!`s; a panic inside it or
    // in the HTML converter must not take the adapter down with it.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        headers::mail_parser().parse(raw).map(|message| from_message(&message))
    }));
    match outcome {
        Ok(Some(Some(mail))) => Ok(mail),
        Ok(_) => Err(Unreadable::NoHeaders),
        Err(_) => Err(Unreadable::ParserFailed),
    }
}

/// Everything keel reads from a parsed mail; `None` when it has no real header field.
fn from_message(message: &Message<'_>) -> Option<ReadMail> {
    let root = message.parts.first()?;
    if !headers::has_fields(root, message.raw_message()) {
        return None;
    }
    let parts = bounds::counted_parts(message);
    let full_text = body::full_text(message, &parts);
    let text = fresh::fresh(&full_text);
    let from = headers::from(message);
    let automatic = automatic::reason(message, from.as_ref());
    Some(ReadMail {
        message_id: headers::message_id(message),
        in_reply_to: headers::in_reply_to(message),
        references: headers::references(message),
        reply_to: headers::reply_to(message),
        to: headers::to(message),
        cc: headers::cc(message),
        delivered_to: headers::delivered_to(message),
        subject: headers::subject(message),
        date: headers::date(message),
        attachments: body::attachments(message, &parts),
        from,
        full_text,
        text,
        automatic,
    })
}

/// The task number of a `[#12]` token in a subject (the first well-formed one: `#` and one to
/// nine digits in brackets), so a mail about a task finds it even when its thread headers are
/// lost.
pub fn task_token(subject: &str) -> Option<u64> {
    let bytes = subject.as_bytes();
    let mut from = 0;
    while let Some(found) = subject.get(from..).and_then(|rest| rest.find("[#")) {
        let start = from + found + 2;
        let digits = bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if (1..=9).contains(&digits) && bytes.get(start + digits) == Some(&b']') {
            return subject[start..start + digits].parse().ok();
        }
        from = start;
    }
    None
}

/// The tag of a plus address, lowercased (`support+acme@x.org` → `acme`); `None` when the
/// address has no `+` in its local part or the tag is empty. keel's mailbox reached at
/// `support+<client>@…` tells which client wrote.
pub fn plus_tag(address: &str) -> Option<String> {
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    let (_, tag) = local.split_once('+')?;
    let tag = tag.trim();
    (!tag.is_empty()).then(|| tag.to_lowercase())
}

/// The address without its plus tag, lowercased (`Support+Acme@X.org` → `support@x.org`): the
/// mailbox a plus address delivers to.
pub(crate) fn base_address(address: &str) -> String {
    let address = address.trim().to_lowercase();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{local}@{domain}")
        }
        None => address,
    }
}
