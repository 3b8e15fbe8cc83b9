//! Emoji in chat messages: which code points are emoji, what an emoji, a `:shortcode:` or a text
//! emoticon says (thanks, acknowledgement, greeting, a problem), and how far one emoji reaches
//! with its modifiers and zero-width-joiner sequence.

use super::chars::is_word_char;

/// Longest emoji shortcode name we recognise (`:name:`).
const MAX_SHORTCODE: usize = 40;

/// What an emoji says, for picking the kind of a mixed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Plain,
    Greeting,
    Thanks,
    Ack,
    /// 👎 ❌ 😡 🐛 ❓ ... : the message may report a problem.
    Negative,
}

/// Variation selectors, the keycap, skin tones and tag characters: they change how the emoji
/// before them looks, not what it says.
pub(super) fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

/// The zero-width joiner that glues emoji into one sequence (👨‍💻).
pub(super) const ZWJ: char = '\u{200D}';

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x203C | 0x2049
        | 0x2194..=0x2199 | 0x21A9 | 0x21AA
        | 0x231A | 0x231B | 0x2328 | 0x23CF | 0x23E9..=0x23F3 | 0x23F8..=0x23FA
        | 0x25AA | 0x25AB | 0x25B6 | 0x25C0 | 0x25FB..=0x25FE
        | 0x2934 | 0x2935
        | 0x2B05..=0x2B07 | 0x2B1B | 0x2B1C | 0x2B50 | 0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299)
        && !is_emoji_modifier(c)
}

fn emoji_flavour(c: char) -> Flavour {
    match c as u32 {
        // 👍 ✅ ✔ ☑ 👌 🆗 💯 🤝
        0x1F44D | 0x2705 | 0x2714 | 0x2611 | 0x1F44C | 0x1F197 | 0x1F4AF | 0x1F91D => Flavour::Ack,
        // 🙏 🙌 👏 ❤ ♥ hearts (except 💔) 🥰 🤗
        0x1F64F
        | 0x1F64C
        | 0x1F44F
        | 0x2764
        | 0x2665
        | 0x1F493
        | 0x1F495..=0x1F49F
        | 0x1F970
        | 0x1F917
        | 0x1F9E1
        | 0x1F90D
        | 0x1F90E => Flavour::Thanks,
        // 👋
        0x1F44B => Flavour::Greeting,
        // 👎 ❌ ❎ ✖ ⛔ 🚫 🆘 ⚠ ❗ ❕ ❓ ❔ ⁉ ‼ 🐛 🐞 💔 🔥 🚨 💥 👀 and unhappy faces
        0x1F44E
        | 0x274C
        | 0x274E
        | 0x2716
        | 0x26D4
        | 0x1F6AB
        | 0x1F198
        | 0x26A0
        | 0x2757
        | 0x2755
        | 0x2753
        | 0x2754
        | 0x2049
        | 0x203C
        | 0x1F41B
        | 0x1F41E
        | 0x1F494
        | 0x1F525
        | 0x1F6A8
        | 0x1F4A5
        | 0x1F440
        | 0x2639
        | 0x1F641
        | 0x1F615
        | 0x1F61E
        | 0x1F61F
        | 0x1F620..=0x1F625
        | 0x1F628..=0x1F62B
        | 0x1F62D
        | 0x1F630
        | 0x1F631
        | 0x1F614
        | 0x1F612
        | 0x1F613
        | 0x1F616
        | 0x1F914
        | 0x1F92C
        | 0x1F92F
        | 0x1F926 => Flavour::Negative,
        _ => Flavour::Plain,
    }
}

pub(super) fn shortcode_flavour(name: &str) -> Flavour {
    match name {
        "+1"
        | "thumbsup"
        | "thumbs_up"
        | "ok"
        | "ok_hand"
        | "white_check_mark"
        | "heavy_check_mark"
        | "check"
        | "ballot_box_with_check"
        | "100"
        | "handshake" => Flavour::Ack,
        "pray"
        | "folded_hands"
        | "raised_hands"
        | "clap"
        | "heart"
        | "hearts"
        | "blue_heart"
        | "green_heart"
        | "yellow_heart"
        | "purple_heart"
        | "orange_heart"
        | "sparkling_heart"
        | "heartpulse"
        | "two_hearts"
        | "hugs"
        | "hugging_face"
        | "smiling_face_with_hearts" => Flavour::Thanks,
        "wave" | "waving_hand" => Flavour::Greeting,
        "-1"
        | "thumbsdown"
        | "thumbs_down"
        | "x"
        | "negative_squared_cross_mark"
        | "heavy_multiplication_x"
        | "no_entry"
        | "no_entry_sign"
        | "warning"
        | "sos"
        | "bug"
        | "beetle"
        | "lady_beetle"
        | "question"
        | "grey_question"
        | "exclamation"
        | "heavy_exclamation_mark"
        | "grey_exclamation"
        | "interrobang"
        | "bangbang"
        | "rage"
        | "angry"
        | "face_with_symbols_on_mouth"
        | "cry"
        | "sob"
        | "disappointed"
        | "worried"
        | "confused"
        | "thinking"
        | "thinking_face"
        | "slightly_frowning_face"
        | "frowning"
        | "frowning_face"
        | "white_frowning_face"
        | "broken_heart"
        | "fire"
        | "rotating_light"
        | "boom"
        | "collision"
        | "triumph"
        | "scream"
        | "fearful"
        | "cold_sweat"
        | "weary"
        | "tired_face"
        | "persevere"
        | "confounded"
        | "disappointed_relieved"
        | "exploding_head"
        | "sweat"
        | "pensive"
        | "unamused"
        | "facepalm"
        | "face_palm"
        | "man_facepalming"
        | "woman_facepalming"
        | "person_facepalming"
        | "eyes" => Flavour::Negative,
        _ => Flavour::Plain,
    }
}

/// Text emoticons, compared ASCII-case-insensitively.
const EMOTICONS: &[(&str, Flavour)] = &[
    (">:(", Flavour::Negative),
    (":'(", Flavour::Negative),
    (":-(", Flavour::Negative),
    (":-/", Flavour::Negative),
    (":-|", Flavour::Negative),
    ("</3", Flavour::Negative),
    (":-)", Flavour::Plain),
    (":-d", Flavour::Plain),
    (":-p", Flavour::Plain),
    (";-)", Flavour::Plain),
    (":))", Flavour::Plain),
    ("^_^", Flavour::Plain),
    (":(", Flavour::Negative),
    (":/", Flavour::Negative),
    (":\\", Flavour::Negative),
    (":|", Flavour::Negative),
    (":s", Flavour::Negative),
    (":)", Flavour::Plain),
    (":]", Flavour::Plain),
    (":d", Flavour::Plain),
    (":p", Flavour::Plain),
    (";)", Flavour::Plain),
    (";d", Flavour::Plain),
    ("=)", Flavour::Plain),
    ("=d", Flavour::Plain),
    ("^^", Flavour::Plain),
    ("<3", Flavour::Thanks),
    ("+1", Flavour::Ack),
    ("-1", Flavour::Negative),
];

/// `:name:` at the start of `chars`: (lowercased name, chars consumed).
pub(super) fn shortcode_at(chars: &[char]) -> Option<(String, usize)> {
    if chars.first() != Some(&':') {
        return None;
    }
    let mut name = String::new();
    for (k, &c) in chars.iter().enumerate().skip(1).take(MAX_SHORTCODE + 1) {
        if c == ':' {
            return if name.is_empty() { None } else { Some((name, k + 1)) };
        }
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-') {
            name.push(c.to_ascii_lowercase());
        } else {
            return None;
        }
    }
    None
}

/// A text emoticon at the start of `chars`, not followed by a letter or digit.
pub(super) fn emoticon_at(chars: &[char]) -> Option<(Flavour, usize)> {
    EMOTICONS.iter().find_map(|&(emo, flavour)| {
        let len = emo.chars().count();
        let head = chars.get(..len)?;
        let same = head.iter().zip(emo.chars()).all(|(a, b)| a.eq_ignore_ascii_case(&b));
        let boundary = chars.get(len).is_none_or(|c| !is_word_char(*c));
        (same && boundary).then_some((flavour, len))
    })
}

/// An emoji at the start of `chars` together with its modifiers and the emoji joined to it by
/// ZWJ: (flavour, chars consumed). A problem emoji anywhere in the sequence makes it a problem.
pub(super) fn emoji_at(chars: &[char]) -> Option<(Flavour, usize)> {
    let first = *chars.first().filter(|c| is_emoji(**c))?;
    let mut flavour = emoji_flavour(first);
    let mut len = 1;
    while let Some(&m) = chars.get(len) {
        if is_emoji_modifier(m) {
            len += 1;
        } else if m == ZWJ {
            len += 1;
            if let Some(&next) = chars.get(len).filter(|n| is_emoji(**n)) {
                if emoji_flavour(next) == Flavour::Negative {
                    flavour = Flavour::Negative;
                }
                len += 1;
            }
        } else {
            break;
        }
    }
    Some((flavour, len))
}
