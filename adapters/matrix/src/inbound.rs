//! Matrix events as keel's `Inbound`: text messages (mentions and pills, threads, edits) and
//! reactions.

use chrono::{DateTime, Utc};
use keel_chat::quotes::without_quotes;
use keel_chat::{Conversation, Inbound, InboundKind, Named, Speaker};
use matrix_sdk::room::Room;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, Relation};
use matrix_sdk::ruma::events::{AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent};
use matrix_sdk::ruma::{OwnedUserId, UserId};

use crate::{matches, Matrix, NAME};

/// Element writes a pill (a mention picked from the list) as the person's display name in `body`
/// and as a `https://matrix.to/#/@who:server` link in `formatted_body`; commands read people by
/// id, so each pill's name in the body becomes its id (`max` becomes `@max:example.org`).
fn with_pill_ids(body: &str, formatted: Option<&str>) -> String {
    const LINK: &str = "<a href=\"https://matrix.to/#/";
    let Some(mut rest) = formatted else {
        return body.to_string();
    };
    let mut out = body.to_string();
    while let Some(start) = rest.find(LINK) {
        let after = &rest[start + LINK.len()..];
        let (Some(quote), Some(close)) = (after.find('"'), after.find('>')) else {
            break;
        };
        let Some(end) = after[close..].find("</a>").map(|e| close + e) else {
            break;
        };
        let id = after[..quote]
            .replace("%40", "@")
            .replace("%3A", ":")
            .replace("%3a", ":");
        let shown = &after[close + 1..end];
        if id.starts_with('@') && !shown.is_empty() && !shown.starts_with('@') && !out.contains(&id) {
            out = out.replacen(shown, &id, 1);
        }
        rest = &after[end..];
    }
    out
}

impl Matrix {
    fn speaker(&self, user: &UserId, name: Option<String>) -> Speaker {
        Speaker {
            id: user.to_string(),
            name: name.unwrap_or_else(|| user.localpart().to_string()),
            external: !matches(&self.config.team, user),
            client_hint: None,
            tz: None,
        }
    }

    async fn conversation(&self, room: &Room) -> Conversation {
        let name = room
            .cached_display_name()
            .map(|n| n.to_string())
            .unwrap_or_else(|| room.room_id().to_string());
        Conversation {
            id: room.room_id().to_string(),
            name,
            direct: room.is_direct().await.unwrap_or(false),
        }
    }

    /// A text message (or an edit of one) as an `Inbound`.
    pub(crate) async fn message(&self, ev: OriginalSyncRoomMessageEvent, room: &Room) -> Option<Inbound> {
        tracing::debug!(room = %room.room_id(), sender = %ev.sender, "matrix message");
        // Only rooms keel is in: a declined invite's room comes back in the sync's left rooms,
        // with what its inviter wrote there, and none of it is for keel.
        if Some(ev.sender.as_ref()) == self.client.user_id() || room.state() != matrix_sdk::RoomState::Joined {
            return None;
        }
        let MessageType::Text(text) = &ev.content.msgtype else {
            return None;
        };
        let mut thread = None;
        let mut reply_to = None;
        let kind = match &ev.content.relates_to {
            Some(Relation::Replacement(edit)) => {
                let new_text = match &edit.new_content.msgtype {
                    MessageType::Text(t) => without_quotes(&t.body),
                    _ => return None,
                };
                InboundKind::Edit {
                    message_id: edit.event_id.to_string(),
                    text: new_text,
                }
            }
            relation => {
                match relation {
                    Some(Relation::Thread(t)) => thread = Some(t.event_id.to_string()),
                    Some(Relation::Reply(r)) => reply_to = Some(r.in_reply_to.event_id.to_string()),
                    _ => {}
                }
                let mentioned = ev
                    .content
                    .mentions
                    .as_ref()
                    .zip(self.client.user_id())
                    .is_some_and(|(m, me)| m.user_ids.contains(me));
                // A reply's fallback quotes what it answers: only what the person added counts.
                let body = with_pill_ids(
                    &without_quotes(&text.body),
                    text.formatted.as_ref().map(|f| f.body.as_str()),
                );
                self.addressed(&body, mentioned, room).await
            }
        };
        let named = match &kind {
            InboundKind::Command { text } | InboundKind::Message { text, to_keel: true } => {
                let mentioned: Vec<OwnedUserId> = ev
                    .content
                    .mentions
                    .as_ref()
                    .map(|m| m.user_ids.iter().cloned().collect())
                    .unwrap_or_default();
                self.named(text, &mentioned).await
            }
            _ => Vec::new(),
        };
        let at = DateTime::<Utc>::from_timestamp_millis(ev.origin_server_ts.get().into()).unwrap_or_else(Utc::now);
        let name = room
            .get_member_no_sync(&ev.sender)
            .await
            .ok()
            .flatten()
            .and_then(|m| m.display_name().map(str::to_string));
        Some(Inbound {
            adapter: NAME.into(),
            event_id: ev.event_id.to_string(),
            at,
            speaker: self.speaker(&ev.sender, name),
            conversation: self.conversation(room).await,
            message_id: ev.event_id.to_string(),
            thread,
            reply_to,
            permalink: Some(format!("https://matrix.to/#/{}/{}", room.room_id(), ev.event_id)),
            kind,
            named,
        })
    }

    /// The people a command names (`@kim:example.org`, or a pill, which Element lists in
    /// `m.mentions`), as their homeserver's profile gives them; someone with no profile there is
    /// nobody.
    async fn named(&self, text: &str, mentioned: &[OwnedUserId]) -> Vec<Named> {
        let mut ids: Vec<(String, OwnedUserId)> = keel_chat::person_references(text)
            .into_iter()
            .filter_map(|r| UserId::parse(format!("@{r}")).ok().map(|id| (r, id)))
            .collect();
        for id in mentioned {
            let reference = id.as_str().trim_start_matches('@').to_string();
            if !ids.iter().any(|(r, _)| *r == reference) {
                ids.push((reference, id.clone()));
            }
        }
        let mut out = Vec::new();
        for (reference, id) in ids {
            if Some(id.as_ref()) == self.client.user_id() {
                continue;
            }
            let candidates = match self.client.account().fetch_user_profile_of(&id).await {
                Ok(profile) => {
                    let shown = profile.get("displayname").and_then(|v| v.as_str()).map(str::to_string);
                    vec![self.speaker(&id, shown)]
                }
                Err(e) => {
                    tracing::debug!(user = %id, error = %e, "no profile for a named person");
                    Vec::new()
                }
            };
            out.push(Named { reference, candidates });
        }
        out
    }

    /// `!keel …` is a command; a mention of keel (a pill, its id, `@keel`, or its display name
    /// at the start) makes a message for keel, without the mention.
    async fn addressed(&self, body: &str, mentioned: bool, room: &Room) -> InboundKind {
        let trimmed = body.trim();
        if let Some(rest) = trimmed.strip_prefix("!keel ") {
            return InboundKind::Command {
                text: rest.trim().to_string(),
            };
        }
        let mut names = Vec::new();
        if let Some(me) = self.client.user_id() {
            names.push(me.to_string());
            names.push(format!("@{}", me.localpart()));
            // A pill's text is the display name (in this room, or the global one).
            if let Ok(Some(member)) = room.get_member_no_sync(me).await {
                if let Some(shown) = member.display_name() {
                    names.push(shown.to_string());
                }
            }
        }
        names.push("@keel".into());
        for name in &names {
            let at_start = trimmed
                .strip_prefix(name.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with([':', ',', ' ']));
            let found = match at_start {
                Some(rest) => Some(rest.to_string()),
                None if name.starts_with('@') && trimmed.contains(name.as_str()) => {
                    Some(trimmed.replacen(name.as_str(), "", 1))
                }
                None => None,
            };
            if let Some(rest) = found {
                let text = rest.trim_start_matches([':', ',', ' ']).trim().to_string();
                return InboundKind::Message { text, to_keel: true };
            }
        }
        InboundKind::Message {
            text: trimmed.to_string(),
            to_keel: mentioned,
        }
    }

    pub(crate) async fn reaction(&self, ev: OriginalSyncReactionEvent, room: &Room) -> Option<Inbound> {
        if Some(ev.sender.as_ref()) == self.client.user_id() || room.state() != matrix_sdk::RoomState::Joined {
            return None;
        }
        let target = ev.content.relates_to.event_id.clone();
        let original = room.event(&target, None).await.ok();
        // The reaction belongs to the reacted message's thread, or starts one under it (Matrix
        // threads only from an event without a relation, never from the reaction itself).
        let (message_text, author, thread) = match original.and_then(|e| e.raw().deserialize().ok()) {
            Some(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                SyncMessageLikeEvent::Original(m),
            ))) => {
                let text = match &m.content.msgtype {
                    MessageType::Text(t) => Some(t.body.clone()),
                    _ => None,
                };
                let root = match &m.content.relates_to {
                    Some(Relation::Thread(t)) => t.event_id.to_string(),
                    _ => target.to_string(),
                };
                (text, Some(self.speaker(&m.sender, None)), Some(root))
            }
            _ => (None, None, Some(target.to_string())),
        };
        let at = DateTime::<Utc>::from_timestamp_millis(ev.origin_server_ts.get().into()).unwrap_or_else(Utc::now);
        Some(Inbound {
            adapter: NAME.into(),
            event_id: ev.event_id.to_string(),
            at,
            speaker: self.speaker(&ev.sender, None),
            conversation: self.conversation(room).await,
            message_id: ev.event_id.to_string(),
            thread,
            reply_to: None,
            permalink: None,
            named: Vec::new(),
            kind: InboundKind::Reaction {
                emoji: ev.content.relates_to.key.clone(),
                message_id: target.to_string(),
                message_text,
                author,
            },
        })
    }
}
