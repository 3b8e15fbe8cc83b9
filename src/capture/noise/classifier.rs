//! From tokens to a verdict: words are grouped into vocabulary phrases, an unknown word is let
//! through only where a person's name would stand, and the strongest kind among the phrases and
//! emoji wins.

use super::emoji::Flavour;
use super::tokenizer::Token;
use super::vocabulary::{is_known, longest_phrase, Category};
use super::words::{NEGATIONS, NOT_NAMES};

/// What a short message amounts to when it asks for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// Hello / good morning / bye, possibly with a name or 👋.
    Greeting,
    /// Thanks, praise ("great work") or appreciation.
    Thanks,
    /// Ok / got it / works now / 👍 mixed with words.
    Acknowledgement,
    /// Nothing but emoji, emoji shortcodes or emoticons.
    Emoji,
}

/// A phrase, name, emoji or punctuation mark of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit<'a> {
    Phrase(Category),
    /// A word outside every vocabulary; must resolve to a name or fail.
    Word(&'a str),
    Name,
    Emoji(Flavour),
    Comma,
    Question,
}

fn is_name_like(word: &str) -> bool {
    let len = word.chars().count();
    (2..=20).contains(&len)
        // Cased letters only (Latin, Greek, Cyrillic, ...): an unknown CJK,
        // Arabic or Hebrew word may be the request itself.
        && word.chars().all(char::is_lowercase)
        && !NOT_NAMES.contains(&word)
        && !is_known(word)
}

/// Turns tokens into phrases; unknown words become a name when placed like
/// one ("lea, thanks", "hi lea", "thanks lea", "ok, lea"), else `None`.
pub(super) fn to_units(tokens: &[Token]) -> Option<Vec<Unit<'_>>> {
    let mut units = phrases(tokens);
    resolve_names(&mut units)?;
    Some(units)
}

/// Groups runs of words into the longest vocabulary phrases; a word that starts none stays a
/// [`Unit::Word`]. Mentions are dropped.
fn phrases(tokens: &[Token]) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        match token {
            Token::Word(_) => {
                let run: Vec<&str> = tokens
                    .get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .map_while(|t| match t {
                        Token::Word(w) => Some(w.as_str()),
                        _ => None,
                    })
                    .collect();
                if let Some((category, n)) = longest_phrase(&run) {
                    units.push(Unit::Phrase(category));
                    i += n;
                } else {
                    units.push(Unit::Word(run.first().copied().unwrap_or("")));
                    i += 1;
                }
                continue;
            }
            Token::Mention => {}
            Token::Emoji(f) => units.push(Unit::Emoji(*f)),
            Token::Comma => units.push(Unit::Comma),
            Token::Question => units.push(Unit::Question),
        }
        i += 1;
    }
    units
}

/// Turns the one unknown word a message may have into a [`Unit::Name`]; `None` when a word is a
/// negation, does not look like a name, is not placed like one, or is a second name.
fn resolve_names(units: &mut [Unit<'_>]) -> Option<()> {
    let mut names = 0;
    for j in 0..units.len() {
        let Some(Unit::Word(word)) = units.get(j).copied() else {
            continue;
        };
        if NEGATIONS.contains(&word) || !is_name_like(word) || names > 0 {
            return None;
        }
        let before = units.get(..j).unwrap_or(&[]);
        let after = units.get(j + 1..).unwrap_or(&[]);
        if !placed_like_a_name(before, after) {
            return None;
        }
        if let Some(slot) = units.get_mut(j) {
            *slot = Unit::Name;
        }
        names += 1;
    }
    Some(())
}

/// A name leads ("lea, thanks"), follows a greeting ("hi lea") or trails after a comma, thanks,
/// a greeting or a filler ("thanks lea", "ok, lea").
fn placed_like_a_name(before: &[Unit<'_>], after: &[Unit<'_>]) -> bool {
    let prev = before.last().copied();
    let prev_content = before.iter().rev().find(|u| **u != Unit::Comma).copied();
    let next = after.first().copied();

    let leading = before.iter().all(|u| matches!(u, Unit::Emoji(_) | Unit::Comma)) && next == Some(Unit::Comma);
    let after_greeting = prev_content == Some(Unit::Phrase(Category::Greeting));
    let trailing = after
        .iter()
        .all(|u| matches!(u, Unit::Emoji(_) | Unit::Comma | Unit::Question))
        && (prev == Some(Unit::Comma)
            || matches!(
                prev_content,
                Some(Unit::Phrase(Category::Thanks | Category::Greeting | Category::Filler))
            ));
    leading || after_greeting || trailing
}

fn rank(kind: Noise) -> u8 {
    match kind {
        Noise::Thanks => 3,
        Noise::Acknowledgement => 2,
        Noise::Greeting => 1,
        Noise::Emoji => 0,
    }
}

fn stronger(current: Option<Noise>, kind: Noise) -> Option<Noise> {
    match current {
        Some(c) if rank(c) >= rank(kind) => Some(c),
        _ => Some(kind),
    }
}

/// The strongest kind among the units, or `None` when one of them may carry a request.
pub(super) fn decide(units: &[Unit<'_>]) -> Option<Noise> {
    let mut words_kind: Option<Noise> = None;
    let mut emoji_kind: Option<Noise> = None;
    let mut any_emoji = false;
    let mut beyond_greeting = false;
    for unit in units {
        match *unit {
            Unit::Phrase(Category::Filler) | Unit::Name | Unit::Comma => {}
            Unit::Phrase(Category::Greeting) => words_kind = stronger(words_kind, Noise::Greeting),
            Unit::Phrase(Category::Thanks) => {
                words_kind = stronger(words_kind, Noise::Thanks);
                beyond_greeting = true;
            }
            Unit::Phrase(Category::Ack) => {
                words_kind = stronger(words_kind, Noise::Acknowledgement);
                beyond_greeting = true;
            }
            Unit::Emoji(flavour) => {
                any_emoji = true;
                match flavour {
                    Flavour::Negative => return None,
                    Flavour::Greeting => emoji_kind = stronger(emoji_kind, Noise::Greeting),
                    Flavour::Thanks => {
                        emoji_kind = stronger(emoji_kind, Noise::Thanks);
                        beyond_greeting = true;
                    }
                    Flavour::Ack => {
                        emoji_kind = stronger(emoji_kind, Noise::Acknowledgement);
                        beyond_greeting = true;
                    }
                    Flavour::Plain => beyond_greeting = true,
                }
            }
            Unit::Question => {
                if beyond_greeting {
                    return None;
                }
            }
            Unit::Word(_) => return None,
        }
    }
    match (words_kind, emoji_kind) {
        (Some(w), Some(e)) => stronger(Some(w), e),
        (Some(w), None) => Some(w),
        (None, _) if any_emoji => Some(Noise::Emoji),
        (None, _) => None,
    }
}
