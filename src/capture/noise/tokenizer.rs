//! Splits a chat message into the tokens the noise classifier reads: lowercased words (elongated
//! spellings mapped back to known words), @mentions, emoji, commas and question marks.

use super::chars::is_word_char;
use super::emoji::{emoji_at, emoticon_at, is_emoji_modifier, shortcode_at, shortcode_flavour, Flavour, ZWJ};
use super::vocabulary::canonical;
use crate::domain::is_invisible;

/// More words than this and the message carries more than pleasantries.
pub(super) const MAX_WORDS: usize = 12;

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Word(String),
    Mention,
    Emoji(Flavour),
    Comma,
    Question,
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}')
}

/// The zero-width non-joiner and joiner. `domain::is_invisible` keeps them for scripts and emoji
/// sequences; here a joiner after an emoji is read by `emoji_at`, and anywhere else joins nothing.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | ZWJ)
}

/// Characters dropped without separating words: invisible ones, stray joiners, and emoji
/// modifiers not following an emoji.
fn is_ignored(c: char) -> bool {
    is_invisible(c) || is_joiner(c) || is_emoji_modifier(c)
}

fn is_question_mark(c: char) -> bool {
    matches!(c, '?' | '\u{FF1F}' | '\u{061F}' | '\u{2E2E}' | '\u{00BF}')
}

fn is_comma(c: char) -> bool {
    matches!(
        c,
        ',' | ':' | '\u{FF0C}' | '\u{3001}' | '\u{060C}' | '\u{2013}' | '\u{2014}'
    )
}

/// Counts one more word or mention; `None` once the message has more than [`MAX_WORDS`].
fn count_word(words: &mut usize) -> Option<()> {
    *words += 1;
    (*words <= MAX_WORDS).then_some(())
}

/// Ends the word being read (if any) and pushes it; `None` once the word budget is exceeded.
fn flush(word: &mut String, tokens: &mut Vec<Token>, words: &mut usize) -> Option<()> {
    let trimmed = word.trim_matches('\'');
    if !trimmed.is_empty() {
        count_word(words)?;
        tokens.push(Token::Word(canonical(trimmed)));
    }
    word.clear();
    Some(())
}

/// Splits a message into tokens; `None` when it has too many words.
pub(super) fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut words = 0usize;
    let mut i = 0usize;

    while let Some(&c) = chars.get(i) {
        let rest = chars.get(i..).unwrap_or(&[]);
        if is_word_char(c) {
            word.extend(c.to_lowercase());
            i += 1;
            continue;
        }
        if is_apostrophe(c) && !word.is_empty() {
            word.push('\'');
            i += 1;
            continue;
        }
        if is_ignored(c) {
            i += 1;
            continue;
        }
        flush(&mut word, &mut tokens, &mut words)?;

        if c == '@' {
            let len = rest.iter().skip(1).take_while(|c| is_word_char(**c)).count();
            if len > 0 {
                count_word(&mut words)?;
                tokens.push(Token::Mention);
            }
            i += 1 + len;
            continue;
        }
        if let Some((name, len)) = shortcode_at(rest) {
            if !name.starts_with("skin-tone") {
                tokens.push(Token::Emoji(shortcode_flavour(&name)));
            }
            i += len;
            continue;
        }
        if let Some((flavour, len)) = emoticon_at(rest).or_else(|| emoji_at(rest)) {
            tokens.push(Token::Emoji(flavour));
            i += len;
            continue;
        }
        if is_question_mark(c) {
            tokens.push(Token::Question);
        } else if is_comma(c) {
            tokens.push(Token::Comma);
        }
        i += 1;
    }
    flush(&mut word, &mut tokens, &mut words)?;
    Some(tokens)
}
