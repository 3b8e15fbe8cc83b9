//! The mailbox loop: connect, read what is waiting, then wait for more (IDLE, else polling), and
//! reconnect with backoff whenever anything fails.
//!
//! ```text
//! connect (TCP 10 s, TLS or STARTTLS) ─▶ LOGIN ─▶ CAPABILITY ─▶ SELECT (UIDVALIDITY)
//!   └▶ catch up: UID SEARCH (UNSEEN, and UID last+1:* when the stored UIDVALIDITY matches)
//!        └▶ batches of 100: UID FETCH ─▶ read ─▶ to_inbound ─▶ sink.deliver, all at once
//!             └▶ (the next batches fetched meanwhile, up to 8 in keel's hands) committed?
//!                ─▶ \Seen (or MOVE to the done folder) for all committed at once ─▶ state file
//!                (the highest UID); refused ones retried, never lost
//!   └▶ IDLE (re-issued every 25 min) or NOOP every poll_seconds ─▶ catch up again
//! any error ─▶ ConnectionState down (one line) ─▶ wait 1 s, 2 s … 60 s ─▶ connect again
//! ```
//!
//! A mail is flagged only once keel has committed it, so a crash or a lost connection in between
//! hands it over again on the next pass; the core drops the duplicate by its event id.

mod batch;
mod connect;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_imap::extensions::idle::IdleResponse;
use keel_chat::{ConnectionState, InboundSink};

use crate::config::{EmailConfig, Endpoint};
use crate::state::State;
use crate::tls::TlsStream;

/// A logged-in IMAP session over TLS.
pub(crate) type Session = async_imap::Session<TlsStream>;

/// The first wait after a failure; it doubles up to [`MAX_WAIT`].
const MIN_WAIT: Duration = Duration::from_secs(1);
/// The longest wait between two connection attempts (and between two tries to hand keel a mail).
const MAX_WAIT: Duration = Duration::from_secs(60);
/// IDLE is ended and issued again at least this often: servers may drop a client idle for 30 min.
const IDLE_CAP: Duration = Duration::from_secs(25 * 60);
/// How long one command may take before the connection is taken for dead.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long fetching one batch (up to 100 whole mails) may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);

/// What the server offers that the loop makes use of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offers {
    /// IDLE (RFC 2177): new mail is announced instead of polled for.
    idle: bool,
    /// MOVE (RFC 6851): else COPY, `\Deleted` and EXPUNGE.
    moves: bool,
    /// UIDPLUS (RFC 4315): UID EXPUNGE removes only the mail keel moved.
    uidplus: bool,
}

/// Reads one mailbox for keel, for as long as the task runs.
pub(crate) struct Reader {
    config: Arc<EmailConfig>,
    endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
    link: ConnectionState,
    sink: Arc<dyn InboundSink>,
    mailbox: crate::inbound::Mailbox,
    /// Where reading left off, as stored in `config.state_path`.
    state: Option<State>,
}

impl Reader {
    pub(crate) fn new(
        config: Arc<EmailConfig>,
        endpoint: Endpoint,
        tls: Arc<rustls::ClientConfig>,
        link: ConnectionState,
        sink: Arc<dyn InboundSink>,
    ) -> Reader {
        let mailbox = crate::inbound::Mailbox {
            address: config.from.email.trim().to_lowercase(),
            team_domains: config.team_domains.clone(),
        };
        let state = State::load(&config.state_path);
        Reader {
            config,
            endpoint,
            tls,
            link,
            sink,
            mailbox,
            state,
        }
    }

    /// Runs the loop until the task is dropped: each pass connects, serves until something fails,
    /// and says why in the connection state; passes are apart by 1 s doubling to 60 s, from the
    /// first failure after a good connection on.
    pub(crate) async fn run(mut self) {
        let mut wait = MIN_WAIT;
        loop {
            let failure = match self.connect().await {
                Ok((session, offers, validity)) => {
                    self.link.set_up();
                    metrics::gauge!("keel_mail_imap_up").set(1.0);
                    tracing::info!(server = %self.endpoint, mailbox = self.config.mailbox_name(), idle = offers.idle, "reading the mailbox");
                    wait = MIN_WAIT;
                    match self.serve(session, offers, validity).await {
                        Err(e) => e,
                        Ok(never) => match never {},
                    }
                }
                Err(e) => e,
            };
            let why = format!("{failure:#}");
            self.link.set_down(&why);
            metrics::gauge!("keel_mail_imap_up").set(0.0);
            tracing::warn!(error = %why, retry_in_s = wait.as_secs(), "the mailbox connection failed; reconnecting");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }

    /// Catches up, then waits for more, over and over; returns only with an error.
    async fn serve(&mut self, mut session: Session, offers: Offers, validity: u32) -> anyhow::Result<Infallible> {
        let poll = Duration::from_secs(self.config.poll_seconds.max(1));
        loop {
            self.catch_up(&mut session, offers, validity).await?;
            if offers.idle {
                session = idle(session).await?;
            } else {
                tokio::time::sleep(poll).await;
                within("NOOP", COMMAND_TIMEOUT, session.noop()).await?;
            }
        }
    }
}

/// Waits in IDLE until the server says anything (new mail, flags, expunges) or [`IDLE_CAP`]
/// passes, then ends it with DONE and hands the session back.
async fn idle(session: Session) -> anyhow::Result<Session> {
    let mut handle = session.idle();
    within("IDLE", COMMAND_TIMEOUT, handle.init()).await?;
    let outcome = {
        let (wait, stop) = handle.wait_with_timeout(IDLE_CAP);
        // The crate's own timeout starts again at every `* OK Still here`: this one caps the whole.
        let outcome = tokio::time::timeout(IDLE_CAP, wait).await;
        drop(stop);
        outcome
    };
    match outcome {
        Ok(Ok(IdleResponse::NewData(_))) => {}
        Ok(Ok(IdleResponse::Timeout)) | Err(_) => tracing::debug!("re-issuing IDLE"),
        // Nothing here stops the wait: the stream ended, so the server closed the connection.
        Ok(Ok(IdleResponse::ManualInterrupt)) => anyhow::bail!("the IMAP server closed the connection"),
        Ok(Err(e)) => return Err(e).context("IMAP IDLE"),
    }
    within("DONE", COMMAND_TIMEOUT, handle.done()).await
}

/// Runs one IMAP step with a time limit, naming the step in its error.
async fn within<T, E>(what: &str, limit: Duration, step: impl Future<Output = Result<T, E>>) -> anyhow::Result<T>
where
    E: Into<anyhow::Error>,
{
    match tokio::time::timeout(limit, step).await {
        Ok(result) => result
            .map_err(|e| readable(e.into()))
            .with_context(|| format!("IMAP {what}")),
        Err(_) => anyhow::bail!("IMAP {what}: no answer within {} s", limit.as_secs()),
    }
}

/// A NO or BAD answer as the server worded it: async-imap renders them as its own debug output
/// (`outcome: Outcome { code: None, information: Some("…") }`), which says little on `/healthz`.
fn readable(e: anyhow::Error) -> anyhow::Error {
    let (answer, text) = match e.downcast_ref::<async_imap::error::Error>() {
        Some(async_imap::error::Error::No(text)) => ("NO", text),
        Some(async_imap::error::Error::Bad(text)) => ("BAD", text),
        _ => return e,
    };
    let words = text
        .split_once("Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(text.as_str(), |(words, _)| words);
    anyhow::anyhow!("the server answered {answer}: {words}")
}

/// Whether keel's mailbox holds a mail with this Message-ID: keel's own copy (every mail it sends
/// is copied to its own address in the same SMTP transaction), looked for after a crash left it
/// unknown whether the server took the mail. Searched in the mailbox and the done folder.
pub(crate) async fn holds(
    config: &EmailConfig,
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    message_id: &str,
) -> anyhow::Result<bool> {
    if message_id.contains(['"', '\\', '\r', '\n']) {
        return Ok(false);
    }
    let (mut session, _, _) = connect::open(config, endpoint, tls).await?;
    let query = format!("HEADER Message-ID \"<{message_id}>\"");
    let mut found = !within("SEARCH", COMMAND_TIMEOUT, session.uid_search(&query))
        .await?
        .is_empty();
    if let (false, Some(folder)) = (found, &config.done_folder) {
        within("SELECT", COMMAND_TIMEOUT, session.select(folder)).await?;
        found = !within("SEARCH", COMMAND_TIMEOUT, session.uid_search(&query))
            .await?
            .is_empty();
    }
    let _ = within("LOGOUT", COMMAND_TIMEOUT, session.logout()).await;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_and_bad_answers_read_as_the_server_said_them() {
        let no = async_imap::error::Error::No(
            "outcome: Outcome { code: None, information: Some(\"Mailbox doesn't exist: Done\") }".into(),
        );
        assert_eq!(
            readable(no.into()).to_string(),
            "the server answered NO: Mailbox doesn't exist: Done"
        );
        let bad = async_imap::error::Error::Bad("code: None, info: Some(\"Error in IMAP command\")".into());
        assert_eq!(
            readable(bad.into()).to_string(),
            "the server answered BAD: Error in IMAP command"
        );
        let lost = readable(async_imap::error::Error::ConnectionLost.into());
        assert_eq!(lost.to_string(), "connection lost");
    }
}
