//! Any text as a client's message: capture reads a one-line title, a sentiment in −1..1 and
//! the rest, and the noise and chase classifiers answer; none panics.
#![no_main]

use chrono::{NaiveTime, TimeZone, Utc};
use keel::capture::{self, noise};
use keel::domain::due::DueContext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ctx = DueContext {
        now: Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).single().expect("time"),
        tz: chrono_tz::America::New_York,
        day_start: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
        day_end: NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
    };
    let understood = capture::understand(&text, &ctx);
    assert!((-1.0..=1.0).contains(&understood.sentiment), "{understood:?}");
    assert!(!understood.title.contains('\n'), "{understood:?}");
    assert!(understood.title.chars().count() <= 121, "{understood:?}");
    assert!(
        !understood.title.chars().any(keel::domain::is_unprintable),
        "{understood:?}"
    );
    let _ = noise::classify(&text);
    let _ = capture::chase::is_chase(&text);
});
