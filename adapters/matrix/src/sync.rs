//! The sync loop: event handlers, reconnecting when the homeserver goes away, reading back gaps
//! in a room's timeline with /messages, and answering invites.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use keel_chat::{Inbound, InboundSink};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncMessageLikeEvent, SyncStateEvent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::sync::SyncResponse;

use crate::{matches, Matrix};

/// Events per room in one sync response; more than this since the last sync is a gap, read back.
const TIMELINE_LIMIT: u32 = 100;
/// Pages of 100 events read back to close one gap (beyond that, the oldest are logged as lost).
const GAP_PAGES: usize = 50;

/// Waits between failed syncs, from the first failure on; a sync that succeeds starts them over.
const SYNC_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(500))
    .with_max_delay(SYNC_MAX_WAIT)
    .without_max_times();
/// The longest wait between syncs: what waits in the outbox goes soon after the server is back.
const SYNC_MAX_WAIT: Duration = Duration::from_secs(10);

/// Waits after each of the 8 failed joins of an invited room (the last one too), doubling.
const JOIN_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_secs(1))
    .without_max_delay()
    .with_max_times(8);

/// Waits between the 24 tries to hand keel an event (23 waits, doubling up to 30 s).
const FORWARD_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(250))
    .with_max_delay(Duration::from_secs(30))
    .with_max_times(23);

fn timeline_filter(limit: u32) -> matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter {
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(limit.into());
    filter.into()
}

impl Matrix {
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
            let mut waits = SYNC_BACKOFF.build();
            loop {
                let started = std::time::Instant::now();
                match me.client.sync_once(settings.clone()).await {
                    Ok(response) => {
                        me.connection.set_up();
                        waits = SYNC_BACKOFF.build();
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
                        me.connection.set_down(&e.to_string());
                        let wait = waits.next().unwrap_or(SYNC_MAX_WAIT);
                        tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Matrix sync stopped; reconnecting");
                        tokio::time::sleep(wait).await;
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
        for wait in JOIN_BACKOFF.build() {
            match room.join().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(room = %room.room_id(), error = %e, "joining failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Hands an event to keel. The sync token moves on once the handlers return, so an event keel
/// could not take (its database is away) is tried again with backoff, holding the sync back,
/// for about ten minutes before it is logged as lost.
async fn forward(sink: Arc<dyn InboundSink>, inbound: Option<Inbound>) {
    let Some(inbound) = inbound else { return };
    let taken = (|| sink.deliver(inbound.clone()))
        .retry(FORWARD_BACKOFF)
        .notify(|e, wait| {
            tracing::warn!(event_id = %inbound.event_id, error = %format!("{e:#}"), retry_in_ms = wait.as_millis() as u64, "keel could not take a Matrix event; retrying");
        })
        .await;
    if let Err(e) = taken {
        tracing::error!(event_id = %inbound.event_id, error = %format!("{e:#}"), "keel could not take a Matrix event; giving up");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(list: &[u64]) -> Vec<Duration> {
        list.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn sync_waits_double_from_half_a_second_up_to_ten() {
        let waits: Vec<Duration> = SYNC_BACKOFF.build().take(9).collect();
        assert_eq!(
            waits,
            millis(&[500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000])
        );
    }

    #[test]
    fn join_waits_eight_times_doubling_from_one_second() {
        let waits: Vec<Duration> = JOIN_BACKOFF.build().collect();
        assert_eq!(
            waits,
            millis(&[1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000])
        );
    }

    #[test]
    fn forward_waits_23_times_doubling_up_to_thirty_seconds() {
        let waits: Vec<Duration> = FORWARD_BACKOFF.build().collect();
        let mut expected = millis(&[250, 500, 1000, 2000, 4000, 8000, 16_000]);
        expected.extend([Duration::from_secs(30); 16]);
        assert_eq!(waits, expected);
    }
}
