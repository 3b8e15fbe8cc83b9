//! Slack's events, slash commands and interactions as keel's `Inbound` values; the same for the
//! Events API and Socket Mode.
//!
//! Event ids are made from what Slack means, not from the delivery: a message is
//! `msg:{channel}:{ts}` whether it came as `message` or as `app_mention`, first delivery or
//! retry, so the core's dedupe keeps exactly one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use keel_chat::quotes::without_quotes;
use keel_chat::{Conversation, Inbound, InboundKind, Named, Quoted, Speaker, TRACK_FORM};
use serde_json::Value;
use slack_morphism::prelude::*;
use tokio::sync::Mutex;

use crate::{Slack, NAME};

/// How long a user's name, time zone and team are trusted before `users.info` is asked again.
const USER_TTL: Duration = Duration::from_secs(3600);

#[derive(Clone)]
struct User {
    name: String,
    tz: Option<String>,
    external: bool,
}

/// Turns Slack payloads into `Inbound` values.
#[derive(Clone)]
pub struct Translator {
    slack: Slack,
    /// keel's user id, its workspace's team id and the workspace's URL (`auth.test`).
    me: Arc<Mutex<Option<(String, String, String)>>>,
    users: Arc<Mutex<HashMap<String, (User, Instant)>>>,
    /// The workspace's people (`users.list`): id, who they are, the names they go by (lowercase),
    /// and when it was read.
    directory: Arc<Mutex<Option<Directory>>>,
}

/// One person of the workspace's directory: their id, who they are, and the names they go by
/// (lowercase: display name, real names, user name).
struct Listed {
    id: String,
    user: User,
    names: Vec<String>,
}

/// The workspace's people and when they were read.
type Directory = (Vec<Listed>, Instant);

/// How often, at most, `users.list` is read again because a name was not in it (the method is
/// in Slack's tier 2: about 20 calls a minute).
const DIRECTORY_REFRESH: Duration = Duration::from_secs(60);

/// `U0123ABC` or `W0123ABC`: the shape of Slack's user ids.
fn user_id(reference: &str) -> bool {
    reference.len() >= 9
        && reference.starts_with(['U', 'W'])
        && reference.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A Slack `ts` (`1795600000.000100`) as an instant.
fn instant(ts: &str) -> DateTime<Utc> {
    let seconds = ts
        .split('.')
        .next()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_default();
    DateTime::<Utc>::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
}

/// A Slack user as keel sees them: their shown name, zone, and whether they are a client user (a
/// guest, or of another workspace than keel's).
fn person(u: &SlackUser, user_team: Option<&str>, own_team: Option<&str>) -> User {
    let team = u
        .team_id
        .as_ref()
        .map(|t| t.to_string())
        .or(user_team.map(str::to_string));
    let guest = u.flags.is_restricted == Some(true) || u.flags.is_ultra_restricted == Some(true);
    let name = u
        .profile
        .as_ref()
        .and_then(|p| p.display_name.clone())
        .filter(|n| !n.is_empty())
        .or(u.name.clone())
        .or(u.real_name.clone())
        .unwrap_or_else(|| u.id.to_string());
    User {
        name,
        tz: u.tz.clone(),
        external: guest || matches!((team.as_deref(), own_team), (Some(t), Some(own)) if t != own),
    }
}

fn as_speaker(id: &str, u: User) -> Speaker {
    Speaker {
        id: id.to_string(),
        name: u.name,
        external: u.external,
        client_hint: None,
        tz: u.tz,
    }
}

/// Slack's reaction names for the emoji keel acts on.
fn emoji(name: &str) -> String {
    match name {
        "ticket" | "admission_tickets" => "🎫",
        "eyes" => "👀",
        "white_check_mark" | "heavy_check_mark" => "✅",
        "+1" | "thumbsup" => "👍",
        "-1" | "thumbsdown" => "👎",
        other => return format!(":{other}:"),
    }
    .to_string()
}

impl Translator {
    pub fn new(slack: Slack) -> Translator {
        Translator {
            slack,
            me: Arc::new(Mutex::new(None)),
            users: Arc::new(Mutex::new(HashMap::new())),
            directory: Arc::new(Mutex::new(None)),
        }
    }

    /// keel's user id and team id, asked once.
    async fn me(&self) -> Option<(String, String)> {
        self.auth().await.map(|(user, team, _)| (user, team))
    }

    /// keel's user id, team id and workspace URL (`https://team.slack.com/`), asked once.
    async fn auth(&self) -> Option<(String, String, String)> {
        let mut me = self.me.lock().await;
        if me.is_none() {
            let session = self.slack.client.open_session(&self.slack.token);
            match session.auth_test().await {
                Ok(who) => *me = Some((who.user_id.to_string(), who.team_id.to_string(), who.url.0.to_string())),
                Err(e) => tracing::warn!(error = %e, "auth.test failed; will ask again"),
            }
        }
        me.clone()
    }

    /// A message's permalink, as `chat.getPermalink` gives it: the workspace's URL, then
    /// `archives/<channel>/p<ts without its dot>`, and for a reply in a thread
    /// `?thread_ts=<root>&cid=<channel>`. Built from `auth.test`'s URL rather than asked per
    /// message, which would cost a Web API call for every message keel sees.
    async fn permalink(&self, channel: &str, ts: &str, thread: Option<&str>) -> Option<String> {
        let (_, _, url) = self.auth().await?;
        let mut link = format!(
            "{}/archives/{channel}/p{}",
            url.trim_end_matches('/'),
            ts.replace('.', "")
        );
        if let Some(root) = thread {
            link.push_str(&format!("?thread_ts={root}&cid={channel}"));
        }
        Some(link)
    }

    /// Who a user is: from the cache, or `users.info`. A user of another workspace (Slack
    /// Connect) or a guest is a client user.
    async fn user(&self, id: &str, user_team: Option<&str>) -> User {
        if let Some(user) = self.looked_up(id, user_team).await {
            return user;
        }
        // Without an answer, the event's own team tells as much as it can.
        let own_team = self.me().await.map(|(_, team)| team);
        let external = matches!((user_team, &own_team), (Some(t), Some(own)) if t != own);
        User {
            name: id.to_string(),
            tz: None,
            external,
        }
    }

    /// Who a user is, from the cache or `users.info`; `None` when Slack does not say.
    async fn looked_up(&self, id: &str, user_team: Option<&str>) -> Option<User> {
        if let Some((user, at)) = self.users.lock().await.get(id) {
            if at.elapsed() < USER_TTL {
                return Some(user.clone());
            }
        }
        let own_team = self.me().await.map(|(_, team)| team);
        let session = self.slack.client.open_session(&self.slack.token);
        let user = match session.users_info(&SlackApiUsersInfoRequest::new(id.into())).await {
            Ok(info) => person(&info.user, user_team, own_team.as_deref()),
            Err(e) => {
                tracing::warn!(user = id, error = %e, "users.info failed");
                return None;
            }
        };
        self.users
            .lock()
            .await
            .insert(id.to_string(), (user.clone(), Instant::now()));
        Some(user)
    }

    /// The people a command names, as Slack knows them: `<@U0123>` through `users.info`, a
    /// plain `@kim` by display name, user name or real name in the workspace's directory.
    async fn named(&self, text: &str) -> Vec<Named> {
        let own = self.me().await.map(|(me, _)| me);
        let mut out = Vec::new();
        for reference in keel_chat::person_references(text) {
            if own.as_deref() == Some(reference.as_str()) || reference.eq_ignore_ascii_case("keel") {
                continue;
            }
            let mention = text.contains(&format!("<@{reference}>")) || text.contains(&format!("<@{reference}|"));
            let candidates = if mention || user_id(&reference) {
                let found = self.looked_up(&reference, None).await;
                found.into_iter().map(|u| as_speaker(&reference, u)).collect()
            } else {
                self.in_directory(&reference).await
            };
            out.push(Named { reference, candidates });
        }
        out
    }

    /// The people a plain name fits in the workspace's directory, read again (at most once a
    /// minute) when it fits nobody.
    async fn in_directory(&self, name: &str) -> Vec<Speaker> {
        let name = name.to_lowercase();
        let fits = |people: &[Listed]| -> Vec<Speaker> {
            people
                .iter()
                .filter(|p| p.names.contains(&name))
                .map(|p| as_speaker(&p.id, p.user.clone()))
                .collect()
        };
        let mut directory = self.directory.lock().await;
        if let Some((people, read_at)) = directory.as_ref() {
            let found = fits(people);
            if !found.is_empty() || read_at.elapsed() < DIRECTORY_REFRESH {
                return found;
            }
        }
        match self.read_directory().await {
            Some(people) => {
                let found = fits(&people);
                *directory = Some((people, Instant::now()));
                found
            }
            None => directory.as_ref().map(|(people, _)| fits(people)).unwrap_or_default(),
        }
    }

    /// Every active person of the workspace (`users.list`, page by page).
    async fn read_directory(&self) -> Option<Vec<Listed>> {
        let own_team = self.me().await.map(|(_, team)| team);
        let session = self.slack.client.open_session(&self.slack.token);
        let mut people = Vec::new();
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..50 {
            let request = SlackApiUsersListRequest::new()
                .with_limit(200)
                .opt_cursor(cursor.clone());
            let page = match session.users_list(&request).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "users.list failed");
                    return None;
                }
            };
            for u in &page.members {
                if u.deleted == Some(true) || u.flags.is_bot == Some(true) {
                    continue;
                }
                let names: Vec<String> = [
                    u.profile.as_ref().and_then(|p| p.display_name.clone()),
                    u.profile.as_ref().and_then(|p| p.real_name.clone()),
                    u.name.clone(),
                    u.real_name.clone(),
                ]
                .into_iter()
                .flatten()
                .filter(|n| !n.is_empty())
                .map(|n| n.to_lowercase())
                .collect();
                people.push(Listed {
                    id: u.id.to_string(),
                    user: person(u, None, own_team.as_deref()),
                    names,
                });
            }
            cursor = page
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.0.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Some(people)
    }

    async fn speaker(&self, id: &str, user_team: Option<&str>) -> Speaker {
        let user = self.user(id, user_team).await;
        Speaker {
            id: id.to_string(),
            name: user.name,
            external: user.external,
            client_hint: None,
            tz: user.tz,
        }
    }

    /// A message's text for keel: `<@KEEL>` anywhere makes it addressed to keel (and is removed).
    async fn addressed(&self, body: &str) -> (String, bool) {
        let Some((me, _)) = self.me().await else {
            return (body.trim().to_string(), false);
        };
        let mention = format!("<@{me}>");
        if body.contains(&mention) {
            let text = body.replacen(&mention, "", 1);
            (text.trim_start_matches([':', ',', ' ']).trim().to_string(), true)
        } else {
            (body.trim().to_string(), false)
        }
    }

    /// An `event_callback` payload (Events API body, or a Socket Mode `events_api` envelope's).
    pub async fn event(&self, payload: &Value) -> Vec<Inbound> {
        let event = &payload["event"];
        let kind = event["type"].as_str().unwrap_or_default();
        let channel = text(event, "channel").unwrap_or_default();
        let own = self.me().await.map(|(me, _)| me);
        let user = text(event, "user").unwrap_or_default();
        if own.as_deref() == Some(user.as_str()) || event.get("bot_id").is_some() {
            return Vec::new();
        }
        let conversation = Conversation {
            id: channel.clone(),
            name: channel.clone(),
            direct: event["channel_type"].as_str() == Some("im") || channel.starts_with('D'),
        };
        match kind {
            "message" | "app_mention" => self.message(event, kind, &channel, &user, conversation).await,
            "reaction_added" => self.reaction(event, &user).await,
            "app_home_opened" if event["tab"].as_str() == Some("home") => vec![Inbound {
                adapter: NAME.into(),
                event_id: format!("home:{user}:{}", event["event_ts"].as_str().unwrap_or_default()),
                at: text(event, "event_ts").map(|t| instant(&t)).unwrap_or_else(Utc::now),
                speaker: self.speaker(&user, None).await,
                conversation,
                message_id: String::new(),
                thread: None,
                reply_to: None,
                permalink: None,
                named: Vec::new(),
                kind: InboundKind::HomeOpened,
            }],
            "member_joined_channel" => {
                // Nothing to record (PRODUCT.md gives joining no meaning); learning who the
                // newcomer is now saves the `users.info` round trip on their first message.
                self.user(&user, event["team"].as_str()).await;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// A `message` (new, or an edit of one) or an `app_mention` event.
    async fn message(
        &self,
        event: &Value,
        kind: &str,
        channel: &str,
        user: &str,
        conversation: Conversation,
    ) -> Vec<Inbound> {
        let subtype = event["subtype"].as_str();
        if subtype == Some("message_changed") {
            let edited = &event["message"];
            let (Some(ts), Some(body), Some(editor)) = (text(edited, "ts"), text(edited, "text"), text(edited, "user"))
            else {
                return Vec::new();
            };
            let edit_ts = text(edited.get("edited").unwrap_or(&Value::Null), "ts").unwrap_or_default();
            return vec![Inbound {
                adapter: NAME.into(),
                event_id: format!("edit:{channel}:{ts}:{edit_ts}"),
                at: instant(&edit_ts),
                speaker: self.speaker(&editor, None).await,
                conversation,
                message_id: ts.clone(),
                thread: None,
                reply_to: None,
                permalink: None,
                named: Vec::new(),
                kind: InboundKind::Edit {
                    message_id: ts,
                    text: without_quotes(&body),
                },
            }];
        }
        if subtype.is_some_and(|s| !matches!(s, "thread_broadcast" | "file_share")) || user.is_empty() {
            return Vec::new();
        }
        let Some(ts) = text(event, "ts") else { return Vec::new() };
        // What the person wrote, without what they quoted (`&gt;` lines); a shared or forwarded
        // message travels in `attachments`, which keel does not read as theirs.
        let body = without_quotes(&text(event, "text").unwrap_or_default());
        let (body, to_keel) = self.addressed(&body).await;
        let thread = text(event, "thread_ts").filter(|t| *t != ts);
        let speaker = self
            .speaker(user, event["user_team"].as_str().or(event["team"].as_str()))
            .await;
        let permalink = self.permalink(channel, &ts, thread.as_deref()).await;
        let to_keel = to_keel || kind == "app_mention";
        let named = match to_keel {
            true => self.named(&body).await,
            false => Vec::new(),
        };
        vec![Inbound {
            adapter: NAME.into(),
            event_id: format!("msg:{channel}:{ts}"),
            at: instant(&ts),
            speaker,
            conversation,
            message_id: ts.clone(),
            thread,
            reply_to: None,
            permalink,
            kind: InboundKind::Message { text: body, to_keel },
            named,
        }]
    }

    /// A `reaction_added` event, with the text and author of the message it is on.
    async fn reaction(&self, event: &Value, user: &str) -> Vec<Inbound> {
        let item = &event["item"];
        let (Some(channel), Some(ts)) = (text(item, "channel"), text(item, "ts")) else {
            return Vec::new();
        };
        let reaction = text(event, "reaction").unwrap_or_default();
        let (message_text, author) = match self.slack.message_text(&channel, &ts).await {
            Some((body, author)) => (Some(body), Some(self.speaker(&author, None).await)),
            None => (None, None),
        };
        // The reacted message's link: a 🎫 makes a task of that message.
        let permalink = self.permalink(&channel, &ts, None).await;
        vec![Inbound {
            adapter: NAME.into(),
            event_id: format!("react:{channel}:{ts}:{user}:{reaction}"),
            at: text(event, "event_ts").map(|t| instant(&t)).unwrap_or_else(Utc::now),
            speaker: self.speaker(user, None).await,
            conversation: Conversation {
                id: channel.clone(),
                name: channel.clone(),
                direct: channel.starts_with('D'),
            },
            message_id: ts.clone(),
            thread: None,
            reply_to: None,
            permalink,
            named: Vec::new(),
            kind: InboundKind::Reaction {
                emoji: emoji(&reaction),
                message_id: ts,
                message_text,
                author,
            },
        }]
    }

    /// A `/keel …` slash command (its form fields as a JSON object).
    pub async fn command(&self, form: &Value) -> Option<Inbound> {
        let user = text(form, "user_id")?;
        let channel = text(form, "channel_id")?;
        let trigger = text(form, "trigger_id").unwrap_or_else(|| format!("{}", Utc::now().timestamp_micros()));
        let speaker = self.speaker(&user, text(form, "team_id").as_deref()).await;
        let command = text(form, "text").unwrap_or_default().trim().to_string();
        // `/keel track` with nothing to track opens the form that asks for it.
        let kind = match command.eq_ignore_ascii_case("track") && form.get("trigger_id").is_some() {
            true => InboundKind::FormAsked {
                form: TRACK_FORM.into(),
                trigger: trigger.clone(),
                message: None,
            },
            false => InboundKind::Command { text: command.clone() },
        };
        Some(Inbound {
            adapter: NAME.into(),
            event_id: format!("cmd:{trigger}"),
            at: Utc::now(),
            speaker,
            conversation: Conversation {
                id: channel.clone(),
                name: text(form, "channel_name").unwrap_or(channel.clone()),
                direct: channel.starts_with('D') || text(form, "channel_name").as_deref() == Some("directmessage"),
            },
            // Not a message: replies are posted in the channel, not in a thread.
            message_id: format!("cmd:{trigger}"),
            thread: None,
            reply_to: None,
            permalink: None,
            named: self.named(&command).await,
            kind,
        })
    }

    /// Block actions (buttons) from `/slack/interactivity` or a Socket Mode `interactive`
    /// envelope.
    pub async fn interaction(&self, payload: &Value) -> Vec<Inbound> {
        match payload["type"].as_str() {
            Some("block_actions") => self.actions(payload).await,
            Some("message_action") => self.shortcut(payload).await.into_iter().collect(),
            Some("view_submission") => self.submitted(payload).await.into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Block actions: presses on keel's messages, and on the cards of a member's home (whose
    /// answers go to the member's conversation with keel: a home has no channel).
    async fn actions(&self, payload: &Value) -> Vec<Inbound> {
        let Some(user) = payload["user"]["id"].as_str() else {
            return Vec::new();
        };
        let channel = match crate::views::from_home(payload) {
            true => user.to_string(),
            false => payload["channel"]["id"].as_str().unwrap_or_default().to_string(),
        };
        let message_ts = payload["message"]["ts"].as_str().map(str::to_string);
        let speaker = self.speaker(user, payload["user"]["team_id"].as_str()).await;
        let mut out = Vec::new();
        for action in payload["actions"].as_array().into_iter().flatten() {
            let raw_id = text(action, "action_id").unwrap_or_default();
            let action_ts = text(action, "action_ts").unwrap_or_default();
            // A card's answers go to its thread (the card's own when it starts one).
            let (action_id, value, thread) = match crate::card::action(action) {
                Some((id, command)) => {
                    let thread = payload["message"]["thread_ts"].as_str().map(str::to_string);
                    (id, command, thread.or_else(|| message_ts.clone()))
                }
                None => (raw_id.clone(), text(action, "value").unwrap_or_default(), None),
            };
            out.push(Inbound {
                adapter: NAME.into(),
                event_id: format!("act:{user}:{raw_id}:{action_ts}"),
                at: instant(&action_ts),
                speaker: speaker.clone(),
                conversation: Conversation {
                    id: channel.clone(),
                    name: channel.clone(),
                    direct: channel.starts_with('D') || channel == user,
                },
                message_id: message_ts.clone().unwrap_or_default(),
                thread,
                reply_to: None,
                permalink: None,
                named: Vec::new(),
                kind: InboundKind::Action {
                    action_id,
                    value,
                    message_id: message_ts.clone(),
                },
            });
        }
        out
    }

    /// The "Track as task" message shortcut: the form, started from the message.
    async fn shortcut(&self, payload: &Value) -> Option<Inbound> {
        let user = payload["user"]["id"].as_str()?;
        let trigger = text(payload, "trigger_id")?;
        let channel = payload["channel"]["id"].as_str()?.to_string();
        let message = &payload["message"];
        let ts = text(message, "ts").or_else(|| text(payload, "message_ts"))?;
        let thread = text(message, "thread_ts").filter(|t| *t != ts);
        let author = match text(message, "user") {
            Some(id) => {
                let team = message["user_team"].as_str().or(message["team"].as_str());
                Some(self.speaker(&id, team).await)
            }
            None => None,
        };
        let permalink = self.permalink(&channel, &ts, thread.as_deref()).await;
        let body = without_quotes(&text(message, "text").unwrap_or_default());
        Some(Inbound {
            adapter: NAME.into(),
            event_id: format!("shortcut:{trigger}"),
            at: text(payload, "action_ts").map(|t| instant(&t)).unwrap_or_else(Utc::now),
            speaker: self.speaker(user, payload["user"]["team_id"].as_str()).await,
            conversation: Conversation {
                id: channel.clone(),
                name: payload["channel"]["name"].as_str().unwrap_or(&channel).to_string(),
                direct: channel.starts_with('D'),
            },
            message_id: format!("shortcut:{trigger}"),
            thread: thread.clone(),
            reply_to: None,
            permalink: permalink.clone(),
            named: Vec::new(),
            kind: InboundKind::FormAsked {
                form: TRACK_FORM.into(),
                trigger,
                message: Some(Box::new(Quoted {
                    message_id: ts,
                    text: body,
                    author,
                    thread,
                    permalink,
                })),
            },
        })
    }

    /// A submitted modal of keel's, in the conversation it was asked in.
    async fn submitted(&self, payload: &Value) -> Option<Inbound> {
        let user = payload["user"]["id"].as_str()?;
        let view_id = payload["view"]["id"].as_str()?;
        let (form, channel, context, values) = crate::views::submission(payload)?;
        // A chosen owner keel has not seen yet joins the team as a teammate named in a command.
        let named = match values.get("owner") {
            Some(owner) => self.named(&format!("<@{owner}>")).await,
            None => Vec::new(),
        };
        Some(Inbound {
            adapter: NAME.into(),
            event_id: format!("view:{view_id}"),
            at: Utc::now(),
            speaker: self.speaker(user, payload["user"]["team_id"].as_str()).await,
            conversation: Conversation {
                id: channel.clone(),
                name: channel.clone(),
                direct: channel.starts_with('D'),
            },
            message_id: format!("view:{view_id}"),
            thread: None,
            reply_to: None,
            permalink: None,
            named,
            kind: InboundKind::FormSent { form, values, context },
        })
    }
}
