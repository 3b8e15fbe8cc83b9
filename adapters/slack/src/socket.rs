//! Socket Mode: no public URL needed. keel asks `apps.connections.open` (with the app-level
//! token) for a WebSocket, and Slack sends envelopes over it: `events_api`, `slash_commands`,
//! `interactive`. keel acknowledges an envelope once its events are recorded (in its inbox; they
//! are handled after the acknowledgement), so an envelope
//! lost in a crash or a dropped connection is not acknowledged and Slack sends it again (the
//! core's dedupe keeps one). A `disconnect` frame, a close or a broken socket opens a new
//! connection (backing off while Slack cannot be reached).

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::{SinkExt, StreamExt};
use keel_chat::InboundSink;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use slack_morphism::prelude::*;
use tokio_tungstenite::tungstenite::Message;

use crate::inbound::Translator;
use crate::Slack;

/// Waits between failed connections, from the first failure on; a connection that Slack ends
/// starts them over (and is opened again at once).
const RECONNECT_BACKOFF: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(500))
    .with_max_delay(RECONNECT_MAX_WAIT)
    .without_max_times();
/// The longest wait between connections while Slack cannot be reached.
const RECONNECT_MAX_WAIT: Duration = Duration::from_secs(30);

/// Keeps a Socket Mode connection open until the task is aborted.
pub fn start(
    slack: Slack,
    app_token: SecretString,
    translator: Translator,
    sink: Arc<dyn InboundSink>,
) -> tokio::task::JoinHandle<()> {
    let state = slack.socket_connection();
    state.set_down("connecting to Slack");
    tokio::spawn(async move {
        let mut waits = RECONNECT_BACKOFF.build();
        loop {
            let ended = connection(&slack, &app_token, &translator, &sink, &state).await;
            match ended {
                Ok(reason) => {
                    state.set_down(reason);
                    tracing::info!(reason, "Slack Socket Mode connection ended; reconnecting");
                    waits = RECONNECT_BACKOFF.build();
                }
                Err(e) => {
                    state.set_down(&format!("{e:#}"));
                    let wait = waits.next().unwrap_or(RECONNECT_MAX_WAIT);
                    tracing::warn!(error = %format!("{e:#}"), retry_in_ms = wait.as_millis() as u64, "Slack Socket Mode connection failed; reconnecting");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    })
}

/// One connection, from `apps.connections.open` until Slack ends it; returns why it ended.
async fn connection(
    slack: &Slack,
    app_token: &SecretString,
    translator: &Translator,
    sink: &Arc<dyn InboundSink>,
    state: &keel_chat::ConnectionState,
) -> anyhow::Result<&'static str> {
    let token = SlackApiToken::new(app_token.expose_secret().to_string().into());
    let opened = slack
        .client
        .open_session(&token)
        .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
        .await?;
    let (socket, _) = tokio_tungstenite::connect_async(opened.url.0.as_str()).await?;
    let (mut write, mut read) = socket.split();
    while let Some(frame) = read.next().await {
        let text = match frame? {
            Message::Text(text) => text,
            Message::Ping(data) => {
                write.send(Message::Pong(data)).await?;
                continue;
            }
            Message::Close(_) => return Ok("closed"),
            _ => continue,
        };
        let Ok(envelope) = serde_json::from_str::<Value>(text.as_str()) else {
            tracing::warn!("a Socket Mode frame that is not JSON");
            continue;
        };
        let inbound = match envelope["type"].as_str() {
            Some("hello") => {
                state.set_up();
                continue;
            }
            Some("disconnect") => return Ok("disconnect requested"),
            Some("events_api") => translator.event(&envelope["payload"]).await,
            Some("slash_commands") => translator.command(&envelope["payload"]).await.into_iter().collect(),
            Some("interactive") => translator.interaction(&envelope["payload"]).await,
            _ => Vec::new(),
        };
        let Some(id) = envelope["envelope_id"].as_str() else {
            continue;
        };
        let mut taken = true;
        for event in inbound {
            if let Err(e) = sink.accept(event).await {
                tracing::error!(error = %format!("{e:#}"), "keel could not take a Slack event; Slack will send it again");
                taken = false;
                break;
            }
        }
        if taken {
            write
                .send(Message::text(json!({"envelope_id": id}).to_string()))
                .await?;
        }
    }
    Ok("connection lost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_waits_double_from_half_a_second_up_to_thirty() {
        let waits: Vec<Duration> = RECONNECT_BACKOFF.build().take(9).collect();
        let expected: Vec<Duration> = [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(waits, expected);
    }
}
