//! The fake's views: `views.open` (a modal, with a trigger the fake issued less than 3 s ago, as
//! Slack requires) and `views.publish` (a member's App Home), checked as Slack checks them; and
//! the payloads Slack sends about views: a message shortcut, a modal's submission, a member
//! opening their home, and a press on a card in it.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use axum::response::Response;

use super::{error, ok, rand_suffix, text, Fake, FakeSlack};

/// How long Slack accepts a trigger.
const TRIGGER_LIFE: Duration = Duration::from_secs(3);

/// A modal keel opened.
#[derive(Debug, Clone)]
pub struct Modal {
    pub id: String,
    pub user: String,
    pub view: Value,
}

impl Fake {
    /// A new trigger id, good for 3 s, for `user`.
    fn trigger(&mut self, user: &str) -> String {
        self.seq += 1;
        let id = format!("{}.{}.trigger", self.seq, rand_suffix());
        self.triggers.insert(id.clone(), (user.to_string(), Instant::now()));
        id
    }
}

/// `views.open` and `views.publish`.
pub(crate) fn api(s: &mut Fake, method: &str, p: &Map<String, Value>) -> Response {
    let view = match p.get("view") {
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => return error("invalid_arguments"),
    };
    match method {
        "views.open" => {
            let Some(trigger) = text(p, "trigger_id") else {
                return error("invalid_arguments");
            };
            let Some((user, issued)) = s.triggers.get(&trigger).cloned() else {
                return error("invalid_trigger_id");
            };
            if issued.elapsed() > TRIGGER_LIFE {
                return error("expired_trigger_id");
            }
            if let Err(e) = check(&view, "modal") {
                return error(e);
            }
            s.seq += 1;
            let id = format!("V{:08}", s.seq);
            s.triggers.remove(&trigger);
            s.modals.push(Modal {
                id: id.clone(),
                user,
                view: view.clone(),
            });
            ok(json!({"view": stored(view, &id)}))
        }
        _ => {
            let Some(user) = text(p, "user_id") else {
                return error("invalid_arguments");
            };
            if !s.users.contains_key(&user) {
                return error("user_not_found");
            }
            if let Err(e) = check(&view, "home") {
                return error(e);
            }
            s.seq += 1;
            let id = format!("V{:08}", s.seq);
            s.homes.entry(user).or_default().push(view.clone());
            ok(json!({"view": stored(view, &id)}))
        }
    }
}

/// A view as Slack answers with it: with its id, team, state, hash and app.
fn stored(mut view: Value, id: &str) -> Value {
    for (key, value) in [
        ("id", json!(id)),
        ("team_id", json!("TTEAM")),
        ("state", json!({"values": {}})),
        ("hash", json!(format!("{}.{id}", rand_suffix()))),
        ("root_view_id", json!(id)),
        ("app_id", json!("AKEEL")),
        ("bot_id", json!("BKEEL")),
    ] {
        view[key] = value;
    }
    view
}

/// A view as Slack checks it: its type, at most 100 blocks of the kinds keel uses (a modal's
/// inputs with a label and an element of a known type, action ids unique in their block), a
/// modal's title and buttons of at most 24 characters, and a submit button when it has inputs.
fn check(view: &Value, kind: &str) -> Result<(), &'static str> {
    if view["type"].as_str() != Some(kind) {
        return Err("invalid_arguments");
    }
    let blocks = view["blocks"].as_array().ok_or("invalid_arguments")?;
    if blocks.len() > 100 {
        return Err("invalid_arguments");
    }
    let short = |v: &Value| {
        v["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty() && t.chars().count() <= 24)
    };
    if kind == "modal" {
        let inputs = blocks.iter().any(|b| b["type"] == "input");
        if !short(&view["title"]) || (inputs && !short(&view["submit"])) {
            return Err("invalid_arguments");
        }
        if view["private_metadata"]
            .as_str()
            .is_some_and(|m| m.chars().count() > 3000)
        {
            return Err("invalid_arguments");
        }
    }
    for block in blocks {
        let fine = match block["type"].as_str() {
            Some("input") => kind == "modal" && input(block),
            Some("header") => block["text"]["text"].as_str().is_some_and(|t| t.chars().count() <= 150),
            Some("divider") => true,
            Some(_) => super::blocks(&Map::from_iter([("blocks".to_string(), json!([block]))])).is_ok(),
            None => false,
        };
        if !fine {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

/// An input block: a label, and a text input, select, people picker or date picker.
fn input(block: &Value) -> bool {
    let label = block["label"]["text"].as_str().is_some_and(|t| !t.is_empty());
    let element = &block["element"];
    let known = match element["type"].as_str() {
        Some("plain_text_input" | "users_select") => true,
        Some("static_select") => element["options"]
            .as_array()
            .is_some_and(|o| (1..=100).contains(&o.len())),
        Some("datepicker") => element
            .get("initial_date")
            .is_none_or(|d| d.as_str().is_some_and(super::is_date)),
        _ => false,
    };
    label && known && element["action_id"].as_str().is_some()
}

impl FakeSlack {
    /// `user` chooses "Track as task" (callback `callback_id`) in the menu of the message a
    /// `user_says` event is about: the `message_action` payload Slack sends, with a fresh trigger.
    pub fn message_shortcut(&self, said: &Value, user: &str, team: &str, callback_id: &str) -> Value {
        let event = &said["event"];
        self.with(|s| {
            let trigger = s.trigger(user);
            let mut message = json!({"type": "message", "user": event["user"], "text": event["text"],
                                     "ts": event["ts"], "team": event["team"], "user_team": event["user_team"]});
            if let Some(thread) = event.get("thread_ts") {
                message["thread_ts"] = thread.clone();
            }
            json!({
                "type": "message_action",
                "token": "legacy",
                "action_ts": format!("1795600100.{:06}", rand_suffix()),
                "team": {"id": "TTEAM", "domain": "team"},
                "user": {"id": user, "username": user, "name": user, "team_id": team},
                "channel": {"id": event["channel"], "name": event["channel"]},
                "is_enterprise_install": false,
                "callback_id": callback_id,
                "trigger_id": trigger,
                "message_ts": event["ts"],
                "message": message,
                "response_url": "https://hooks.slack.com/app/TTEAM/1/fake",
            })
        })
    }

    /// A trigger for a `/keel` command of `user`, as Slack gives with every command.
    pub fn slash_trigger(&self, user: &str) -> String {
        self.with(|s| s.trigger(user))
    }

    /// The modals keel opened, in order.
    pub fn modals(&self) -> Vec<Modal> {
        self.with(|s| s.modals.clone())
    }

    /// `user` submits modal `id` as it stands, with `changes` (block id → value: a text, a
    /// select's value, a user id or a `YYYY-MM-DD` date; `""` clears the field): the
    /// `view_submission` payload Slack sends.
    pub fn submit(&self, id: &str, user: &str, team: &str, changes: &[(&str, &str)]) -> Option<Value> {
        let modal = self.with(|s| s.modals.iter().find(|m| m.id == id).cloned())?;
        let mut values = Map::new();
        for block in modal.view["blocks"].as_array()?.iter().filter(|b| b["type"] == "input") {
            let block_id = block["block_id"].as_str()?;
            let element = &block["element"];
            let changed = changes.iter().find(|(b, _)| *b == block_id).map(|(_, v)| *v);
            let state = state(element, changed)?;
            values.insert(block_id.to_string(), json!({element["action_id"].as_str()?: state}));
        }
        let mut view = modal.view.clone();
        view["id"] = json!(modal.id);
        view["state"] = json!({"values": values});
        view["hash"] = json!(format!("{}.hash", rand_suffix()));
        Some(json!({
            "type": "view_submission",
            "team": {"id": "TTEAM", "domain": "team"},
            "user": {"id": user, "username": user, "name": user, "team_id": team},
            "api_app_id": "AKEEL",
            "token": "legacy",
            "trigger_id": format!("{}.{}.trigger", 1795600200, rand_suffix()),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": false,
        }))
    }

    /// `user` opens keel's Home tab: the `app_home_opened` event Slack sends.
    pub fn home_opened(&self, user: &str) -> Value {
        self.with(|s| {
            let ts = s.next_ts();
            let view = s.homes.get(user).and_then(|h| h.last().cloned());
            let mut event = json!({"type": "app_home_opened", "user": user, "channel": format!("D{user}"),
                                   "tab": "home", "event_ts": ts});
            if let Some(view) = view {
                event["view"] = view;
            }
            s.callback(event)
        })
    }

    /// The homes published for `user`, oldest first.
    pub fn homes(&self, user: &str) -> Vec<Value> {
        self.with(|s| s.homes.get(user).cloned().unwrap_or_default())
    }

    /// `user` presses the button labelled `label` on the card headed `#<task> …` in their home:
    /// the `block_actions` payload Slack sends from a home tab.
    pub fn press_in_home(&self, user: &str, team: &str, task: i64, label: &str) -> Option<Value> {
        let home = self.homes(user).pop()?;
        let blocks = home["blocks"].as_array()?;
        let heading = format!("*#{task} ");
        let start = blocks.iter().position(|b| {
            b["type"] == "section" && b["text"]["text"].as_str().is_some_and(|t| t.starts_with(&heading))
        })?;
        let button = blocks[start..]
            .iter()
            .skip(1)
            .take_while(|b| b["type"] != "section" && b["type"] != "header")
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .find(|e| e["type"] == "button" && e["text"]["text"] == label)?;
        let trigger = self.with(|s| s.trigger(user));
        Some(json!({
            "type": "block_actions",
            "user": {"id": user, "username": user, "name": user, "team_id": team},
            "api_app_id": "AKEEL",
            "team": {"id": "TTEAM", "domain": "team"},
            "container": {"type": "view", "view_id": "VHOME"},
            "trigger_id": trigger,
            "view": {"id": "VHOME", "type": "home", "blocks": home["blocks"]},
            "actions": [{"type": "button", "block_id": "b", "action_id": button["action_id"],
                         "value": button["value"], "text": button["text"],
                         "action_ts": format!("1795600300.{:06}", rand_suffix())}],
        }))
    }
}

/// An input's value in `view.state.values`, as Slack reports it: the change, else the initial
/// value the person left.
fn state(element: &Value, changed: Option<&str>) -> Option<Value> {
    let kind = element["type"].as_str()?;
    let value = |initial: Option<&str>| changed.or(initial).filter(|v| !v.is_empty()).map(str::to_string);
    Some(match kind {
        "plain_text_input" => json!({"type": kind, "value": value(element["initial_value"].as_str())}),
        "users_select" => json!({"type": kind, "selected_user": value(element["initial_user"].as_str())}),
        "datepicker" => json!({"type": kind, "selected_date": value(element["initial_date"].as_str())}),
        "static_select" => {
            let chosen = value(element["initial_option"]["value"].as_str());
            let option = element["options"]
                .as_array()?
                .iter()
                .find(|o| chosen.as_deref().is_some_and(|c| o["value"] == c))
                .cloned();
            json!({"type": kind, "selected_option": option})
        }
        _ => return None,
    })
}
