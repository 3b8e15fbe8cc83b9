//! keel's Matrix adapter: a matrix-sdk bot that turns room events into `Inbound` values and
//! sends keel's `Outbound` messages, with end-to-end encryption.
//!
//! The session is saved next to the sqlite store (crypto keys, sync token) and restored on
//! restart, so keel keeps its device. On its very first start keel syncs once before it listens,
//! so a room's history is never taken for new requests; after a restart it listens from the saved
//! sync token, so what was said while it was down is handled (the core deduplicates by event id).

// matrix-sdk's sync future is deep; proving it `Send` for `tokio::spawn` needs a higher limit.
#![recursion_limit = "256"]

mod inbound;
mod outbound;
mod session;
mod sync;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use keel_chat::{Adapter, Outbound, SendError, Sent};
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::UserId;
use matrix_sdk::Client;
use secrecy::SecretString;

/// The adapter's name in events and outbox rows.
pub const NAME: &str = "matrix";

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
    connection: keel_chat::ConnectionState,
}

#[async_trait]
impl Adapter for Matrix {
    fn name(&self) -> &str {
        NAME
    }

    fn parallel(&self) -> usize {
        8
    }

    fn connection(&self) -> Option<keel_chat::ConnectionState> {
        Some(self.connection.clone())
    }

    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        self.deliver(None, outbound).await
    }

    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        let sent = self.deliver(Some(key), outbound).await;
        if sent.is_ok() {
            // The homeserver answered: it is reachable, whatever the sync loop last saw.
            self.connection.set_up();
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
