//! Reading a request: what a message says about due date, priority, owner, client and mood.

pub mod chase;
pub mod noise;

use std::sync::LazyLock;

use regex::Regex;

use crate::domain::due::{read_due, DueContext, DueError, FoundDue};
use crate::domain::Priority;

/// Everything keel understood from a request's text; echoed back in the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Understood {
    pub title: String,
    pub due: Option<FoundDue>,
    /// A date that could be read two ways (`by 12/11`): keel asks back instead of guessing.
    pub unclear_due: Option<DueError>,
    /// A priority the words asked for (`urgent`, `asap`, `p1`, `high priority`).
    pub priority: Option<Priority>,
    /// People mentioned (`@lea`), in order; the first team member among them owns the task.
    pub mentions: Vec<String>,
    /// Words after "for" that may name a client (`for acme`).
    pub for_words: Vec<String>,
    /// VADER compound score, −1..1.
    pub sentiment: f64,
}

/// The score at or below which a client is taken to be frustrated.
pub const FRUSTRATED: f64 = -0.5;

/// The longest title kept; the full text stays in the task's created event.
const TITLE_CHARS: usize = 120;

/// Reads a request's text.
pub fn understand(text: &str, ctx: &DueContext) -> Understood {
    understand_scored(text, ctx, sentiment(text))
}

/// [`understand`] with the text's [`sentiment`] already known.
pub fn understand_scored(text: &str, ctx: &DueContext, sentiment: f64) -> Understood {
    let (due, unclear_due) = read_due(text, ctx);
    Understood {
        title: title(text),
        due,
        unclear_due,
        priority: priority_words(text),
        mentions: mentions(text),
        for_words: for_words(text),
        sentiment,
    }
}

/// What a mail asks, as capture reads it: the subject as its first line, then the text.
pub fn mail_request(subject: &str, text: &str) -> String {
    match (subject.is_empty(), text.trim().is_empty()) {
        (true, _) => text.to_string(),
        (false, true) => subject.to_string(),
        (false, false) => format!("{subject}\n{text}"),
    }
}

/// Loads the word lists and builds the patterns the readers use, every one of them, so the
/// first message read pays nothing extra (a pattern is otherwise built when first used, and a
/// request that is urgent never reaches the high and low ones).
pub fn warm() {
    for pattern in [&URGENT, &HIGH, &LOW, &MENTION, &FOR_WORD] {
        LazyLock::force(pattern);
    }
    LazyLock::force(&ANALYZER);
    noise::warm();
    let ctx = DueContext {
        now: chrono::Utc::now(),
        tz: chrono_tz::UTC,
        day_start: chrono::NaiveTime::MIN,
        day_end: chrono::NaiveTime::MIN,
    };
    let _ = understand(
        "@someone thanks, this is urgent: please fix it by Friday 3pm for @anyone",
        &ctx,
    );
}

/// The first line of the text, whitespace collapsed, cut to a readable length.
pub fn title(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let clean: String = line
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !crate::domain::is_unprintable(*c))
        .collect();
    crate::domain::truncate(&clean, TITLE_CHARS)
}

static URGENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\w])(urgent(?:ly)?|asap|p1|critical|emergency)(?:$|[^\w])").expect("valid regex")
});
static HIGH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\w])(high[ -]priority|priority[: ]+high|high prio|p2|important)(?:$|[^\w])")
        .expect("valid regex")
});
static LOW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\w])(low[ -]priority|priority[: ]+low|low prio|p4|no rush)(?:$|[^\w])")
        .expect("valid regex")
});

/// The priority the words ask for, if any; the strongest wins.
pub fn priority_words(text: &str) -> Option<Priority> {
    if URGENT.is_match(text) {
        Some(Priority::Urgent)
    } else if HIGH.is_match(text) {
        Some(Priority::High)
    } else if LOW.is_match(text) {
        Some(Priority::Low)
    } else {
        None
    }
}

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s(])(<@[A-Za-z0-9_]+(?:\|[^>]*)?>|@[A-Za-z0-9][A-Za-z0-9._\-]*(?::[A-Za-z0-9.\-]+)?)")
        .expect("valid regex")
});

/// People mentioned in the text, without the `@`.
pub fn mentions(text: &str) -> Vec<String> {
    MENTION
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .filter_map(|m| crate::command::person(m.as_str()))
        .map(|p| p.trim_end_matches(['.', '-']).to_string())
        .filter(|p| !p.is_empty() && !p.eq_ignore_ascii_case("keel"))
        .collect()
}

static FOR_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bfor\s+([a-z][a-z0-9\-]{1,31})\b").expect("valid regex"));

/// Words after "for", candidates for a client key.
pub fn for_words(text: &str) -> Vec<String> {
    FOR_WORD
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().to_lowercase())
        .collect()
}

static ANALYZER: LazyLock<vader_sentiment::SentimentIntensityAnalyzer<'static>> =
    LazyLock::new(vader_sentiment::SentimentIntensityAnalyzer::new);

/// VADER compound sentiment of the text, −1 (angry) .. 1 (delighted).
pub fn sentiment(text: &str) -> f64 {
    // VADER's cost grows with length; the first 2,000 characters carry the mood.
    let sample: String = text.chars().take(2000).collect();
    let score = ANALYZER
        .polarity_scores(&sample)
        .get("compound")
        .copied()
        .unwrap_or(0.0);
    if score.is_finite() {
        (score * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_words_are_found_as_words() {
        assert_eq!(priority_words("URGENT: site down"), Some(Priority::Urgent));
        assert_eq!(priority_words("please fix asap"), Some(Priority::Urgent));
        assert_eq!(priority_words("this is p1!"), Some(Priority::Urgent));
        assert_eq!(priority_words("high priority: invoices"), Some(Priority::High));
        assert_eq!(priority_words("low priority, no rush"), Some(Priority::Low));
        assert_eq!(priority_words("the CPU is high"), None);
        assert_eq!(priority_words("wasapp export"), None);
        assert_eq!(priority_words("step1 then p10"), None);
    }

    #[test]
    fn mentions_and_for_words() {
        assert_eq!(mentions("@keel track invoices for @lea and <@U42>"), vec!["lea", "U42"]);
        assert_eq!(mentions("mail me at bob@example.com"), Vec::<String>::new());
        assert_eq!(mentions("ping @alice:example.org"), vec!["alice:example.org"]);
        assert_eq!(for_words("new report for acme, for Friday"), vec!["acme", "friday"]);
    }

    #[test]
    fn angry_clients_score_low() {
        assert!(sentiment("This is terrible, the export is broken AGAIN and nobody cares. Awful.") <= FRUSTRATED);
        assert!(sentiment("Thanks so much, great work!") > 0.5);
        assert!(sentiment("Please update the invoice address") > FRUSTRATED);
    }

    #[test]
    fn titles_are_one_clean_line() {
        assert_eq!(title("  first   line\nsecond"), "first line");
        assert_eq!(title(&"x".repeat(500)).chars().count(), TITLE_CHARS + 1);
        assert_eq!(title("a\u{0007}b"), "ab");
        assert_eq!(title("rtl \u{202e}txet\u{200b} \u{0}nul"), "rtl txet nul");
    }
}
