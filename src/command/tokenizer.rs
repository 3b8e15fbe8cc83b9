//! Splits a command line into words: whitespace separates them, "double quotes" (straight or
//! curly) group them, and the raw rest of the line stays available for free text.

/// Tokens of a command line, with quotes grouping words, and the raw rest for free text.
pub struct Args<'a> {
    text: &'a str,
    tokens: Vec<(usize, usize, String)>,
    pos: usize,
}

impl<'a> Args<'a> {
    pub(super) fn new(text: &'a str) -> Args<'a> {
        Args {
            text,
            tokens: tokenize(text),
            pos: 0,
        }
    }

    pub(super) fn peek(&self, ahead: usize) -> Option<&str> {
        self.tokens.get(self.pos + ahead).map(|(_, _, t)| t.as_str())
    }

    pub(super) fn next(&mut self) -> Option<String> {
        let token = self.tokens.get(self.pos).map(|(_, _, t)| t.clone());
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    /// The unparsed rest of the line, as typed.
    pub(super) fn rest(&mut self) -> Option<String> {
        let (start, _, _) = self.tokens.get(self.pos)?;
        let rest = self.text[*start..].trim().to_string();
        self.pos = self.tokens.len();
        Some(rest).filter(|r| !r.is_empty())
    }
}

/// Splits on whitespace; "double quotes" (straight or curly) group words. Keeps byte spans.
fn tokenize(text: &str) -> Vec<(usize, usize, String)> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if matches!(c, '"' | '“' | '”') {
            chars.next();
            let mut word = String::new();
            let mut end = text.len();
            for (i, c) in chars.by_ref() {
                if matches!(c, '"' | '“' | '”') {
                    end = i + c.len_utf8();
                    break;
                }
                word.push(c);
            }
            tokens.push((start, end, word));
            continue;
        }
        let mut end = text.len();
        let mut word = String::new();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            word.push(c);
            chars.next();
        }
        tokens.push((start, end, word));
    }
    tokens
}
