//! Opening the mailbox: TCP, TLS from the first byte or after STARTTLS (never plain text past
//! the greeting), LOGIN, what the server offers, and SELECT with its UIDVALIDITY.

use anyhow::Context;
use async_imap::imap_proto::{Response, Status};
use async_imap::Client;
use secrecy::ExposeSecret;

use super::{within, Offers, Reader, Session, COMMAND_TIMEOUT};
use crate::config::{Endpoint, Security};
use crate::tls;

impl Reader {
    /// A session with the configured mailbox selected, what the server offers, and the mailbox's
    /// UIDVALIDITY. Errors are one line and never hold the password.
    pub(super) async fn connect(&self) -> anyhow::Result<(Session, Offers, u32)> {
        open(&self.config, &self.endpoint, &self.tls).await
    }
}

/// Connects, logs in and selects the configured mailbox: the session, what the server offers and
/// the mailbox's UIDVALIDITY.
pub(crate) async fn open(
    config: &crate::config::EmailConfig,
    endpoint: &Endpoint,
    tls_config: &std::sync::Arc<rustls::ClientConfig>,
) -> anyhow::Result<(Session, Offers, u32)> {
    let tcp = tls::tcp(endpoint).await?;
    let client = match endpoint.security {
        Security::Implicit => {
            let mut client = Client::new(tls::handshake(tls_config, endpoint, tcp).await?);
            greeting(&mut client, endpoint).await?;
            client
        }
        Security::StartTls => {
            let mut plain = Client::new(tcp);
            greeting(&mut plain, endpoint).await?;
            within(
                "STARTTLS",
                COMMAND_TIMEOUT,
                plain.run_command_and_check_ok("STARTTLS", None),
            )
            .await
            .with_context(|| format!("STARTTLS at {endpoint}, which keel requires"))?;
            Client::new(tls::handshake(tls_config, endpoint, plain.into_inner()).await?)
        }
    };
    let user = config.user.as_str();
    let login = async {
        client
            .login(user, config.password.expose_secret())
            .await
            .map_err(|(e, _client)| e)
    };
    let mut session = within("LOGIN", COMMAND_TIMEOUT, login)
        .await
        .with_context(|| format!("logging in to {endpoint} as {user}"))?;
    let capabilities = within("CAPABILITY", COMMAND_TIMEOUT, session.capabilities()).await?;
    let offers = Offers {
        idle: capabilities.has_str("IDLE"),
        moves: capabilities.has_str("MOVE"),
        uidplus: capabilities.has_str("UIDPLUS"),
    };
    if let Some(folder) = &config.done_folder {
        // Usually there already; a real problem with it shows when mail is moved.
        if let Err(e) = within("CREATE", COMMAND_TIMEOUT, session.create(folder)).await {
            tracing::debug!(folder = %folder, error = %format!("{e:#}"), "the done folder was not created");
        }
    }
    let name = config.mailbox_name();
    let selected = within("SELECT", COMMAND_TIMEOUT, session.select(name))
        .await
        .with_context(|| format!("opening the mailbox {name:?} at {endpoint}"))?;
    let validity = selected
        .uid_validity
        .with_context(|| format!("the mailbox {name:?} at {endpoint} has no UIDVALIDITY"))?;
    Ok((session, offers, validity))
}

/// Reads the server's greeting: `* OK` (or `* PREAUTH`) goes on, `* BYE` or anything else stops.
async fn greeting<T>(client: &mut Client<T>, endpoint: &Endpoint) -> anyhow::Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let response = within("greeting", COMMAND_TIMEOUT, client.read_response()).await?;
    match response.as_ref().map(|r| r.parsed()) {
        Some(Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        }) => Ok(()),
        Some(Response::Data {
            status: Status::Bye,
            outcome,
        }) => anyhow::bail!(
            "{endpoint} turned keel away: {}",
            outcome.information.as_deref().unwrap_or("BYE")
        ),
        None => anyhow::bail!("{endpoint} closed the connection before greeting"),
        Some(_) => anyhow::bail!("{endpoint} did not greet as an IMAP server"),
    }
}
