//! keel's Matrix adapter: a matrix-sdk bot that turns room events into `Inbound` values and
//! sends keel's `Outbound` messages, with end-to-end encryption.
//!
//! The session is saved next to the sqlite store (crypto keys, sync token) and restored on
//! restart, so keel keeps its device and never re-reads history: it syncs once before it listens.

// matrix-sdk's sync future is deep; proving it `Send` for `tokio::spawn` needs a higher limit.
#![recursion_limit = "256"]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keel_chat::{Adapter, Conversation, Inbound, InboundKind, InboundSink, Outbound, SendError, Sent, Speaker};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::reaction::{OriginalSyncReactionEvent, ReactionEventContent};
use matrix_sdk::ruma::events::relation::{Annotation, Thread};
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use matrix_sdk::Client;

/// The adapter's name in events and outbox rows.
pub const NAME: &str = "matrix";

/// How keel reaches its homeserver, and who it listens to.
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    pub homeserver: String,
    pub user: String,
    pub password: String,
    /// Where the sqlite store (crypto keys, sync token) and the saved session live.
    pub store_path: PathBuf,
    /// The team: Matrix ids (`@lea:example.org`) or whole servers (`example.org`). Everyone else
    /// is a client user.
    pub team: Vec<String>,
    /// Who may invite keel into rooms: ids or servers, as for `team`.
    pub allow_invites_from: Vec<String>,
}

fn matches(list: &[String], user: &UserId) -> bool {
    list.iter().any(|entry| {
        let entry = entry.trim();
        entry == user.as_str() || entry.trim_start_matches(':') == user.server_name().as_str()
    })
}

/// A connected Matrix bot.
#[derive(Clone)]
pub struct Matrix {
    client: Client,
    config: Arc<MatrixConfig>,
}

impl Matrix {
    /// Restores the saved session, or logs in and saves it.
    pub async fn connect(config: MatrixConfig) -> anyhow::Result<Matrix> {
        std::fs::create_dir_all(&config.store_path)?;
        let client = Client::builder()
            .homeserver_url(&config.homeserver)
            .sqlite_store(config.store_path.join("store"), None)
            .build()
            .await?;
        let saved = config.store_path.join("session.json");
        match std::fs::read_to_string(&saved) {
            Ok(text) => {
                let session: MatrixSession = serde_json::from_str(&text)?;
                client.restore_session(session).await?;
            }
            Err(_) => {
                client
                    .matrix_auth()
                    .login_username(&config.user, &config.password)
                    .initial_device_display_name("keel")
                    .send()
                    .await?;
                let session = client
                    .matrix_auth()
                    .session()
                    .ok_or_else(|| anyhow::anyhow!("logged in without a session"))?;
                std::fs::write(&saved, serde_json::to_string(&session)?)?;
            }
        }
        Ok(Matrix {
            client,
            config: Arc::new(config),
        })
    }

    /// Syncs once (so history is not handled again), registers the handlers, then syncs until
    /// stopped, reconnecting with backoff when the homeserver goes away.
    pub async fn start(&self, sink: Arc<dyn InboundSink>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        self.client.sync_once(SyncSettings::default()).await?;
        let me = self.clone();
        self.client
            .add_event_handler(move |ev: StrippedRoomMemberEvent, room: Room| {
                let me = me.clone();
                async move { me.on_invite(ev, room).await }
            });
        let (me, messages) = (self.clone(), sink.clone());
        self.client
            .add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
                let (me, sink) = (me.clone(), messages.clone());
                async move { forward(sink, me.message(ev, &room).await).await }
            });
        let (me, reactions) = (self.clone(), sink);
        self.client
            .add_event_handler(move |ev: OriginalSyncReactionEvent, room: Room| {
                let (me, sink) = (me.clone(), reactions.clone());
                async move { forward(sink, me.reaction(ev, &room).await).await }
            });
        let client = self.client.clone();
        Ok(tokio::spawn(async move {
            let mut wait = Duration::from_millis(500);
            loop {
                match client.sync(SyncSettings::default()).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Matrix sync stopped; reconnecting");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }))
    }

    /// Joins rooms an allowed user invites keel to (with retries); declines the others.
    async fn on_invite(&self, ev: StrippedRoomMemberEvent, room: Room) {
        if Some(ev.state_key.as_ref()) != self.client.user_id() {
            return;
        }
        if !matches(&self.config.allow_invites_from, &ev.sender) {
            tracing::warn!(room = %room.room_id(), inviter = %ev.sender, "declining an invite from someone not allowed");
            let _ = room.leave().await;
            return;
        }
        let mut wait = Duration::from_secs(1);
        for _ in 0..8 {
            match room.join().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(room = %room.room_id(), error = %e, "joining failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
    }

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
    async fn message(&self, ev: OriginalSyncRoomMessageEvent, room: &Room) -> Option<Inbound> {
        tracing::debug!(room = %room.room_id(), sender = %ev.sender, "matrix message");
        if Some(ev.sender.as_ref()) == self.client.user_id() {
            return None;
        }
        let MessageType::Text(text) = &ev.content.msgtype else {
            return None;
        };
        let mut thread = None;
        let kind = match &ev.content.relates_to {
            Some(Relation::Replacement(edit)) => {
                let new_text = match &edit.new_content.msgtype {
                    MessageType::Text(t) => t.body.clone(),
                    _ => return None,
                };
                InboundKind::Edit {
                    message_id: edit.event_id.to_string(),
                    text: new_text,
                }
            }
            relation => {
                if let Some(Relation::Thread(t)) = relation {
                    thread = Some(t.event_id.to_string());
                }
                self.addressed(&text.body)
            }
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
            link: Some(format!("https://matrix.to/#/{}/{}", room.room_id(), ev.event_id)),
            kind,
        })
    }

    /// `!keel …` is a command; a mention of keel (its id, `@keel`) makes a message for keel.
    fn addressed(&self, body: &str) -> InboundKind {
        let trimmed = body.trim();
        if let Some(rest) = trimmed.strip_prefix("!keel ") {
            return InboundKind::Command {
                text: rest.trim().to_string(),
            };
        }
        let me = self.client.user_id().map(|u| u.to_string()).unwrap_or_default();
        let local = self
            .client
            .user_id()
            .map(|u| format!("@{}", u.localpart()))
            .unwrap_or_else(|| "@keel".into());
        for name in [me.as_str(), local.as_str(), "@keel"] {
            if !name.is_empty() && trimmed.contains(name) {
                let text = trimmed
                    .replacen(name, "", 1)
                    .trim_start_matches([':', ',', ' '])
                    .trim()
                    .to_string();
                return InboundKind::Message { text, to_keel: true };
            }
        }
        InboundKind::Message {
            text: trimmed.to_string(),
            to_keel: false,
        }
    }

    async fn reaction(&self, ev: OriginalSyncReactionEvent, room: &Room) -> Option<Inbound> {
        if Some(ev.sender.as_ref()) == self.client.user_id() {
            return None;
        }
        let target = ev.content.relates_to.event_id.clone();
        let original = room.event(&target, None).await.ok();
        let (message_text, author) = match original.and_then(|e| e.raw().deserialize().ok()) {
            Some(matrix_sdk::ruma::events::AnySyncTimelineEvent::MessageLike(
                matrix_sdk::ruma::events::AnySyncMessageLikeEvent::RoomMessage(
                    matrix_sdk::ruma::events::SyncMessageLikeEvent::Original(m),
                ),
            )) => {
                let text = match &m.content.msgtype {
                    MessageType::Text(t) => Some(t.body.clone()),
                    _ => None,
                };
                (text, Some(self.speaker(&m.sender, None)))
            }
            _ => (None, None),
        };
        let at = DateTime::<Utc>::from_timestamp_millis(ev.origin_server_ts.get().into()).unwrap_or_else(Utc::now);
        Some(Inbound {
            adapter: NAME.into(),
            event_id: ev.event_id.to_string(),
            at,
            speaker: self.speaker(&ev.sender, None),
            conversation: self.conversation(room).await,
            message_id: ev.event_id.to_string(),
            thread: None,
            link: None,
            kind: InboundKind::Reaction {
                emoji: ev.content.relates_to.key.clone(),
                message_id: target.to_string(),
                message_text,
                author,
            },
        })
    }

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

    async fn deliver(&self, key: Option<&str>, outbound: &Outbound) -> Result<Sent, SendError> {
        let (room, content) = match outbound {
            Outbound::Message {
                conversation,
                thread,
                text,
            } => {
                let mut content = RoomMessageEventContent::text_markdown(text);
                if let Some(root) = thread.as_deref().and_then(|t| OwnedEventId::try_from(t).ok()) {
                    content.relates_to = Some(Relation::Thread(Thread::plain(root.clone(), root)));
                }
                (self.room(conversation)?, content)
            }
            Outbound::Direct { user, text } | Outbound::Ephemeral { user, text, .. } => {
                (self.dm_room(user).await?, RoomMessageEventContent::text_markdown(text))
            }
            Outbound::Image {
                conversation, caption, ..
            } => (
                self.room(conversation)?,
                RoomMessageEventContent::text_markdown(caption),
            ),
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
        let mut send = room.send(content);
        if let Some(key) = key {
            // The same key on every retry: the homeserver answers a repeat with the first event.
            send = send.with_transaction_id(key.into());
        }
        let sent = send.await.map_err(failure)?;
        Ok(Sent {
            message_id: Some(sent.response.event_id.to_string()),
        })
    }
}

/// Hands an event to keel; a failure is logged (the event is not acknowledged to anyone, and the
/// next sync does not bring it again, so it must be loud).
async fn forward(sink: Arc<dyn InboundSink>, inbound: Option<Inbound>) {
    if let Some(inbound) = inbound {
        if let Err(e) = sink.deliver(inbound).await {
            tracing::error!(error = %format!("{e:#}"), "keel could not take a Matrix event");
        }
    }
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
        _ => SendError::Transient(e.to_string()),
    }
}

#[async_trait]
impl Adapter for Matrix {
    fn name(&self) -> &str {
        NAME
    }

    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        self.deliver(None, outbound).await
    }

    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        self.deliver(Some(key), outbound).await
    }
}
