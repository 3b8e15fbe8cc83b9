//! Arbitrary text into the command parser, the date reader and capture: no panic, and every
//! mistake is explained in one line.

use chrono::{NaiveTime, TimeZone, Utc};
use keel::capture::{self, noise};
use keel::command::{self, Command, ParseError, NOTE_CHARS};
use keel::domain::due::{find_due, parse_due, DueContext};
use keel::domain::is_unprintable;
use proptest::prelude::*;

fn ctx() -> DueContext {
    DueContext {
        now: Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).single().expect("time"),
        tz: chrono_tz::Europe::Berlin,
        day_start: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
        day_end: NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
    }
}

/// Text that looks like what people type to keel, with hostile bits mixed in.
fn chat_text() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "track",
        "list",
        "show",
        "assign",
        "take",
        "done",
        "due",
        "priority",
        "note",
        "client",
        "add",
        "signed",
        "#12",
        "#0",
        "#-1",
        "#99999999999999999999",
        "@lea",
        "<@U1>",
        "\"Acme",
        "Corp\"",
        "“quoted”",
        "by",
        "friday",
        "tomorrow",
        "3pm",
        "in",
        "999999",
        "days",
        "2026-02-30",
        "2026-12-01",
        "urgent",
        "for",
        "acme",
        "'; DROP TABLE tasks;--",
        "\u{0}",
        "\u{202e}",
        "🎫",
        "\n",
        "\t",
        "ö",
        "ß",
        "日本",
        "",
    ]);
    prop_oneof![
        prop::collection::vec(words, 0..12).prop_map(|w| w.join(" ")),
        any::<String>(),
        "[ -~]{0,200}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_and_explains_in_one_line(text in chat_text()) {
        match command::parse(&text) {
            Ok(_) | Err(ParseError::NotACommand) => {}
            Err(ParseError::Usage(message)) => {
                prop_assert!(!message.contains('\n'), "multi-line error: {message:?}");
                prop_assert!(message.contains("usage: "), "{message:?}");
                prop_assert!(message.chars().count() < 400, "{message:?}");
            }
        }
    }

    #[test]
    fn dates_never_panic_and_errors_are_one_line(text in chat_text()) {
        let c = ctx();
        if let Err(e) = parse_due(&text, &c) {
            let message = e.to_string();
            prop_assert!(!message.contains('\n'), "{message:?}");
        }
        if let Some(found) = find_due(&text, &c) {
            prop_assert!(found.start <= found.end && found.end <= text.len());
            prop_assert_eq!(&text[found.start..found.end], found.phrase.as_str());
        }
    }

    #[test]
    fn capture_never_panics(text in chat_text()) {
        let understood = capture::understand(&text, &ctx());
        prop_assert!((-1.0..=1.0).contains(&understood.sentiment));
        prop_assert!(!understood.title.contains('\n'));
        prop_assert!(understood.title.chars().count() <= 121);
        prop_assert!(!understood.title.chars().any(is_unprintable), "{:?}", understood.title);
        let _ = noise::classify(&text);
        // A chase is a short nudge: never a message of more than 12 words, which says more
        // than "any update?".
        if capture::chase::is_chase(&text) {
            let words = text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
            prop_assert!(text.trim().len() <= 400 && words <= 12, "{text:?}");
        }
    }

    #[test]
    fn names_channels_and_labels_keel_accepts_are_printable(text in chat_text()) {
        if let Some(person) = command::person(&text) {
            prop_assert!(!person.chars().any(is_unprintable), "{person:?}");
        }
        if let Some(channel) = command::channel_ref(&text) {
            prop_assert!(!channel.chars().any(is_unprintable), "{channel:?}");
        }
        let quoted = text.replace(['"', '“', '”'], "");
        if let Ok((Command::ClientAdd { name, channels, .. }, _)) =
            command::parse(&format!("client add acme \"{quoted}\""))
        {
            prop_assert!(!name.chars().any(is_unprintable), "{name:?}");
            prop_assert!(channels.is_empty());
        }
        if let Ok((Command::HolidayAdd { name, .. }, _)) = command::parse(&format!("holiday add 2026-12-25 {text}")) {
            prop_assert!(!name.chars().any(is_unprintable) && name.chars().count() <= 100, "{name:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_note_is_kept_whole_or_refused_naming_the_limit(len in 0usize..12_000, c in any::<char>()) {
        let text: String = std::iter::repeat_n(c, len).collect();
        for command in ["note #1", "done #1", "cancel #1", "escalate #1"] {
            match command::parse(&format!("{command} {text}")) {
                Ok((Command::Note { text: kept, .. }, _)) => {
                    prop_assert_eq!(kept.as_str(), text.trim());
                    prop_assert!(kept.chars().count() <= NOTE_CHARS);
                }
                Ok((Command::SetStatus { note, .. }, _)) | Ok((Command::Escalate { why: note, .. }, _)) => {
                    let kept = note.unwrap_or_default();
                    prop_assert_eq!(kept.as_str(), text.trim());
                    prop_assert!(kept.chars().count() <= NOTE_CHARS);
                }
                Ok((other, _)) => prop_assert!(false, "{command} read as {other:?}"),
                Err(ParseError::Usage(message)) => {
                    let trimmed = text.trim().chars().count();
                    if trimmed == 0 {
                        prop_assert!(message.starts_with("what is the note?"), "{message}");
                    } else {
                        prop_assert!(trimmed > NOTE_CHARS, "{trimmed} characters refused: {message}");
                        prop_assert!(message.contains("can be at most 10,000 characters"), "{message}");
                    }
                }
                Err(ParseError::NotACommand) => prop_assert!(false, "{command} is a command"),
            }
        }
    }
}
