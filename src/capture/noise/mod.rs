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
//!
//! The word lists are in `words`, the lookups over them in `vocabulary`, emoji in `emoji`, the
//! splitting of a message in `tokenizer` and the verdict in `classifier`.

mod chars;
mod classifier;
mod emoji;
mod tokenizer;
mod vocabulary;
mod words;

use chars::is_word_char;
pub use classifier::Noise;
use classifier::{decide, to_units, Unit};
use tokenizer::{tokenize, MAX_WORDS};
use vocabulary::Category;

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

/// Builds the vocabulary's lookups now (see `capture::warm`).
pub(crate) fn warm() {
    vocabulary::warm();
}

/// True when the message only thanks or acknowledges (used to decide that a
/// client's message on a done task does not reopen it). Greetings alone also
/// count.
pub fn is_noise(text: &str) -> bool {
    classify(text).is_some()
}

/// From the team, true when a message only greets, thanks or shows emoji ("good morning
/// everyone", "thanks! 🙏"): it answers no request. An acknowledgement ("on it", "will do",
/// "sure", also after a thanks) tells the client someone has it, so it does answer.
pub fn answers_nothing(text: &str) -> bool {
    match classify(text) {
        None | Some(Noise::Acknowledgement) => false,
        Some(_) => {
            // A stronger kind hides an acknowledgement in a mixed message ("thanks, on it").
            let acknowledges = tokenize(text)
                .and_then(|tokens| to_units(&tokens).map(|units| units.contains(&Unit::Phrase(Category::Ack))));
            !acknowledges.unwrap_or(false)
        }
    }
}

/// Messages longer than this (in bytes) are never noise.
const MAX_BYTES: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use Noise::{Acknowledgement as A, Emoji as E, Greeting as G, Thanks as T};

    #[test]
    fn from_the_team_greetings_thanks_and_emoji_answer_nothing() {
        for text in [
            "good morning everyone",
            "thanks! 🙏",
            "hi all 👋",
            "🎉🎉",
            "thank you so much team",
        ] {
            assert!(answers_nothing(text), "{text}");
        }
        for text in [
            "On it",
            "Will do",
            "Sure, which names?",
            "thanks, on it",
            "ok",
            "Looking into it",
            "",
        ] {
            assert!(!answers_nothing(text), "{text}");
        }
    }

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
        assert_eq!(classify("th\u{180E}anks"), Some(T));
        assert_eq!(classify("th\u{200C}anks"), Some(T));
        assert_eq!(classify("ok \u{1F44D}\u{200D}\u{1F44E}"), None);
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
