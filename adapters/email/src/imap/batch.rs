//! Catching up with the mailbox: which mail is new, fetching it in batches, handing each batch
//! to keel, and only once keel has committed it marking the batch handled (`\Seen`, or moved to
//! the done folder) and moving the stored position on. Each batch is handed over as soon as it
//! is read, and the next ones fetched and read while keel handles it, up to [`IN_HAND`] batches
//! (and [`IN_HAND_BYTES`] of mail) in keel's hands; the batches keel has committed are flagged
//! together, while keel handles the rest.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use async_imap::types::{Fetch, UnsolicitedResponse};
use chrono::Utc;
use futures::TryStreamExt;
use keel_chat::{Inbound, InboundSink};

use super::{within, Offers, Reader, Session, COMMAND_TIMEOUT, FETCH_TIMEOUT, MAX_WAIT, MIN_WAIT};
use crate::state::State;
use crate::{inbound, read};

/// Mails fetched and handed over together.
const BATCH: usize = 100;
/// How many batches keel may hold at once, handed over and not yet flagged: the reader fetches
/// the next batch while keel handles these, and keel takes what waits in one transaction.
const IN_HAND: usize = 8;
/// How much mail (as fetched) keel may hold at once; the batch that passes it still goes.
const IN_HAND_BYTES: usize = 64 << 20;

/// A batch keel is handling: its UIDs done with once keel has its events (unreadable and
/// automatic mail among them), and the handover running meanwhile, which ends with the events
/// keel did not take.
struct Handover {
    uids: Vec<u32>,
    /// The size of its mails as fetched.
    bytes: usize,
    running: tokio::task::JoinHandle<Vec<(u32, Inbound)>>,
}

impl Reader {
    /// Handles everything waiting, batch by batch, until a search finds nothing new and the server
    /// has announced no new mail meanwhile.
    pub(super) async fn catch_up(
        &mut self,
        session: &mut Session,
        offers: Offers,
        validity: u32,
    ) -> anyhow::Result<()> {
        // UIDs handled in this pass: one whose flag did not stick is not handed over again here.
        let mut handled = BTreeSet::new();
        loop {
            announced(session);
            let pending = self.pending(session, validity, &handled).await?;
            if pending.is_empty() {
                if announced(session) {
                    continue;
                }
                return Ok(());
            }
            let mut in_hand: VecDeque<Handover> = VecDeque::with_capacity(IN_HAND + 1);
            for uids in pending.chunks(BATCH) {
                let fetched = fetch(session, uids).await?;
                let bytes = fetched.iter().filter_map(Fetch::body).map(<[u8]>::len).sum();
                let (done, events) = self.prepare(validity, uids, &fetched);
                // Handed over at once: keel takes it while the batches before are flagged.
                in_hand.push_back(Handover {
                    uids: done,
                    bytes,
                    running: tokio::spawn(hand_over_all(self.sink.clone(), events)),
                });
                handled.extend(uids.iter().copied());
                let over = beyond_bounds(&in_hand);
                self.finish(session, offers, validity, &mut in_hand, over).await?;
            }
            let all = in_hand.len();
            self.finish(session, offers, validity, &mut in_hand, all).await?;
        }
    }

    /// The UIDs to handle, ascending: the unseen mail, and when the stored position belongs to
    /// this UIDVALIDITY everything after it (`N:*` always answers the last mail, even below N:
    /// only UIDs past the position count).
    async fn pending(&self, session: &mut Session, validity: u32, handled: &BTreeSet<u32>) -> anyhow::Result<Vec<u32>> {
        let mut uids: BTreeSet<u32> = within("UID SEARCH", COMMAND_TIMEOUT, session.uid_search("UNSEEN"))
            .await?
            .into_iter()
            .collect();
        if let Some(last) = self.state.filter(|s| s.uidvalidity == validity).map(|s| s.last_uid) {
            let query = format!("UID {}:*", last.saturating_add(1));
            let since = within("UID SEARCH", COMMAND_TIMEOUT, session.uid_search(&query)).await?;
            uids.extend(since.into_iter().filter(|&uid| uid > last));
        }
        Ok(uids.difference(handled).copied().collect())
    }

    /// Reads a fetched batch: the UIDs it holds, ascending, and the events for keel among them.
    fn prepare(&self, validity: u32, uids: &[u32], fetched: &[Fetch]) -> (Vec<u32>, Vec<(u32, Inbound)>) {
        let mut done: Vec<u32> = Vec::with_capacity(fetched.len());
        let mut events = Vec::with_capacity(fetched.len());
        for mail in fetched {
            // Unsolicited FETCH responses (flag changes) carry no UID or another one.
            let Some(uid) = mail.uid.filter(|uid| uids.binary_search(uid).is_ok()) else {
                continue;
            };
            if done.contains(&uid) {
                continue;
            }
            if let Some(event) = self.event(validity, uid, mail) {
                events.push((uid, event));
            }
            done.push(uid);
        }
        done.sort_unstable();
        (done, events)
    }

    /// Takes the oldest `wait_for` batches once keel has them, and after them every batch keel
    /// already has (handing over again, one by one, what it did not take); then marks all those
    /// handled with one command and stores the highest UID.
    async fn finish(
        &mut self,
        session: &mut Session,
        offers: Offers,
        validity: u32,
        in_hand: &mut VecDeque<Handover>,
        wait_for: usize,
    ) -> anyhow::Result<()> {
        let mut done: Vec<u32> = Vec::new();
        let mut taken = 0;
        while in_hand
            .front()
            .is_some_and(|h| taken < wait_for || h.running.is_finished())
        {
            let Some(handover) = in_hand.pop_front() else {
                break;
            };
            taken += 1;
            let refused = handover
                .running
                .await
                .map_err(|e| anyhow::anyhow!("handing mail to keel failed: {e}"))?;
            for (uid, event) in refused {
                self.hand_over(session, uid, event).await?;
            }
            // Batches ascend, so their UIDs together do too.
            done.extend(handover.uids);
        }
        let Some(&highest) = done.last() else {
            return Ok(());
        };
        self.mark_handled(session, offers, &uid_set(&done)).await?;
        let last = self
            .state
            .filter(|s| s.uidvalidity == validity)
            .map_or(0, |s| s.last_uid);
        let state = State {
            uidvalidity: validity,
            last_uid: last.max(highest),
        };
        if let Err(e) = state.save(&self.config.state_path) {
            // The mail is flagged: a later start without the file reads from the unseen mail.
            tracing::warn!(path = %self.config.state_path.display(), error = %e, "cannot save the mailbox state");
        }
        self.state = Some(state);
        Ok(())
    }

    /// Reads one mail into the event for keel. A mail that cannot be read, and automatic mail or
    /// keel's own, are logged and make none: they are flagged with the rest, so the mailbox is
    /// never stuck on them.
    fn event(&self, validity: u32, uid: u32, fetch: &Fetch) -> Option<Inbound> {
        let read = match fetch.body() {
            Some(raw) => read::read(raw).map_err(|why| why.to_string()),
            None => Err("the server sent no body".to_string()),
        };
        let mail = match read {
            Ok(mail) => mail,
            Err(reason) => {
                tracing::warn!(uid, reason = %reason, "skipping a mail that cannot be read");
                metrics::counter!("keel_mail_received_total", "outcome" => "unreadable").increment(1);
                return None;
            }
        };
        let at = fetch.internal_date().map_or_else(Utc::now, |d| d.with_timezone(&Utc));
        let message_id = mail.message_id.clone().unwrap_or_default();
        let automatic = mail.automatic.clone().unwrap_or_default();
        let fallback_id = format!("uid:{validity}:{uid}");
        let event = inbound::to_inbound(mail, &fallback_id, at, &self.mailbox);
        match &event {
            None => {
                tracing::info!(uid, message_id = %message_id, automatic = %automatic, "not for keel: automatic mail or keel's own");
                metrics::counter!("keel_mail_received_total", "outcome" => "automatic").increment(1);
            }
            Some(_) => {
                metrics::counter!("keel_mail_received_total", "outcome" => "event").increment(1);
            }
        }
        event
    }

    /// Hands keel an event it refused once, trying again with backoff (1 s doubling to 60 s) for
    /// as long as keel cannot take it; a NOOP before each try keeps the session alive and notices
    /// a lost one.
    async fn hand_over(&self, session: &mut Session, uid: u32, event: Inbound) -> anyhow::Result<()> {
        let mut wait = MIN_WAIT;
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
            within("NOOP", COMMAND_TIMEOUT, session.noop()).await?;
            match self.sink.deliver(event.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(uid, event_id = %event.event_id, error = %format!("{e:#}"), retry_in_s = wait.as_secs(), "keel could not take a mail; retrying");
                }
            }
        }
    }

    /// Flags the handled mail `\Seen`, or moves it to the done folder (MOVE where offered, else
    /// COPY, `\Deleted` and EXPUNGE: UID EXPUNGE with UIDPLUS, so only these go).
    async fn mark_handled(&self, session: &mut Session, offers: Offers, set: &str) -> anyhow::Result<()> {
        let Some(folder) = self.config.done_folder.as_deref() else {
            return store(session, set, "+FLAGS.SILENT (\\Seen)").await;
        };
        if offers.moves {
            return within("UID MOVE", COMMAND_TIMEOUT, session.uid_mv(set, folder)).await;
        }
        within("UID COPY", COMMAND_TIMEOUT, session.uid_copy(set, folder)).await?;
        store(session, set, "+FLAGS.SILENT (\\Deleted)").await?;
        let expunge = async {
            if offers.uidplus {
                session.uid_expunge(set).await?.try_collect::<Vec<_>>().await
            } else {
                session.expunge().await?.try_collect::<Vec<_>>().await
            }
        };
        within("EXPUNGE", COMMAND_TIMEOUT, expunge).await.map(drop)
    }
}

/// How many of the oldest batches keel must be done with before the reader fetches more, so that
/// it holds at most [`IN_HAND`] batches and [`IN_HAND_BYTES`] of mail.
fn beyond_bounds(in_hand: &VecDeque<Handover>) -> usize {
    let mut count = in_hand.len();
    let mut bytes: usize = in_hand.iter().map(|h| h.bytes).sum();
    let mut over = 0;
    for handover in in_hand {
        if count <= IN_HAND && bytes <= IN_HAND_BYTES {
            break;
        }
        count -= 1;
        bytes -= handover.bytes;
        over += 1;
    }
    over
}

/// `UID STORE set query`, its answers read and dropped.
async fn store(session: &mut Session, set: &str, query: &str) -> anyhow::Result<()> {
    let step = async { session.uid_store(set, query).await?.try_collect::<Vec<_>>().await };
    within("UID STORE", COMMAND_TIMEOUT, step).await.map(drop)
}

/// Empties the session's queue of unsolicited responses; true when it held news of mail
/// (`EXISTS`, `RECENT`) that a search may not have seen yet.
fn announced(session: &mut Session) -> bool {
    let mut news = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        news |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    news
}

/// `UID FETCH` of a batch: each mail whole, with its arrival time.
async fn fetch(session: &mut Session, uids: &[u32]) -> anyhow::Result<Vec<Fetch>> {
    let set = uid_set(uids);
    let fetch = async {
        let stream = session.uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])").await?;
        stream.try_collect::<Vec<Fetch>>().await
    };
    within("UID FETCH", FETCH_TIMEOUT, fetch).await
}

/// Hands a batch's events to keel all at once (its group commit takes them together), each
/// returning once committed; returns those keel refused, in order, to be tried again.
async fn hand_over_all(sink: Arc<dyn InboundSink>, events: Vec<(u32, Inbound)>) -> Vec<(u32, Inbound)> {
    let tries = events.into_iter().map(|(uid, event)| {
        let sink = sink.clone();
        async move {
            match sink.deliver(event.clone()).await {
                Ok(()) => None,
                Err(e) => {
                    tracing::warn!(uid, event_id = %event.event_id, error = %format!("{e:#}"), "keel could not take a mail; retrying");
                    Some((uid, event))
                }
            }
        }
    });
    futures::future::join_all(tries).await.into_iter().flatten().collect()
}

/// An IMAP sequence set of ascending UIDs, runs written as ranges: `1:3,7,9:10`.
fn uid_set(uids: &[u32]) -> String {
    let mut set = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !set.is_empty() {
            set.push(',');
        }
        if start == end {
            set.push_str(&start.to_string());
        } else {
            set.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_write_runs_as_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    /// Keel holds at most 8 batches and 64 MiB of mail; a batch larger than that alone still goes.
    #[test]
    fn keel_holds_a_bounded_number_and_size_of_batches() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let _entered = runtime.enter();
        let in_hand = |sizes: &[usize]| -> VecDeque<Handover> {
            sizes
                .iter()
                .map(|&bytes| Handover {
                    uids: Vec::new(),
                    bytes,
                    running: tokio::spawn(async { Vec::new() }),
                })
                .collect()
        };
        const MIB: usize = 1 << 20;
        assert_eq!(beyond_bounds(&in_hand(&[MIB; 8])), 0);
        assert_eq!(beyond_bounds(&in_hand(&[MIB; 10])), 2);
        assert_eq!(beyond_bounds(&in_hand(&[40 * MIB, 20 * MIB, 4 * MIB])), 0);
        assert_eq!(beyond_bounds(&in_hand(&[40 * MIB, 20 * MIB, 5 * MIB])), 1);
        assert_eq!(beyond_bounds(&in_hand(&[40 * MIB, 40 * MIB, 40 * MIB])), 2);
        assert_eq!(beyond_bounds(&in_hand(&[100 * MIB])), 1);
        assert_eq!(beyond_bounds(&in_hand(&[])), 0);
    }
}
