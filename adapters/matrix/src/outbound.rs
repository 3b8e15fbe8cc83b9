//! keel's `Outbound` as Matrix sends; a keyed send carries its key as the transaction id.

use std::time::Duration;

use keel_chat::{Outbound, SendError, Sent};
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::room::reply::{EnforceThread, Reply};
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::{Annotation, Thread};
use matrix_sdk::ruma::events::room::message::{
    AddMentions, Relation, ReplacementMetadata, ReplyWithinThread, RoomMessageEventContent,
    RoomMessageEventContentWithoutRelation, TextMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};

use crate::Matrix;

impl Matrix {
    /// The direct-message room with a user, made when there is none.
    async fn dm_room(&self, user: &str) -> Result<Room, SendError> {
        let user: OwnedUserId = user
            .try_into()
            .map_err(|_| SendError::Rejected(format!("{user} is not a Matrix user id")))?;
        if let Some(room) = self.client.get_dm_room(&user) {
            return Ok(room);
        }
        self.client.create_dm(&user).await.map_err(failure)
    }

    fn room(&self, id: &str) -> Result<Room, SendError> {
        let id: OwnedRoomId = id
            .try_into()
            .map_err(|_| SendError::Rejected(format!("{id} is not a Matrix room id")))?;
        self.client
            .get_room(&id)
            .ok_or_else(|| SendError::Rejected(format!("keel is not in {id}")))
    }

    pub(crate) async fn deliver(&self, key: Option<&str>, outbound: &Outbound) -> Result<Sent, SendError> {
        let (room, content) = match outbound {
            Outbound::Message {
                conversation,
                thread,
                text,
            } => (self.room(conversation)?, in_thread(text, thread.as_deref())),
            // Matrix has no buttons: the question says how to answer (a number, a reaction).
            Outbound::Question {
                conversation,
                thread,
                text,
                fallback,
                ..
            } => (
                self.room(conversation)?,
                in_thread(&keel_chat::plain_question(text, fallback), thread.as_deref()),
            ),
            Outbound::Direct { user, text } => {
                (self.dm_room(user).await?, RoomMessageEventContent::text_markdown(text))
            }
            // Matrix has no message only one person sees: it is a direct message, saying which
            // room it is about.
            Outbound::Ephemeral {
                conversation,
                user,
                text,
                ..
            } => {
                let dm = self.dm_room(user).await?;
                let text = match self.room(conversation).ok().filter(|r| r.room_id() != dm.room_id()) {
                    Some(room) => format!("In {}: {text}", room.name().unwrap_or_else(|| conversation.clone())),
                    None => text.clone(),
                };
                (dm, RoomMessageEventContent::text_markdown(text))
            }
            Outbound::Card { .. } | Outbound::CardUpdate { .. } => return self.card(key, outbound).await,
            Outbound::Mail(_) => return Err(SendError::Rejected("Matrix does not send mail".into())),
            Outbound::Form { .. } | Outbound::Home { .. } => {
                return Err(SendError::Rejected("Matrix has no forms or homes".into()))
            }
            Outbound::Image {
                conversation,
                thread,
                name,
                caption,
                png,
            } => {
                let room = self.room(conversation)?;
                let mut config = AttachmentConfig::new().caption(Some(TextMessageEventContent::markdown(caption)));
                if let Some(key) = key {
                    config = config.txn_id(key.into());
                }
                if let Some(root) = thread.as_deref().and_then(|t| OwnedEventId::try_from(t).ok()) {
                    config = config.reply(Some(Reply {
                        event_id: root.clone(),
                        enforce_thread: EnforceThread::Threaded(ReplyWithinThread::No),
                        add_mentions: AddMentions::No,
                    }));
                }
                let sent = room
                    .send_attachment(name.as_str(), &mime::IMAGE_PNG, png.clone(), config)
                    .await
                    .map_err(failure)?;
                return Ok(Sent {
                    message_id: Some(sent.event_id.to_string()),
                });
            }
            Outbound::Reaction {
                conversation,
                message_id,
                emoji,
            } => {
                let room = self.room(conversation)?;
                let target = OwnedEventId::try_from(message_id.as_str())
                    .map_err(|_| SendError::Rejected(format!("{message_id} is not an event id")))?;
                let reaction = ReactionEventContent::new(Annotation::new(target, emoji.clone()));
                let mut send = room.send(reaction);
                if let Some(key) = key {
                    send = send.with_transaction_id(key.into());
                }
                let sent = send.await.map_err(failure)?;
                return Ok(Sent {
                    message_id: Some(sent.response.event_id.to_string()),
                });
            }
        };
        let sent = send_keyed(&room, content, key).await?;
        Ok(Sent {
            message_id: Some(sent.to_string()),
        })
    }

    /// A task's card as HTML in its thread, with keel's own reactions under it; or its update,
    /// an edit of the card (`m.replace`).
    async fn card(&self, key: Option<&str>, outbound: &Outbound) -> Result<Sent, SendError> {
        match outbound {
            Outbound::Card {
                conversation,
                thread,
                card,
            } => {
                let room = self.room(conversation)?;
                let mut content = RoomMessageEventContent::text_html(card.text_with_hint(), card.html());
                content.relates_to = thread_of(thread.as_deref());
                let sent = send_keyed(&room, content, key).await?;
                self.react_to_card(&room, &sent, key, card.buttons.is_empty()).await;
                Ok(Sent {
                    message_id: Some(sent.to_string()),
                })
            }
            Outbound::CardUpdate {
                conversation,
                message_id,
                card,
            } => {
                let room = self.room(conversation)?;
                let card_id = OwnedEventId::try_from(message_id.as_str())
                    .map_err(|_| SendError::Rejected(format!("{message_id} is not an event id")))?;
                // Edited with HTML on both sides: a plain-text edit's fallback would read "* ".
                let content = RoomMessageEventContent::text_html(card.text_with_hint(), card.html())
                    .make_replacement(ReplacementMetadata::new(card_id, None));
                let sent = send_keyed(&room, content, key).await?;
                Ok(Sent {
                    message_id: Some(sent.to_string()),
                })
            }
            _ => Err(SendError::Rejected("not a card".into())),
        }
    }

    /// keel's own 👀 and ✅ under a card it posted, so a member takes or closes the task with one
    /// click (a closed task's card gets none). Keyed from the card's key, so a retry adds none
    /// twice; a reaction that fails is logged and the card stays (typed commands still work).
    async fn react_to_card(&self, room: &Room, card: &OwnedEventId, key: Option<&str>, closed: bool) {
        if closed {
            return;
        }
        for (n, emoji) in CARD_REACTIONS.iter().enumerate() {
            let reaction = ReactionEventContent::new(Annotation::new(card.clone(), emoji.to_string()));
            let mut send = room.send(reaction);
            if let Some(key) = key {
                send = send.with_transaction_id(format!("{key}-r{n}").into());
            }
            if let Err(e) = send.await {
                tracing::warn!(card = %card, emoji, error = %e, "could not react to keel's own card");
            }
        }
    }
}

/// The reactions keel puts under its cards: take, done.
const CARD_REACTIONS: [&str; 2] = ["👀", "✅"];

/// Sends a message, keyed: the same key on every retry, so the homeserver answers a repeat with
/// the first event.
async fn send_keyed(
    room: &Room,
    content: RoomMessageEventContent,
    key: Option<&str>,
) -> Result<OwnedEventId, SendError> {
    let mut send = room.send(content);
    if let Some(key) = key {
        send = send.with_transaction_id(key.into());
    }
    Ok(send.await.map_err(failure)?.response.event_id)
}

/// A thread relation under `thread` when it is an event id.
fn thread_of(thread: Option<&str>) -> Option<Relation<RoomMessageEventContentWithoutRelation>> {
    let root = thread.and_then(|t| OwnedEventId::try_from(t).ok())?;
    Some(Relation::Thread(Thread::plain(root.clone(), root)))
}

/// A matrix-sdk error as keel's send outcome: rate limits wait as asked, the rest back off.
fn failure(e: matrix_sdk::Error) -> SendError {
    match e.client_api_error_kind() {
        Some(ErrorKind::LimitExceeded(data)) => {
            let wait = match data.retry_after {
                Some(RetryAfter::Delay(d)) => d,
                _ => Duration::from_secs(1),
            };
            SendError::RetryAfter(wait)
        }
        Some(ErrorKind::Forbidden) | Some(ErrorKind::NotFound) => SendError::Rejected(e.to_string()),
        // No HTTP answer at all: the homeserver (or the way to it) is away.
        _ if unanswered(&e) => SendError::Unreachable(e.to_string()),
        _ => SendError::Transient(e.to_string()),
    }
}

/// True when the request got no HTTP answer (connect failed, timed out, connection dropped).
fn unanswered(e: &matrix_sdk::Error) -> bool {
    let matrix_sdk::Error::Http(http) = e else {
        return false;
    };
    match http.as_ref() {
        matrix_sdk::HttpError::Reqwest(r) => r.status().is_none(),
        _ => false,
    }
}

/// A Markdown message, in the thread of `thread` when it is an event id.
fn in_thread(text: &str, thread: Option<&str>) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_markdown(text);
    content.relates_to = thread_of(thread);
    content
}
