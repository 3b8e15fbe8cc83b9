//! Whether a machine sent the mail: an out-of-office, an auto-responder, a bounce, a mailing
//! list. Such a mail must open no task and get no answer (answering an auto-reply is how two
//! robots mail each other forever), so the reason is kept for the log.
//!
//! The signs are those of RFC 3834 (`Auto-Submitted`), the headers auto-responders add
//! (`X-Autoreply`, `X-Autorespond`, `Precedence`), mailing lists (`List-Id`), and bounces (an
//! empty `Return-Path`, a `multipart/report`, a `MAILER-DAEMON` or `postmaster` sender).
//! `X-Auto-Response-Suppress` is not one: Outlook sets it on mail people write.

use keel_chat::Address;
use mail_parser::{Message, MimeHeaders};

use super::headers::{fields, raw_value};

/// The `Precedence` values that mark mail no person answers.
const BULK_PRECEDENCE: [&str; 4] = ["bulk", "junk", "list", "auto_reply"];

/// The local parts of the senders of bounces.
const BOUNCE_SENDERS: [&str; 2] = ["mailer-daemon", "postmaster"];

/// Why the mail is automatic, as the header that says so (`Auto-Submitted: auto-replied`);
/// `None` when a person sent it.
pub(super) fn reason(message: &Message<'_>, from: Option<&Address>) -> Option<String> {
    header_reason(message)
        .or_else(|| report_reason(message))
        .or_else(|| from.and_then(sender_reason))
}

/// The first header field that marks the mail automatic.
fn header_reason(message: &Message<'_>) -> Option<String> {
    for header in fields(message, "Auto-Submitted") {
        let value = raw_value(message, header);
        let kind = value.split([';', '(', ' ']).next().unwrap_or("");
        if !kind.eq_ignore_ascii_case("no") {
            return Some(format!("Auto-Submitted: {value}"));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(header) = fields(message, name).next() {
            return Some(format!("{name}: {}", raw_value(message, header)));
        }
    }
    for header in fields(message, "Precedence") {
        let value = raw_value(message, header).to_lowercase();
        if BULK_PRECEDENCE.contains(&value.as_str()) {
            return Some(format!("Precedence: {value}"));
        }
    }
    if let Some(header) = fields(message, "List-Id").next() {
        return Some(format!("List-Id: {}", raw_value(message, header)));
    }
    for header in fields(message, "Return-Path") {
        let value = raw_value(message, header);
        if value.trim_start_matches('<').trim_end_matches('>').trim().is_empty() {
            return Some("Return-Path: <>".to_string());
        }
    }
    None
}

/// A delivery or read report (`multipart/report`): a bounce or a receipt.
fn report_reason(message: &Message<'_>) -> Option<String> {
    let content_type = message.parts.first()?.content_type()?;
    let is_report = content_type.ctype().eq_ignore_ascii_case("multipart")
        && content_type.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"));
    is_report.then(|| match content_type.attribute("report-type") {
        Some(kind) => format!("Content-Type: multipart/report; report-type={}", kind.to_lowercase()),
        None => "Content-Type: multipart/report".to_string(),
    })
}

/// A sender that only machines use (`MAILER-DAEMON@…`, `postmaster@…`).
fn sender_reason(from: &Address) -> Option<String> {
    let local = from.email.split('@').next().unwrap_or("");
    BOUNCE_SENDERS.contains(&local).then(|| format!("From: {}", from.email))
}
