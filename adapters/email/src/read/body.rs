//! The body as text, and the list of attached files.

use keel_chat::Attachment;
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::bounds::{counts, cut};
use super::html;
use super::MAX_TEXT_BYTES;

/// The longest attachment name kept, in characters.
const MAX_NAME_CHARS: usize = 255;

/// The body as text: the text/plain parts, else the HTML parts turned into text, else empty.
/// Line ends become `\n`; at most [`MAX_TEXT_BYTES`], cut on a character boundary.
pub(super) fn full_text(message: &Message<'_>, counted: &[bool]) -> String {
    let mut text = String::new();
    for &id in &message.text_body {
        if let Some(PartType::Text(part)) = counted_part(message, counted, id).map(|p| &p.body) {
            if !append(&mut text, part) {
                break;
            }
        }
    }
    if text.trim().is_empty() {
        text.clear();
        // HTML costs far more to convert than text to copy: all parts share one budget.
        let mut budget = html::MAX_HTML_BYTES;
        for &id in &message.html_body {
            if let Some(PartType::Html(part)) = counted_part(message, counted, id).map(|p| &p.body) {
                let part = cut(part, budget);
                budget -= part.len();
                if !append(&mut text, &html::to_text(part)) || budget == 0 {
                    break;
                }
            }
        }
    }
    let text = normalise_line_ends(&text);
    let text = cut(&text, MAX_TEXT_BYTES);
    text.trim_end().to_string()
}

/// The part with this id when it counts.
fn counted_part<'m, 'x>(message: &'m Message<'x>, counted: &[bool], id: u32) -> Option<&'m MessagePart<'x>> {
    counts(counted, id).then(|| message.parts.get(id as usize)).flatten()
}

/// Adds one body part to the text, a line end between parts; false once the text holds more
/// than will be kept (so the rest is not even copied).
fn append(text: &mut String, part: &str) -> bool {
    // Room for the line ends that normalising removes: twice what is kept is enough.
    let room = (2 * MAX_TEXT_BYTES).saturating_sub(text.len());
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(cut(part, room));
    text.len() < 2 * MAX_TEXT_BYTES
}

/// `\r\n` and a lone `\r` as `\n`.
fn normalise_line_ends(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_string();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The attached files, in the mail's order: name, content type, decoded size. An inline image
/// an HTML body shows by its Content-ID is part of the body, not an attachment, unless it has a
/// file name of its own.
pub(super) fn attachments(message: &Message<'_>, counted: &[bool]) -> Vec<Attachment> {
    message
        .attachments
        .iter()
        .filter_map(|&id| counted_part(message, counted, id))
        .filter(|part| !matches!(part.body, PartType::Multipart(_)))
        .filter(|part| part.attachment_name().is_some() || part.content_id().is_none())
        .map(|part| Attachment {
            name: file_name(part.attachment_name()),
            content_type: content_type(part),
            size: size(part),
        })
        .collect()
}

/// A file name as people see it: without a path, whitespace collapsed, at most 255
/// characters; "unnamed" when there is none.
fn file_name(name: Option<&str>) -> String {
    let name = name.unwrap_or("");
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let name: String = name.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        "unnamed".to_string()
    } else {
        name
    }
}

/// The part's content type, lowercased, without parameters (`application/pdf`); text/plain, the
/// MIME default, when it has none.
fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype).to_lowercase(),
            None => ct.ctype().to_lowercase(),
        },
        None if matches!(part.body, PartType::Message(_)) => "message/rfc822".to_string(),
        None => "text/plain".to_string(),
    }
}

/// The size of the decoded content, in bytes (for an attached mail, its raw size).
fn size(part: &MessagePart<'_>) -> u64 {
    let bytes = match &part.body {
        PartType::Text(text) | PartType::Html(text) => text.len(),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.len(),
        PartType::Message(_) => part.raw_end_offset().saturating_sub(part.raw_body_offset()) as usize,
        PartType::Multipart(_) => 0,
    };
    bytes as u64
}
