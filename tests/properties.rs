//! Arbitrary text into the command parser, the date reader and capture: no panic, and every
//! mistake is explained in one line.

use chrono::{NaiveTime, TimeZone, Utc};
use keel::capture::{self, noise};
use keel::command::{self, ParseError};
use keel::domain::due::{find_due, parse_due, DueContext};
use proptest::prelude::*;

fn ctx() -> DueContext {
    DueContext {
        now: Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).single().expect("time"),
        tz: chrono_tz::Europe::Berlin,
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
        let _ = noise::classify(&text);
    }
}
