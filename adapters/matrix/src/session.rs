//! Login and session restore: the session is saved next to the sqlite store and restored on
//! the next start, so keel keeps its device.

use std::sync::Arc;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::ruma::OwnedUserId;
use matrix_sdk::Client;
use secrecy::{ExposeSecret, SecretString};

use crate::{Matrix, MatrixConfig, NotConfigured};

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
            connection: keel_chat::ConnectionState::up(),
        })
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
