//! keel's email adapter: reads a mailbox over IMAP (IDLE, else polling) and sends over SMTP.
//!
//! Inbound: [`EmailAdapter::start`] spawns the mailbox loop (`imap.rs`), which hands each new
//! mail to keel as an [`keel_chat::Inbound`] and only then flags it `\Seen` (or moves it to the
//! done folder) and stores the highest UID handled, so nothing is lost across a crash or a lost
//! connection. Outbound: [`keel_chat::Outbound::Mail`] goes out over SMTP with the headers the
//! core decided (`smtp.rs`). Both use TLS with the webpki roots and an optional private CA.

mod config;
mod imap;
pub mod inbound;
pub mod read;
mod sent;
mod smtp;
mod state;
mod tls;

use std::sync::Arc;

use async_trait::async_trait;
use keel_chat::{Adapter, ConnectionState, InboundSink, Outbound, SendError, Sent};

pub use config::{EmailConfig, DEFAULT_MAILBOX, DEFAULT_POLL_SECONDS};

/// The adapter's name in events and outbox rows.
pub const NAME: &str = "email";

/// keel's mailbox: the IMAP loop that reads it and the SMTP sender that answers.
pub struct EmailAdapter {
    config: Arc<EmailConfig>,
    imap: config::Endpoint,
    tls: Arc<rustls::ClientConfig>,
    smtp: smtp::Smtp,
    /// The IMAP connection: up while the mailbox is selected and answering.
    connection: ConnectionState,
    /// The Message-IDs sent, so a mail whose sending was not recorded is not sent twice.
    sent: sent::SentLog,
}

impl EmailAdapter {
    /// Checks the configuration (URLs, login, keel's address, the CA file) and prepares TLS and
    /// the SMTP transport; connects to nothing yet. Errors are one line.
    pub fn new(config: EmailConfig) -> anyhow::Result<Self> {
        let (imap, smtp_endpoint) = config.check()?;
        let tls = tls::client_config(config.ca_file.as_deref())?;
        let smtp = smtp::Smtp::new(&config, &smtp_endpoint)?;
        let connection = ConnectionState::default();
        connection.set_down("not connected to the IMAP server yet");
        let sent = sent::SentLog::new(config.state_path.with_extension("sent"));
        Ok(EmailAdapter {
            sent,
            config: Arc::new(config),
            imap,
            tls,
            smtp,
            connection,
        })
    }

    /// Starts reading the mailbox into `sink` on a task of its own, which runs until it is
    /// aborted (reconnecting whenever the server goes away).
    pub fn start(&self, sink: Arc<dyn InboundSink>) -> tokio::task::JoinHandle<()> {
        let reader = imap::Reader::new(
            self.config.clone(),
            self.imap.clone(),
            self.tls.clone(),
            self.connection.clone(),
            sink,
        );
        tokio::spawn(reader.run())
    }
}

#[async_trait]
impl Adapter for EmailAdapter {
    fn name(&self) -> &str {
        NAME
    }

    /// Sends a mail; anything else has no meaning in a mailbox and is refused.
    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        match outbound {
            Outbound::Mail(mail) => {
                let sent = self.smtp.send(mail).await?;
                self.sent.record(&mail.message_id);
                Ok(sent)
            }
            _ => Err(SendError::Rejected("email sends mail only".into())),
        }
    }

    /// A mail whose sending keel did not get to record (it stopped right after the SMTP server
    /// took it) is found in the sent log, else as keel's own copy in its mailbox (every mail keel
    /// sends is copied to its own address in the same SMTP transaction), and not sent again.
    async fn find_sent(&self, _key: &str, outbound: &Outbound) -> Option<Sent> {
        let Outbound::Mail(mail) = outbound else {
            return None;
        };
        let sent = Some(Sent {
            message_id: Some(mail.message_id.clone()),
        });
        if self.sent.contains(&mail.message_id) {
            return sent;
        }
        match imap::holds(&self.config, &self.imap, &self.tls, &mail.message_id).await {
            Ok(true) => sent,
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot tell whether a mail went out; sending it");
                None
            }
        }
    }

    /// Mail to different people goes out over separate SMTP connections of the pool.
    fn parallel(&self) -> usize {
        4
    }

    fn connection(&self) -> Option<ConnectionState> {
        Some(self.connection.clone())
    }
}
