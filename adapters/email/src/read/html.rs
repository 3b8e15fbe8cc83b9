//! HTML bodies as text: html2text for the mails people write, and a plain tag stripper for
//! HTML so deeply nested that html2text's parser would take minutes (html5ever's tree building
//! slows down with the square of the nesting: 100,000 nested `<div>` take minutes).

use html2text::render::{TaggedLine, TextDecorator};

use super::bounds::cut;

/// The most HTML converted for one mail, in bytes: more turns into more text than is kept.
pub(super) const MAX_HTML_BYTES: usize = 512 * 1024;

/// The deepest nesting html2text is given; deeper HTML is stripped of its tags instead. Mail
/// clients nest far less, even in long threads of quoted replies.
const MAX_HTML_DEPTH: usize = 100;

/// The deepest nesting of quotes and lists html2text is given: each level indents every line
/// within it, so deep levels multiply the text.
const MAX_INDENT_DEPTH: usize = 16;

/// The most lines html2text is given to make: it keeps about 2 KB for each line it makes, so
/// HTML of many short lines is stripped of its tags instead.
const MAX_HTML_LINES: usize = 20_000;

/// Elements that start a line of text (a table cell too: tables are read a cell a line).
const BLOCKS: [&str; 19] = [
    "blockquote",
    "br",
    "dd",
    "div",
    "dt",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "p",
    "pre",
    "table",
    "td",
    "th",
    "tr",
];

/// Elements html2text indents what they hold by.
const INDENTING: [&str; 4] = ["blockquote", "dl", "ol", "ul"];

/// The width text is wrapped at: wide enough to leave written lines as they are.
const WIDTH: usize = 1_000;

/// Elements that hold nothing, so never need closing.
const VOID: [&str; 18] = [
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input", "keygen",
    "link", "meta", "param", "source", "track",
];

/// Elements a browser closes itself when the next one starts (`<p>`, `<li>`, `<td>`), and
/// those it never nests (`<html>`, `<body>`), so they are left out when counting depth.
const SELF_CLOSING: [&str; 18] = [
    "body", "caption", "colgroup", "dd", "dt", "head", "html", "li", "optgroup", "option", "p", "rb", "rp", "rt",
    "rtc", "tbody", "td", "tfoot",
];

/// More elements a browser closes itself.
const SELF_CLOSING_MORE: [&str; 4] = ["th", "thead", "tr", "wbr"];

/// The HTML as text: paragraphs and line breaks as lines, quotes as `> ` lines, no markup.
pub(super) fn to_text(html: &str) -> String {
    let html = cut(html, MAX_HTML_BYTES);
    if shape(html).convertible() {
        let converted = html2text::config::with_decorator(MailDecorator)
            .link_footnotes(false)
            .raw_mode(true)
            .allow_width_overflow()
            .string_from_read(html.as_bytes(), WIDTH);
        if let Ok(text) = converted {
            return text;
        }
    }
    strip(html)
}

/// How HTML marks show as text in a mail: quotes as `> ` (so quoted history is recognised),
/// list items as `- ` and `1. `, an image as its alt text; links, emphasis and headings as
/// their words alone.
#[derive(Clone, Copy, Debug)]
struct MailDecorator;

impl TextDecorator for MailDecorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, _url: &str) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_link_end(&mut self) -> String {
        String::new()
    }
    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_em_end(&self) -> String {
        String::new()
    }
    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strong_end(&self) -> String {
        String::new()
    }
    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }
    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_code_end(&self) -> String {
        String::new()
    }
    fn decorate_preformat_first(&self) {}
    fn decorate_preformat_cont(&self) {}
    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        (title.to_string(), ())
    }
    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }
    fn quote_prefix(&self) -> String {
        "> ".to_string()
    }
    fn unordered_item_prefix(&self) -> String {
        "- ".to_string()
    }
    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }
    fn make_subblock_decorator(&self) -> Self {
        *self
    }
    fn decorate_superscript_start(&self) -> (String, ()) {
        (String::new(), ())
    }
    fn decorate_superscript_end(&self) -> String {
        String::new()
    }
    fn finalise(&mut self, _urls: Vec<String>) -> Vec<TaggedLine<()>> {
        Vec::new()
    }
}

/// What makes HTML costly to convert, counted from its tags: how deeply its elements nest (an
/// estimate: the elements a browser closes itself are not counted), how deeply its quotes and
/// lists nest, and how many lines it starts.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    depth: usize,
    indent: usize,
    lines: usize,
}

impl Shape {
    /// True when html2text may be given HTML of this shape.
    fn convertible(&self) -> bool {
        self.depth <= MAX_HTML_DEPTH && self.indent <= MAX_INDENT_DEPTH && self.lines <= MAX_HTML_LINES
    }
}

/// The shape of the HTML (see [`Shape`]), in one pass over its tags.
fn shape(html: &str) -> Shape {
    let bytes = html.as_bytes();
    let mut shape = Shape::default();
    let (mut depth, mut indent) = (0usize, 0usize);
    let mut at = 0;
    while let Some(found) = bytes[at..].iter().position(|&b| b == b'<') {
        at += found + 1;
        let closing = bytes.get(at) == Some(&b'/');
        let name_start = if closing { at + 1 } else { at };
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let name = name.as_str();
        shape.lines += usize::from(!closing && BLOCKS.contains(&name));
        if VOID.contains(&name) || SELF_CLOSING.contains(&name) || SELF_CLOSING_MORE.contains(&name) {
            continue;
        }
        let indenting = usize::from(INDENTING.contains(&name));
        if closing {
            depth = depth.saturating_sub(1);
            indent = indent.saturating_sub(indenting);
            continue;
        }
        // The tag ends at its `>`; a `<` first means it was never closed.
        let tag_end = bytes[name_start..].iter().position(|&b| b == b'>' || b == b'<');
        if tag_end.is_some_and(|end| bytes[name_start + end] == b'>' && bytes[name_start + end - 1] == b'/') {
            continue;
        }
        depth += 1;
        indent += indenting;
        shape.depth = shape.depth.max(depth);
        shape.indent = shape.indent.max(indent);
    }
    shape
}

/// The text of HTML without parsing it: tags removed, the blocks they started as lines,
/// `<script>` and `<style>` left out, the common entities decoded. Linear in the input.
fn strip(html: &str) -> String {
    let mut text = String::with_capacity(html.len().min(1024 * 1024));
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        push_text(&mut text, &rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('>').map_or(after.len(), |c| c + 1);
        let tag = after[..close].trim_start_matches('/').to_ascii_lowercase();
        let name: String = tag.chars().take_while(char::is_ascii_alphanumeric).collect();
        rest = &after[close..];
        if name == "script" || name == "style" {
            if !after.starts_with('/') {
                let end = find_ignoring_case(rest, &format!("</{name}")).unwrap_or(rest.len());
                rest = &rest[end..];
            }
        } else if BLOCKS.contains(&name.as_str()) && !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    push_text(&mut text, rest);
    text
}

/// Where `needle` (ASCII) first occurs in the text, in any case.
fn find_ignoring_case(text: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    text.as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Text between tags, its whitespace collapsed as a browser shows it, entities decoded.
fn push_text(text: &mut String, between: &str) {
    let mut words = between.split_whitespace().peekable();
    if words.peek().is_none() {
        return;
    }
    if between.starts_with(char::is_whitespace) && !text.is_empty() && !text.ends_with(['\n', ' ']) {
        text.push(' ');
    }
    let joined = words.collect::<Vec<_>>().join(" ");
    text.push_str(&decode_entities(&joined));
    if between.ends_with(char::is_whitespace) {
        text.push(' ');
    }
}

/// The common named entities and numeric ones decoded; others left as written.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.char_indices().take(12).find(|&(_, c)| c == ';').map(|(i, _)| i);
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity name (without `&` and `;`) stands for.
fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_without_the_elements_browsers_close() {
        let shape_of = |html: &str| {
            let shape = shape(html);
            (shape.depth, shape.indent, shape.lines)
        };
        assert_eq!(shape_of("<div><p>a<p>b<br><img src=x/></div>"), (1, 0, 4));
        assert_eq!(shape_of(&"<div>".repeat(500)), (500, 0, 500));
        assert_eq!(shape_of("<ul><li>a<li>b</ul><table><tr><td>x</table>"), (1, 1, 5));
        assert_eq!(shape_of("<div><blockquote><blockquote></blockquote><ul>"), (3, 2, 3));
        assert_eq!(shape_of("a < b and 3<4"), (0, 0, 0));
    }

    #[test]
    fn stripped_html_keeps_its_lines_and_text() {
        let html = "<style>p{x:1}</style><div>Hi &amp; hello,</div><div>line&nbsp;two<br>three &#233; &#x41;</div>";
        assert_eq!(strip(html).trim_end(), "Hi & hello,\nline two\nthree é A");
    }

    #[test]
    fn deep_html_is_stripped_quickly() {
        let html = "<div>".repeat(100_000) + "deep text";
        let started = std::time::Instant::now();
        assert_eq!(to_text(&html).trim(), "deep text");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
