//! Scanning over the ASCII-lowercased text: byte offsets match the original text, and every
//! reader returns `None` rather than panicking on any input.

use chrono::{Datelike, Days, NaiveDate, Weekday};

pub(super) fn char_at(s: &str, pos: usize) -> Option<char> {
    s.get(pos..)?.chars().next()
}

/// True when no letter or digit follows `pos`.
pub(super) fn boundary(s: &str, pos: usize) -> bool {
    char_at(s, pos).is_none_or(|c| !c.is_alphanumeric())
}

pub(super) fn skip_ws(s: &str, mut pos: usize) -> usize {
    while let Some(c) = char_at(s, pos).filter(|c| c.is_whitespace()) {
        pos += c.len_utf8();
    }
    pos
}

pub(super) fn expect_char(s: &str, pos: usize, want: char) -> Option<usize> {
    (char_at(s, pos) == Some(want)).then_some(pos + want.len_utf8())
}

/// An optional comma (and the spaces around it) at `pos`: where reading goes on, and whether
/// there was one.
pub(super) fn comma(s: &str, pos: usize) -> (usize, bool) {
    let p = skip_ws(s, pos);
    match expect_char(s, p, ',') {
        Some(q) => (skip_ws(s, q), true),
        None => (p, false),
    }
}

/// A run of ASCII letters exactly at `pos` that ends at a word boundary.
pub(super) fn word(s: &str, pos: usize) -> Option<(&str, usize)> {
    let rest = s.get(pos..)?;
    let len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    let end = pos + len;
    (len > 0 && boundary(s, end)).then(|| (&rest[..len], end))
}

/// The next word after optional whitespace.
pub(super) fn next_word(s: &str, pos: usize) -> Option<(&str, usize)> {
    word(s, skip_ws(s, pos))
}

/// One of `list` as the next word; returns its end.
pub(super) fn keyword(s: &str, pos: usize, list: &[&str]) -> Option<usize> {
    let (w, end) = next_word(s, pos)?;
    list.contains(&w).then_some(end)
}

/// The words of `seq`, in order, as the next words; returns where the last ends.
pub(super) fn keywords(s: &str, pos: usize, seq: &[&str]) -> Option<usize> {
    seq.iter().try_fold(pos, |p, w| keyword(s, p, &[w]))
}

/// A run of ASCII digits exactly at `pos`: its value, end and length. Runs too long to matter
/// are `None`.
pub(super) fn number(s: &str, pos: usize) -> Option<(u64, usize, usize)> {
    let rest = s.get(pos..)?;
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 || len > 12 {
        return None;
    }
    Some((rest.get(..len)?.parse().ok()?, pos + len, len))
}

/// The first date on or after `from` that falls on `wd`.
pub(super) fn on_or_after(from: NaiveDate, wd: Weekday) -> Option<NaiveDate> {
    let ahead = (7 + wd.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from.checked_add_days(Days::new(u64::from(ahead)))
}

/// The first day of the month `months` after `date`'s.
pub(super) fn month_start(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.with_day(1)?.checked_add_months(chrono::Months::new(months))
}

/// The last day of `date`'s month.
pub(super) fn month_end(date: NaiveDate) -> Option<NaiveDate> {
    month_start(date, 1)?.pred_opt()
}

/// The last day of `date`'s calendar quarter.
pub(super) fn quarter_end(date: NaiveDate) -> Option<NaiveDate> {
    let last_month = (date.month0() / 3) * 3 + 3;
    month_end(NaiveDate::from_ymd_opt(date.year(), last_month, 1)?)
}

/// `n` working days after `from`, skipping Saturdays and Sundays.
pub(super) fn add_business_days(from: NaiveDate, n: u64) -> Option<NaiveDate> {
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

pub(super) fn ymd(y: u64, m: u64, d: u64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

pub(super) fn weekday(w: &str) -> Option<Weekday> {
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

pub(super) fn month(w: &str) -> Option<u32> {
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

pub(super) fn word_number(w: &str) -> Option<u64> {
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
