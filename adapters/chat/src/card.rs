//! A task's card: what a request is and where it stands, with the buttons that act on it. The
//! core decides what a card says and which commands its buttons run; each adapter shows it its
//! own way (Block Kit on Slack, HTML on Matrix, text in the console) and hands a press back as
//! [`crate::InboundKind::Action`] with [`CARD_ACTION`] as its id and the command as its value.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Choice;

/// The action id of a card's buttons, menu entries and date picker: the value is the command
/// to run, as a member would type it (`take #12`, `due #12 2026-12-10`).
pub const CARD_ACTION: &str = "card";

/// One labelled value on a card (`Owner` · `@kim`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

/// A date to pick on a card: the command the chosen date completes (`due #12` → `due #12
/// 2026-12-10`) and the date it shows first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatePick {
    pub label: String,
    pub command: String,
    pub initial: Option<NaiveDate>,
}

impl DatePick {
    /// The command for a chosen date.
    pub fn command_for(&self, date: NaiveDate) -> String {
        format!("{} {}", self.command, date.format("%Y-%m-%d"))
    }
}

/// A task's card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// The task's number.
    pub task: i64,
    /// The heading: `#12 Q3 invoice export`.
    pub title: String,
    /// The card in one line, as keel says it in text (`#12 opened: "Q3 invoice export" · client
    /// acme · due …`).
    pub summary: String,
    pub fields: Vec<Field>,
    /// What keel could not settle (a due date that reads two ways), shown under the fields.
    pub notes: Vec<String>,
    /// The buttons, in order; a choice's value is the command it runs. None once the task is
    /// closed.
    pub buttons: Vec<Choice>,
    /// Less common commands, behind a menu (snoozing).
    pub menu: Vec<Choice>,
    pub date: Option<DatePick>,
    /// How to act on the card without buttons (reactions, typed commands).
    pub hint: String,
}

impl Card {
    /// The card in one line: the console, notifications, the fallback of a platform's layout.
    pub fn text(&self) -> String {
        self.summary.clone()
    }

    /// The card as plain text for people who act by reactions (Matrix's `body`): its line, then
    /// how to act.
    pub fn text_with_hint(&self) -> String {
        match self.hint.is_empty() {
            true => self.summary.clone(),
            false => format!("{}\n{}", self.summary, self.hint),
        }
    }

    /// The card as HTML (Matrix's `formatted_body`): the heading in bold, the fields as a list,
    /// the notes, the hint in italics; everything escaped.
    pub fn html(&self) -> String {
        let mut html = format!("<p><strong>{}</strong></p>", escape(&self.title));
        if !self.fields.is_empty() {
            html.push_str("<ul>");
            for f in &self.fields {
                html.push_str(&format!("<li><b>{}</b>: {}</li>", escape(&f.label), escape(&f.value)));
            }
            html.push_str("</ul>");
        }
        for note in &self.notes {
            html.push_str(&format!("<p>{}</p>", escape(note)));
        }
        if !self.hint.is_empty() {
            html.push_str(&format!("<p><em>{}</em></p>", escape(&self.hint)));
        }
        html
    }
}

/// Text as HTML shows it literally.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> Card {
        Card {
            task: 12,
            title: "#12 Export <all> & more".into(),
            summary: "#12 opened: \"Export <all> & more\" · owner @kim".into(),
            fields: vec![
                Field {
                    label: "Owner".into(),
                    value: "@kim".into(),
                },
                Field {
                    label: "Status".into(),
                    value: "open".into(),
                },
            ],
            notes: vec!["no due date yet".into()],
            buttons: vec![Choice {
                label: "Take".into(),
                value: "take #12".into(),
            }],
            menu: Vec::new(),
            date: Some(DatePick {
                label: "Set due date".into(),
                command: "due #12".into(),
                initial: None,
            }),
            hint: "React 👀 to take it, ✅ when done.".into(),
        }
    }

    #[test]
    fn text_is_the_summary_and_then_the_hint() {
        assert_eq!(card().text(), "#12 opened: \"Export <all> & more\" · owner @kim");
        assert_eq!(
            card().text_with_hint(),
            "#12 opened: \"Export <all> & more\" · owner @kim\nReact 👀 to take it, ✅ when done."
        );
    }

    #[test]
    fn html_escapes_what_people_wrote() {
        let html = card().html();
        assert!(html.starts_with("<p><strong>#12 Export &lt;all&gt; &amp; more</strong></p>"));
        assert!(html.contains("<li><b>Owner</b>: @kim</li>"));
        assert!(html.contains("<p>no due date yet</p>"));
        assert!(!html.contains("<all>"));
    }

    #[test]
    fn a_picked_date_completes_the_command() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        assert_eq!(card().date.unwrap().command_for(date), "due #12 2026-12-10");
    }
}
