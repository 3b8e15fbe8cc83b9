//! The classes of characters the noise tokenizer and the emoji reader share.

fn is_combining(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20E2
        | 0x20E4..=0x20FF | 0xFE20..=0xFE2F)
}

/// A letter, digit or combining mark: part of a word.
pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining(c)
}
