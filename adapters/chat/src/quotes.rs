//! What a person added to a message, without what they quoted: the reply fallback Matrix clients
//! put in front of a reply (`> <@bob:example.org> …` lines, then a blank line), and any line
//! quoted with `>` (Markdown, and Slack's `&gt;`, as its events escape it). Adapters read
//! commands, mentions, dates and requests from what is left, as the Matrix spec tells clients
//! to strip the fallback.

/// True for a quoted line: `>` (or Slack's `&gt;`) first, after any indentation.
fn quoted(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('>') || line.starts_with("&gt;")
}

/// The text without its quoted lines, and without the blank lines at its ends; blank lines
/// left where a quote was are kept at most one in a row.
pub fn without_quotes(text: &str) -> String {
    if !text.lines().any(quoted) {
        return text.to_string();
    }
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines().filter(|l| !quoted(l)) {
        let blank = line.trim().is_empty();
        if blank && kept.last().is_none_or(|l| l.trim().is_empty()) {
            continue;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    kept.join("\n")
}

#[cfg(test)]
mod tests {
    use super::without_quotes;

    #[test]
    fn quotes_are_left_out_and_the_rest_kept() {
        for (text, added) in [
            // Element's reply fallback before a command.
            (
                "> <@bob:example.org> The export is broken, we need it by Friday\n\n!keel take #1",
                "!keel take #1",
            ),
            // A fallback of several lines.
            (
                "> <@bob:example.org> line one\n> line two\n\nSure, on it",
                "Sure, on it",
            ),
            // Slack: a quoted block as its events escape it, then the answer.
            ("&gt; we need it by Friday\n<@UKEEL> take #1", "<@UKEEL> take #1"),
            // A quote in the middle of a message.
            (
                "About this:\n> by Friday\n\nit will be Monday",
                "About this:\n\nit will be Monday",
            ),
            ("no quote here, by Friday", "no quote here, by Friday"),
            ("a > b is not a quote", "a > b is not a quote"),
            ("> only a quote", ""),
            ("", ""),
        ] {
            assert_eq!(without_quotes(text), added, "{text:?}");
        }
    }
}
