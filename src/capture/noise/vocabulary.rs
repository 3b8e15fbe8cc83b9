//! Lookups over the noise word lists: which category a phrase belongs to, the longest phrase a
//! run of words spells, and the known word behind an elongated spelling ("thanksss").

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use super::words::{ACKS, FILLERS, GREETINGS, NEGATIONS, THANKS};

/// The kind of a vocabulary phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Category {
    Thanks,
    Ack,
    Greeting,
    /// Words that add nothing: "team", "again", "so much", "for the help".
    Filler,
}

/// Matched in this order; on equal length the earlier category wins.
pub(super) const VOCAB: &[(Category, &[&str])] = &[
    (Category::Thanks, THANKS),
    (Category::Ack, ACKS),
    (Category::Greeting, GREETINGS),
    (Category::Filler, FILLERS),
];

fn vocab_words() -> impl Iterator<Item = &'static str> {
    VOCAB
        .iter()
        .flat_map(|(_, list)| list.iter())
        .flat_map(|phrase| phrase.split(' '))
        .chain(NEGATIONS.iter().copied())
}

/// Builds the lookups now, so the first message read does not wait for them.
pub(super) fn warm() {
    LazyLock::force(&KNOWN);
    LazyLock::force(&SKELETONS);
    LazyLock::force(&PHRASES);
}

/// Every vocabulary word, for constant-time lookups.
static KNOWN: LazyLock<HashSet<&'static str>> = LazyLock::new(|| vocab_words().collect());

/// Each vocabulary word's skeleton, mapped to the first word (in vocabulary order) that has it.
static SKELETONS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for w in vocab_words() {
        map.entry(skeleton(w)).or_insert(w);
    }
    map
});

pub(super) fn is_known(word: &str) -> bool {
    KNOWN.contains(word)
}

/// The word with every run of a repeated character reduced to one.
fn skeleton(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for c in word.chars() {
        if last != Some(c) {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Maps elongated spellings ("thanksss", "helloo", "nooo") to a known word.
pub(super) fn canonical(word: &str) -> String {
    if is_known(word) {
        return word.to_string();
    }
    let skel = skeleton(word);
    if skel.len() == word.len() {
        return word.to_string();
    }
    SKELETONS.get(&skel).copied().unwrap_or(word).to_string()
}

/// Every vocabulary phrase split into words, by first word, in vocabulary order.
type PhraseIndex = HashMap<&'static str, Vec<(Category, Vec<&'static str>)>>;

static PHRASES: LazyLock<PhraseIndex> = LazyLock::new(|| {
    let mut index: PhraseIndex = HashMap::new();
    for &(category, list) in VOCAB {
        for phrase in list {
            let parts: Vec<&'static str> = phrase.split(' ').collect();
            if let Some(first) = parts.first() {
                index.entry(*first).or_default().push((category, parts));
            }
        }
    }
    index
});

/// The longest phrase the leading `words` spell (the first in vocabulary order among equals), and
/// its length in words.
pub(super) fn longest_phrase(words: &[&str]) -> Option<(Category, usize)> {
    let mut best: Option<(Category, usize)> = None;
    for (category, parts) in PHRASES.get(words.first()?)? {
        let n = parts.len();
        if words.get(..n) == Some(parts.as_slice()) && best.is_none_or(|(_, b)| n > b) {
            best = Some((*category, n));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::noise::words::NOT_NAMES;

    #[test]
    fn vocabulary_is_clean() {
        let mut seen = std::collections::HashSet::new();
        for (_, list) in VOCAB {
            for phrase in *list {
                assert!(seen.insert(*phrase), "duplicate phrase {phrase:?}");
                assert_eq!(*phrase, phrase.to_lowercase(), "{phrase:?}");
                assert!(!phrase.contains("  ") && phrase.trim() == *phrase);
                for w in phrase.split(' ') {
                    assert!(!NEGATIONS.contains(&w) || *phrase != w, "{phrase:?}");
                }
            }
        }
        for w in NOT_NAMES.iter().chain(NEGATIONS) {
            assert_eq!(*w, w.to_lowercase());
        }
    }
}
