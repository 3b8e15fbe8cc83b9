//! A task's card as Block Kit: the heading and fields in a section, the notes and the hint as
//! context, and a row of controls: one button per command (`card:<n>`, unique in the message as
//! Slack requires, the command as its value), the menu as an overflow (`card:menu`, each entry's
//! value its command) and the date picker (`card:<command>`, completed by the chosen date when
//! pressed). [`action`] reads a press back.

use keel_chat::{Card, CARD_ACTION};
use slack_morphism::prelude::*;

/// The prefix of every card control's action id.
const PREFIX: &str = "card:";
/// The action id of the card's overflow menu.
const MENU: &str = "card:menu";
/// Slack's limits: 10 fields to a section, 2,000 characters to a field, 3,000 to a text.
const MAX_FIELDS: usize = 10;
const MAX_FIELD: usize = 2000;
const MAX_TEXT: usize = 3000;

/// The card's blocks.
pub(crate) fn blocks(card: &Card) -> Vec<SlackBlock> {
    let fields: Vec<SlackBlockText> = card
        .fields
        .iter()
        .take(MAX_FIELDS)
        .map(|f| markdown(&cut(&format!("*{}*\n{}", f.label, f.value), MAX_FIELD)))
        .collect();
    let mut section = SlackSectionBlock::new().with_text(markdown(&cut(&format!("*{}*", card.title), MAX_TEXT)));
    if !fields.is_empty() {
        section = section.with_fields(fields);
    }
    let mut blocks = vec![SlackBlock::Section(section)];
    let context: Vec<SlackContextBlockElement> = card
        .notes
        .iter()
        .chain(std::iter::once(&card.hint).filter(|h| !h.is_empty()))
        .take(10)
        .map(|t| SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(cut(t, MAX_TEXT))))
        .collect();
    if !context.is_empty() {
        blocks.push(SlackBlock::Context(SlackContextBlock::new(context)));
    }
    let mut controls: Vec<SlackActionBlockElement> = card
        .buttons
        .iter()
        .enumerate()
        .map(|(n, choice)| {
            let mut button =
                SlackBlockButtonElement::new(SlackBlockPlainTextOnly::from(cut(&choice.label, 75).as_str()))
                    .with_action_id(format!("{PREFIX}{n}").into())
                    .with_value(choice.value.clone());
            if n == 0 {
                button = button.with_style(SlackBlockButtonStyle::Primary);
            }
            SlackActionBlockElement::Button(button)
        })
        .collect();
    if !card.menu.is_empty() {
        let options = card
            .menu
            .iter()
            .take(5)
            .map(|c| {
                SlackBlockChoiceItem::new(
                    SlackBlockPlainTextOnly::from(cut(&c.label, 75).as_str()),
                    c.value.clone(),
                )
            })
            .collect();
        controls.push(SlackActionBlockElement::Overflow(
            SlackBlockOverflowElement::new(options).with_action_id(MENU.into()),
        ));
    }
    if let Some(date) = &card.date {
        let mut picker = SlackBlockDatePickerElement::new()
            .with_action_id(format!("{PREFIX}{}", date.command).into())
            .with_placeholder(SlackBlockPlainTextOnly::from(cut(&date.label, 150).as_str()));
        if let Some(initial) = date.initial {
            picker = picker.with_initial_date(initial.format("%Y-%m-%d").to_string());
        }
        controls.push(SlackActionBlockElement::DatePicker(picker));
    }
    if !controls.is_empty() {
        blocks.push(SlackBlock::Actions(SlackActionsBlock::new(controls)));
    }
    blocks
}

/// A card control's press (one entry of a `block_actions` payload's `actions`) as keel's card
/// action: the command it runs. None for anything else (a survey's buttons).
pub(crate) fn action(action: &serde_json::Value) -> Option<(String, String)> {
    let id = action["action_id"].as_str()?.strip_prefix(PREFIX)?;
    let command = match action["type"].as_str()? {
        "button" => action["value"].as_str()?.to_string(),
        "overflow" if id == "menu" => action["selected_option"]["value"].as_str()?.to_string(),
        "datepicker" => {
            let date = action["selected_date"].as_str()?;
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
            format!("{id} {date}")
        }
        _ => return None,
    };
    Some((CARD_ACTION.to_string(), command))
}

fn markdown(text: &str) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text.to_string()))
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_chat::{Choice, DatePick, Field};
    use serde_json::json;

    fn card() -> Card {
        Card {
            task: 12,
            title: "#12 Q3 invoice export".into(),
            summary: "#12 opened".into(),
            fields: vec![Field {
                label: "Owner".into(),
                value: "nobody yet".into(),
            }],
            notes: Vec::new(),
            buttons: vec![
                Choice {
                    label: "Take".into(),
                    value: "take #12".into(),
                },
                Choice {
                    label: "Done".into(),
                    value: "done #12".into(),
                },
            ],
            menu: vec![Choice {
                label: "Snooze 1 day".into(),
                value: "snooze #12 tomorrow".into(),
            }],
            date: Some(DatePick {
                label: "Set due date".into(),
                command: "due #12".into(),
                initial: chrono::NaiveDate::from_ymd_opt(2026, 12, 10),
            }),
            hint: "React 👀 to take it.".into(),
        }
    }

    #[test]
    fn the_card_is_a_section_a_context_and_one_row_of_controls() {
        let blocks = serde_json::to_value(blocks(&card())).unwrap();
        assert_eq!(blocks[0]["type"], "section");
        assert_eq!(blocks[0]["fields"][0]["text"], "*Owner*\nnobody yet");
        assert_eq!(blocks[1]["type"], "context");
        let controls = &blocks[2]["elements"];
        assert_eq!(controls[0]["action_id"], "card:0");
        assert_eq!(controls[0]["value"], "take #12");
        assert_eq!(controls[0]["style"], "primary");
        assert_eq!(controls[1]["action_id"], "card:1");
        assert_eq!(controls[2]["type"], "overflow");
        assert_eq!(controls[3]["type"], "datepicker");
        assert_eq!(controls[3]["initial_date"], "2026-12-10");
    }

    #[test]
    fn presses_read_back_as_the_commands_they_carry() {
        let button = json!({"type": "button", "action_id": "card:0", "value": "take #12", "action_ts": "1.2"});
        assert_eq!(action(&button), Some(("card".into(), "take #12".into())));
        let menu =
            json!({"type": "overflow", "action_id": "card:menu", "selected_option": {"value": "snooze #12 tomorrow"}});
        assert_eq!(action(&menu), Some(("card".into(), "snooze #12 tomorrow".into())));
        let date = json!({"type": "datepicker", "action_id": "card:due #12", "selected_date": "2026-12-10"});
        assert_eq!(action(&date), Some(("card".into(), "due #12 2026-12-10".into())));
        let bad_date = json!({"type": "datepicker", "action_id": "card:due #12", "selected_date": "tomorrow"});
        assert_eq!(action(&bad_date), None);
        let survey = json!({"type": "button", "action_id": "survey_3", "value": "9"});
        assert_eq!(action(&survey), None);
    }
}
