//! Catching up with the mailbox: which mail is new, fetching it in batches, handing each to keel,
//! and only then marking the batch handled (`\Seen`, or moved to the done folder) and moving the
//! stored position on.

use std::collections::BTreeSet;

use async_imap::types::{Fetch, UnsolicitedResponse};
use chrono::Utc;
use futures::TryStreamExt;
use keel_chat::Inbound;

use super::{within, Offers, Reader, Session, COMMAND_TIMEOUT, FETCH_TIMEOUT, MAX_WAIT, MIN_WAIT};
use crate::state::State;
use crate::{inbound, read};

/// Mails fetched, handed over and flagged together.
const BATCH: usize = 100;

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
            for uids in pending.chunks(BATCH) {
                self.batch(session, offers, validity, uids).await?;
                handled.extend(uids.iter().copied());
            }
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

    /// Fetches one batch, hands each mail to keel, then marks the batch handled and stores the
    /// highest UID.
    async fn batch(
        &mut self,
        session: &mut Session,
        offers: Offers,
        validity: u32,
        uids: &[u32],
    ) -> anyhow::Result<()> {
        let set = uid_set(uids);
        let fetch = async {
            let stream = session.uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])").await?;
            stream.try_collect::<Vec<Fetch>>().await
        };
        let fetched = within("UID FETCH", FETCH_TIMEOUT, fetch).await?;
        let mut done: Vec<u32> = Vec::with_capacity(fetched.len());
        for mail in &fetched {
            // Unsolicited FETCH responses (flag changes) carry no UID or another one.
            let Some(uid) = mail.uid.filter(|uid| uids.binary_search(uid).is_ok()) else {
                continue;
            };
            if done.contains(&uid) {
                continue;
            }
            self.handle(session, validity, uid, mail).await?;
            done.push(uid);
        }
        done.sort_unstable();
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

    /// Reads one mail and hands it to keel. A mail that cannot be read, and automatic mail or
    /// keel's own, are logged and count as handled: they are flagged with the rest, so the
    /// mailbox is never stuck on them.
    async fn handle(&self, session: &mut Session, validity: u32, uid: u32, fetch: &Fetch) -> anyhow::Result<()> {
        let read = match fetch.body() {
            Some(raw) => read::read(raw).map_err(|why| why.to_string()),
            None => Err("the server sent no body".to_string()),
        };
        let mail = match read {
            Ok(mail) => mail,
            Err(reason) => {
                tracing::warn!(uid, reason = %reason, "skipping a mail that cannot be read");
                metrics::counter!("keel_mail_received_total", "outcome" => "unreadable").increment(1);
                return Ok(());
            }
        };
        let at = fetch.internal_date().map_or_else(Utc::now, |d| d.with_timezone(&Utc));
        let message_id = mail.message_id.clone().unwrap_or_default();
        let automatic = mail.automatic.clone().unwrap_or_default();
        let fallback_id = format!("uid:{validity}:{uid}");
        match inbound::to_inbound(mail, &fallback_id, at, &self.mailbox) {
            None => {
                tracing::info!(uid, message_id = %message_id, automatic = %automatic, "not for keel: automatic mail or keel's own");
                metrics::counter!("keel_mail_received_total", "outcome" => "automatic").increment(1);
            }
            Some(event) => {
                self.hand_over(session, uid, event).await?;
                metrics::counter!("keel_mail_received_total", "outcome" => "event").increment(1);
            }
        }
        Ok(())
    }

    /// Gives keel the event, trying again with backoff (1 s doubling to 60 s) for as long as keel
    /// cannot take it; a NOOP between tries keeps the session alive and notices a lost one.
    async fn hand_over(&self, session: &mut Session, uid: u32, event: Inbound) -> anyhow::Result<()> {
        let mut wait = MIN_WAIT;
        loop {
            match self.sink.accept(event.clone()).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(uid, event_id = %event.event_id, error = %format!("{e:#}"), retry_in_s = wait.as_secs(), "keel could not take a mail; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    within("NOOP", COMMAND_TIMEOUT, session.noop()).await?;
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
}
