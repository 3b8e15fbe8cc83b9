//! A client chasing: "any update?", "following up", "?" — a nudge about work already asked for,
//! not a new request.
//!
//! A message is a chase when it is short (at most [`MAX_WORDS`] words) and, once greetings,
//! thanks, names and fillers are set aside, is one of the phrases people chase with, or nothing
//! but question marks. Anything else it says (a new question, a detail) makes it not a chase: it
//! is then an ordinary message about the task.

/// Longer messages say more than "where is it?".
const MAX_WORDS: usize = 12;

/// Phrases a chase is made of, as lowercase words.
const PHRASES: &[&[&str]] = &[
    &["any", "update"],
    &["any", "updates"],
    &["any", "news"],
    &["any", "progress"],
    &["any", "word"],
    &["any", "eta"],
    &["an", "update"],
    &["following", "up"],
    &["follow", "up"],
    &["checking", "in"],
    &["status", "update"],
    &["what's", "the", "status"],
    &["whats", "the", "status"],
    &["what", "is", "the", "status"],
    &["where", "are", "we"],
    &["how's", "it", "going"],
    &["hows", "it", "going"],
    &["how", "is", "it", "going"],
    &["is", "there", "an", "update"],
    &["any", "luck"],
];

/// Words a chase may carry besides its phrase: greetings, politeness, what it is about.
const FILLERS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "morning",
    "good",
    "afternoon",
    "team",
    "all",
    "everyone",
    "folks",
    "guys",
    "there",
    "just",
    "quick",
    "quickly",
    "so",
    "ok",
    "okay",
    "sorry",
    "to",
    "bother",
    "please",
    "pls",
    "thanks",
    "thank",
    "you",
    "again",
    "on",
    "this",
    "that",
    "it",
    "the",
    "request",
    "ticket",
    "issue",
    "one",
    "here",
    "with",
    "about",
    "re",
    "yet",
    "still",
    "now",
    "today",
    "gently",
    "kindly",
    "friendly",
    "reminder",
    "a",
    "for",
    "me",
    "us",
    "we",
    "have",
    "do",
    "is",
    "there",
    "and",
    "or",
];

/// A chase on its own: one word with a question mark ("Update?", "ETA?", "bump").
const SINGLE: &[&str] = &[
    "update", "updates", "news", "status", "eta", "progress", "anyone", "hello",
];
const BARE: &[&str] = &["bump", "ping"];

/// True when the message is a client chasing work already asked for.
pub fn is_chase(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > 400 {
        return false;
    }
    if trimmed.chars().all(|c| c == '?' || c.is_whitespace()) {
        return true;
    }
    let words = words(trimmed);
    if words.is_empty() || words.len() > MAX_WORDS {
        return false;
    }
    let mut rest = words.clone();
    let mut phrased = false;
    while let Some(shorter) = without_phrase(&rest) {
        rest = shorter;
        phrased = true;
    }
    if phrased {
        return rest.iter().all(|w| FILLERS.contains(&w.as_str()) || w.starts_with('@'));
    }
    let content: Vec<&String> = words
        .iter()
        .filter(|w| !FILLERS.contains(&w.as_str()) && !w.starts_with('@'))
        .collect();
    match content.as_slice() {
        [only] if BARE.contains(&only.as_str()) => true,
        [only] => SINGLE.contains(&only.as_str()) && trimmed.contains('?'),
        _ => false,
    }
}

/// The words with the first chase phrase taken out, when there is one.
fn without_phrase(words: &[String]) -> Option<Vec<String>> {
    for phrase in PHRASES {
        let n = phrase.len();
        if let Some(at) = words
            .windows(n)
            .position(|w| w.iter().zip(phrase.iter()).all(|(a, b)| a == b))
        {
            let mut rest = words[..at].to_vec();
            rest.extend_from_slice(&words[at + n..]);
            return Some(rest);
        }
    }
    None
}

/// Lowercase words: letters, digits and apostrophes (`what's`), with `@names` kept whole.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '@' || c == '-' || c == '.'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            // "follow-up" is "follow up"; an @name stays one word.
            let parts: Vec<String> = if w.starts_with('@') {
                vec![w.to_lowercase()]
            } else {
                w.split('-').map(|p| p.replace('’', "'").to_lowercase()).collect()
            };
            parts
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::is_chase;

    #[test]
    fn chases_are_heard() {
        for text in [
            "any update?",
            "Any updates on this?",
            "Hi team, any news on this?",
            "following up",
            "Just following up on this one, thanks!",
            "?",
            "??",
            "Hello? Any progress?",
            "Checking in on this request",
            "any ETA?",
            "Update?",
            "bump",
            "@lea any update?",
            "Sorry to bother you again, is there an update?",
            "Friendly reminder - any update on this ticket?",
            "What's the status?",
            "how’s it going?",
            "Follow-up: any news?",
        ] {
            assert!(is_chase(text), "{text:?} is a chase");
        }
    }

    #[test]
    fn anything_more_is_not_a_chase() {
        for text in [
            "",
            "thanks!",
            "Hi team",
            "any update? also the CSV export is missing the VAT column",
            "Following up: can you also reset the password for jane@acme.com?",
            "The export is still broken",
            "update the logo please",
            "status page is down",
            "what is the status code you get?",
            "We are following up with our bank and will send the form tomorrow once it is signed off",
            "news: we signed the contract",
            "Is this expected?",
            "hello",
        ] {
            assert!(!is_chase(text), "{text:?} is not a chase");
        }
    }
}
