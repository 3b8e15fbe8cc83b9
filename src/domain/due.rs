//! Due dates written in English chat text.
//!
//! [`parse_due`] reads a command argument that must be a date phrase as a whole (`due #3 friday`);
//! [`find_due`] finds the first date phrase inside a chat message (`we need it fixed by Friday please`).
//! Both are deterministic: the answer depends only on the text and the [`DueContext`].
//!
//! Phrases understood (case-insensitive, extra spaces tolerated):
//! - `today`, `tonight` (20:00), `tomorrow` / `tmrw` / `tmr`, `eod` / `end of day`,
//!   `eow` / `end of (the) week`, `eom` / `end of (the) month`, `next week` (next Monday)
//! - weekdays, full or short (`friday`, `fri`, `tues`, `thurs`), `this friday`, `next friday`.
//!   A weekday or `this <weekday>` is the next such date counting today (on a Friday, "friday" is today);
//!   `next <weekday>` is the first such date strictly after today, so on Tuesday 24 Nov "next friday" is
//!   Friday 27 Nov (not 4 Dec), and on a Friday it is a week later.
//! - `in N minutes|hours|days|weeks|business days` (also `within …`, `in an hour`, `in two weeks`, `in 2d`)
//! - ISO dates `2026-12-01`, `2026-12-01 15:00`, `2026-12-01T15:00`
//! - month names `Dec 1`, `December 1st, 2026`, `1 Dec`, `the 1st of December`
//! - times `3pm`, `3:30 p.m.`, `15:00`, `noon`, `midnight` (23:59), alone, after a date
//!   (`friday at 10:30`, `tomorrow by 3pm`) or before one (`3pm tomorrow`, `at 3pm on friday`)
//!
//! Everything is read in the speaker's time zone. A date without a time means `day_end` on that date.

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The clock and place a date phrase is read in.
#[derive(Debug, Clone, Copy)]
pub struct DueContext {
    /// The current instant.
    pub now: DateTime<Utc>,
    /// The speaker's time zone: "today", "friday" and "3pm" are local to it.
    pub tz: Tz,
    /// Local time a date without a time resolves to (the end of the working day, e.g. 17:00).
    pub day_end: NaiveTime,
}

impl DueContext {
    /// The local calendar date of `now`.
    fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive()
    }
}

/// A date phrase found inside free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDue {
    /// When the task is due.
    pub at: DateTime<Utc>,
    /// Byte offset where the phrase starts, including a trigger word such as "by".
    pub start: usize,
    /// Byte offset just past the phrase (trailing punctuation is not included).
    pub end: usize,
    /// The phrase itself, `text[start..end]`, so it can be cut out of a task title.
    pub phrase: String,
}

/// Text that is not a date phrase this module understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueError {
    /// The rejected text (trimmed).
    pub input: String,
}

impl fmt::Display for DueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever was typed: control characters become spaces, invisible ones go.
        let shown = super::truncate(self.input.trim(), 40);
        write!(
            f,
            "\"{shown}\" is not a date I understand (try \"friday\", \"2026-12-01\", \"in 3 days\")"
        )
    }
}

impl std::error::Error for DueError {}

/// Words that may introduce the argument of a command (`due #3 by friday`).
const PARSE_TRIGGERS: &[&str] = &["by", "due", "on", "before", "until", "till"];
/// Words that mark any date phrase after them as a due date in free text.
const FIND_TRIGGERS: &[&str] = &["by", "due", "before", "until", "till", "on", "for"];
/// Characters ignored after a whole-text phrase.
const TRAILING_PUNCT: &[char] = &['.', ',', '!', '?', ';', ':'];
/// The farthest ahead an offset may reach, in days.
const MAX_DAYS: u64 = 3650;

/// Reads `text` as one date phrase, optionally introduced by `by`, `due`, `on`, `before`, `until` or
/// `till` (and a second one: `due by friday`). Trailing `.`, `,`, `!`, `?` are ignored.
///
/// A time alone (`3pm`) means today at that time, or tomorrow if that time is not after `ctx.now`.
pub fn parse_due(text: &str, ctx: &DueContext) -> Result<DateTime<Utc>, DueError> {
    let s = text.to_ascii_lowercase();
    let start = skip_ws(&s, 0);
    let from = triggers(&s, start, PARSE_TRIGGERS).unwrap_or(start);
    phrase(&s, from, ctx)
        .filter(|hit| {
            s.get(hit.end..)
                .is_some_and(|rest| rest.chars().all(|c| c.is_whitespace() || TRAILING_PUNCT.contains(&c)))
        })
        .map(|hit| hit.at)
        .ok_or_else(|| DueError {
            input: text.trim().to_string(),
        })
}

/// Finds the leftmost date phrase in a chat message.
///
/// After a trigger word (`by`, `due`, `before`, `until`, `till`, `on`, `for`) any phrase counts, and the
/// trigger is part of the returned span ("by Friday"). Without a trigger only phrases that cannot be
/// ordinary prose count: `today`, `tonight`, `tomorrow`, `tmrw`, `eod`, `eow`, `end of day|week|month`,
/// `this/next <weekday>`, `next week`, `in`/`within N <unit>`, ISO dates and month-name dates, with any
/// time next to them ("tomorrow 3pm", "3pm tomorrow"). A bare weekday, time or number is not a due date,
/// and neither are "the end of …" / "end of the day" (the idiom) or a bare "may 5" without a trigger.
pub fn find_due(text: &str, ctx: &DueContext) -> Option<FoundDue> {
    let s = text.to_ascii_lowercase();
    let mut prev: Option<char> = None;
    for (i, c) in s.char_indices() {
        let word_start = c.is_ascii_alphanumeric() && !prev.is_some_and(char::is_alphanumeric);
        prev = Some(c);
        if !word_start {
            continue;
        }
        let hit = triggers(&s, i, FIND_TRIGGERS)
            .and_then(|p| phrase(&s, p, ctx))
            .or_else(|| phrase(&s, i, ctx).filter(|hit| hit.clear));
        if let Some(hit) = hit {
            let phrase = text.get(i..hit.end)?.to_string();
            return Some(FoundDue {
                at: hit.at,
                start: i,
                end: hit.end,
                phrase,
            });
        }
    }
    None
}

/// A phrase read at some position: its instant, where it ends, and whether it is unambiguous enough to
/// count in free text without a trigger word.
struct Hit {
    at: DateTime<Utc>,
    end: usize,
    clear: bool,
}

/// A phrase naming a calendar day.
struct Day {
    date: NaiveDate,
    /// Time implied by the phrase itself (`tonight`, `2026-12-01T15:00`); `day_end` when `None`.
    time: Option<NaiveTime>,
    /// Unambiguous without a trigger word.
    clear: bool,
    /// May be combined with a separate time (`tomorrow 3pm`).
    takes_time: bool,
}

/// What a date expression names.
enum Base {
    Day(Day),
    /// An exact instant (`in 2 hours`), never combined with a time.
    Exact(DateTime<Utc>),
}

/// One whole phrase at `pos` of the ASCII-lowercased text `s`: a date with an optional time, or a time with
/// an optional date.
fn phrase(s: &str, pos: usize, ctx: &DueContext) -> Option<Hit> {
    if let Some((base, end)) = date_expr(s, pos, ctx) {
        let day = match base {
            Base::Exact(at) => return Some(Hit { at, end, clear: true }),
            Base::Day(day) => day,
        };
        if day.takes_time {
            if let Some((time, end)) = trailing_time(s, end) {
                return Some(Hit {
                    at: local(ctx, day.date, time)?,
                    end,
                    clear: day.clear,
                });
            }
        }
        let at = local(ctx, day.date, day.time.unwrap_or(ctx.day_end))?;
        return Some(Hit {
            at,
            end,
            clear: day.clear,
        });
    }
    let (time, end) = time_expr(s, pos)?;
    if let Some((day, end, on)) = trailing_date(s, end, ctx) {
        return Some(Hit {
            at: local(ctx, day.date, time)?,
            end,
            clear: day.clear || on,
        });
    }
    let today = ctx.today();
    let mut at = local(ctx, today, time)?;
    if at <= ctx.now {
        at = local(ctx, today.succ_opt()?, time)?;
    }
    Some(Hit { at, end, clear: false })
}

/// A date expression at `pos`.
fn date_expr(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let pos = skip_ws(s, pos);
    if let Some(found) = iso_date(s, pos).or_else(|| day_month(s, pos, ctx)) {
        return Some(found);
    }
    let (w, end) = word(s, pos)?;
    let today = ctx.today();
    let day = |date: NaiveDate, clear: bool, takes_time: bool| {
        Some((
            Base::Day(Day {
                date,
                time: None,
                clear,
                takes_time,
            }),
            end,
        ))
    };
    match w {
        "today" => day(today, true, true),
        "tonight" => Some((
            Base::Day(Day {
                date: today,
                time: NaiveTime::from_hms_opt(20, 0, 0),
                clear: true,
                takes_time: true,
            }),
            end,
        )),
        "tomorrow" | "tmrw" => day(today.succ_opt()?, true, true),
        "tmr" => day(today.succ_opt()?, false, true),
        "eod" => day(today, true, false),
        "eow" => day(on_or_after(today, Weekday::Fri)?, true, false),
        "eom" => day(month_end(today)?, true, false),
        "end" => end_of(s, end, ctx, false),
        "the" => match keyword(s, end, &["end"]) {
            Some(end) => end_of(s, end, ctx, true),
            None => day_month(s, skip_ws(s, end), ctx),
        },
        "next" => {
            let (w, end) = next_word(s, end)?;
            let date = if w == "week" {
                on_or_after(today.succ_opt()?, Weekday::Mon)?
            } else {
                on_or_after(today.succ_opt()?, weekday(w)?)?
            };
            Some((
                Base::Day(Day {
                    date,
                    time: None,
                    clear: true,
                    takes_time: true,
                }),
                end,
            ))
        }
        "this" => {
            let (w, end) = next_word(s, end)?;
            let date = on_or_after(today, weekday(w)?)?;
            Some((
                Base::Day(Day {
                    date,
                    time: None,
                    clear: true,
                    takes_time: true,
                }),
                end,
            ))
        }
        "in" | "within" => offset(s, end, ctx),
        _ => {
            if let Some(wd) = weekday(w) {
                day(on_or_after(today, wd)?, false, true)
            } else {
                month_day(s, end, w, ctx)
            }
        }
    }
}

/// The rest of `end of day|week|month` after the word `end`. Unambiguous in free text unless a `the` came
/// before `end` or `day` ("at the end of the day" is an idiom, not a deadline).
fn end_of(s: &str, pos: usize, ctx: &DueContext, leading_the: bool) -> Option<(Base, usize)> {
    let pos = keyword(s, pos, &["of"])?;
    let (pos, the) = match keyword(s, pos, &["the"]) {
        Some(p) => (p, true),
        None => (pos, false),
    };
    let (w, end) = next_word(s, pos)?;
    let today = ctx.today();
    let (date, clear) = match w {
        "day" => (today, !leading_the && !the),
        "week" => (on_or_after(today, Weekday::Fri)?, !leading_the),
        "month" => (month_end(today)?, !leading_the),
        _ => return None,
    };
    Some((
        Base::Day(Day {
            date,
            time: None,
            clear,
            takes_time: false,
        }),
        end,
    ))
}

/// `in N <unit>` after the word `in`/`within`.
fn offset(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let pos = skip_ws(s, pos);
    let (n, pos) = match number(s, pos) {
        Some((n, end, _)) => (n, end),
        None => {
            let (w, end) = word(s, pos)?;
            (word_number(w)?, end)
        }
    };
    let (unit, mut end) = next_word(s, pos)?;
    let today = ctx.today();
    let exact = |minutes: u64| {
        let delta = TimeDelta::try_minutes(i64::try_from(minutes).ok()?)?;
        Some((Base::Exact(ctx.now.checked_add_signed(delta)?), end))
    };
    let date = match unit {
        "minute" | "minutes" | "min" | "mins" if n <= MAX_DAYS * 24 * 60 => return exact(n),
        "hour" | "hours" | "hr" | "hrs" | "h" if n <= MAX_DAYS * 24 => return exact(n * 60),
        "day" | "days" | "d" if n <= MAX_DAYS => today.checked_add_days(Days::new(n))?,
        "week" | "weeks" | "wk" | "wks" | "w" if n <= MAX_DAYS / 7 => today.checked_add_days(Days::new(n * 7))?,
        "business" | "working" if n <= MAX_DAYS * 5 / 7 => {
            end = keyword(s, end, &["day", "days"])?;
            add_business_days(today, n)?
        }
        _ => return None,
    };
    Some((
        Base::Day(Day {
            date,
            time: None,
            clear: true,
            takes_time: true,
        }),
        end,
    ))
}

/// `2026-12-01`, optionally with an attached `T15:00`.
fn iso_date(s: &str, pos: usize) -> Option<(Base, usize)> {
    let (y, p, 4) = number(s, pos)? else { return None };
    let p = expect_char(s, p, '-')?;
    let (m, p, 1..=2) = number(s, p)? else { return None };
    let p = expect_char(s, p, '-')?;
    let (d, p, 1..=2) = number(s, p)? else { return None };
    let date = ymd(y, m, d)?;
    if let Some(t) = expect_char(s, p, 't') {
        let (time, end) = clock_24h(s, t)?;
        return Some((
            Base::Day(Day {
                date,
                time: Some(time),
                clear: true,
                takes_time: false,
            }),
            end,
        ));
    }
    boundary(s, p).then_some((
        Base::Day(Day {
            date,
            time: None,
            clear: true,
            takes_time: true,
        }),
        p,
    ))
}

/// `1 Dec`, `1st of December`, `1 dec 2026`.
fn day_month(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let (d, p) = day_number(s, pos)?;
    let p = keyword(s, p, &["of"]).unwrap_or(p);
    let (w, p) = next_word(s, p)?;
    with_year(s, p, month(w)?, d, ctx)
}

/// `Dec 1`, `December 1st, 2026` after the month name `name`. Because "may" is also a verb, a bare `may 5`
/// needs a trigger word in free text; `May 5th` and `May 5 2027` do not.
fn month_day(s: &str, pos: usize, name: &str, ctx: &DueContext) -> Option<(Base, usize)> {
    let (d, p) = day_number(s, skip_ws(s, pos))?;
    let suffixed = p
        .checked_sub(1)
        .and_then(|i| s.as_bytes().get(i))
        .is_some_and(u8::is_ascii_lowercase);
    let (mut base, end) = with_year(s, p, month(name)?, d, ctx)?;
    if let Base::Day(day) = &mut base {
        day.clear = !(name == "may" && !suffixed && end == p);
    }
    Some((base, end))
}

/// Reads an optional year after a month and day and resolves the date. Without a year the date is the next
/// one on or after today (so a past "Nov 1" is next year's).
fn with_year(s: &str, pos: usize, m: u32, d: u32, ctx: &DueContext) -> Option<(Base, usize)> {
    let (date, end) = match year(s, pos) {
        Some((y, end)) => (NaiveDate::from_ymd_opt(y, m, d)?, end),
        None => {
            let today = ctx.today();
            let date = (today.year()..=today.year().saturating_add(8))
                .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
                .find(|date| *date >= today)?;
            (date, pos)
        }
    };
    Some((
        Base::Day(Day {
            date,
            time: None,
            clear: true,
            takes_time: true,
        }),
        end,
    ))
}

/// `, 2026` or ` 2026`: four digits that are not the start of a time.
fn year(s: &str, pos: usize) -> Option<(i32, usize)> {
    let mut p = skip_ws(s, pos);
    if let Some(q) = expect_char(s, p, ',') {
        p = skip_ws(s, q);
    }
    let (y, end, 4) = number(s, p)? else { return None };
    (boundary(s, end) && char_at(s, end) != Some(':')).then_some((i32::try_from(y).ok()?, end))
}

/// A day of the month, `1`..`31`, with an optional attached `st`/`nd`/`rd`/`th`.
fn day_number(s: &str, pos: usize) -> Option<(u32, usize)> {
    let (d, end, 1..=2) = number(s, pos)? else { return None };
    if !(1..=31).contains(&d) {
        return None;
    }
    let end = match word(s, end) {
        Some(("st" | "nd" | "rd" | "th", end)) => end,
        Some(_) => return None,
        None if boundary(s, end) && char_at(s, end) != Some(':') => end,
        None => return None,
    };
    Some((u32::try_from(d).ok()?, end))
}

/// A time with an optional `at`/`@` in front.
fn time_expr(s: &str, pos: usize) -> Option<(NaiveTime, usize)> {
    let p = skip_ws(s, pos);
    let p = expect_char(s, p, '@').or_else(|| keyword(s, p, &["at"])).unwrap_or(p);
    clock(s, p)
}

/// A time following a date: `tomorrow 3pm`, `friday, at 10:30`, `tomorrow by noon`.
fn trailing_time(s: &str, pos: usize) -> Option<(NaiveTime, usize)> {
    let mut p = skip_ws(s, pos);
    if let Some(q) = expect_char(s, p, ',') {
        p = skip_ws(s, q);
    }
    let p = expect_char(s, p, '@')
        .or_else(|| keyword(s, p, &["at", "by"]))
        .unwrap_or(p);
    clock(s, p)
}

/// A date following a time: `3pm tomorrow`, `at 3pm on friday`. The flag is true when `on` was used, which
/// makes the phrase count without a trigger in free text.
fn trailing_date(s: &str, pos: usize, ctx: &DueContext) -> Option<(Day, usize, bool)> {
    let mut p = skip_ws(s, pos);
    if let Some(q) = expect_char(s, p, ',') {
        p = skip_ws(s, q);
    }
    let (p, on) = match keyword(s, p, &["on"]) {
        Some(q) => (q, true),
        None => (p, false),
    };
    match date_expr(s, p, ctx)? {
        (Base::Day(day), end) if day.takes_time => Some((day, end, on)),
        _ => None,
    }
}

/// `noon`, `midnight` (23:59), `3pm`, `3 pm`, `3:30pm`, `3:30 p.m.`, `15:00`.
fn clock(s: &str, pos: usize) -> Option<(NaiveTime, usize)> {
    let pos = skip_ws(s, pos);
    if let Some((w, end)) = word(s, pos) {
        return match w {
            "noon" => Some((NaiveTime::from_hms_opt(12, 0, 0)?, end)),
            "midnight" => Some((NaiveTime::from_hms_opt(23, 59, 0)?, end)),
            _ => None,
        };
    }
    let (h, mut p, 1..=2) = number(s, pos)? else {
        return None;
    };
    let mut minute = None;
    if let Some(q) = expect_char(s, p, ':') {
        let (m, q, 2) = number(s, q)? else { return None };
        minute = Some(m);
        p = q;
    }
    if let Some((pm, end)) = meridiem(s, skip_ws(s, p)) {
        if !(1..=12).contains(&h) {
            return None;
        }
        let hour = h % 12 + if pm { 12 } else { 0 };
        let minute = u32::try_from(minute.unwrap_or(0)).ok()?;
        return Some((NaiveTime::from_hms_opt(u32::try_from(hour).ok()?, minute, 0)?, end));
    }
    // Without am/pm only the 24-hour form with minutes is a time ("3" alone is just a number).
    minute?;
    clock_24h(s, pos)
}

/// `15:00` or `15:00:30`, at a word boundary.
fn clock_24h(s: &str, pos: usize) -> Option<(NaiveTime, usize)> {
    let (h, p, 1..=2) = number(s, pos)? else { return None };
    let p = expect_char(s, p, ':')?;
    let (m, mut p, 2) = number(s, p)? else { return None };
    let mut sec = 0;
    if let Some((sv, q, 2)) = expect_char(s, p, ':').and_then(|q| number(s, q)) {
        sec = sv;
        p = q;
    }
    let time = NaiveTime::from_hms_opt(u32::try_from(h).ok()?, u32::try_from(m).ok()?, u32::try_from(sec).ok()?)?;
    boundary(s, p).then_some((time, p))
}

/// `am`, `pm`, `a.m.`, `p.m.`; true for pm.
fn meridiem(s: &str, pos: usize) -> Option<(bool, usize)> {
    let rest = s.get(pos..)?;
    for (pat, pm) in [("a.m.", false), ("p.m.", true), ("a.m", false), ("p.m", true)] {
        if rest.starts_with(pat) && boundary(s, pos + pat.len()) {
            return Some((pm, pos + pat.len()));
        }
    }
    match word(s, pos)? {
        ("am", end) => Some((false, end)),
        ("pm", end) => Some((true, end)),
        _ => None,
    }
}

/// One or two trigger words from `list` at `pos`; returns where the phrase should start.
fn triggers(s: &str, pos: usize, list: &[&str]) -> Option<usize> {
    let p = keyword(s, pos, list)?;
    Some(keyword(s, p, list).unwrap_or(p))
}

/// The local `date` at `time` in `ctx.tz`, as UTC. An ambiguous (fall-back) time takes the earliest instant;
/// a nonexistent (spring-forward) time moves forward an hour at a time until it exists.
fn local(ctx: &DueContext, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let mut wall = date.and_time(time);
    for _ in 0..48 {
        if let Some(at) = ctx.tz.from_local_datetime(&wall).earliest() {
            return Some(at.with_timezone(&Utc));
        }
        wall = wall.checked_add_signed(TimeDelta::hours(1))?;
    }
    None
}

/// The first date on or after `from` that falls on `wd`.
fn on_or_after(from: NaiveDate, wd: Weekday) -> Option<NaiveDate> {
    let ahead = (7 + wd.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from.checked_add_days(Days::new(u64::from(ahead)))
}

/// The last day of `date`'s month.
fn month_end(date: NaiveDate) -> Option<NaiveDate> {
    let first_of_next = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year().checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)?
    };
    first_of_next.pred_opt()
}

/// `n` working days after `from`, skipping Saturdays and Sundays.
fn add_business_days(from: NaiveDate, n: u64) -> Option<NaiveDate> {
    let mut date = from;
    let mut left = n;
    while left > 0 {
        date = date.succ_opt()?;
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    Some(date)
}

fn ymd(y: u64, m: u64, d: u64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

fn weekday(w: &str) -> Option<Weekday> {
    Some(match w {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "weds" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn month(w: &str) -> Option<u32> {
    Some(match w {
        "jan" | "january" => 1,
        "feb" | "february" => 2,
        "mar" | "march" => 3,
        "apr" | "april" => 4,
        "may" => 5,
        "jun" | "june" => 6,
        "jul" | "july" => 7,
        "aug" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "oct" | "october" => 10,
        "nov" | "november" => 11,
        "dec" | "december" => 12,
        _ => return None,
    })
}

fn word_number(w: &str) -> Option<u64> {
    Some(match w {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        _ => return None,
    })
}

// ---- scanning over the ASCII-lowercased text (byte offsets match the original text) ----

fn char_at(s: &str, pos: usize) -> Option<char> {
    s.get(pos..)?.chars().next()
}

/// True when no letter or digit follows `pos`.
fn boundary(s: &str, pos: usize) -> bool {
    char_at(s, pos).is_none_or(|c| !c.is_alphanumeric())
}

fn skip_ws(s: &str, mut pos: usize) -> usize {
    while let Some(c) = char_at(s, pos).filter(|c| c.is_whitespace()) {
        pos += c.len_utf8();
    }
    pos
}

fn expect_char(s: &str, pos: usize, want: char) -> Option<usize> {
    (char_at(s, pos) == Some(want)).then_some(pos + want.len_utf8())
}

/// A run of ASCII letters exactly at `pos` that ends at a word boundary.
fn word(s: &str, pos: usize) -> Option<(&str, usize)> {
    let rest = s.get(pos..)?;
    let len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    let end = pos + len;
    (len > 0 && boundary(s, end)).then(|| (&rest[..len], end))
}

/// The next word after optional whitespace.
fn next_word(s: &str, pos: usize) -> Option<(&str, usize)> {
    word(s, skip_ws(s, pos))
}

/// One of `list` as the next word; returns its end.
fn keyword(s: &str, pos: usize, list: &[&str]) -> Option<usize> {
    let (w, end) = next_word(s, pos)?;
    list.contains(&w).then_some(end)
}

/// A run of ASCII digits exactly at `pos`: its value, end and length. Runs too long to matter are `None`.
fn number(s: &str, pos: usize) -> Option<(u64, usize, usize)> {
    let rest = s.get(pos..)?;
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 || len > 12 {
        return None;
    }
    Some((rest.get(..len)?.parse().ok()?, pos + len, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe, UTC};

    fn ctx_in(now: &str, tz: Tz) -> DueContext {
        DueContext {
            now: now.parse().expect("test instant"),
            tz,
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
            ("at 3", None),
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
                Some(("2026-11-30T17:00:00Z", "next Monday")),
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
}
