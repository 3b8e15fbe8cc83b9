//! Deterministic classifier for chat messages that ask for nothing.
//!
//! A message is "noise" when, once normalised, it consists only of greetings,
//! thanks, acknowledgements and emoji (plus harmless fillers such as "team",
//! "again", "so much" and a name mention). Noise must never become a new
//! request, and a noise message on a finished task must not reopen it.
//!
//! The classifier is conservative: anything it does not recognise, any
//! negation ("not", "but", "still", ...), any problem emoji (👎 ❌ 😡 ...), a
//! question mark after non-greeting content, more than 12 words or more than
//! 4 KiB of text all make the message *not* noise.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

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

/// `Some(kind)` when the message is only a greeting, thanks, acknowledgement
/// or emoji (or a mix of those), `None` when it may carry a request.
///
/// Mixed messages take the strongest kind: Thanks > Acknowledgement >
/// Greeting > Emoji. Empty or whitespace-only input is `None`.
pub fn classify(text: &str) -> Option<Noise> {
    if text.len() > MAX_BYTES {
        return None;
    }
    // A piece of text that starts with a word character starts a word of its own, so this counts
    // no more words than the tokenizer would: a long request is let go without tokenizing it.
    let words_at_least = text
        .split_whitespace()
        .filter(|piece| piece.chars().next().is_some_and(is_word_char))
        .count();
    if words_at_least > MAX_WORDS {
        return None;
    }
    let tokens = tokenize(text)?;
    let units = to_units(&tokens)?;
    decide(&units)
}

/// True when the message only thanks or acknowledges (used to decide that a
/// client's message on a done task does not reopen it). Greetings alone also
/// count.
pub fn is_noise(text: &str) -> bool {
    classify(text).is_some()
}

/// Messages with more words (and @mentions) than this are never noise.
const MAX_WORDS: usize = 12;
/// Messages longer than this (in bytes) are never noise.
const MAX_BYTES: usize = 4096;
/// Longest emoji shortcode name we recognise (`:name:`).
const MAX_SHORTCODE: usize = 40;

// ---------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Thanks,
    Ack,
    Greeting,
    /// Words that add nothing: "team", "again", "so much", "for the help".
    Filler,
}

const THANKS: &[&str] = &[
    "thanks",
    "thank you",
    "thankyou",
    "thank u",
    "thank you kindly",
    "thx",
    "thnx",
    "thanx",
    "thnks",
    "thks",
    "tnx",
    "tx",
    "ty",
    "tysm",
    "tyvm",
    "ta",
    "cheers",
    "much appreciated",
    "appreciate it",
    "i appreciate it",
    "appreciate that",
    "appreciated",
    "greatly appreciated",
    "much obliged",
    "thanks a lot",
    "many thanks",
    "thanks a bunch",
    "thanks a ton",
    "big thanks",
    "great work",
    "good job",
    "nice work",
    "well done",
    "great job",
    "nice job",
    "good work",
    "awesome work",
    "amazing work",
    "excellent work",
    "great stuff",
    "good stuff",
    "nice one",
    "great news",
    "good news",
    "you rock",
    "you're the best",
    "youre the best",
    "you are the best",
    "legend",
    "kudos",
    "bravo",
    "awesome",
    "perfect",
    "brilliant",
    "excellent",
    "amazing",
    "great",
    "nice",
    "cool",
    "sweet",
    "lovely",
    "fantastic",
    "wonderful",
    "superb",
    "splendid",
    "outstanding",
    // A few non-English thanks.
    "merci",
    "merci beaucoup",
    "danke",
    "danke schön",
    "danke schoen",
    "vielen dank",
    "gracias",
    "muchas gracias",
    "grazie",
    "grazie mille",
    "obrigado",
    "obrigada",
    "спасибо",
    "большое спасибо",
];

const ACKS: &[&str] = &[
    "ok",
    "okay",
    "okey",
    "okie",
    "oki",
    "okey dokey",
    "okie dokie",
    "k",
    "kk",
    "got it",
    "i got it",
    "got you",
    "gotcha",
    "understood",
    "i understand",
    "i see",
    "noted",
    "duly noted",
    "sounds good",
    "sounds great",
    "sounds perfect",
    "sounds good to me",
    "will do",
    "sure",
    "sure thing",
    "of course",
    "ofc",
    "yes",
    "yep",
    "yup",
    "yeah",
    "yea",
    "ya",
    "absolutely",
    "alright",
    "all right",
    "aight",
    "right",
    "roger",
    "roger that",
    "copy",
    "copy that",
    "ack",
    "acknowledged",
    "received",
    "no problem",
    "no worries",
    "no prob",
    "np",
    "all good",
    "we're good",
    "we are good",
    "i'm good",
    "im good",
    "good",
    "very good",
    "fine",
    "that's fine",
    "thats fine",
    "that is fine",
    "fine by me",
    "works for me",
    "makes sense",
    "that makes sense",
    "fair enough",
    "oh",
    "ah",
    "aha",
    "works",
    "it works",
    "that works",
    "this works",
    "everything works",
    "works fine",
    "works great",
    "works perfectly",
    "working",
    "it's working",
    "its working",
    "it is working",
    "is working",
    "everything is working",
    "everything's working",
    "all working",
    "working fine",
    "it worked",
    "that worked",
    "worked",
    "that did it",
    "that did the trick",
    "that helped",
    "that fixed it",
    "this fixed it",
    "fixed",
    "it's fixed",
    "its fixed",
    "all fixed",
    "resolved",
    "solved",
    "that solved it",
    "problem solved",
    "sorted",
    "all sorted",
    "all set",
    "done",
    "all done",
    "confirmed",
    "looks good",
    "looks great",
    "looks fine",
    "lgtm",
    "seems fine",
    "seems to work",
    "d'accord",
];

const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "heya",
    "hi there",
    "hello there",
    "hey there",
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "morning",
    "evening",
    "yo",
    "howdy",
    "greetings",
    "how are you",
    "how are you doing",
    "hope you're well",
    "hope you are well",
    "hope you're doing well",
    "hope all is well",
    "bye",
    "bye bye",
    "goodbye",
    "good bye",
    "see you",
    "see ya",
    "see you later",
    "cya",
    "talk soon",
    "good night",
    "take care",
    "have a nice day",
    "have a good day",
    "have a great day",
    "have a nice weekend",
    "have a good weekend",
    "have a great weekend",
    "have a good one",
    "you too",
    "same to you",
    // A few non-English greetings.
    "hola",
    "bonjour",
    "salut",
    "hallo",
    "ciao",
    "guten morgen",
    "guten tag",
    "buenos días",
    "buenos dias",
    "привет",
];

const FILLERS: &[&str] = &[
    "team",
    "guys",
    "you guys",
    "all",
    "you all",
    "y'all",
    "yall",
    "everyone",
    "everybody",
    "folks",
    "people",
    "mate",
    "buddy",
    "dude",
    "bro",
    "sir",
    "again",
    "so much",
    "a lot",
    "very much",
    "a ton",
    "a bunch",
    "heaps",
    "loads",
    "lots",
    "tons",
    "really",
    "truly",
    "indeed",
    "now",
    "for that",
    "for this",
    "for it",
    "for the help",
    "for your help",
    "for all your help",
    "for all the help",
    "for helping",
    "for the fix",
    "for fixing it",
    "for fixing this",
    "for the quick fix",
    "for the update",
    "for the info",
    "for the information",
    "for your time",
    "for the reply",
    "for the quick reply",
    "for the response",
    "for the quick response",
    "for getting back to me",
    "for looking into it",
    "for looking into this",
    "for checking",
    "for everything",
];

/// Matched in this order; on equal length the earlier category wins.
const VOCAB: &[(Cat, &[&str])] = &[
    (Cat::Thanks, THANKS),
    (Cat::Ack, ACKS),
    (Cat::Greeting, GREETINGS),
    (Cat::Filler, FILLERS),
];

/// Words that turn any message into a possible request when they are not
/// part of a vocabulary phrase (so "no problem" stays noise, "no" does not).
const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "aren't",
    "arent",
    "wasn't",
    "wasnt",
    "won't",
    "wont",
    "can't",
    "cant",
    "cannot",
    "couldn't",
    "couldnt",
    "haven't",
    "havent",
    "hasn't",
    "hasnt",
    "never",
    "nothing",
    "nobody",
    "nope",
    "nah",
    "neither",
    "nor",
    "still",
    "but",
    "however",
    "except",
    "although",
    "though",
    "yet",
    "unfortunately",
    "sadly",
    "without",
    "anyway",
    "anyways",
];

/// Words that are never taken for a person's name ("thanks, Lea").
const NOT_NAMES: &[&str] = &[
    "api",
    "csv",
    "dashboard",
    "download",
    "export",
    "import",
    "pdf",
    "sync",
    "upload",
    "about",
    "after",
    "also",
    "am",
    "an",
    "and",
    "another",
    "any",
    "anybody",
    "anymore",
    "anyone",
    "anything",
    "app",
    "account",
    "are",
    "as",
    "asap",
    "at",
    "bad",
    "be",
    "because",
    "been",
    "before",
    "block",
    "blocked",
    "blocking",
    "break",
    "breaks",
    "broke",
    "broken",
    "btw",
    "bug",
    "bugs",
    "button",
    "by",
    "can",
    "check",
    "could",
    "critical",
    "crash",
    "crashed",
    "crashes",
    "crashing",
    "data",
    "dead",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "email",
    "emergency",
    "empty",
    "error",
    "errors",
    "eta",
    "even",
    "ever",
    "expired",
    "fail",
    "failed",
    "failing",
    "fails",
    "failure",
    "file",
    "fix",
    "fixes",
    "fixing",
    "from",
    "fyi",
    "get",
    "gets",
    "getting",
    "gone",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "him",
    "his",
    "hm",
    "hmm",
    "if",
    "in",
    "invoice",
    "is",
    "issue",
    "issues",
    "it",
    "just",
    "later",
    "let",
    "link",
    "locked",
    "login",
    "lost",
    "may",
    "me",
    "might",
    "missing",
    "mistake",
    "more",
    "must",
    "my",
    "need",
    "needed",
    "needs",
    "none",
    "odd",
    "of",
    "offline",
    "on",
    "one",
    "only",
    "or",
    "order",
    "other",
    "our",
    "outage",
    "page",
    "password",
    "payment",
    "please",
    "pls",
    "plz",
    "priority",
    "problems",
    "ps",
    "question",
    "questions",
    "report",
    "request",
    "same",
    "say",
    "server",
    "she",
    "should",
    "since",
    "site",
    "slow",
    "some",
    "somebody",
    "someone",
    "something",
    "soon",
    "stop",
    "strange",
    "stuck",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "ticket",
    "timeout",
    "to",
    "today",
    "tomorrow",
    "too",
    "two",
    "typo",
    "uh",
    "um",
    "unavailable",
    "until",
    "up",
    "update",
    "urgent",
    "urgently",
    "us",
    "very",
    "wait",
    "waiting",
    "want",
    "wants",
    "was",
    "we",
    "weird",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "worse",
    "worst",
    "would",
    "wrong",
    "yesterday",
    "you",
    "your",
];

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// What an emoji says, for picking the kind of a mixed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Plain,
    Greeting,
    Thanks,
    Ack,
    /// 👎 ❌ 😡 🐛 ❓ ... : the message may report a problem.
    Negative,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Mention,
    Emoji(Flavour),
    Comma,
    Question,
}

fn is_combining(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20E2
        | 0x20E4..=0x20FF | 0xFE20..=0xFE2F)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining(c)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}')
}

/// Characters that are dropped without separating words (zero-width and
/// bidirectional controls, soft hyphen, stray joiners and variation selectors).
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x061C | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
        | 0x2066..=0x2069 | 0xFEFF)
        || is_emoji_modifier(c)
}

fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

const ZWJ: char = '\u{200D}';

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x203C | 0x2049
        | 0x2194..=0x2199 | 0x21A9 | 0x21AA
        | 0x231A | 0x231B | 0x2328 | 0x23CF | 0x23E9..=0x23F3 | 0x23F8..=0x23FA
        | 0x25AA | 0x25AB | 0x25B6 | 0x25C0 | 0x25FB..=0x25FE
        | 0x2934 | 0x2935
        | 0x2B05..=0x2B07 | 0x2B1B | 0x2B1C | 0x2B50 | 0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299)
        && !is_emoji_modifier(c)
}

fn emoji_flavour(c: char) -> Flavour {
    match c as u32 {
        // 👍 ✅ ✔ ☑ 👌 🆗 💯 🤝
        0x1F44D | 0x2705 | 0x2714 | 0x2611 | 0x1F44C | 0x1F197 | 0x1F4AF | 0x1F91D => Flavour::Ack,
        // 🙏 🙌 👏 ❤ ♥ hearts (except 💔) 🥰 🤗
        0x1F64F
        | 0x1F64C
        | 0x1F44F
        | 0x2764
        | 0x2665
        | 0x1F493
        | 0x1F495..=0x1F49F
        | 0x1F970
        | 0x1F917
        | 0x1F9E1
        | 0x1F90D
        | 0x1F90E => Flavour::Thanks,
        // 👋
        0x1F44B => Flavour::Greeting,
        // 👎 ❌ ❎ ✖ ⛔ 🚫 🆘 ⚠ ❗ ❕ ❓ ❔ ⁉ ‼ 🐛 🐞 💔 🔥 🚨 💥 👀 and unhappy faces
        0x1F44E
        | 0x274C
        | 0x274E
        | 0x2716
        | 0x26D4
        | 0x1F6AB
        | 0x1F198
        | 0x26A0
        | 0x2757
        | 0x2755
        | 0x2753
        | 0x2754
        | 0x2049
        | 0x203C
        | 0x1F41B
        | 0x1F41E
        | 0x1F494
        | 0x1F525
        | 0x1F6A8
        | 0x1F4A5
        | 0x1F440
        | 0x2639
        | 0x1F641
        | 0x1F615
        | 0x1F61E
        | 0x1F61F
        | 0x1F620..=0x1F625
        | 0x1F628..=0x1F62B
        | 0x1F62D
        | 0x1F630
        | 0x1F631
        | 0x1F614
        | 0x1F612
        | 0x1F613
        | 0x1F616
        | 0x1F914
        | 0x1F92C
        | 0x1F92F
        | 0x1F926 => Flavour::Negative,
        _ => Flavour::Plain,
    }
}

fn shortcode_flavour(name: &str) -> Flavour {
    match name {
        "+1"
        | "thumbsup"
        | "thumbs_up"
        | "ok"
        | "ok_hand"
        | "white_check_mark"
        | "heavy_check_mark"
        | "check"
        | "ballot_box_with_check"
        | "100"
        | "handshake" => Flavour::Ack,
        "pray"
        | "folded_hands"
        | "raised_hands"
        | "clap"
        | "heart"
        | "hearts"
        | "blue_heart"
        | "green_heart"
        | "yellow_heart"
        | "purple_heart"
        | "orange_heart"
        | "sparkling_heart"
        | "heartpulse"
        | "two_hearts"
        | "hugs"
        | "hugging_face"
        | "smiling_face_with_hearts" => Flavour::Thanks,
        "wave" | "waving_hand" => Flavour::Greeting,
        "-1"
        | "thumbsdown"
        | "thumbs_down"
        | "x"
        | "negative_squared_cross_mark"
        | "heavy_multiplication_x"
        | "no_entry"
        | "no_entry_sign"
        | "warning"
        | "sos"
        | "bug"
        | "beetle"
        | "lady_beetle"
        | "question"
        | "grey_question"
        | "exclamation"
        | "heavy_exclamation_mark"
        | "grey_exclamation"
        | "interrobang"
        | "bangbang"
        | "rage"
        | "angry"
        | "face_with_symbols_on_mouth"
        | "cry"
        | "sob"
        | "disappointed"
        | "worried"
        | "confused"
        | "thinking"
        | "thinking_face"
        | "slightly_frowning_face"
        | "frowning"
        | "frowning_face"
        | "white_frowning_face"
        | "broken_heart"
        | "fire"
        | "rotating_light"
        | "boom"
        | "collision"
        | "triumph"
        | "scream"
        | "fearful"
        | "cold_sweat"
        | "weary"
        | "tired_face"
        | "persevere"
        | "confounded"
        | "disappointed_relieved"
        | "exploding_head"
        | "sweat"
        | "pensive"
        | "unamused"
        | "facepalm"
        | "face_palm"
        | "man_facepalming"
        | "woman_facepalming"
        | "person_facepalming"
        | "eyes" => Flavour::Negative,
        _ => Flavour::Plain,
    }
}

/// Text emoticons, compared ASCII-case-insensitively.
const EMOTICONS: &[(&str, Flavour)] = &[
    (">:(", Flavour::Negative),
    (":'(", Flavour::Negative),
    (":-(", Flavour::Negative),
    (":-/", Flavour::Negative),
    (":-|", Flavour::Negative),
    ("</3", Flavour::Negative),
    (":-)", Flavour::Plain),
    (":-d", Flavour::Plain),
    (":-p", Flavour::Plain),
    (";-)", Flavour::Plain),
    (":))", Flavour::Plain),
    ("^_^", Flavour::Plain),
    (":(", Flavour::Negative),
    (":/", Flavour::Negative),
    (":\\", Flavour::Negative),
    (":|", Flavour::Negative),
    (":s", Flavour::Negative),
    (":)", Flavour::Plain),
    (":]", Flavour::Plain),
    (":d", Flavour::Plain),
    (":p", Flavour::Plain),
    (";)", Flavour::Plain),
    (";d", Flavour::Plain),
    ("=)", Flavour::Plain),
    ("=d", Flavour::Plain),
    ("^^", Flavour::Plain),
    ("<3", Flavour::Thanks),
    ("+1", Flavour::Ack),
    ("-1", Flavour::Negative),
];

/// `:name:` at the start of `chars`: (lowercased name, chars consumed).
fn shortcode_at(chars: &[char]) -> Option<(String, usize)> {
    if chars.first() != Some(&':') {
        return None;
    }
    let mut name = String::new();
    for (k, &c) in chars.iter().enumerate().skip(1).take(MAX_SHORTCODE + 1) {
        if c == ':' {
            return if name.is_empty() { None } else { Some((name, k + 1)) };
        }
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-') {
            name.push(c.to_ascii_lowercase());
        } else {
            return None;
        }
    }
    None
}

/// A text emoticon at the start of `chars`, not followed by a letter or digit.
fn emoticon_at(chars: &[char]) -> Option<(Flavour, usize)> {
    EMOTICONS.iter().find_map(|&(emo, flavour)| {
        let len = emo.chars().count();
        let head = chars.get(..len)?;
        let same = head.iter().zip(emo.chars()).all(|(a, b)| a.eq_ignore_ascii_case(&b));
        let boundary = chars.get(len).is_none_or(|c| !is_word_char(*c));
        (same && boundary).then_some((flavour, len))
    })
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

/// Splits a message into tokens; `None` when it has too many words.
fn tokenize(text: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut words = 0usize;
    let mut i = 0usize;

    // Flushes the current word; `None` once the word budget is exceeded.
    fn flush(word: &mut String, tokens: &mut Vec<Tok>, words: &mut usize) -> Option<()> {
        let trimmed = word.trim_matches('\'');
        if !trimmed.is_empty() {
            *words += 1;
            if *words > MAX_WORDS {
                return None;
            }
            tokens.push(Tok::Word(canonical(trimmed)));
        }
        word.clear();
        Some(())
    }

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
        if is_invisible(c) || c == ZWJ {
            i += 1;
            continue;
        }
        flush(&mut word, &mut tokens, &mut words)?;

        if c == '@' {
            let len = rest.iter().skip(1).take_while(|c| is_word_char(**c)).count();
            if len > 0 {
                words += 1;
                if words > MAX_WORDS {
                    return None;
                }
                tokens.push(Tok::Mention);
            }
            i += 1 + len;
            continue;
        }
        if let Some((name, len)) = shortcode_at(rest) {
            if !name.starts_with("skin-tone") {
                tokens.push(Tok::Emoji(shortcode_flavour(&name)));
            }
            i += len;
            continue;
        }
        if let Some((flavour, len)) = emoticon_at(rest) {
            tokens.push(Tok::Emoji(flavour));
            i += len;
            continue;
        }
        if is_emoji(c) {
            let mut flavour = emoji_flavour(c);
            i += 1;
            // Swallow modifiers and ZWJ sequences into the same emoji.
            while let Some(&m) = chars.get(i) {
                if is_emoji_modifier(m) {
                    i += 1;
                } else if m == ZWJ {
                    i += 1;
                    if let Some(&next) = chars.get(i).filter(|n| is_emoji(**n)) {
                        if emoji_flavour(next) == Flavour::Negative {
                            flavour = Flavour::Negative;
                        }
                        i += 1;
                    }
                } else {
                    break;
                }
            }
            tokens.push(Tok::Emoji(flavour));
            continue;
        }
        if is_question_mark(c) {
            tokens.push(Tok::Question);
        } else if is_comma(c) {
            tokens.push(Tok::Comma);
        }
        i += 1;
    }
    flush(&mut word, &mut tokens, &mut words)?;
    Some(tokens)
}

fn vocab_words() -> impl Iterator<Item = &'static str> {
    VOCAB
        .iter()
        .flat_map(|(_, list)| list.iter())
        .flat_map(|phrase| phrase.split(' '))
        .chain(NEGATIONS.iter().copied())
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

fn is_known(word: &str) -> bool {
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
fn canonical(word: &str) -> String {
    if is_known(word) {
        return word.to_string();
    }
    let skel = skeleton(word);
    if skel.len() == word.len() {
        return word.to_string();
    }
    SKELETONS.get(&skel).copied().unwrap_or(word).to_string()
}

// ---------------------------------------------------------------------------
// Phrases and decision
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit<'a> {
    Phrase(Cat),
    /// A word outside every vocabulary; must resolve to a name or fail.
    Word(&'a str),
    Name,
    Emoji(Flavour),
    Comma,
    Question,
}

/// Every vocabulary phrase split into words, by first word, in vocabulary order.
type PhraseIndex = HashMap<&'static str, Vec<(Cat, Vec<&'static str>)>>;

static PHRASES: LazyLock<PhraseIndex> = LazyLock::new(|| {
    let mut index: PhraseIndex = HashMap::new();
    for &(cat, list) in VOCAB {
        for phrase in list {
            let parts: Vec<&'static str> = phrase.split(' ').collect();
            if let Some(first) = parts.first() {
                index.entry(*first).or_default().push((cat, parts));
            }
        }
    }
    index
});

/// The longest phrase the leading `words` spell (the first in vocabulary order among equals), and
/// its length in words.
fn longest_phrase(words: &[&str]) -> Option<(Cat, usize)> {
    let mut best: Option<(Cat, usize)> = None;
    for (cat, parts) in PHRASES.get(words.first()?)? {
        let n = parts.len();
        if words.get(..n) == Some(parts.as_slice()) && best.is_none_or(|(_, b)| n > b) {
            best = Some((*cat, n));
        }
    }
    best
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
fn to_units(tokens: &[Tok]) -> Option<Vec<Unit<'_>>> {
    let mut units = Vec::new();
    let mut i = 0;
    while let Some(tok) = tokens.get(i) {
        match tok {
            Tok::Word(_) => {
                let run: Vec<&str> = tokens
                    .get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .map_while(|t| match t {
                        Tok::Word(w) => Some(w.as_str()),
                        _ => None,
                    })
                    .collect();
                if let Some((cat, n)) = longest_phrase(&run) {
                    units.push(Unit::Phrase(cat));
                    i += n;
                } else {
                    units.push(Unit::Word(run.first().copied().unwrap_or("")));
                    i += 1;
                }
                continue;
            }
            Tok::Mention => {}
            Tok::Emoji(f) => units.push(Unit::Emoji(*f)),
            Tok::Comma => units.push(Unit::Comma),
            Tok::Question => units.push(Unit::Question),
        }
        i += 1;
    }

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
        let prev = before.last().copied();
        let prev_content = before.iter().rev().find(|u| **u != Unit::Comma).copied();
        let next = after.first().copied();

        let leading = before.iter().all(|u| matches!(u, Unit::Emoji(_) | Unit::Comma)) && next == Some(Unit::Comma);
        let after_greeting = prev_content == Some(Unit::Phrase(Cat::Greeting));
        let trailing = after
            .iter()
            .all(|u| matches!(u, Unit::Emoji(_) | Unit::Comma | Unit::Question))
            && (prev == Some(Unit::Comma)
                || matches!(
                    prev_content,
                    Some(Unit::Phrase(Cat::Thanks | Cat::Greeting | Cat::Filler))
                ));
        if !(leading || after_greeting || trailing) {
            return None;
        }
        if let Some(slot) = units.get_mut(j) {
            *slot = Unit::Name;
        }
        names += 1;
    }
    Some(units)
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

fn decide(units: &[Unit<'_>]) -> Option<Noise> {
    let mut words_kind: Option<Noise> = None;
    let mut emoji_kind: Option<Noise> = None;
    let mut any_emoji = false;
    let mut beyond_greeting = false;
    for unit in units {
        match *unit {
            Unit::Phrase(Cat::Filler) | Unit::Name | Unit::Comma => {}
            Unit::Phrase(Cat::Greeting) => words_kind = stronger(words_kind, Noise::Greeting),
            Unit::Phrase(Cat::Thanks) => {
                words_kind = stronger(words_kind, Noise::Thanks);
                beyond_greeting = true;
            }
            Unit::Phrase(Cat::Ack) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use Noise::{Acknowledgement as A, Emoji as E, Greeting as G, Thanks as T};

    const CASES: &[(&str, Option<Noise>)] = &[
        // --- greetings ---
        ("Hi!", Some(G)),
        ("hello", Some(G)),
        ("HEY", Some(G)),
        ("hiya :)", Some(G)),
        ("Good morning!", Some(G)),
        ("good   afternoon  team", Some(G)),
        ("Good evening, everyone.", Some(G)),
        ("morning all", Some(G)),
        ("yo", Some(G)),
        ("Howdy folks", Some(G)),
        ("Hello team 👋", Some(G)),
        ("hiii", Some(G)),
        ("Hi Lea", Some(G)),
        ("hi?", Some(G)),
        ("Hi team, how are you?", Some(G)),
        ("bye, have a nice day!", Some(G)),
        ("Bonjour", Some(G)),
        ("Привет!", Some(G)),
        ("¡Hola!", Some(G)),
        // --- thanks ---
        ("thanks", Some(T)),
        ("Thank you!", Some(T)),
        ("THANK YOU SO MUCH!!!", Some(T)),
        ("thx", Some(T)),
        ("ty", Some(T)),
        ("tysm 🙏", Some(T)),
        ("Cheers!", Some(T)),
        ("much appreciated", Some(T)),
        ("appreciate it, thanks again", Some(T)),
        ("thanks a lot", Some(T)),
        ("Many thanks, team", Some(T)),
        ("great work", Some(T)),
        ("Good job!", Some(T)),
        ("nice work 👏", Some(T)),
        ("well done guys", Some(T)),
        ("well-done", Some(T)),
        ("awesome, thanks", Some(T)),
        ("perfect, thank you so much!!", Some(T)),
        ("Brilliant.", Some(T)),
        ("excellent", Some(T)),
        ("amazing!!!", Some(T)),
        ("sweet", Some(T)),
        ("Lovely, cheers", Some(T)),
        ("cooool", Some(T)),
        ("thanksss", Some(T)),
        ("hi, thanks", Some(T)),
        ("ok cool thx", Some(T)),
        ("thanks, works now", Some(T)),
        ("great thanks", Some(T)),
        ("Perfect thanks!", Some(T)),
        ("Thanks Lea!", Some(T)),
        ("@lea thanks", Some(T)),
        ("lea, thank you", Some(T)),
        ("thanks, Léa", Some(T)),
        ("hey lea thanks for the help", Some(T)),
        ("thank you very much for looking into it", Some(T)),
        ("Merci beaucoup 🙏", Some(T)),
        ("Danke schön!", Some(T)),
        ("Спасибо", Some(T)),
        ("thanks :pray:", Some(T)),
        ("ok 🙏", Some(T)),
        ("thanks <3", Some(T)),
        ("thank\u{2019}s", None),
        // --- acknowledgements ---
        ("ok", Some(A)),
        ("OK.", Some(A)),
        ("okay", Some(A)),
        ("k", Some(A)),
        ("kk", Some(A)),
        ("okkk", Some(A)),
        ("got it", Some(A)),
        ("got it 👍", Some(A)),
        ("Understood.", Some(A)),
        ("noted", Some(A)),
        ("sounds good", Some(A)),
        ("will do", Some(A)),
        ("sure", Some(A)),
        ("Yes", Some(A)),
        ("yep", Some(A)),
        ("yeah ok", Some(A)),
        ("no problem", Some(A)),
        ("np", Some(A)),
        ("all good", Some(A)),
        ("works now", Some(A)),
        ("it works", Some(A)),
        ("It\u{2019}s working now", Some(A)),
        ("working now", Some(A)),
        ("that works", Some(A)),
        ("that fixed it", Some(A)),
        ("fixed", Some(A)),
        ("Resolved", Some(A)),
        ("confirmed ✅", Some(A)),
        ("hi 👍", Some(A)),
        ("ok :+1:", Some(A)),
        ("Hi Lea, got it", Some(A)),
        ("ok, Lea", Some(A)),
        ("no worries", Some(A)),
        ("ah ok, makes sense", Some(A)),
        // --- emoji only ---
        ("👍", Some(E)),
        ("👍🏽", Some(E)),
        ("✅", Some(E)),
        ("✔️", Some(E)),
        (":+1:", Some(E)),
        (":pray:", Some(E)),
        (":smile:", Some(E)),
        (":thumbsup::skin-tone-3:", Some(E)),
        ("🙏🙏", Some(E)),
        ("😀 🎉", Some(E)),
        ("👨‍💻", Some(E)),
        (":)", Some(E)),
        ("+1", Some(E)),
        ("@lea 👍", Some(E)),
        // --- not noise ---
        ("", None),
        ("   \t\n ", None),
        ("?", None),
        ("!!!", None),
        ("@lea", None),
        ("lea,", None),
        ("team", None),
        ("so much", None),
        ("Hi, the invoice export is broken again", None),
        ("thanks, but it still fails", None),
        ("ok but can you also check the login?", None),
        ("hello? anyone there? the site is down", None),
        ("thanks! one more thing: the report is empty", None),
        ("can you help", None),
        ("why", None),
        ("not working", None),
        ("ok so the export crashes", None),
        ("no", None),
        ("nooo", None),
        ("No.", None),
        ("stop", None),
        ("help", None),
        ("HELP!!", None),
        ("not great", None),
        ("no, thanks", None),
        ("great, still broken", None),
        ("thanks anyway", None),
        ("ok?", None),
        ("thanks?", None),
        ("works now?", None),
        ("👍?", None),
        ("it doesn't work", None),
        ("doesnt work", None),
        ("thanks however the pdf is blank", None),
        ("ok except the footer", None),
        ("👎", None),
        ("❌", None),
        ("thanks 😡", None),
        (":-1:", None),
        (":(", None),
        ("ok :/", None),
        ("👀", None),
        ("yes please", None),
        ("thanks for trying", None),
        ("thanks, crashes", None),
        ("hi help", None),
        ("lea thanks", None),
        ("ok lea", None),
        ("ok, export", None),
        ("thanks lea tom", None),
        ("ok 2", None),
        ("thanks https://example.com/x", None),
        ("hi 你好", None),
        ("hi 坏了", None),
        ("thanks Ωmega", Some(T)),
        ("ok\u{301}", None),
        (
            "thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks",
            None,
        ),
        ("Please send me the report", None),
        ("any update?", None),
        ("hey, quick question", None),
    ];

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for &(input, expected) in CASES {
            let got = classify(input);
            if got != expected {
                failures.push(format!("{input:?}: expected {expected:?}, got {got:?}"));
            }
            assert_eq!(is_noise(input), got.is_some());
        }
        assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    }

    #[test]
    fn table_is_large_and_balanced() {
        let noise = CASES.iter().filter(|(_, e)| e.is_some()).count();
        assert!(CASES.len() >= 60);
        assert!(noise >= 30 && CASES.len() - noise >= 30);
    }

    #[test]
    fn empty_is_not_noise() {
        assert_eq!(classify(""), None);
        assert!(!is_noise(""));
        assert!(!is_noise(" \u{200B} "));
    }

    #[test]
    fn word_limit() {
        let twelve = "ok ".repeat(12);
        let thirteen = "ok ".repeat(13);
        assert_eq!(classify(&twelve), Some(A));
        assert_eq!(classify(&thirteen), None);
        assert_eq!(classify(&"@lea ".repeat(13)), None);
    }

    #[test]
    fn precedence() {
        assert_eq!(classify("hi ok thanks 👍"), Some(T));
        assert_eq!(classify("hello, got it"), Some(A));
        assert_eq!(classify("hello 🎉"), Some(G));
        assert_eq!(classify("hi 🙏"), Some(T));
    }

    #[test]
    fn invisible_and_bidi_characters_are_ignored() {
        assert_eq!(classify("th\u{200B}anks"), Some(T));
        assert_eq!(classify("\u{202B}thanks\u{202C}"), Some(T));
        assert_eq!(classify("\u{FEFF}ok"), Some(A));
    }

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

    #[test]
    fn never_panics() {
        let mut inputs: Vec<String> = vec![
            "e\u{301}\u{302}\u{303}".repeat(50),
            "\u{301}".repeat(3000),
            "مرحبا، شكرا؟".to_string(),
            "שלום תודה".to_string(),
            "\u{202E}sknaht\u{202C}".to_string(),
            "a".repeat(10_000),
            "👍".repeat(10_000),
            "thanks ".repeat(2_000),
            ":".repeat(10_000),
            ":+1".repeat(3_000),
            ":)".repeat(2_000),
            "@".repeat(5_000),
            "'".repeat(5_000),
            "?".repeat(5_000),
            "\u{200D}".repeat(1_000),
            "👍\u{200D}".repeat(500),
            "\u{FE0F}\u{20E3}\u{1F3FB}".repeat(300),
            "İ".repeat(1000),
            "ß".repeat(1000),
            "1\u{FE0F}\u{20E3}".to_string(),
            "🇫🇷🇩🇪".to_string(),
            ":abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz:".to_string(),
            "\u{10FFFF}\u{E000}\u{FFFD}".to_string(),
        ];
        inputs.push((0u8..32).map(char::from).collect());
        inputs.push(format!("thanks{}", (0u8..32).map(char::from).collect::<String>()));
        for cp in (0u32..0x3100).chain(0x1F000..0x1FB00).chain(0xE0000..0xE0080) {
            if let Some(c) = char::from_u32(cp) {
                inputs.push(c.to_string());
                inputs.push(format!("thanks {c}"));
            }
        }
        for input in &inputs {
            let kind = classify(input);
            assert_eq!(is_noise(input), kind.is_some());
        }
        assert_eq!(classify(&"a".repeat(10_000)), None);
    }
}
