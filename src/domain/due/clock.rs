//! Times of day: clock times (`3pm`, `15:00`, `at 11`) and parts of the day (`morning`, `noon`,
//! `EOD`, `first thing`), read at a position of the lowercased text.

use chrono::{NaiveTime, Timelike};

use super::context::DueContext;
use super::scan::{boundary, char_at, comma, expect_char, keyword, keywords, next_word, number, skip_ws, word};

/// A time of day read at some position.
pub(super) struct Clock {
    pub time: NaiveTime,
    pub end: usize,
    /// Counts alone in free text (`eod`, `end of day`).
    pub clear: bool,
    /// Makes a deadline next to a weekday (`10am`, `first thing`, `EOB`); "morning" is too often a
    /// greeting to.
    pub strong: bool,
}

/// A time with an optional `at`/`@` in front.
pub(super) fn time_expr(s: &str, pos: usize, ctx: &DueContext) -> Option<Clock> {
    let p = skip_ws(s, pos);
    match expect_char(s, p, '@').or_else(|| keyword(s, p, &["at"])) {
        Some(p) => clock(s, p, ctx, true),
        None => clock(s, p, ctx, false),
    }
}

/// A time following a date: `tomorrow 3pm`, `friday, at 10:30`, `tomorrow by noon`, `monday in the
/// morning`; and whether a comma came between.
pub(super) fn trailing_time(s: &str, pos: usize, ctx: &DueContext) -> Option<(Clock, bool)> {
    let (p, had_comma) = comma(s, pos);
    let clock = match expect_char(s, p, '@').or_else(|| keyword(s, p, &["at", "by"])) {
        Some(p) => clock(s, p, ctx, true),
        None => clock(s, p, ctx, false),
    }?;
    Some((clock, had_comma))
}

/// A part of the day (`noon`, `eod`, `first thing`) or a clock time: `3pm`, `3 pm`, `3:30pm`,
/// `3:30 p.m.`, `15:00`, and after `at` a bare hour (`at 11`).
fn clock(s: &str, pos: usize, ctx: &DueContext, after_at: bool) -> Option<Clock> {
    let pos = skip_ws(s, pos);
    if word(s, pos).is_some() {
        return part_of_day(s, pos, ctx);
    }
    let (h, mut p, digits @ 1..=2) = number(s, pos)? else {
        return None;
    };
    let mut minute = None;
    if let Some(q) = expect_char(s, p, ':') {
        let (m, q, 2) = number(s, q)? else { return None };
        minute = Some(m);
        p = q;
    }
    let strong = |time: NaiveTime, end: usize| Clock {
        time,
        end,
        clear: false,
        strong: true,
    };
    if let Some((pm, end)) = meridiem(s, skip_ws(s, p)) {
        if !(1..=12).contains(&h) {
            return None;
        }
        let hour = h % 12 + if pm { 12 } else { 0 };
        let minute = u32::try_from(minute.unwrap_or(0)).ok()?;
        return Some(strong(
            NaiveTime::from_hms_opt(u32::try_from(hour).ok()?, minute, 0)?,
            end,
        ));
    }
    // Without am/pm a one-digit hour from 1 to 6 is in the afternoon; "3" alone is just a number.
    let hour = if digits == 1 && (1..=6).contains(&h) { h + 12 } else { h };
    let hour = u32::try_from(hour).ok()?;
    match minute {
        Some(_) => {
            let (time, end) = clock_24h(s, pos)?;
            Some(strong(time.with_hour(hour)?, end))
        }
        None if after_at && (1..=23).contains(&hour) && number_ends(s, p) => {
            Some(strong(NaiveTime::from_hms_opt(hour, 0, 0)?, p))
        }
        None => None,
    }
}

/// A number's end that is not the middle of `3.5`, `3/4` or `3-4`.
fn number_ends(s: &str, p: usize) -> bool {
    let digit_after =
        |c: char| matches!(char_at(s, p), Some(x) if x == c) && char_at(s, p + 1).is_some_and(|d| d.is_ascii_digit());
    boundary(s, p) && !['.', '/', '-', ',', ':'].into_iter().any(digit_after)
}

/// `noon`, `midday`, `lunch`, `morning`, `in the afternoon`, `evening`, `midnight` (23:59),
/// `first thing`, `eod`, `cob`, `eob`, `end of [the] day|business`, `close of business`.
pub(super) fn part_of_day(s: &str, pos: usize, ctx: &DueContext) -> Option<Clock> {
    let (w, end) = word(s, pos)?;
    let at = |h: u32| NaiveTime::from_hms_opt(h, 0, 0);
    let clock = |time: NaiveTime, end: usize, clear: bool, strong: bool| {
        Some(Clock {
            time,
            end,
            clear,
            strong,
        })
    };
    match w {
        "noon" | "midday" | "lunch" | "lunchtime" => clock(at(12)?, end, false, true),
        "midnight" => clock(NaiveTime::from_hms_opt(23, 59, 0)?, end, false, true),
        "morning" => clock(ctx.day_start, end, false, false),
        "afternoon" => clock(at(15)?, end, false, false),
        "evening" => clock(at(20)?, end, false, false),
        "eod" | "cob" | "eob" => clock(ctx.day_end, end, true, true),
        "first" => {
            let end = keyword(s, end, &["thing"])?;
            let end = keywords(s, end, &["in", "the", "morning"]).unwrap_or(end);
            clock(ctx.day_start, end, false, true)
        }
        "close" => {
            let end = keyword(s, end, &["of"])?;
            clock(ctx.day_end, keyword(s, end, &["business", "play"])?, true, true)
        }
        "in" => {
            let the = keyword(s, end, &["the"])?;
            let (w, _) = next_word(s, the)?;
            matches!(w, "morning" | "afternoon" | "evening")
                .then(|| part_of_day(s, skip_ws(s, the), ctx))
                .flatten()
        }
        "the" => end_of_day(s, keyword(s, end, &["end"])?, ctx, true),
        "end" => end_of_day(s, end, ctx, false),
        _ => None,
    }
}

/// The rest of `end of [the] day|business` after `end`. "at the end of the day" is an idiom, so
/// with a `the` it counts only after a trigger word.
fn end_of_day(s: &str, pos: usize, ctx: &DueContext, leading_the: bool) -> Option<Clock> {
    let pos = keyword(s, pos, &["of"])?;
    let (pos, the) = match keyword(s, pos, &["the"]) {
        Some(p) => (p, true),
        None => (pos, false),
    };
    let end = keyword(s, pos, &["day", "business", "play"])?;
    Some(Clock {
        time: ctx.day_end,
        end,
        clear: !leading_the && !the,
        strong: true,
    })
}

/// `15:00` or `15:00:30`, at a word boundary.
pub(super) fn clock_24h(s: &str, pos: usize) -> Option<(NaiveTime, usize)> {
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
