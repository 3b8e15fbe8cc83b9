use super::*;
use chrono_tz::{America, Europe, Tz, UTC};

fn ctx_in(now: &str, tz: Tz) -> DueContext {
    DueContext {
        now: now.parse().expect("test instant"),
        tz,
        day_start: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
        day_end: NaiveTime::from_hms_opt(17, 0, 0).expect("17:00"),
    }
}

/// Tuesday 2026-11-24 15:00 UTC.
fn ctx() -> DueContext {
    ctx_in("2026-11-24T15:00:00Z", UTC)
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

/// The hand-computed table in `phrases.txt`, read line by line; see its header for the format.
#[test]
fn phrase_table() {
    let table = include_str!("phrases.txt");
    let mut context: Option<DueContext> = None;
    let mut checked = 0;
    let instant = |s: &str| -> DateTime<Utc> {
        DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z")
            .unwrap_or_else(|e| panic!("instant {s:?}: {e}"))
            .with_timezone(&Utc)
    };
    for (n, line) in table.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@ ") {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let [zone, now, hours] = fields[..] else {
                panic!("line {n}: @ ZONE NOW HOURS")
            };
            let (start, end) = hours.split_once('-').expect("HH:MM-HH:MM");
            let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").expect("HH:MM");
            context = Some(DueContext {
                now: instant(now),
                tz: zone.parse().expect("IANA zone"),
                day_start: time(start),
                day_end: time(end),
            });
            continue;
        }
        let ctx = context.as_ref().expect("an @ line first");
        let (left, want) = line.split_once(" => ").unwrap_or_else(|| panic!("line {n}: no =>"));
        let where_ = format!("phrases.txt:{n}: {left:?}");
        if let Some(text) = left.strip_prefix("find ") {
            let got = find_due(text, ctx);
            if want == "no" {
                assert_eq!(got, None, "{where_}");
            } else {
                let (at, span) = want.split_once(' ').expect("INSTANT \"SPAN\"");
                let found = got.unwrap_or_else(|| panic!("{where_}: nothing found"));
                assert_eq!(
                    (found.at, found.phrase.as_str()),
                    (instant(at), span.trim_matches('"')),
                    "{where_}"
                );
            }
        } else if let Some(text) = left.strip_prefix("ask ") {
            assert_eq!(find_due(text, ctx), None, "{where_}");
            let asked = find_ambiguous(text, ctx).unwrap_or_else(|| panic!("{where_}: not asked"));
            assert_eq!(asked.input, want.trim_matches('"'), "{where_}");
        } else {
            let got = parse_due(left, ctx);
            match want {
                "no" => assert!(got.as_ref().is_err_and(|e| e.readings.is_none()), "{where_}: {got:?}"),
                "ask" => assert!(got.as_ref().is_err_and(|e| e.readings.is_some()), "{where_}: {got:?}"),
                at => assert_eq!(got, Ok(instant(at)), "{where_}"),
            }
        }
        checked += 1;
    }
    assert!(checked >= 150, "only {checked} phrases");
}

#[test]
fn parse_table() {
    let cases: &[(&str, Option<&str>)] = &[
        ("today", Some("2026-11-24T17:00:00Z")),
        ("tonight", Some("2026-11-24T20:00:00Z")),
        ("tomorrow", Some("2026-11-25T17:00:00Z")),
        ("tmrw", Some("2026-11-25T17:00:00Z")),
        ("TMR", Some("2026-11-25T17:00:00Z")),
        ("eod", Some("2026-11-24T17:00:00Z")),
        ("End of day", Some("2026-11-24T17:00:00Z")),
        ("eow", Some("2026-11-27T17:00:00Z")),
        ("end of the week", Some("2026-11-27T17:00:00Z")),
        ("next week", Some("2026-11-30T17:00:00Z")),
        ("end of month", Some("2026-11-30T17:00:00Z")),
        ("friday", Some("2026-11-27T17:00:00Z")),
        ("Fri", Some("2026-11-27T17:00:00Z")),
        ("tues", Some("2026-11-24T17:00:00Z")),
        ("thurs", Some("2026-11-26T17:00:00Z")),
        ("this friday", Some("2026-11-27T17:00:00Z")),
        ("next friday", Some("2026-11-27T17:00:00Z")),
        ("next Monday", Some("2026-11-30T17:00:00Z")),
        ("next tuesday", Some("2026-12-01T17:00:00Z")),
        ("in 3 days", Some("2026-11-27T17:00:00Z")),
        ("in  3   days", Some("2026-11-27T17:00:00Z")),
        ("in 2 hours", Some("2026-11-24T17:00:00Z")),
        ("in 30 mins", Some("2026-11-24T15:30:00Z")),
        ("in an hour", Some("2026-11-24T16:00:00Z")),
        ("in a week", Some("2026-12-01T17:00:00Z")),
        ("in 2w", Some("2026-12-08T17:00:00Z")),
        ("in 4 business days", Some("2026-11-30T17:00:00Z")),
        ("within 5 working days", Some("2026-12-01T17:00:00Z")),
        ("in 3650 days", Some("2036-11-21T17:00:00Z")),
        ("in 3651 days", None),
        ("2026-12-01", Some("2026-12-01T17:00:00Z")),
        ("2026-12-01 15:00", Some("2026-12-01T15:00:00Z")),
        ("2026-12-01T09:30", Some("2026-12-01T09:30:00Z")),
        ("2026-02-30", None),
        ("Dec 1", Some("2026-12-01T17:00:00Z")),
        ("December 1st", Some("2026-12-01T17:00:00Z")),
        ("1 Dec", Some("2026-12-01T17:00:00Z")),
        ("1st of December", Some("2026-12-01T17:00:00Z")),
        ("Dec 1, 2027", Some("2027-12-01T17:00:00Z")),
        ("nov 1", Some("2027-11-01T17:00:00Z")),
        ("at 4pm", Some("2026-11-24T16:00:00Z")),
        ("9am", Some("2026-11-25T09:00:00Z")),
        ("15:00", Some("2026-11-25T15:00:00Z")),
        ("3:30 p.m.", Some("2026-11-24T15:30:00Z")),
        ("noon", Some("2026-11-25T12:00:00Z")),
        ("midnight", Some("2026-11-24T23:59:00Z")),
        ("tomorrow 3pm", Some("2026-11-25T15:00:00Z")),
        ("friday at 10:30", Some("2026-11-27T10:30:00Z")),
        ("tonight at 9pm", Some("2026-11-24T21:00:00Z")),
        ("12am tomorrow", Some("2026-11-25T00:00:00Z")),
        ("3pm on friday", Some("2026-11-27T15:00:00Z")),
        ("by friday", Some("2026-11-27T17:00:00Z")),
        ("due by tomorrow at 9am.", Some("2026-11-25T09:00:00Z")),
        ("  FRIDAY!! ", Some("2026-11-27T17:00:00Z")),
        ("friday please", None),
        ("3", None),
        ("at 3", Some("2026-11-25T15:00:00Z")),
        ("13pm", None),
        ("", None),
    ];
    for (input, want) in cases {
        let got = parse_due(input, &ctx()).ok();
        assert_eq!(got, want.map(utc), "parse_due({input:?})");
    }
}

#[test]
fn find_table() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        (
            "Hi, the invoice export is broken again, we need it fixed by Friday please",
            Some(("2026-11-27T17:00:00Z", "by Friday")),
        ),
        ("Friday we had an outage", None),
        ("my friend said", None),
        ("Mondays are hard", None),
        ("within 2 days", Some(("2026-11-26T17:00:00Z", "within 2 days"))),
        (
            "ship it tomorrow 3pm ok?",
            Some(("2026-11-25T15:00:00Z", "tomorrow 3pm")),
        ),
        (
            "report due 2026-12-01, thanks",
            Some(("2026-12-01T17:00:00Z", "due 2026-12-01")),
        ),
        (
            "let's do it before end of week",
            Some(("2026-11-27T17:00:00Z", "before end of week")),
        ),
        ("today's standup notes", Some(("2026-11-24T17:00:00Z", "today"))),
        (
            "deploy next Monday morning",
            Some(("2026-11-30T09:00:00Z", "next Monday morning")),
        ),
        ("call me at 3pm", None),
        ("we have 3 servers down", None),
        (
            "fix login in 2 hours please",
            Some(("2026-11-24T17:00:00Z", "in 2 hours")),
        ),
        ("by the way, tomorrow works", Some(("2026-11-25T17:00:00Z", "tomorrow"))),
        (
            "meet on Friday at 10:30",
            Some(("2026-11-27T10:30:00Z", "on Friday at 10:30")),
        ),
        ("need it for Dec 5th", Some(("2026-12-05T17:00:00Z", "for Dec 5th"))),
        ("see you dec 5", Some(("2026-12-05T17:00:00Z", "dec 5"))),
        ("you may 2x the limit or may 3 times", None),
        ("ship it by may 3", Some(("2027-05-03T17:00:00Z", "by may 3"))),
        ("ship it May 3rd", Some(("2027-05-03T17:00:00Z", "May 3rd"))),
        (
            "let's talk 3pm tomorrow",
            Some(("2026-11-25T15:00:00Z", "3pm tomorrow")),
        ),
        ("I sat on it", None),
        ("done due by fri.", Some(("2026-11-27T17:00:00Z", "due by fri"))),
        ("café — fix by Friday ☕", Some(("2026-11-27T17:00:00Z", "by Friday"))),
        ("at the end of the day it works", None),
        (
            "finish by the end of the day",
            Some(("2026-11-24T17:00:00Z", "by the end of the day")),
        ),
        ("next blursday", None),
        ("version 2026-13-01 is out", None),
        ("tomorrow or friday", Some(("2026-11-25T17:00:00Z", "tomorrow"))),
    ];
    for (input, want) in cases {
        let got = find_due(input, &ctx());
        match (got, want) {
            (None, None) => {}
            (Some(found), Some((at, phrase))) => {
                assert_eq!(found.at, utc(at), "find_due({input:?})");
                assert_eq!(found.phrase, *phrase, "find_due({input:?})");
                assert_eq!(&input[found.start..found.end], found.phrase, "find_due({input:?})");
            }
            (got, want) => panic!("find_due({input:?}) = {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn error_message() {
    let err = parse_due("next blursday", &ctx()).expect_err("not a date");
    assert_eq!(
        err.to_string(),
        r#""next blursday" is not a date I understand (try "friday", "2026-12-01", "in 3 days")"#
    );
    let ambiguous = parse_due("by 12/11", &ctx()).expect_err("two readings");
    assert_eq!(
        ambiguous.to_string(),
        r#""by 12/11" could be Fri 12 Nov 2027 or Fri 11 Dec 2026: write the month as a word ("Dec 11")"#
    );
    let long = parse_due(
        "  this is a very long sentence that is certainly not any date  ",
        &ctx(),
    )
    .expect_err("not a date");
    assert_eq!(
        long.to_string(),
        r#""this is a very long sentence that is cer…" is not a date I understand (try "friday", "2026-12-01", "in 3 days")"#
    );
}

#[test]
fn time_zone_tomorrow() {
    // 2026-11-24T03:00Z is still Monday the 23rd in New York.
    let ctx = ctx_in("2026-11-24T03:00:00Z", America::New_York);
    assert_eq!(parse_due("tomorrow", &ctx), Ok(utc("2026-11-24T22:00:00Z")));
}

#[test]
fn dst_spring_forward() {
    let ctx = ctx_in("2026-03-27T10:00:00Z", Europe::Berlin);
    assert_eq!(parse_due("in 3 days", &ctx), Ok(utc("2026-03-30T15:00:00Z")));
    // 02:30 does not exist on 29 March in Berlin: moved forward to 03:30 CEST.
    assert_eq!(parse_due("2026-03-29 02:30", &ctx), Ok(utc("2026-03-29T01:30:00Z")));
    // 02:30 happens twice on 25 October: the earlier (CEST) one is used.
    assert_eq!(parse_due("2026-10-25 02:30", &ctx), Ok(utc("2026-10-25T00:30:00Z")));
}

#[test]
fn past_month_day_rolls_to_next_year() {
    let ctx = ctx_in("2026-12-15T12:00:00Z", UTC);
    assert_eq!(parse_due("Dec 1", &ctx), Ok(utc("2027-12-01T17:00:00Z")));
    assert_eq!(parse_due("feb 29", &ctx), Ok(utc("2028-02-29T17:00:00Z")));
}

#[test]
fn weekdays_on_friday_and_weekend() {
    let friday = ctx_in("2026-11-27T09:00:00Z", UTC);
    assert_eq!(parse_due("friday", &friday), Ok(utc("2026-11-27T17:00:00Z")));
    assert_eq!(parse_due("this friday", &friday), Ok(utc("2026-11-27T17:00:00Z")));
    assert_eq!(parse_due("next friday", &friday), Ok(utc("2026-12-04T17:00:00Z")));
    assert_eq!(parse_due("eow", &friday), Ok(utc("2026-11-27T17:00:00Z")));
    assert_eq!(parse_due("in 1 business day", &friday), Ok(utc("2026-11-30T17:00:00Z")));
    let saturday = ctx_in("2026-11-28T09:00:00Z", UTC);
    assert_eq!(parse_due("end of week", &saturday), Ok(utc("2026-12-04T17:00:00Z")));
    let monday = ctx_in("2026-11-30T09:00:00Z", UTC);
    assert_eq!(parse_due("next week", &monday), Ok(utc("2026-12-07T17:00:00Z")));
    assert_eq!(
        parse_due("end of month", &ctx_in("2026-12-10T09:00:00Z", UTC)),
        Ok(utc("2026-12-31T17:00:00Z"))
    );
}

/// Text that has broken date readers: empty, control and astral characters, huge numbers.
const WEIRD: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "ü",
    "in ü days",
    "日本語 by 金曜日",
    "🙂 tomorrow 🙂",
    "in 99999999999 days",
    "in 99999999999999999999999999999999 days",
    "in 18446744073709551616 minutes",
    "in 5256000 minutes",
    "in 3650 business days",
    "2026-02-30",
    "9999-12-31 23:59",
    "0000-01-01",
    "2026-99-99T99:99",
    "2026-12-01T",
    "2026-12-01t25:00",
    "dec 32",
    "dec 0",
    "31 feb 2026",
    "99:99",
    "12:3",
    "12::",
    "by",
    "by by by",
    "next",
    "this",
    "the",
    "end of",
    "in",
    "in a",
    "at",
    "@",
    "a.m.",
    "3 p.",
    "1st of",
    "tomorrow,",
    "tomorrow at",
    "on, on, on",
    "\u{a0}friday\u{a0}",
    "İstanbul by FRİDAY",
];

/// The words the random token soup of `never_panics` is made of.
const SOUP: &[&str] = &[
    "by",
    "due",
    "on",
    "for",
    "in",
    "within",
    "next",
    "this",
    "the",
    "end",
    "of",
    "week",
    "day",
    "month",
    "friday",
    "fri",
    "friend",
    "today's",
    "tomorrow",
    "tmr",
    "eod",
    "at",
    "@",
    "3pm",
    "3",
    "pm",
    "a.m.",
    "15:00",
    "12:3",
    "noon",
    "midnight",
    "dec",
    "1st",
    "31",
    "2026",
    "2026-12-01",
    "2026-02-30T10:00",
    ",",
    ".",
    "!",
    "a",
    "an",
    "hours",
    "days",
    "business",
    "days",
    "w",
    "2d",
    "99999999999",
    "é",
    "🙂",
    "\u{a0}",
];

#[test]
fn never_panics() {
    let weird = WEIRD;
    let contexts = [
        ctx(),
        ctx_in("2026-03-29T00:30:00Z", Europe::Berlin),
        ctx_in("2026-11-01T05:30:00Z", America::New_York),
        ctx_in("9999-12-31T23:00:00Z", UTC),
    ];
    let long = "by friday ".repeat(500) + "9".repeat(5000).as_str();
    for ctx in &contexts {
        for text in weird.iter().copied().chain(std::iter::once(long.as_str())) {
            let _ = parse_due(text, ctx);
            if let Some(found) = find_due(text, ctx) {
                assert_eq!(text.get(found.start..found.end), Some(found.phrase.as_str()));
            }
        }
    }
    // Random token soup: no panics, and a found phrase (unless led by a "for", which only free text
    // accepts) reads back to the same instant on its own.
    let vocab = SOUP;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut text = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for k in 0..(1 + seed % 6) {
            let token = vocab[((seed >> (8 * k)) % vocab.len() as u64) as usize];
            text.push_str(token);
            text.push(if (seed >> (k + 40)) & 1 == 0 { ' ' } else { '\t' });
        }
        for ctx in &contexts {
            let _ = parse_due(&text, ctx);
            if let Some(found) = find_due(&text, ctx) {
                assert_eq!(
                    text.get(found.start..found.end),
                    Some(found.phrase.as_str()),
                    "{text:?}"
                );
                let lower = found.phrase.to_ascii_lowercase();
                if !lower.split_whitespace().take(2).any(|w| w == "for") {
                    assert_eq!(parse_due(&found.phrase, ctx), Ok(found.at), "{text:?}");
                }
            }
        }
    }
    assert!(parse_due("in 99999999999 days", &ctx()).is_err());
    assert!(parse_due("2026-02-30", &ctx()).is_err());
}
