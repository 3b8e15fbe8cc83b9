//! Slack views: keel's forms as modals (`views.open`), a member's home as their App Home
//! (`views.publish`), and a submitted modal read back.
//!
//! Each form field is an input block whose block id and action id are the field's id, so a
//! submission's `view.state.values` reads back by field. The modal's `private_metadata` carries
//! the conversation the form was asked in and the core's context, `{"c": …, "k": …}`: a
//! submission arrives without a channel.

use keel_chat::{Card, Form, FormField, Home, Input, Values};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

use crate::card::{self, cut};

/// Slack's limits: 100 blocks to a view, 24 characters to a modal's title and buttons, 100
/// options to a select, 3,000 characters of private metadata.
const MAX_BLOCKS: usize = 100;
const MAX_TITLE: usize = 24;
const MAX_OPTIONS: usize = 100;
const MAX_METADATA: usize = 3000;

/// The modal of a form asked for in `conversation`; `None` when its context is too long to
/// travel with it.
pub(crate) fn modal(form: &Form, conversation: &str) -> Option<SlackView> {
    let metadata = json!({"c": conversation, "k": form.context}).to_string();
    if metadata.len() > MAX_METADATA {
        return None;
    }
    let blocks = form.fields.iter().map(input).collect();
    Some(SlackView::Modal(
        SlackModalView::new(plain(&form.title, MAX_TITLE), blocks)
            .with_submit(plain(&form.submit, MAX_TITLE))
            .with_close(plain("Cancel", MAX_TITLE))
            .with_callback_id(form.id.clone().into())
            .with_private_metadata(metadata),
    ))
}

fn plain(text: &str, max: usize) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(cut(text, max).as_str())
}

/// One field as an input block.
fn input(field: &FormField) -> SlackBlock {
    let id: SlackActionId = field.id.clone().into();
    let element = match &field.input {
        Input::Text { initial, multiline } => {
            let mut text = SlackBlockPlainTextInputElement::new()
                .with_action_id(id)
                .with_multiline(*multiline);
            if !initial.is_empty() {
                text = text.with_initial_value(cut(initial, 3000));
            }
            SlackInputBlockElement::PlainTextInput(text)
        }
        Input::Pick { options, initial } => {
            let items: Vec<_> = options
                .iter()
                .take(MAX_OPTIONS)
                .map(|o| SlackBlockChoiceItem::new(plain(&o.label, 75), o.value.clone()))
                .collect();
            let chosen = initial
                .as_ref()
                .and_then(|v| items.iter().find(|i| i.value == *v).cloned());
            let mut select = SlackBlockStaticSelectElement::new()
                .with_action_id(id)
                .with_options(items);
            if let Some(item) = chosen {
                select = select.with_initial_option(item);
            }
            SlackInputBlockElement::StaticSelect(select)
        }
        Input::Person { initial } => {
            let mut select = SlackBlockUsersSelectElement::new().with_action_id(id);
            if let Some(user) = initial {
                select = select.with_initial_user(user.clone());
            }
            SlackInputBlockElement::UsersSelect(select)
        }
        Input::Date { initial } => {
            let mut picker = SlackBlockDatePickerElement::new().with_action_id(id);
            if let Some(date) = initial {
                picker = picker.with_initial_date(date.format("%Y-%m-%d").to_string());
            }
            SlackInputBlockElement::DatePicker(picker)
        }
    };
    SlackBlock::Input(
        SlackInputBlock::new(plain(&field.label, 2000), element)
            .with_block_id(field.id.clone().into())
            .with_optional(field.optional),
    )
}

/// A `view_submission`'s form id, the conversation it was asked in, its context and values.
pub(crate) fn submission(payload: &Value) -> Option<(String, String, String, Values)> {
    let view = &payload["view"];
    let form = view["callback_id"].as_str()?.to_string();
    let metadata: Value = serde_json::from_str(view["private_metadata"].as_str()?).ok()?;
    let conversation = metadata["c"].as_str()?.to_string();
    let context = metadata["k"].as_str().unwrap_or_default().to_string();
    let mut values = Values::new();
    for (block, actions) in view["state"]["values"].as_object()?.iter() {
        let Some(action) = actions.as_object().and_then(|a| a.values().next()) else {
            continue;
        };
        let value = match action["type"].as_str() {
            Some("plain_text_input") => action["value"].as_str(),
            Some("static_select") => action["selected_option"]["value"].as_str(),
            Some("users_select") => action["selected_user"].as_str(),
            Some("datepicker") => action["selected_date"].as_str(),
            _ => None,
        };
        if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
            values.insert(block.clone(), value.to_string());
        }
    }
    Some((form, conversation, context, values))
}

/// A member's App Home: each section a header, its lines, its cards (without the lines on how
/// to act by reaction, which a home has no use for) and what did not fit, within Slack's 100
/// blocks.
pub(crate) fn home(home: &Home) -> SlackView {
    let mut blocks: Vec<SlackBlock> = Vec::new();
    for section in &home.sections {
        let mut part = vec![SlackBlock::Header(SlackHeaderBlock::new(plain(&section.heading, 150)))];
        if !section.lines.is_empty() {
            let text = cut(&section.lines.join("\n"), 3000);
            part.push(SlackBlock::Section(
                SlackSectionBlock::new().with_text(SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text))),
            ));
        }
        for c in &section.cards {
            part.extend(card::blocks(&Card {
                hint: String::new(),
                ..c.clone()
            }));
            part.push(SlackBlock::Divider(SlackDividerBlock::new()));
        }
        if let Some(more) = &section.more {
            part.push(SlackBlock::Context(SlackContextBlock::new(vec![
                SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(cut(more, 3000))),
            ])));
        }
        if blocks.len() + part.len() > MAX_BLOCKS {
            break;
        }
        blocks.extend(part);
    }
    SlackView::Home(SlackHomeView::new(blocks))
}

/// True for a press on a card in a member's home (no message, no channel).
pub(crate) fn from_home(payload: &Value) -> bool {
    payload["container"]["type"].as_str() == Some("view") && payload["view"]["type"].as_str() == Some("home")
}
