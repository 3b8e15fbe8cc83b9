//! keel's Matrix adapter: a matrix-sdk bot that turns room events into `Inbound` values and
//! sends keel's `Outbound` messages, with end-to-end encryption.
//!
//! The session is saved next to the sqlite store (crypto keys, sync token) and restored on
//! restart, so keel keeps its device. On its very first start keel syncs once before it listens,
//! so a room's history is never taken for new requests; after a restart it listens from the saved
//! sync token, so what was said while it was down is handled (the core deduplicates by event id).

// matrix-sdk's sync future is deep; proving it `Send` for `tokio::spawn` needs a higher limit.
#![recursion_limit = "256"]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keel_chat::{Adapter, Conversation, Inbound, InboundKind, InboundSink, Outbound, SendError, Sent, Speaker};
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::reply::{EnforceThread, Reply};
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::reaction::{OriginalSyncReactionEvent, ReactionEventContent};
use matrix_sdk::ruma::events::relation::{Annotation, Thread};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::AddMentions;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, ReplyWithinThread, RoomMessageEventContent,
    TextMessageEventContent,
};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncMessageLikeEvent, SyncStateEvent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::Client;
use secrecy::{ExposeSecret, SecretString};

/// The adapter's name in events and outbox rows.
pub const NAME: &str = "matrix";

/// Events per room in one sync response; more than this since the last sync is a gap, read back.
const TIMELINE_LIMIT: u32 = 100;
/// Pages of 100 events read back to close one gap (beyond that, the oldest are logged as lost).
const GAP_PAGES: usize = 50;

fn timeline_filter(limit: u32) -> matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter {
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(limit.into());
    filter.into()
}

/// How keel reaches its homeserver, and who it listens to.
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    pub homeserver: String,
    /// `@keel:example.org` or the localpart `keel`.
    pub user: String,
    /// Used to log in when no session is saved yet.
    pub password: Option<SecretString>,
    /// An existing access token, instead of a password.
    pub access_token: Option<SecretString>,
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
    /// The session was saved by an earlier run (so is the sync token).
    restored: bool,
    /// Up while syncs succeed.
    link: keel_chat::Link,
}

impl Matrix {
    /// Restores the saved session, or logs in (password or access token) and saves it.
    pub async fn connect(config: MatrixConfig) -> anyhow::Result<Matrix> {
        std::fs::create_dir_all(&config.store_path)?;
        let client = Client::builder()
            .homeserver_url(&config.homeserver)
            .sqlite_store(config.store_path.join("store"), None)
            .build()
            .await?;
        let saved = config.store_path.join("session.json");
        let restored = match std::fs::read_to_string(&saved) {
            Ok(text) => {
                let session: MatrixSession = serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{} is not a saved Matrix session: {e}", saved.display()))?;
                client.restore_session(session).await?;
                true
            }
            Err(_) => {
                let session = match (&config.password, &config.access_token) {
                    (_, Some(token)) => token_session(&config.homeserver, token).await?,
                    (Some(password), None) => {
                        client
                            .matrix_auth()
                            .login_username(&config.user, password.expose_secret())
                            .initial_device_display_name("keel")
                            .send()
                            .await?;
                        client
                            .matrix_auth()
                            .session()
                            .ok_or_else(|| anyhow::anyhow!("logged in without a session"))?
                    }
                    (None, None) => return Err(NotConfigured.into()),
                };
                if client.matrix_auth().session().is_none() {
                    client.restore_session(session.clone()).await?;
                }
                write_private(&saved, &serde_json::to_string(&session)?)?;
                false
            }
        };
        Ok(Matrix {
            client,
            config: Arc::new(config),
            restored,
            link: keel_chat::Link::up(),
        })
    }

    /// Starts listening and syncs until stopped, reconnecting with backoff when the homeserver
    /// goes away. A first start syncs once before the handlers exist (history is not new work)
    /// and then answers the invites that were waiting; a restart listens from the saved token.
    pub async fn start(&self, sink: Arc<dyn InboundSink>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let token_file = self.config.store_path.join("sync_token");
        let since = if self.restored {
            std::fs::read_to_string(&token_file).ok().map(|t| t.trim().to_string())
        } else {
            Some(self.client.sync_once(SyncSettings::default()).await?.next_batch)
        };
        let me = self.clone();
        self.client
            .add_event_handler(move |ev: StrippedRoomMemberEvent, room: Room| {
                let me = me.clone();
                async move { me.on_invite(ev.sender, ev.state_key, room).await }
            });
        let (me, messages) = (self.clone(), sink.clone());
        self.client
            .add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
                let (me, sink) = (me.clone(), messages.clone());
                async move { forward(sink, me.message(ev, &room).await).await }
            });
        let (me, reactions) = (self.clone(), sink.clone());
        self.client
            .add_event_handler(move |ev: OriginalSyncReactionEvent, room: Room| {
                let (me, sink) = (me.clone(), reactions.clone());
                async move { forward(sink, me.reaction(ev, &room).await).await }
            });
        if !self.restored {
            for room in self.client.invited_rooms() {
                let (Ok(invite), Some(own)) = (room.invite_details().await, self.client.user_id()) else {
                    continue;
                };
                let (me, own) = (self.clone(), own.to_owned());
                tokio::spawn(async move { me.on_invite(invite.inviter_id, own, room).await });
            }
        }
        let me = self.clone();
        let since = std::sync::Mutex::new(since);
        // Its own loop rather than `Client::sync`, which waits a second after any sync that came
        // less than a second after the one before: in a busy room that second is every answer's.
        Ok(tokio::spawn(async move {
            let settings = SyncSettings::default().filter(timeline_filter(TIMELINE_LIMIT));
            let mut wait = Duration::from_millis(500);
            loop {
                let started = std::time::Instant::now();
                match me.client.sync_once(settings.clone()).await {
                    Ok(response) => {
                        me.link.set_up();
                        wait = Duration::from_millis(500);
                        let quiet = response.rooms.joined.is_empty()
                            && response.rooms.invited.is_empty()
                            && response.to_device.is_empty();
                        me.after_sync(response, &sink, &since, &token_file).await;
                        // A server that answers at once with nothing is not holding the long
                        // poll: do not hammer it.
                        if quiet && started.elapsed() < Duration::from_millis(100) {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                    }
                    Err(e) => {
                        me.link.set_down(&e.to_string());
                        tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Matrix sync stopped; reconnecting");
                        tokio::time::sleep(wait).await;
                        // At most 10 s: what waits in the outbox goes soon after the server is back.
                        wait = (wait * 2).min(Duration::from_secs(10));
                    }
                }
            }
        }))
    }

    /// After each sync: a room whose timeline came back `limited` (more happened since the last
    /// sync than one response carries) has a gap, which is read back page by page from the
    /// homeserver and handed to keel oldest first; then the token is saved for the next start.
    async fn after_sync(
        &self,
        response: SyncResponse,
        sink: &Arc<dyn InboundSink>,
        since: &std::sync::Mutex<Option<String>>,
        token_file: &std::path::Path,
    ) {
        let previous = since
            .lock()
            .map(|mut t| t.replace(response.next_batch.clone()))
            .unwrap_or_default();
        for (room_id, update) in &response.rooms.joined {
            let (true, Some(from), Some(to)) = (update.timeline.limited, &update.timeline.prev_batch, &previous) else {
                continue;
            };
            if self.joined_in(&update.timeline.events) {
                // A room keel has just joined: what came before is history, not new requests.
                continue;
            }
            self.fill_gap(room_id, from, to, sink).await;
        }
        if let Err(e) = std::fs::write(token_file, &response.next_batch) {
            tracing::warn!(error = %e, "cannot save the Matrix sync token");
        }
    }

    /// True when these timeline events hold keel's own join.
    fn joined_in(&self, events: &[matrix_sdk::deserialized_responses::TimelineEvent]) -> bool {
        let Some(me) = self.client.user_id() else { return false };
        events.iter().any(|ev| {
            matches!(
                ev.raw().deserialize(),
                Ok(AnySyncTimelineEvent::State(AnySyncStateEvent::RoomMember(SyncStateEvent::Original(m))))
                    if m.state_key == me && m.content.membership == MembershipState::Join
            )
        })
    }

    async fn fill_gap(&self, room_id: &OwnedRoomId, from: &str, to: &str, sink: &Arc<dyn InboundSink>) {
        let Some(room) = self.client.get_room(room_id) else {
            return;
        };
        let mut from = from.to_string();
        let mut events = Vec::new();
        for _ in 0..GAP_PAGES {
            let mut options = MessagesOptions::backward().from(from.as_str());
            options.to = Some(to.to_string());
            options.limit = 100u32.into();
            match room.messages(options).await {
                Ok(page) => {
                    let last = page.chunk.is_empty();
                    events.extend(page.chunk);
                    match page.end {
                        Some(end) if !last => from = end,
                        _ => break,
                    }
                }
                Err(e) => {
                    tracing::error!(room = %room_id, error = %e, "cannot read back a gap in the timeline");
                    break;
                }
            }
        }
        tracing::info!(room = %room_id, events = events.len(), "reading back a gap in the timeline");
        for ev in events.into_iter().rev() {
            let inbound = match ev.raw().deserialize() {
                Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                    SyncMessageLikeEvent::Original(m),
                ))) => self.message(m, &room).await,
                Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::Reaction(
                    SyncMessageLikeEvent::Original(r),
                ))) => self.reaction(r, &room).await,
                _ => None,
            };
            forward(sink.clone(), inbound).await;
        }
    }

    /// Joins rooms an allowed user invites keel to (with retries); declines the others.
    async fn on_invite(&self, inviter: OwnedUserId, invitee: OwnedUserId, room: Room) {
        if Some(invitee.as_ref()) != self.client.user_id() || room.state() != matrix_sdk::RoomState::Invited {
            return;
        }
        if !matches(&self.config.allow_invites_from, &inviter) {
            tracing::warn!(room = %room.room_id(), inviter = %inviter, "declining an invite from someone not allowed");
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
        // Only rooms keel is in: a declined invite's room comes back in the sync's left rooms,
        // with what its inviter wrote there, and none of it is for keel.
        if Some(ev.sender.as_ref()) == self.client.user_id() || room.state() != matrix_sdk::RoomState::Joined {
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
                let mentioned = ev
                    .content
                    .mentions
                    .as_ref()
                    .zip(self.client.user_id())
                    .is_some_and(|(m, me)| m.user_ids.contains(me));
                self.addressed(&text.body, mentioned, room).await
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

    async fn reaction(&self, ev: OriginalSyncReactionEvent, room: &Room) -> Option<Inbound> {
        if Some(ev.sender.as_ref()) == self.client.user_id() || room.state() != matrix_sdk::RoomState::Joined {
            return None;
        }
        let target = ev.content.relates_to.event_id.clone();
        let original = room.event(&target, None).await.ok();
        let (message_text, author) = match original.and_then(|e| e.raw().deserialize().ok()) {
            Some(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                SyncMessageLikeEvent::Original(m),
            ))) => {
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
            // Matrix has no message only one person sees: the answer goes where they wrote,
            // mentioning them.
            Outbound::Ephemeral {
                conversation,
                user,
                text,
            } => {
                let mut content = RoomMessageEventContent::text_markdown(text);
                if let Ok(user) = OwnedUserId::try_from(user.as_str()) {
                    content = content.add_mentions(Mentions::with_user_ids([user]));
                }
                (self.room(conversation)?, content)
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

/// Hands an event to keel. The sync token moves on once the handlers return, so an event keel
/// could not take (its database is away) is tried again with backoff, holding the sync back,
/// for about ten minutes before it is logged as lost.
async fn forward(sink: Arc<dyn InboundSink>, inbound: Option<Inbound>) {
    let Some(inbound) = inbound else { return };
    let mut wait = Duration::from_millis(250);
    for attempt in 1..=24 {
        match sink.deliver(inbound.clone()).await {
            Ok(()) => return,
            Err(e) if attempt == 24 => {
                tracing::error!(event_id = %inbound.event_id, error = %format!("{e:#}"), "keel could not take a Matrix event; giving up");
            }
            Err(e) => {
                tracing::warn!(event_id = %inbound.event_id, error = %format!("{e:#}"), retry_in_ms = wait.as_millis() as u64, "keel could not take a Matrix event; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The session for an access token: its user and device, as the homeserver tells them.
async fn token_session(homeserver: &str, token: &SecretString) -> anyhow::Result<MatrixSession> {
    let probe = Client::builder().homeserver_url(homeserver).build().await?;
    let ask = |device: matrix_sdk::ruma::OwnedDeviceId, user: OwnedUserId| MatrixSession {
        meta: matrix_sdk::SessionMeta {
            user_id: user,
            device_id: device,
        },
        tokens: matrix_sdk::authentication::SessionTokens {
            access_token: token.expose_secret().to_string(),
            refresh_token: None,
        },
    };
    // Any user and device will do to ask who the token belongs to.
    probe
        .restore_session(ask("KEELPROBE".into(), "@keel:localhost".try_into()?))
        .await?;
    let who = probe.whoami().await?;
    let device = who
        .device_id
        .ok_or_else(|| anyhow::anyhow!("the access token has no device; log in with a password instead"))?;
    Ok(ask(device, who.user_id))
}

/// Writes a file only its owner can read (the saved session holds the access token).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
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

    fn parallel(&self) -> usize {
        8
    }

    fn link(&self) -> Option<keel_chat::Link> {
        Some(self.link.clone())
    }

    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        self.deliver(None, outbound).await
    }

    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        let sent = self.deliver(Some(key), outbound).await;
        if sent.is_ok() {
            // The homeserver answered: it is reachable, whatever the sync loop last saw.
            self.link.set_up();
        }
        sent
    }
}

/// True when the homeserver (or the configuration) refused keel's login, as opposed to not
/// answering: trying again will not help.
pub fn is_refused(e: &anyhow::Error) -> bool {
    let kind = if let Some(e) = e.downcast_ref::<matrix_sdk::Error>() {
        e.client_api_error_kind()
    } else if let Some(e) = e.downcast_ref::<matrix_sdk::HttpError>() {
        e.client_api_error_kind()
    } else {
        return e.downcast_ref::<NotConfigured>().is_some();
    };
    matches!(
        kind,
        Some(
            ErrorKind::Forbidden
                | ErrorKind::UnknownToken(_)
                | ErrorKind::MissingToken
                | ErrorKind::UserDeactivated
                | ErrorKind::InvalidParam
        )
    )
}

/// keel has neither a password nor an access token for Matrix.
#[derive(Debug)]
pub struct NotConfigured;

impl std::fmt::Display for NotConfigured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no Matrix password or access token is set")
    }
}

impl std::error::Error for NotConfigured {}

/// A Markdown message, in the thread of `thread` when it is an event id.
fn in_thread(text: &str, thread: Option<&str>) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_markdown(text);
    if let Some(root) = thread.and_then(|t| OwnedEventId::try_from(t).ok()) {
        content.relates_to = Some(Relation::Thread(Thread::plain(root.clone(), root)));
    }
    content
}
