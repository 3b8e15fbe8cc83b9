//! Due dates written in English chat text.
//!
//! [`parse_due`] reads a command argument that must be a date phrase as a whole (`due #3 friday`);
//! [`find_due`] finds the first date phrase inside a chat message (`we need it fixed by Friday please`);
//! [`find_ambiguous`] finds a date that could be read two ways (`by 12/11`), so keel can ask.
//! All are deterministic: the answer depends only on the text and the [`DueContext`].
//!
//! Phrases understood (case-insensitive, extra spaces tolerated):
//! - days: `today`, `tonight` (20:00), `tomorrow` / `tmrw` / `tmr`, `next week` (next Monday);
//!   weekdays, full or short (`friday`, `fri`, `tues`, `thurs`, `wed`), `this friday`, `next friday`.
//!   A weekday or `this <weekday>` is the next such date counting today (on a Friday, "friday" is
//!   today); `next <weekday>` is the first such date strictly after today, so on Tuesday 24 Nov "next
//!   friday" is Friday 27 Nov (not 4 Dec), and on a Friday it is a week later.
//! - ends: `eow` / `end of (the) week`, `eom` / `end of (the) month`, `eoq` / `end of (the) quarter`,
//!   `end of (the) year`, each also with `next` (`end of next month`).
//! - offsets: `in N minutes|hours|days|weeks|business days`, `in a fortnight` (also `within …`,
//!   `in an hour`, `in two weeks`, `in 2d`).
//! - calendar dates: ISO `2026-12-01`, `2026-12-01 15:00`, `2026-12-01T15:00`; month names with or
//!   without the year (`Dec 1`, `December 1st, 2026`, `1 Dec`, `the 1st of December`); a day of the
//!   month (`the 20th`, `on the 3rd`: the next such day); `d/m` or `m/d` (`25/12`, `12/25/2026`)
//!   when only one reading is a date. `12/11` could be either: [`parse_due`] says so and
//!   [`find_due`] does not guess.
//! - times: `3pm`, `3:30 p.m.`, `15:00`, `at 11`; a one-digit hour from 1 to 6 without am/pm is in
//!   the afternoon (`at 3`, `5:30`), as a team means it. A bare hour needs `at` (`3` alone is a
//!   number). Parts of the day: `morning` and `first thing` (the start of the speaker's working
//!   hours), `noon` / `midday` / `lunch`, `afternoon` (15:00), `evening` (20:00), `midnight`
//!   (23:59), `eod` / `end of day` / `cob` / `close of business` / `eob` (the end of their working
//!   hours). A time goes alone, after a day (`friday at 10:30`, `Wednesday afternoon`,
//!   `tomorrow by 3pm`) or before one (`3pm tomorrow`, `first thing Monday`, `EOB Friday`). Alone,
//!   a time means its next occurrence (`3pm` at 16:00 is tomorrow's).
//!
//! Everything is read in the speaker's time zone. A date without a time means `day_end` on that
//! date. A wall time that does not exist (a spring-forward gap) moves forward to one that does; one
//! that happens twice (fall-back) is the earlier.

mod clock;
mod context;
mod scan;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};

pub use context::DueContext;

use clock::{clock_24h, part_of_day, time_expr, trailing_time};
use scan::{
    add_business_days, boundary, char_at, comma, expect_char, keyword, month, month_end, month_start, next_word,
    number, on_or_after, quarter_end, skip_ws, weekday, word, word_number, ymd,
};

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

/// Text that is not a date phrase this module understands, or one it could read two ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueError {
    /// The rejected text (trimmed).
    pub input: String,
    /// The two dates an ambiguous `12/11` could mean (day first, then month first).
    pub readings: Option<(NaiveDate, NaiveDate)>,
}

impl fmt::Display for DueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever was typed: control characters become spaces, invisible ones go.
        let shown = super::truncate(self.input.trim(), 40);
        match self.readings {
            Some((a, b)) => write!(
                f,
                "\"{shown}\" could be {} or {}: write the month as a word (\"{}\")",
                a.format("%a %-d %b %Y"),
                b.format("%a %-d %b %Y"),
                b.format("%b %-d"),
            ),
            None => write!(
                f,
                "\"{shown}\" is not a date I understand (try \"friday\", \"2026-12-01\", \"in 3 days\")"
            ),
        }
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
    let hit = phrase(&s, from, ctx).filter(|hit| {
        s.get(hit.end..)
            .is_some_and(|rest| rest.chars().all(|c| c.is_whitespace() || TRAILING_PUNCT.contains(&c)))
    });
    match hit {
        Some(Hit { at, readings: None, .. }) => Ok(at),
        Some(Hit { readings, .. }) => Err(DueError {
            input: text.trim().to_string(),
            readings: readings.map(|r| (r.day_first, r.month_first)),
        }),
        None => Err(DueError {
            input: text.trim().to_string(),
            readings: None,
        }),
    }
}

/// Finds the leftmost date phrase in a chat message.
///
/// After a trigger word (`by`, `due`, `before`, `until`, `till`, `on`, `for`) any phrase counts, and the
/// trigger is part of the returned span ("by Friday"). Without a trigger only phrases that cannot be
/// ordinary prose count: `today`, `tonight`, `tomorrow`, `tmrw`, `eod`, `cob`, `eow`, `end of day|week|month`,
/// `this/next <weekday>`, `next week`, `in`/`within N <unit>`, ISO dates, month-name dates, and a
/// weekday with a time (`Monday 10am`, `first thing Friday`). A bare weekday, time, part of the day
/// or number is not a due date, and neither are "the end of …" / "end of the day" (the idiom), a
/// bare "may 5" or a `d/m` date without a trigger. A leftmost phrase that could be read two ways
/// (`by 12/11`) gives `None`: [`find_ambiguous`] reports it.
pub fn find_due(text: &str, ctx: &DueContext) -> Option<FoundDue> {
    read_due(text, ctx).0
}

/// The leftmost date phrase in a chat message when it could be read two ways (`by 12/11`), as the
/// error that asks which date was meant.
pub fn find_ambiguous(text: &str, ctx: &DueContext) -> Option<DueError> {
    read_due(text, ctx).1
}

/// [`find_due`] and [`find_ambiguous`] from one reading of the text: at most one of them is set.
pub fn read_due(text: &str, ctx: &DueContext) -> (Option<FoundDue>, Option<DueError>) {
    let s = text.to_ascii_lowercase();
    let Some((start, hit)) = first_phrase(&s, ctx) else {
        return (None, None);
    };
    if let Some(readings) = hit.readings {
        let unclear = text.get(readings.start..readings.end).map(|input| DueError {
            input: input.to_string(),
            readings: Some((readings.day_first, readings.month_first)),
        });
        return (None, unclear);
    }
    let found = text.get(start..hit.end).map(|phrase| FoundDue {
        at: hit.at,
        start,
        end: hit.end,
        phrase: phrase.to_string(),
    });
    (found, None)
}

/// The leftmost phrase in the lowercased text that counts in free text, and where it starts.
fn first_phrase(s: &str, ctx: &DueContext) -> Option<(usize, Hit)> {
    let mut prev: Option<char> = None;
    for (i, c) in s.char_indices() {
        let word_start = c.is_ascii_alphanumeric() && !prev.is_some_and(char::is_alphanumeric);
        prev = Some(c);
        if !word_start {
            continue;
        }
        let hit = triggers(s, i, FIND_TRIGGERS)
            .and_then(|p| phrase(s, p, ctx))
            .or_else(|| phrase(s, i, ctx).filter(|hit| hit.clear));
        if let Some(hit) = hit {
            return Some((i, hit));
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
    /// Set when the phrase is a date that could be read two ways; `at` is then meaningless.
    readings: Option<Readings>,
}

impl Hit {
    fn new(at: DateTime<Utc>, end: usize, clear: bool) -> Self {
        Hit {
            at,
            end,
            clear,
            readings: None,
        }
    }
}

/// The two dates `12/11` could mean, and where it is written.
#[derive(Clone, Copy)]
struct Readings {
    start: usize,
    end: usize,
    day_first: NaiveDate,
    month_first: NaiveDate,
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
    /// Unambiguous without a trigger word when a time comes with it (`Monday 10am`).
    clear_with_time: bool,
}

impl Day {
    fn on(date: NaiveDate, clear: bool) -> Self {
        Day {
            date,
            time: None,
            clear,
            takes_time: true,
            clear_with_time: false,
        }
    }
}

/// What a date expression names.
enum Base {
    Day(Day),
    /// An exact instant (`in 2 hours`), never combined with a time.
    Exact(DateTime<Utc>),
    /// A date that could be read two ways (`12/11`).
    Ambiguous(Readings),
}

/// One whole phrase at `pos` of the ASCII-lowercased text `s`: a date with an optional time, or a time with
/// an optional date.
fn phrase(s: &str, pos: usize, ctx: &DueContext) -> Option<Hit> {
    if let Some((base, end)) = date_expr(s, pos, ctx) {
        let day = match base {
            Base::Exact(at) => return Some(Hit::new(at, end, true)),
            Base::Ambiguous(mut readings) => {
                readings.end = end;
                let end = trailing_time(s, end, ctx).map_or(end, |(clock, _)| clock.end);
                return Some(Hit {
                    readings: Some(readings),
                    ..Hit::new(ctx.now, end, false)
                });
            }
            Base::Day(day) => day,
        };
        if day.takes_time {
            if let Some((clock, had_comma)) = trailing_time(s, end, ctx) {
                let clear = day.clear || (day.clear_with_time && clock.strong && !had_comma);
                return Some(Hit::new(local(ctx, day.date, clock.time)?, clock.end, clear));
            }
        }
        let at = local(ctx, day.date, day.time.unwrap_or(ctx.day_end))?;
        return Some(Hit::new(at, end, day.clear));
    }
    let clock = time_expr(s, pos, ctx)?;
    if let Some((day, end, on, had_comma)) = trailing_date(s, clock.end, ctx) {
        let clear = day.clear || on || clock.clear || (day.clear_with_time && clock.strong && !had_comma);
        return Some(Hit::new(local(ctx, day.date, clock.time)?, end, clear));
    }
    let today = ctx.today();
    let mut at = local(ctx, today, clock.time)?;
    if at <= ctx.now {
        at = local(ctx, today.succ_opt()?, clock.time)?;
    }
    Some(Hit::new(at, clock.end, clock.clear))
}

/// A date expression at `pos`.
fn date_expr(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let pos = skip_ws(s, pos);
    if let Some(found) = iso_date(s, pos)
        .or_else(|| slash_date(s, pos, ctx))
        .or_else(|| day_month(s, pos, ctx))
        .or_else(|| day_of_month(s, pos, ctx))
    {
        return Some(found);
    }
    let (w, end) = word(s, pos)?;
    let today = ctx.today();
    let day = |date: NaiveDate, clear: bool| Some((Base::Day(Day::on(date, clear)), end));
    let fixed = |date: NaiveDate| {
        let day = Day {
            takes_time: false,
            ..Day::on(date, true)
        };
        Some((Base::Day(day), end))
    };
    match w {
        "today" => day(today, true),
        "tonight" => {
            let day = Day {
                time: NaiveTime::from_hms_opt(20, 0, 0),
                ..Day::on(today, true)
            };
            Some((Base::Day(day), end))
        }
        "tomorrow" | "tmrw" => day(today.succ_opt()?, true),
        "tmr" => day(today.succ_opt()?, false),
        "eow" => fixed(on_or_after(today, Weekday::Fri)?),
        "eom" => fixed(month_end(today)?),
        "eoq" => fixed(quarter_end(today)?),
        "end" => end_of(s, end, ctx, false),
        "the" => match keyword(s, end, &["end"]) {
            Some(end) => end_of(s, end, ctx, true),
            None => day_month(s, skip_ws(s, end), ctx).or_else(|| day_of_month(s, skip_ws(s, end), ctx)),
        },
        "next" => {
            let (w, end) = next_word(s, end)?;
            let date = if w == "week" {
                on_or_after(today.succ_opt()?, Weekday::Mon)?
            } else {
                on_or_after(today.succ_opt()?, weekday(w)?)?
            };
            Some((Base::Day(Day::on(date, true)), end))
        }
        "this" => this(s, end, ctx),
        "in" | "within" => offset(s, end, ctx),
        _ => match weekday(w) {
            Some(wd) => {
                let day = Day {
                    // "sat" and "sun" are words too ("I sat at 3pm").
                    clear_with_time: !matches!(w, "sat" | "sun"),
                    ..Day::on(on_or_after(today, wd)?, false)
                };
                Some((Base::Day(day), end))
            }
            None => month_day(s, end, w, ctx),
        },
    }
}

/// `this friday`, or `this morning|afternoon|evening` (today's), after the word `this`.
fn this(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let (w, end) = next_word(s, pos)?;
    let today = ctx.today();
    if let Some(wd) = weekday(w) {
        return Some((Base::Day(Day::on(on_or_after(today, wd)?, true)), end));
    }
    if !matches!(w, "morning" | "afternoon" | "evening") {
        return None;
    }
    let clock = part_of_day(s, skip_ws(s, pos), ctx)?;
    // "I noticed this morning that…" is not a deadline: it needs a trigger word.
    let day = Day {
        time: Some(clock.time),
        takes_time: false,
        ..Day::on(today, false)
    };
    Some((Base::Day(day), clock.end))
}

/// The rest of `end of [the] [next] week|month|quarter|year` after the word `end`. Unambiguous in
/// free text unless a `the` came before `end`. `end of day` is a time ([`part_of_day`]).
fn end_of(s: &str, pos: usize, ctx: &DueContext, leading_the: bool) -> Option<(Base, usize)> {
    let pos = keyword(s, pos, &["of"])?;
    let pos = keyword(s, pos, &["the"]).unwrap_or(pos);
    let (pos, next) = match keyword(s, pos, &["next"]) {
        Some(p) => (p, 1),
        None => (pos, 0),
    };
    let (w, end) = next_word(s, pos)?;
    let today = ctx.today();
    let date = match w {
        "week" if next == 1 => on_or_after(on_or_after(today.succ_opt()?, Weekday::Mon)?, Weekday::Fri)?,
        "week" => on_or_after(today, Weekday::Fri)?,
        "month" => month_end(month_start(today, next)?)?,
        "quarter" => quarter_end(month_start(today, 3 * next)?)?,
        "year" => NaiveDate::from_ymd_opt(today.year().checked_add(i32::try_from(next).ok()?)?, 12, 31)?,
        _ => return None,
    };
    let day = Day {
        takes_time: false,
        ..Day::on(date, !leading_the)
    };
    Some((Base::Day(day), end))
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
        "fortnight" | "fortnights" if n <= MAX_DAYS / 14 => today.checked_add_days(Days::new(n * 14))?,
        "business" | "working" if n <= MAX_DAYS * 5 / 7 => {
            end = keyword(s, end, &["day", "days"])?;
            add_business_days(today, n)?
        }
        _ => return None,
    };
    Some((Base::Day(Day::on(date, true)), end))
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
        let day = Day {
            time: Some(time),
            takes_time: false,
            ..Day::on(date, true)
        };
        return Some((Base::Day(day), end));
    }
    boundary(s, p).then_some((Base::Day(Day::on(date, true)), p))
}

/// `25/12`, `12/25`, `12/11/2026`, `1/2/27`: a date when one reading (day first or month first) is
/// a date or both are the same date; two readings when both are dates. Never counts without a trigger.
fn slash_date(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let (a, p, 1..=2) = number(s, pos)? else { return None };
    let p = expect_char(s, p, '/')?;
    let (b, mut p, 1..=2) = number(s, p)? else { return None };
    let mut year = None;
    if let Some(q) = expect_char(s, p, '/') {
        let (y, q, len @ (2 | 4)) = number(s, q)? else {
            return None;
        };
        year = Some(if len == 2 { 2000 + y } else { y });
        p = q;
    }
    if !boundary(s, p) || matches!(char_at(s, p), Some('/' | '-' | '.' | ':')) {
        return None;
    }
    let resolve = |month: u64, day: u64| match year {
        Some(y) => ymd(y, month, day),
        None => next_on(ctx.today(), u32::try_from(month).ok()?, u32::try_from(day).ok()?),
    };
    let base = match (resolve(b, a), resolve(a, b)) {
        (Some(day_first), Some(month_first)) if day_first != month_first => Base::Ambiguous(Readings {
            start: pos,
            end: p,
            day_first,
            month_first,
        }),
        (Some(date), _) | (None, Some(date)) => Base::Day(Day::on(date, false)),
        (None, None) => return None,
    };
    Some((base, p))
}

/// `1 Dec`, `1st of December`, `1 dec 2026`.
fn day_month(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let (d, p, _) = day_number(s, pos)?;
    let p = keyword(s, p, &["of"]).unwrap_or(p);
    let (w, p) = next_word(s, p)?;
    with_year(s, p, month(w)?, d, ctx)
}

/// `20th` (after `the`, or alone): the next 20th of a month, counting today. Needs the suffix, so a
/// bare number is never a date; counts only after a trigger word (`by the 20th`).
fn day_of_month(s: &str, pos: usize, ctx: &DueContext) -> Option<(Base, usize)> {
    let (d, end, true) = day_number(s, pos)? else {
        return None;
    };
    let today = ctx.today();
    let date = (0..=12)
        .filter_map(|k| month_start(today, k)?.with_day(d))
        .find(|date| *date >= today)?;
    Some((Base::Day(Day::on(date, false)), end))
}

/// `Dec 1`, `December 1st, 2026` after the month name `name`. Because "may" is also a verb, a bare `may 5`
/// needs a trigger word in free text; `May 5th` and `May 5 2027` do not.
fn month_day(s: &str, pos: usize, name: &str, ctx: &DueContext) -> Option<(Base, usize)> {
    let (d, p, suffixed) = day_number(s, skip_ws(s, pos))?;
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
        None => (next_on(ctx.today(), m, d)?, pos),
    };
    Some((Base::Day(Day::on(date, true)), end))
}

/// The first date on or after `today` that is day `d` of month `m` (Feb 29 may be years away).
fn next_on(today: NaiveDate, m: u32, d: u32) -> Option<NaiveDate> {
    (today.year()..=today.year().saturating_add(8))
        .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
        .find(|date| *date >= today)
}

/// `, 2026` or ` 2026`: four digits that are not the start of a time.
fn year(s: &str, pos: usize) -> Option<(i32, usize)> {
    let (p, _) = comma(s, pos);
    let (y, end, 4) = number(s, p)? else { return None };
    (boundary(s, end) && char_at(s, end) != Some(':')).then_some((i32::try_from(y).ok()?, end))
}

/// A day of the month, `1`..`31`, with an optional attached `st`/`nd`/`rd`/`th` (the flag).
fn day_number(s: &str, pos: usize) -> Option<(u32, usize, bool)> {
    let (d, end, 1..=2) = number(s, pos)? else { return None };
    if !(1..=31).contains(&d) {
        return None;
    }
    let (end, suffixed) = match word(s, end) {
        Some(("st" | "nd" | "rd" | "th", end)) => (end, true),
        Some(_) => return None,
        None if boundary(s, end) && !matches!(char_at(s, end), Some(':' | '/')) => (end, false),
        None => return None,
    };
    Some((u32::try_from(d).ok()?, end, suffixed))
}

/// A date following a time: `3pm tomorrow`, `at 3pm on friday`: the day, where it ends, whether
/// `on` was used (which makes the phrase count without a trigger in free text) and whether a comma
/// came between.
fn trailing_date(s: &str, pos: usize, ctx: &DueContext) -> Option<(Day, usize, bool, bool)> {
    let (p, had_comma) = comma(s, pos);
    let (p, on) = match keyword(s, p, &["on"]) {
        Some(q) => (q, true),
        None => (p, false),
    };
    match date_expr(s, p, ctx)? {
        (Base::Day(day), end) if day.takes_time => Some((day, end, on, had_comma)),
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
