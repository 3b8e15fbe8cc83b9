//! The header fields keel reads: ids, addresses, subject and date, each cleaned the same way
//! whatever the sending client wrote (angle brackets, case, folded whitespace).

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use keel_chat::Address;
use mail_parser::{Addr, Header, HeaderName, Message, MessageParser, MessagePart};

use super::bounds::cut;

/// The longest name kept for an address, in characters.
const MAX_NAME_CHARS: usize = 200;

/// The longest subject kept, in characters.
const MAX_SUBJECT_CHARS: usize = 1_000;

/// How much of the Subject field is decoded, in bytes: encoded words take up to four times
/// the characters they stand for.
const MAX_SUBJECT_BYTES: usize = 16 * 1024;

/// How much of a field read as written (`Auto-Submitted`, `List-Id`) is kept, in bytes.
const MAX_RAW_VALUE_BYTES: usize = 1_024;

/// The most addresses kept of To, of Cc, and of the delivery fields.
const MAX_ADDRESSES: usize = 1_000;

/// How much of one address field is read, in bytes: room for more than a thousand addresses.
const MAX_ADDRESS_FIELD_BYTES: usize = 64 * 1024;

/// The most ids kept of References: the first (the thread's root) and the newest.
const MAX_REFERENCES: usize = 1_000;

/// How much of a References field is read, in bytes: its start and its end.
const MAX_REFERENCES_BYTES: usize = 128 * 1024;

/// How much of a Message-ID or In-Reply-To field is read, in bytes.
const MAX_ID_FIELD_BYTES: usize = 4 * 1024;

/// True when the part has at least one real header field: a name of printable ASCII followed
/// by a colon. mail-parser also reads a first line without a colon as a header, so plain text
/// would otherwise pass for a mail.
pub(super) fn has_fields(part: &MessagePart<'_>, raw: &[u8]) -> bool {
    part.headers.iter().any(|header| {
        let name = header.name();
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        let field = raw.get(header.offset_field() as usize..header.offset_start() as usize);
        valid && field.is_some_and(|field| field.contains(&b':'))
    })
}

/// The raw text of a header field's value, unfolded and trimmed (for fields keel reads as
/// written, like `Auto-Submitted` and `Delivered-To`).
pub(super) fn raw_value(message: &Message<'_>, header: &Header<'_>) -> String {
    collapse(&raw_text(message, header, MAX_RAW_VALUE_BYTES))
}

/// The root header fields with this name (any case).
pub(super) fn fields<'m, 'x>(message: &'m Message<'x>, name: &'m str) -> impl Iterator<Item = &'m Header<'x>> {
    message
        .headers()
        .iter()
        .filter(move |header| header.name().eq_ignore_ascii_case(name))
}

/// Whitespace runs (folding, tabs, line ends) as one space, and none at the ends.
pub(super) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters of the text.
fn at_most(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text,
    }
}

/// The parser for the whole mail: Content-Type, Content-Disposition and Date parsed (MIME needs
/// the first two); every other field kept as written, and read by keel within limits where it
/// needs it. Parsed whole, an address list or a References of millions of entries, or a
/// subject of millions of encoded words, would cost ten times its size.
pub(super) fn mail_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_content_type(HeaderName::ContentType)
            .header_content_type(HeaderName::ContentDisposition)
            .header_date(HeaderName::Date)
    })
}

/// The parser for one field keel reads itself: an address list (as `To:`) or a text with
/// encoded words (as `Subject:`).
fn field_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_address(HeaderName::To)
            .header_text(HeaderName::Subject)
    })
}

/// What `read` finds in the field's value, at most `max` bytes of it, parsed as the field
/// `as_name` is.
fn parse_field<T>(
    message: &Message<'_>,
    header: &Header<'_>,
    (as_name, max): (&str, usize),
    read: impl FnOnce(&Message<'_>) -> T,
) -> Option<T> {
    let value = raw_text(message, header, 2 * max);
    let field = format!("{as_name}:{}\r\n\r\n", cut(&value, max));
    field_parser().parse(field.as_bytes()).as_ref().map(read)
}

/// The raw value of a header field as written, folding and all: of a longer one, the first
/// `max / 2` and the last `max / 2` bytes (the newest ids of a References are at its end).
fn raw_text<'m>(message: &'m Message<'_>, header: &Header<'_>, max: usize) -> Cow<'m, str> {
    let raw = message.raw_message();
    let bytes = raw
        .get(header.offset_start() as usize..header.offset_end() as usize)
        .unwrap_or_default();
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes);
    }
    let (start, end) = (&bytes[..max / 2], &bytes[bytes.len() - max / 2..]);
    Cow::Owned(format!(
        "{} {}",
        String::from_utf8_lossy(start),
        String::from_utf8_lossy(end)
    ))
}

/// Each message id in a field, in order, without `<>`: the text between angle brackets, or,
/// from clients that leave them out, each word.
fn each_id<'v>(value: &'v str, mut each: impl FnMut(&'v str)) {
    if !value.contains('<') {
        value
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|id| !id.is_empty())
            .for_each(each);
        return;
    }
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let end = after.find(['>', '<']).unwrap_or(after.len());
        let id = after[..end].trim();
        if !id.is_empty() {
            each(id);
        }
        rest = &after[end..];
    }
}

/// The first id of the first field with this name.
fn first_id(message: &Message<'_>, name: &str) -> Option<String> {
    let header = fields(message, name).next()?;
    let value = raw_text(message, header, MAX_ID_FIELD_BYTES);
    let mut first = None;
    each_id(&value, |id| {
        first.get_or_insert_with(|| id.to_string());
    });
    first
}

/// The Message-ID.
pub(super) fn message_id(message: &Message<'_>) -> Option<String> {
    first_id(message, "Message-ID")
}

/// The first id of In-Reply-To.
pub(super) fn in_reply_to(message: &Message<'_>) -> Option<String> {
    first_id(message, "In-Reply-To")
}

/// The ids of References, in header order; of a list longer than [`MAX_REFERENCES`], the first
/// (the thread's root) and the newest.
pub(super) fn references(message: &Message<'_>) -> Vec<String> {
    let Some(header) = fields(message, "References").next() else {
        return Vec::new();
    };
    let value = raw_text(message, header, MAX_REFERENCES_BYTES);
    let mut ids: Vec<&str> = Vec::new();
    each_id(&value, |id| {
        ids.push(id);
        if ids.len() == 2 * MAX_REFERENCES {
            ids.drain(1..=MAX_REFERENCES);
        }
    });
    if ids.len() > MAX_REFERENCES {
        ids.drain(1..=ids.len() - MAX_REFERENCES);
    }
    ids.into_iter().map(str::to_string).collect()
}

/// One address as keel keeps it: email trimmed and lowercased, name decoded with whitespace
/// collapsed; `None` without an email.
fn address(addr: &Addr<'_>) -> Option<Address> {
    let email = addr
        .address
        .as_deref()?
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    let name = addr.name.as_deref().map(collapse).unwrap_or_default();
    let name = name.trim_matches(|c| c == '"' || c == '\'').trim().to_string();
    Some(Address {
        email,
        name: at_most(name, MAX_NAME_CHARS),
    })
}

/// The addresses of the root header fields with this name, in order, at most `max`; of each
/// field only the first [`MAX_ADDRESS_FIELD_BYTES`] are read.
fn addresses(message: &Message<'_>, name: &str, max: usize) -> Vec<Address> {
    let mut found = Vec::new();
    for header in fields(message, name) {
        let room = max - found.len();
        let read = |parsed: &Message<'_>| -> Vec<Address> {
            parsed
                .to()
                .into_iter()
                .flat_map(|list| list.iter())
                .filter_map(address)
                .take(room)
                .collect()
        };
        found.extend(parse_field(message, header, ("To", MAX_ADDRESS_FIELD_BYTES), read).unwrap_or_default());
        if found.len() == max {
            break;
        }
    }
    found
}

/// The sender: the first address of From.
pub(super) fn from(message: &Message<'_>) -> Option<Address> {
    addresses(message, "From", 1).pop()
}

/// The first address of Reply-To.
pub(super) fn reply_to(message: &Message<'_>) -> Option<Address> {
    addresses(message, "Reply-To", 1).pop()
}

/// The addresses of To.
pub(super) fn to(message: &Message<'_>) -> Vec<Address> {
    addresses(message, "To", MAX_ADDRESSES)
}

/// The addresses of Cc.
pub(super) fn cc(message: &Message<'_>) -> Vec<Address> {
    addresses(message, "Cc", MAX_ADDRESSES)
}

/// Every Delivered-To and X-Original-To address, lowercased, in header order.
pub(super) fn delivered_to(message: &Message<'_>) -> Vec<String> {
    let delivery = |h: &&Header<'_>| {
        h.name().eq_ignore_ascii_case("Delivered-To") || h.name().eq_ignore_ascii_case("X-Original-To")
    };
    let mut found = Vec::new();
    for header in message.headers().iter().filter(delivery).take(MAX_ADDRESSES) {
        let value = raw_text(message, header, MAX_RAW_VALUE_BYTES);
        let address = value.trim().trim_start_matches('<').trim_end_matches('>');
        let address = address.trim().to_lowercase();
        if !address.is_empty() {
            found.push(address);
        }
    }
    found
}

/// The subject, decoded, whitespace collapsed; empty when missing.
pub(super) fn subject(message: &Message<'_>) -> String {
    let Some(header) = fields(message, "Subject").next() else {
        return String::new();
    };
    let read = |parsed: &Message<'_>| parsed.subject().map(collapse);
    let subject = parse_field(message, header, ("Subject", MAX_SUBJECT_BYTES), read)
        .flatten()
        .unwrap_or_default();
    at_most(subject, MAX_SUBJECT_CHARS)
}

/// The Date header as a UTC time; `None` when missing or not a real date.
pub(super) fn date(message: &Message<'_>) -> Option<DateTime<Utc>> {
    let date = message.date()?;
    let day = NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))?;
    // A leap second (`:60`) is read as the second before it.
    let time = day.and_hms_opt(
        u32::from(date.hour),
        u32::from(date.minute),
        u32::from(date.second.min(59)),
    )?;
    let seconds = i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60;
    let offset = FixedOffset::east_opt(if date.tz_before_gmt { -seconds } else { seconds })?;
    Some(offset.from_local_datetime(&time).single()?.with_timezone(&Utc))
}
