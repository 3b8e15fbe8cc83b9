//! The limits that keep reading one mail bounded in time and memory, whatever the mail holds.
//!
//! mail-parser walks nested multiparts with a stack of its own (no recursion, and nested
//! `message/rfc822` parts it decodes at most 3 levels deep) in time linear in the input, but it
//! keeps every MIME part, header field and Content-Type parameter it meets: a 32 MiB mail of
//! empty parts or of tiny header lines would cost it a gigabyte. [`bounded`] cuts the input
//! short before that, and [`counted_parts`] picks the parts keel looks at. (Address lists and
//! message ids, which it would also keep one by one, are read by keel itself, within limits:
//! see `headers`.)

use mail_parser::{Message, PartType};

/// The most `--` pairs the parser sees: every MIME part needs one (`--boundary`), so this
/// bounds the parts it builds; text and HTML rarely hold more than a few thousand.
const MAX_DASH_PAIRS: usize = 50_000;

/// The most `:` the parser sees: every header field needs one, so this bounds the fields it
/// builds.
const MAX_COLONS: usize = 200_000;

/// The most `;` the parser sees: every parameter of a Content-Type or Content-Disposition
/// needs one, so this bounds the parameters it builds.
const MAX_SEMICOLONS: usize = 200_000;

/// The most `message/` and `digest` the parser sees: every attached mail needs one (its
/// `message/rfc822` content type, or a `multipart/digest` around it), so this bounds how deeply
/// attached mails nest. mail-parser reads them without recursion, but drops them recursively:
/// 20,000 of them nested overflow a thread's stack.
const MAX_NESTED_MAILS: usize = 1_000;

/// Parts nested deeper than this (the mail itself is depth 0) are not looked at.
pub(super) const MAX_DEPTH: usize = 10;

/// Only the first this many parts, in the mail's order, are looked at.
pub(super) const MAX_PARTS: usize = 500;

/// The raw mail, cut where the parser would build more parts or header fields than keel ever
/// needs. A real mail is never cut: the limits are far above what mail clients write.
pub(super) fn bounded(raw: &[u8]) -> &[u8] {
    let mut dash_pairs = 0;
    let mut colons = 0;
    let mut semicolons = 0;
    let mut nested_mails = 0;
    let mut previous_dash = false;
    for (at, &byte) in raw.iter().enumerate() {
        if ends_nested_mail_mark(raw, at) {
            nested_mails += 1;
            if nested_mails > MAX_NESTED_MAILS {
                return &raw[..at];
            }
        }
        match byte {
            b'-' if previous_dash => {
                dash_pairs += 1;
                previous_dash = false;
                if dash_pairs > MAX_DASH_PAIRS {
                    return &raw[..at - 1];
                }
                continue;
            }
            b':' => {
                colons += 1;
                if colons > MAX_COLONS {
                    return &raw[..at];
                }
            }
            b';' => {
                semicolons += 1;
                if semicolons > MAX_SEMICOLONS {
                    return &raw[..at];
                }
            }
            _ => {}
        }
        previous_dash = byte == b'-';
    }
    raw
}

/// True when `message/` or `digest` (any case) ends at this byte.
fn ends_nested_mail_mark(raw: &[u8], at: usize) -> bool {
    let ends_with = |mark: &[u8]| at + 1 >= mark.len() && raw[at + 1 - mark.len()..=at].eq_ignore_ascii_case(mark);
    match raw[at] {
        b'/' => ends_with(b"message/"),
        b't' | b'T' => ends_with(b"digest"),
        _ => false,
    }
}

/// Which parts of the mail count, by part id: those at most [`MAX_DEPTH`] levels deep, and of
/// them the first [`MAX_PARTS`], in the mail's order. Parts of attached mails are not walked:
/// an attached mail is one attachment.
pub(super) fn counted_parts(message: &Message<'_>) -> Vec<bool> {
    let mut counted = vec![false; message.parts.len()];
    let mut seen = 0;
    // Depth-first, in order: children are pushed last to first.
    let mut pending: Vec<(usize, usize)> = vec![(0, 0)];
    while let Some((id, depth)) = pending.pop() {
        let Some(part) = message.parts.get(id) else {
            continue;
        };
        if depth > MAX_DEPTH || counted[id] {
            continue;
        }
        counted[id] = true;
        seen += 1;
        if seen >= MAX_PARTS {
            break;
        }
        if let PartType::Multipart(children) = &part.body {
            if depth < MAX_DEPTH {
                for &child in children.iter().rev() {
                    pending.push((child as usize, depth + 1));
                }
            }
        }
    }
    counted
}

/// True when the part with this id counts (see [`counted_parts`]).
pub(super) fn counts(counted: &[bool], id: u32) -> bool {
    counted.get(id as usize).copied().unwrap_or(false)
}

/// At most `max` bytes of the text, cut on a character boundary.
pub(super) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
