//! Handling inbound events: dedupe, identify the speaker, route to a command or to capture, and
//! queue the replies, in one transaction per batch.

use std::collections::HashMap;

use keel_chat::{Inbound, InboundKind, Outbound, CARD_ACTION};

use super::batch::{score, Batch};
use super::keel::{Handled, Keel};
use super::outcome::{Fail, Outcome};
use super::savepoint::Savepoint;
use super::turn::{reply_thread, Turn, Who};
use super::{capture, cards, commands, forms, home, mail, standup, surveys};
use crate::store::lane::{Db, Lane};
use crate::store::outbox::{self, Queued};
use crate::store::people::{self, Client};
use crate::store::tasks;

/// How many events a batch handles between writing their rows in the background (see `Lane`).
const FLUSH_BEHIND: usize = 32;

impl Keel {
    /// Handles one event in its own transaction.
    pub async fn handle(&self, inbound: &Inbound) -> anyhow::Result<Handled> {
        let mut results = self.in_one_transaction(std::slice::from_ref(inbound), None).await?;
        Ok(results.pop().unwrap_or(Handled::Duplicate))
    }

    /// Handles several events in one transaction, so one commit makes them all durable (group
    /// commit). When any of them hits a bug or an outage the whole batch is rolled back and each
    /// event is handled again in a transaction of its own, so one bad event cannot take the
    /// others down.
    pub async fn handle_batch(&self, batch: &[Inbound]) -> Vec<anyhow::Result<Handled>> {
        self.handle_read_batch(batch, None).await
    }

    /// [`Keel::handle_batch`] with the moods of the events' texts read already, by text (see
    /// `moods`); those left out are read here.
    pub(super) async fn handle_read_batch(
        &self,
        batch: &[Inbound],
        moods: Option<HashMap<String, f64>>,
    ) -> Vec<anyhow::Result<Handled>> {
        if batch.len() > 1 {
            match self.in_one_transaction(batch, moods).await {
                Ok(results) => return results.into_iter().map(Ok).collect(),
                Err(e) => {
                    tracing::warn!(events = batch.len(), error = %format!("{e:#}"), "a batch failed; handling its events one by one");
                }
            }
        }
        let mut results = Vec::with_capacity(batch.len());
        for inbound in batch {
            let result = self.handle(inbound).await;
            if let Err(e) = &result {
                tracing::error!(adapter = %inbound.adapter, event = %inbound.event_id, error = %format!("{e:#}"), "handling an event failed");
            }
            results.push(result);
        }
        results
    }

    /// Dedupes the whole batch with one statement, handles the new events, and queues all their
    /// replies with one statement before the commit.
    async fn in_one_transaction(
        &self,
        events: &[Inbound],
        moods: Option<HashMap<String, f64>>,
    ) -> anyhow::Result<Vec<Handled>> {
        let now = self.clock.now().timestamp();
        let mut tx = self.store.begin().await?;
        let ids: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.adapter.as_str(), e.event_id.as_str()))
            .collect();
        let fresh = tasks::first_sightings(&mut tx, &ids, now).await?;
        let mut batch = Batch::default();
        let new_events: Vec<&Inbound> = events.iter().zip(&fresh).filter(|(_, f)| **f).map(|(e, _)| e).collect();
        if new_events.len() > 1 {
            let scoring = moods.is_none().then(|| score(&new_events));
            batch
                .prefetch(&mut tx, &new_events, self.settings.group_window_secs)
                .await?;
            if let Some(scoring) = scoring {
                batch.scored(scoring.await.unwrap_or_default());
            }
        }
        if let Some(moods) = moods {
            batch.scored(moods);
        }
        let mut out = Vec::new();
        let mut lane = Lane::new(tx);
        for (n, inbound) in new_events.into_iter().enumerate() {
            out.extend(self.handle_in(Db::Lane(&mut lane), &mut batch, inbound, now).await?);
            if (n + 1) % FLUSH_BEHIND == 0 {
                lane.flush_behind(&mut batch.writes).await?;
            }
        }
        let mut tx = lane.finish(&mut batch.writes).await?;
        let changed = batch.writes.take_changed();
        cards::refresh(&mut tx, self, &changed, &mut out, now).await?;
        let homes = home::tasks_changed(&mut tx, &changed, now).await?;
        outbox::enqueue_queued(&mut tx, &out, now).await?;
        tx.commit().await?;
        if homes {
            self.jobs_added.notify_one();
        }
        count_handled(events, &fresh, batch.writes.created());
        Ok(fresh
            .into_iter()
            .map(|f| if f { Handled::Processed } else { Handled::Duplicate })
            .collect())
    }

    /// Handles one event seen for the first time; returns the replies to queue.
    async fn handle_in(
        &self,
        mut db: Db<'_>,
        batch: &mut Batch,
        inbound: &Inbound,
        now: i64,
    ) -> anyhow::Result<Vec<Queued>> {
        let mut channel_client = batch
            .channel_client(&mut db, &inbound.adapter, &inbound.conversation.id)
            .await?;
        if let InboundKind::Mail(_) = &inbound.kind {
            if !inbound.speaker.external {
                // The team answers with `reply`; their own mail to keel's mailbox makes nothing.
                tracing::info!(event = %inbound.event_id, "a mail from the team's own domain: nothing to do");
                return Ok(Vec::new());
            }
            if let (None, Some(domain)) = (&channel_client, keel_chat::mail::domain_of(&inbound.conversation.id)) {
                channel_client = batch.channel_client(&mut db, &inbound.adapter, domain).await?;
            }
        }
        let who = self
            .identify(&mut db, batch, inbound, channel_client.as_ref(), now)
            .await?;
        let shared = channel_client.is_some() && !inbound.conversation.direct;
        if addresses_keel(inbound) && !is_request(inbound) {
            // A command runs in a savepoint of its own, so a mistake rolls back whatever it
            // touched while the dedupe record and the answer stay.
            let conn = db.conn(&mut batch.writes).await?;
            let mut savepoint = Savepoint::begin(conn, batch).await?;
            let mut turn = savepoint.turn(self, inbound, who, channel_client);
            let result = route(&mut turn).await;
            let out = turn.out;
            match result {
                Ok(()) => {
                    savepoint.commit().await?;
                    Ok(out)
                }
                Err(Fail::User(message)) => {
                    savepoint.rollback().await?;
                    Ok(vec![error_reply(inbound, &message, shared)])
                }
                Err(Fail::Internal(e)) => Err(e),
            }
        } else {
            // Conversation, reactions, edits and requests only fail with a user error before
            // they write anything (see `capture.rs`), so they need no savepoint: their rows are
            // written with the batch's.
            let mut turn = Turn::new(db, batch, self, inbound, who, channel_client);
            match route(&mut turn).await {
                Ok(()) => Ok(turn.out),
                Err(Fail::User(message)) if matches!(inbound.kind, InboundKind::Mail(_)) => {
                    // A client's mail is answered by people, not with keel's one-line mistakes.
                    tracing::info!(event = %inbound.event_id, reason = %message, "a mail made no task");
                    Ok(Vec::new())
                }
                Err(Fail::User(message)) => Ok(vec![error_reply(inbound, &message, shared)]),
                Err(Fail::Internal(e)) => Err(e),
            }
        }
    }

    /// Finds or registers the speaker: a team member, or a contact of a client.
    async fn identify(
        &self,
        db: &mut Db<'_>,
        batch: &mut Batch,
        inbound: &Inbound,
        channel_client: Option<&Client>,
        now: i64,
    ) -> anyhow::Result<Who> {
        let speaker = &inbound.speaker;
        if !speaker.external {
            let conn = db.conn(&mut batch.writes).await?;
            let member = match people::member_by_platform_id(conn, &inbound.adapter, &speaker.id).await? {
                Some(m) => m,
                None => {
                    let member = people::add_member(
                        conn,
                        &inbound.adapter,
                        &speaker.id,
                        &speaker.name,
                        speaker.tz.as_deref(),
                        now,
                    )
                    .await?;
                    standup::schedule_member(conn, self, &member, member.created_at).await?;
                    member
                }
            };
            return Ok(Who::Team(member));
        }
        let hinted = match &speaker.client_hint {
            Some(key) => people::client_by_key(db.conn(&mut batch.writes).await?, key).await?,
            None => None,
        };
        let known = batch.contact(db, &inbound.adapter, &speaker.id).await?;
        let client = match (hinted, channel_client, &known) {
            (Some(c), _, _) => Some(c),
            (None, Some(c), _) => Some(c.clone()),
            (None, None, Some(contact)) => {
                people::client_by_id(db.conn(&mut batch.writes).await?, contact.client_id).await?
            }
            (None, None, None) => None,
        };
        // Stored as people see it: a display name with control characters is cleaned once, and
        // compared cleaned, so it is not written again on every message.
        let name = crate::domain::clean_name(&speaker.name);
        if let Some(c) = &client {
            let changed = known.as_ref().is_none_or(|k| k.client_id != c.id || k.name != name);
            if changed {
                let contact = people::Contact {
                    platform_id: speaker.id.clone(),
                    name: name.clone(),
                    client_id: c.id,
                    tz: speaker.tz.clone(),
                };
                batch.contact_saved(&inbound.adapter, &contact);
                batch.writes.contact(people::SeenContact {
                    adapter: inbound.adapter.clone(),
                    contact,
                    at: now,
                });
            }
        }
        let tz = speaker.tz.clone().or_else(|| known.and_then(|k| k.tz));
        Ok(Who::Client { name, client, tz })
    }
}

/// Counts a committed batch for the metrics: its new events by kind, its repeats, the tasks it
/// created.
fn count_handled(events: &[Inbound], fresh: &[bool], tasks_created: u64) {
    use crate::observe;
    for (event, first) in events.iter().zip(fresh) {
        let adapter = event.adapter.clone();
        if *first {
            let kind = match event.kind {
                InboundKind::Message { .. } => "message",
                InboundKind::Command { .. } => "command",
                InboundKind::Reaction { .. } => "reaction",
                InboundKind::Edit { .. } => "edit",
                InboundKind::Action { .. } => "action",
                InboundKind::Mail(_) => "mail",
                InboundKind::FormAsked { .. } | InboundKind::FormSent { .. } => "form",
                InboundKind::HomeOpened => "home",
            };
            metrics::counter!(observe::INBOUND_EVENTS, "adapter" => adapter, "kind" => kind).increment(1);
        } else {
            metrics::counter!(observe::DUPLICATES, "adapter" => adapter).increment(1);
        }
    }
    if tasks_created > 0 {
        metrics::counter!(observe::TASKS_CREATED).increment(tasks_created);
    }
}

/// Sends an event where it belongs: a command, a request, a reply, a reaction.
async fn route(turn: &mut Turn<'_>) -> Outcome {
    let inbound = turn.inbound;
    if surveys::intercept(turn).await? {
        return Ok(());
    }
    match &inbound.kind {
        InboundKind::Command { text } => commands::run(turn, text, true).await,
        InboundKind::Message { text, .. } if addresses_keel(inbound) => {
            if let Some(member) = turn.who.member().cloned().filter(|_| inbound.conversation.direct) {
                let now = turn.at();
                if let Some(run) = standup::open_run(turn.db().await?, &member, now).await? {
                    // While a standup waits for answers, a direct message is the next answer
                    // (`/keel …` still runs commands).
                    let mut ctx = turn.ctx().await?;
                    return Ok(standup::answer(&mut ctx, &member, run, text).await?);
                }
            }
            commands::run(turn, text, false).await
        }
        InboundKind::Message { text, .. } => {
            if mail::in_card_thread(turn, text).await? {
                return Ok(());
            }
            capture::conversation(turn, text).await
        }
        InboundKind::Mail(message) => mail::arrived(turn, message).await,
        InboundKind::Reaction { emoji, message_id, .. } => capture::reaction(turn, emoji, message_id).await,
        InboundKind::Edit { message_id, text } => capture::edit(turn, message_id, text).await,
        InboundKind::Action { action_id, value, .. } if action_id == CARD_ACTION => commands::press(turn, value).await,
        // Buttons other than keel's questions (answered above) and cards do nothing.
        InboundKind::Action { .. } => Ok(()),
        InboundKind::FormAsked { form, trigger, message } => {
            forms::asked(turn, form, trigger, message.as_deref()).await
        }
        InboundKind::FormSent { form, values, context } => forms::sent(turn, form, values, context).await,
        InboundKind::HomeOpened => home::opened(turn).await,
    }
}

/// True for events addressed to keel: slash commands, mentions, direct messages.
fn addresses_keel(inbound: &Inbound) -> bool {
    match &inbound.kind {
        InboundKind::Command { .. } => true,
        InboundKind::Message { to_keel, .. } => *to_keel || inbound.conversation.direct,
        InboundKind::Action { action_id, .. } => action_id == CARD_ACTION,
        InboundKind::FormAsked { .. } | InboundKind::FormSent { .. } | InboundKind::HomeOpened => true,
        _ => false,
    }
}

/// A request addressed to keel in a channel (`@keel <request>`, `track …`, `/keel <request>`):
/// like auto-capture it only queues rows, after its last possible user error.
fn is_request(inbound: &Inbound) -> bool {
    if inbound.conversation.direct {
        return false;
    }
    let text = match &inbound.kind {
        InboundKind::Message { text, to_keel: true } | InboundKind::Command { text } => text,
        _ => return false,
    };
    !text.trim().is_empty()
        && matches!(
            crate::command::parse(text),
            Ok((crate::command::Command::Track { .. }, _)) | Err(crate::command::ParseError::NotACommand)
        )
}

/// The answer to a mistake: to the speaker alone for slash commands, buttons and forms, and for anything
/// in a channel shared with a client (whose people need not read the team's typos); in the
/// thread otherwise.
fn error_reply(inbound: &Inbound, text: &str, shared: bool) -> Queued {
    let private = shared
        || matches!(
            inbound.kind,
            InboundKind::Command { .. }
                | InboundKind::Action { .. }
                | InboundKind::FormAsked { .. }
                | InboundKind::FormSent { .. }
                | InboundKind::HomeOpened
        );
    let outbound = match private {
        true => Outbound::Ephemeral {
            conversation: inbound.conversation.id.clone(),
            user: inbound.speaker.id.clone(),
            text: text.to_string(),
            thread: inbound.thread.clone(),
        },
        false => Outbound::Message {
            conversation: inbound.conversation.id.clone(),
            thread: reply_thread(inbound),
            text: text.to_string(),
        },
    };
    Queued {
        adapter: inbound.adapter.clone(),
        kind: "reply".into(),
        outbound,
    }
}
