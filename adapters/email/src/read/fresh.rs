//! What a mail adds: its text without the quoted history a reply carries and without the
//! sender's signature, so that "Sure, I'll send it today" is read as the answer, not the whole
//! thread below it.
//!
//! The history starts at an attribution line ("On … wrote:", also German, French, Spanish and
//! Dutch), at Outlook's header block ("From: … Sent: … To: …", after a line of underscores), at
//! "-----Original Message-----" or a forwarded message; the signature at `-- `, at "Sent from
//! my iPhone" and its kin, or at a sign-off ("Thanks,", "Best regards,") followed by a few short
//! lines. Lines quoted with `>` are left out wherever they are, keeping what is written between
//! them (an inline reply). What is left is never empty when the mail says anything: a reply
//! saying only "Thanks!" keeps it.

/// Attribution lines are short: a longer line is a paragraph that happens to start with "On".
const MAX_ATTRIBUTION_CHARS: usize = 400;

/// How many lines after Outlook's "From:" its "Sent:" and "To:" lines may come.
const OUTLOOK_BLOCK_LINES: usize = 6;

/// At most this many lines may follow a sign-off for it to end the mail (a name, a title, a
/// phone), each at most [`MAX_SIGNATURE_LINE_CHARS`].
const MAX_SIGNATURE_LINES: usize = 4;
const MAX_SIGNATURE_LINE_CHARS: usize = 60;

/// The first words of the attributions that introduce a quoted mail.
const ATTRIBUTION_OPENERS: [&str; 5] = ["On ", "Am ", "Le ", "El ", "Op "];

/// Outlook's header block: its first label, then the others within a few lines.
const FROM_LABELS: [&str; 6] = ["from:", "von:", "de :", "de:", "van:", "da:"];
const SENT_LABELS: [&str; 10] = [
    "sent:",
    "date:",
    "gesendet:",
    "datum:",
    "envoyé :",
    "envoyé:",
    "date :",
    "verzonden:",
    "enviado:",
    "fecha:",
];
const TO_LABELS: [&str; 12] = [
    "to:",
    "subject:",
    "an:",
    "betreff:",
    "à :",
    "à:",
    "objet :",
    "objet:",
    "aan:",
    "onderwerp:",
    "para:",
    "asunto:",
];

/// The dashed separators before a quoted or forwarded mail, without their dashes.
const SEPARATORS: [&str; 9] = [
    "original message",
    "ursprüngliche nachricht",
    "message d'origine",
    "mensaje original",
    "oorspronkelijk bericht",
    "forwarded message",
    "weitergeleitete nachricht",
    "message transféré",
    "mensaje reenviado",
];

/// The lines mobile and webmail clients sign with.
const CLIENT_SIGNATURES: [&str; 12] = [
    "sent from my ",
    "sent from outlook",
    "get outlook for ",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent with proton mail",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "gesendet von meinem",
    "envoyé de mon ",
    "enviado desde mi ",
    "verzonden vanaf mijn ",
];

/// Sign-offs, lowercased, without their trailing punctuation.
const SIGN_OFFS: [&str; 37] = [
    "thanks",
    "thank you",
    "thanks a lot",
    "thanks again",
    "thanks in advance",
    "thank you very much",
    "many thanks",
    "thx",
    "best regards",
    "kind regards",
    "warm regards",
    "warmest regards",
    "regards",
    "cheers",
    "best",
    "all the best",
    "best wishes",
    "sincerely",
    "yours sincerely",
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "viele grüße",
    "beste grüße",
    "liebe grüße",
    "gruß",
    "grüße",
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "merci",
    "saludos",
    "un saludo",
    "atentamente",
    "met vriendelijke groet",
    "vriendelijke groeten",
    "groeten",
];

/// Where quoted history or a signature starts.
enum Marker {
    /// An attribution line, over this many lines.
    Attribution(usize),
    /// History or signature from this line (Outlook's block may start at a separator above).
    From(usize),
}

/// The fresh part of a mail's text (lines end with `\n`), trimmed.
pub(super) fn fresh(full: &str) -> String {
    let lines: Vec<&str> = full.lines().collect();
    let mut dropped = vec![false; lines.len()];
    let mut end = lines.len();
    let mut written = false;
    let mut at = 0;
    while at < lines.len() {
        match marker(&lines, at) {
            // An attribution on top of an inline reply: nothing written above it, so what
            // follows between its quotes is the answer.
            Some(Marker::Attribution(count)) if !written => {
                dropped[at..at + count].iter_mut().for_each(|d| *d = true);
                at += count;
                continue;
            }
            Some(Marker::Attribution(_)) => {
                end = at;
                break;
            }
            Some(Marker::From(start)) => {
                end = start;
                break;
            }
            None => {}
        }
        written |= !quoted(lines[at]) && !lines[at].trim().is_empty();
        at += 1;
    }
    let kept: Vec<&str> = (0..end)
        .filter(|&i| !dropped[i] && !quoted(lines[i]))
        .map(|i| lines[i])
        .collect();
    let kept = without_sign_off(&kept);
    let text = tidy(kept);
    if text.is_empty() {
        first_line(&lines, end, &dropped)
    } else {
        text
    }
}

/// True for a line quoted with `>`.
fn quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The marker at this line, if history or a signature starts there.
fn marker(lines: &[&str], at: usize) -> Option<Marker> {
    let line = lines[at];
    if quoted(line) {
        return None;
    }
    if is_attribution(line) {
        return Some(Marker::Attribution(1));
    }
    if ATTRIBUTION_OPENERS
        .iter()
        .any(|opener| line.trim_start().starts_with(opener))
    {
        if let Some(next) = lines.get(at + 1) {
            if !quoted(next) && is_attribution(&format!("{} {}", line.trim(), next.trim())) {
                return Some(Marker::Attribution(2));
            }
        }
    }
    if outlook_block(lines, at) {
        return Some(Marker::From(separator_above(lines, at)));
    }
    (is_separator(line) || is_signature_start(line)).then_some(Marker::From(at))
}

/// "On Mon, 2 Dec 2026 at 10:00, Bob <bob@x.com> wrote:" and its German, French, Spanish and
/// Dutch kin.
fn is_attribution(line: &str) -> bool {
    let line = line.trim().replace('\u{a0}', " ");
    if line.chars().count() > MAX_ATTRIBUTION_CHARS {
        return false;
    }
    let ends_colon = line.ends_with(':');
    (line.starts_with("On ") && line.ends_with("wrote:"))
        || (line.starts_with("Am ") && ends_colon && line.contains("schrieb"))
        || (line.starts_with("Le ") && (line.ends_with("a écrit :") || line.ends_with("a écrit:")))
        || (line.starts_with("El ") && (line.ends_with("escribió:") || line.ends_with("escribió :")))
        || (line.starts_with("Op ") && ends_colon && line.contains("schreef"))
}

/// True when the line starts with one of the labels (lowercase), in any case.
fn has_label(line: &str, labels: &[&str]) -> bool {
    let start: String = line
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .replace('\u{a0}', " ");
    let start = start.to_lowercase();
    labels.iter().any(|label| start.starts_with(label))
}

/// Outlook's header block: "From:" here, then "Sent:" (or "Date:") and "To:" (or "Subject:")
/// within the next few lines.
fn outlook_block(lines: &[&str], at: usize) -> bool {
    if !has_label(lines[at], &FROM_LABELS) {
        return false;
    }
    let window = &lines[at + 1..lines.len().min(at + 1 + OUTLOOK_BLOCK_LINES)];
    window.iter().any(|l| has_label(l, &SENT_LABELS)) && window.iter().any(|l| has_label(l, &TO_LABELS))
}

/// Where Outlook's block really starts: at the line of underscores (or the rule an HTML `<hr>`
/// becomes) just above its "From:", blank lines between, else at the "From:" itself.
fn separator_above(lines: &[&str], from: usize) -> usize {
    let mut at = from;
    while at > 0 && lines[at - 1].trim().is_empty() {
        at -= 1;
    }
    match at.checked_sub(1) {
        Some(above) if is_rule(lines[above]) => above,
        _ => from,
    }
}

/// A line of underscores, or of the box-drawing rule html2text draws for `<hr>`.
fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.chars().count() >= 10 && (line.chars().all(|c| c == '_') || line.chars().all(|c| c == '─'))
}

/// "-----Original Message-----", "---------- Forwarded message ---------" and their kin.
fn is_separator(line: &str) -> bool {
    let line = line.trim();
    if !line.starts_with("--") {
        return false;
    }
    let words = line
        .trim_matches(|c: char| c == '-' || c.is_whitespace())
        .to_lowercase();
    SEPARATORS.contains(&words.as_str())
}

/// The signature delimiter `-- ` (or `--`), or a client's "Sent from my iPhone".
fn is_signature_start(line: &str) -> bool {
    if line == "-- " || line == "--" {
        return true;
    }
    let start: String = line.trim_start().chars().take(32).collect::<String>().to_lowercase();
    CLIENT_SIGNATURES.iter().any(|signature| start.starts_with(signature))
}

/// A sign-off line: "Thanks,", "Best regards", "Mit freundlichen Grüßen".
fn is_sign_off(line: &str) -> bool {
    let line = line.trim().trim_end_matches([',', '.', '!', '-', ' ']).to_lowercase();
    SIGN_OFFS.contains(&line.as_str())
}

/// The lines without a closing sign-off and the few short lines after it (a name, a title, a
/// phone number).
fn without_sign_off<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    for (at, line) in lines.iter().enumerate() {
        if !is_sign_off(line) {
            continue;
        }
        let after: Vec<&&str> = lines[at + 1..].iter().filter(|l| !l.trim().is_empty()).collect();
        let short = after
            .iter()
            .all(|l| l.trim().chars().count() <= MAX_SIGNATURE_LINE_CHARS);
        if after.len() <= MAX_SIGNATURE_LINES && short {
            return lines[..at].to_vec();
        }
    }
    lines.to_vec()
}

/// The lines joined, trailing spaces and runs of blank lines removed, trimmed.
fn tidy(lines: Vec<&str>) -> String {
    let mut text = String::new();
    let mut blank = false;
    for line in lines {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank = !text.is_empty();
            continue;
        }
        if blank {
            text.push('\n');
            blank = false;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
    }
    text.trim().to_string()
}

/// What is kept when stripping left nothing: the first line written before the history (a
/// lone "Thanks!"), else the first line anywhere that is neither a quote nor a marker.
fn first_line(lines: &[&str], end: usize, dropped: &[bool]) -> String {
    let written = |i: &usize| !quoted(lines[*i]) && !lines[*i].trim().is_empty();
    let before = (0..end).filter(|i| !dropped[*i]).find(written);
    let anywhere = || {
        (0..lines.len()).filter(written).find(|&i| {
            marker(lines, i).is_none()
                && !is_attribution(lines[i])
                && !is_rule(lines[i])
                && ![&FROM_LABELS[..], &SENT_LABELS[..], &TO_LABELS[..]]
                    .iter()
                    .any(|labels| has_label(lines[i], labels))
        })
    };
    before
        .or_else(anywhere)
        .map(|i| lines[i].trim().to_string())
        .unwrap_or_default()
}
