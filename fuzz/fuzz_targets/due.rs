//! Any text as a date: `parse_due` reads it or explains in one line, `find_due` finds a phrase
//! that is exactly the text it spans; neither panics.
#![no_main]

use chrono::{NaiveTime, TimeZone, Utc};
use keel::domain::due::{find_due, parse_due, DueContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ctx = DueContext {
        now: Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).single().expect("time"),
        tz: chrono_tz::Europe::Berlin,
        day_start: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
        day_end: NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
    };
    if let Err(e) = parse_due(&text, &ctx) {
        let message = e.to_string();
        assert!(!message.contains('\n'), "{message:?}");
    }
    if let Some(found) = find_due(&text, &ctx) {
        assert!(found.start <= found.end && found.end <= text.len(), "{found:?}");
        assert_eq!(&text[found.start..found.end], found.phrase.as_str());
    }
});
