//! keel's Slack adapter: keel's `Outbound` messages as Slack Web API calls (slack-morphism), and
//! Slack events as `Inbound` values.
//!
//! Sending: `chat.postMessage` in threads (a task's card as Block Kit, see `card`),
//! `chat.update` (a card shown anew), `chat.postEphemeral`, `reactions.add`, `views.open` and
//! `views.publish` (a form as a modal, a member's App Home: see `views`),
//! `conversations.open` for direct messages, and the external file upload for images. Slack's
//! `ratelimited` answers (HTTP 429 with `Retry-After`, or `ok:false`) become
//! `SendError::RetryAfter`, so the outbox waits as asked; messages to one channel are paced to
//! one per second, as Slack asks of bots.

mod card;
pub mod events;
pub mod inbound;
pub mod socket;
mod views;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keel_chat::{Adapter, ConnectionState, Outbound, SendError, Sent};
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The adapter's name in events and outbox rows.
pub const NAME: &str = "slack";

/// Slack's documented pace for posting into one channel.
const CHANNEL_PACE: Duration = Duration::from_secs(1);

/// How keel reaches Slack.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// The bot token, `xoxb-…`.
    pub bot_token: SecretString,
    /// The Web API's base URL; `https://slack.com/api` unless a test or a proxy says otherwise.
    pub api_url: String,
}

/// A connected Slack bot.
#[derive(Clone)]
pub struct Slack {
    client: Arc<SlackHyperClient>,
    token: Arc<SlackApiToken>,
    /// When each channel may next be posted to.
    paced: Arc<Mutex<HashMap<String, Instant>>>,
    /// Methods Slack asked keel to hold off (rate limits are per method), and until when.
    held: Arc<Mutex<HashMap<&'static str, Instant>>>,
    /// Whether Slack is reachable: the Socket Mode connection when there is one, else the last
    /// Web API call.
    connection: ConnectionState,
    /// Set once Socket Mode runs: then the socket alone says whether the link is up.
    socket_mode: Arc<std::sync::atomic::AtomicBool>,
}

impl Slack {
    pub fn new(config: &SlackConfig) -> anyhow::Result<Slack> {
        // Two TLS providers are linked (matrix-sdk brings aws-lc-rs, slack-morphism ring): rustls
        // needs one chosen before any client is built. The first choice in the process stands.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(config.api_url.trim_end_matches('/'));
        let token = SlackApiToken::new(config.bot_token.expose_secret().to_string().into())
            .with_token_type(SlackApiTokenType::Bot);
        Ok(Slack {
            client: Arc::new(SlackClient::new(connector)),
            token: Arc::new(token),
            paced: Arc::new(Mutex::new(HashMap::new())),
            held: Arc::new(Mutex::new(HashMap::new())),
            connection: ConnectionState::up(),
            socket_mode: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    /// Records how a Web API call went, unless Socket Mode's connection speaks for the link.
    fn saw(&self, outcome: Result<(), &SendError>) {
        if self.socket_mode.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        match outcome {
            Err(SendError::Transient(why) | SendError::Unreachable(why)) => self.connection.set_down(why),
            _ => self.connection.set_up(),
        }
    }

    /// Waits until `channel` may be posted to again, and books the next slot.
    async fn pace(&self, channel: &str) {
        let at = {
            let mut paced = self.paced.lock().await;
            let now = Instant::now();
            let at = paced.get(channel).copied().filter(|t| *t > now).unwrap_or(now);
            paced.insert(channel.to_string(), at + CHANNEL_PACE);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Calls one Web API method, unless Slack asked keel to hold off that method: then the
    /// call is not made and the outbox is told how long is left. A `Retry-After` answer holds
    /// the method (only that one: Slack's limits are per method tier) for the time asked.
    async fn api<T>(
        &self,
        method: &'static str,
        call: impl std::future::Future<Output = Result<T, SlackClientError>>,
    ) -> Result<T, SendError> {
        let now = Instant::now();
        if let Some(until) = self.held.lock().await.get(method).copied().filter(|t| *t > now) {
            return Err(SendError::RetryAfter(until - now));
        }
        let e = match call.await {
            Ok(answer) => {
                self.saw(Ok(()));
                return Ok(answer);
            }
            Err(e) => failure(e),
        };
        self.saw(Err(&e));
        if let SendError::RetryAfter(wait) = &e {
            tracing::warn!(
                method,
                retry_after_ms = wait.as_millis() as u64,
                "Slack rate-limited a method"
            );
            self.held.lock().await.insert(method, Instant::now() + *wait);
        }
        Err(e)
    }

    async fn post(
        &self,
        key: Option<&str>,
        channel: &str,
        thread: Option<&str>,
        text: &str,
        blocks: Option<Vec<SlackBlock>>,
    ) -> Result<Sent, SendError> {
        self.pace(channel).await;
        let mut content = SlackMessageContent::new().with_text(text.to_string());
        if let Some(blocks) = blocks {
            content = content.with_blocks(blocks);
        }
        if let Some(key) = key {
            // The outbox key travels with the message, so a post that went through before a crash
            // can be recognised.
            let payload = HashMap::from([("key".to_string(), key.to_string())]);
            content =
                content.with_metadata(SlackMessageMetadata::new("keel_outbox".into()).with_event_payload(payload));
        }
        let mut request = SlackApiChatPostMessageRequest::new(channel.into(), content);
        // A slash command has no message to thread under (its id is not a `ts`).
        if let Some(ts) = thread.filter(|t| is_ts(t)) {
            request = request.with_thread_ts(ts.into());
        }
        let session = self.client.open_session(&self.token);
        let posted = self
            .api("chat.postMessage", session.chat_post_message(&request))
            .await?;
        Ok(Sent {
            message_id: Some(posted.ts.to_string()),
        })
    }

    /// A task's card: posted with its blocks, or shown anew in place (`chat.update`, text and
    /// blocks both: an update without blocks would drop them).
    async fn card(&self, key: Option<&str>, outbound: &Outbound) -> Result<Sent, SendError> {
        match outbound {
            Outbound::Card {
                conversation,
                thread,
                card,
            } => {
                let blocks = card::blocks(card);
                self.post(key, conversation, thread.as_deref(), &card.text(), Some(blocks))
                    .await
            }
            Outbound::CardUpdate {
                conversation,
                message_id,
                card,
            } => {
                let content = SlackMessageContent::new()
                    .with_text(card.text())
                    .with_blocks(card::blocks(card));
                let request =
                    SlackApiChatUpdateRequest::new(conversation.as_str().into(), content, message_id.as_str().into());
                let session = self.client.open_session(&self.token);
                self.api("chat.update", session.chat_update(&request)).await?;
                Ok(Sent {
                    message_id: Some(message_id.clone()),
                })
            }
            _ => Err(SendError::Rejected("not a card".into())),
        }
    }

    /// A form as a modal (`views.open`, with the trigger of the press or command that asked for
    /// it: Slack accepts it for 3 s), or a member's App Home (`views.publish`).
    async fn view(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        let session = self.client.open_session(&self.token);
        match outbound {
            Outbound::Form {
                conversation,
                trigger,
                form,
                ..
            } => {
                let view = views::modal(form, conversation)
                    .ok_or_else(|| SendError::Rejected("the form's context is too long for Slack".into()))?;
                let request = SlackApiViewsOpenRequest::new(trigger.as_str().into(), view);
                self.api("views.open", session.views_open(&request)).await?;
            }
            Outbound::Home { user, home } => {
                let request = SlackApiViewsPublishRequest::new(user.as_str().into(), views::home(home));
                self.api("views.publish", session.views_publish(&request)).await?;
            }
            _ => return Err(SendError::Rejected("not a view".into())),
        }
        Ok(Sent { message_id: None })
    }

    async fn deliver(&self, key: Option<&str>, outbound: &Outbound) -> Result<Sent, SendError> {
        let session = self.client.open_session(&self.token);
        match outbound {
            Outbound::Message {
                conversation,
                thread,
                text,
            } => self.post(key, conversation, thread.as_deref(), text, None).await,
            Outbound::Question {
                conversation,
                thread,
                text,
                action,
                choices,
                ..
            } => {
                let blocks = question_blocks(text, action, choices);
                self.post(key, conversation, thread.as_deref(), text, Some(blocks))
                    .await
            }
            Outbound::Card { .. } | Outbound::CardUpdate { .. } => self.card(key, outbound).await,
            Outbound::Direct { user, text } => {
                let request = SlackApiConversationsOpenRequest::new().with_users(vec![user.as_str().into()]);
                let opened = self
                    .api("conversations.open", session.conversations_open(&request))
                    .await?;
                self.post(key, opened.channel.id.as_ref(), None, text, None).await
            }
            Outbound::Ephemeral {
                conversation,
                user,
                text,
                thread,
            } => {
                self.pace(conversation).await;
                let mut request = SlackApiChatPostEphemeralRequest::new(
                    conversation.as_str().into(),
                    user.as_str().into(),
                    SlackMessageContent::new().with_text(text.clone()),
                );
                request.thread_ts = thread.as_deref().map(|t| t.into());
                self.api("chat.postEphemeral", session.chat_post_ephemeral(&request))
                    .await?;
                Ok(Sent { message_id: None })
            }
            Outbound::Reaction {
                conversation,
                message_id,
                emoji,
            } => {
                let request = SlackApiReactionsAddRequest::new(
                    conversation.as_str().into(),
                    emoji_name(emoji).into(),
                    message_id.as_str().into(),
                );
                let add = async {
                    match session.reactions_add(&request).await {
                        // Already there (a retry after a lost answer): done.
                        Err(SlackClientError::ApiError(e)) if e.code == "already_reacted" => Ok(()),
                        other => other.map(|_| ()),
                    }
                };
                self.api("reactions.add", add).await?;
                Ok(Sent { message_id: None })
            }
            Outbound::Form { .. } | Outbound::Home { .. } => self.view(outbound).await,
            Outbound::Mail(_) => Err(SendError::Rejected("Slack does not send mail".into())),
            Outbound::Image {
                conversation,
                thread,
                name,
                caption,
                png,
            } => {
                let request = SlackApiFilesGetUploadUrlExternalRequest::new(name.clone(), png.len());
                let url = self
                    .api("files.getUploadURLExternal", session.get_upload_url_external(&request))
                    .await?;
                let upload = SlackApiFilesUploadViaUrlRequest::new(url.upload_url, png.clone(), "image/png".into());
                self.api("files.upload", session.files_upload_via_url(&upload)).await?;
                let mut complete =
                    SlackApiFilesCompleteUploadExternalRequest::new(vec![
                        SlackApiFilesComplete::new(url.file_id).with_title(name.clone())
                    ])
                    .with_channel_id(conversation.as_str().into())
                    .with_initial_comment(caption.clone());
                if let Some(ts) = thread {
                    complete = complete.with_thread_ts(ts.as_str().into());
                }
                self.pace(conversation).await;
                self.api(
                    "files.completeUploadExternal",
                    session.files_complete_upload_external(&complete),
                )
                .await?;
                Ok(Sent { message_id: None })
            }
        }
    }
}

/// A question as Block Kit: the text, then one button per choice (`<action>_<n>`, unique in the
/// message as Slack requires), at most 25 to a row.
fn question_blocks(text: &str, action: &str, choices: &[keel_chat::Choice]) -> Vec<SlackBlock> {
    let mut blocks = vec![SlackBlock::Section(
        SlackSectionBlock::new().with_text(SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text.to_string()))),
    )];
    let buttons: Vec<SlackActionBlockElement> = choices
        .iter()
        .enumerate()
        .map(|(n, choice)| {
            SlackActionBlockElement::Button(
                SlackBlockButtonElement::new(SlackBlockPlainTextOnly::from(choice.label.as_str()))
                    .with_action_id(format!("{action}_{n}").into())
                    .with_value(choice.value.clone()),
            )
        })
        .collect();
    for row in buttons.chunks(25) {
        blocks.push(SlackBlock::Actions(SlackActionsBlock::new(row.to_vec())));
    }
    blocks
}

/// A Slack message timestamp, `1795600000.000100`.
fn is_ts(text: &str) -> bool {
    let mut parts = text.splitn(2, '.');
    let digits = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next())
}

impl Slack {
    /// The text and author of a message (for a reaction on it), from `conversations.history`.
    async fn message_text(&self, channel: &str, ts: &str) -> Option<(String, String)> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiConversationsHistoryRequest::new()
            .with_channel(channel.into())
            .with_latest(ts.into())
            .with_inclusive(true)
            .with_limit(1);
        let history = match session.conversations_history(&request).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(channel, error = %e, "conversations.history failed");
                return None;
            }
        };
        let message = history.messages.into_iter().find(|m| m.origin.ts.to_string() == ts)?;
        let text = message.content.text?;
        let author = message.sender.user?.to_string();
        Some((text, author))
    }
}

/// Slack names reactions; keel speaks in emoji.
pub fn emoji_name(emoji: &str) -> String {
    match emoji {
        "🎫" => "ticket",
        "👀" => "eyes",
        "✅" => "white_check_mark",
        "👍" => "+1",
        "👎" => "-1",
        "⚠️" | "⚠" => "warning",
        other => other.trim_matches(':'),
    }
    .to_string()
}

/// A Slack error as keel's send outcome: rate limits wait as asked; answers that will not change
/// on a retry (no such channel, not in the channel, bad token) are final; the rest back off.
fn failure(e: SlackClientError) -> SendError {
    match &e {
        SlackClientError::RateLimitError(limit) => {
            SendError::RetryAfter(limit.retry_after.unwrap_or(Duration::from_secs(1)))
        }
        SlackClientError::ApiError(api) if api.code == "ratelimited" => SendError::RetryAfter(Duration::from_secs(1)),
        SlackClientError::ApiError(api)
            if matches!(
                api.code.as_str(),
                "channel_not_found"
                    | "not_in_channel"
                    | "is_archived"
                    | "msg_too_long"
                    | "invalid_auth"
                    | "not_authed"
                    | "account_inactive"
                    | "user_not_found"
                    | "invalid_name"
                    | "no_text"
            ) =>
        {
            SendError::Rejected(api.code.clone())
        }
        SlackClientError::HttpError(http) if http.status_code.is_client_error() => SendError::Rejected(e.to_string()),
        // No HTTP answer at all: Slack (or the way to it) is away.
        SlackClientError::HttpProtocolError(_) | SlackClientError::EndOfStream(_) => {
            SendError::Unreachable(e.to_string())
        }
        _ => SendError::Transient(e.to_string()),
    }
}

#[async_trait]
impl Adapter for Slack {
    fn name(&self) -> &str {
        NAME
    }

    async fn send(&self, outbound: &Outbound) -> Result<Sent, SendError> {
        self.deliver(None, outbound).await
    }

    async fn send_keyed(&self, key: &str, outbound: &Outbound) -> Result<Sent, SendError> {
        self.deliver(Some(key), outbound).await
    }

    /// Looks for keel's post with this outbox key (its message metadata) among the newest 100
    /// messages of the thread or channel it was meant for.
    async fn find_sent(&self, key: &str, outbound: &Outbound) -> Option<Sent> {
        let (channel, thread) = match outbound {
            Outbound::Message {
                conversation, thread, ..
            }
            | Outbound::Question {
                conversation, thread, ..
            }
            | Outbound::Card {
                conversation, thread, ..
            } => (conversation.clone(), thread.clone().filter(|t| is_ts(t))),
            Outbound::Direct { user, .. } => {
                let session = self.client.open_session(&self.token);
                let request = SlackApiConversationsOpenRequest::new().with_users(vec![user.as_str().into()]);
                let opened = self
                    .api("conversations.open", session.conversations_open(&request))
                    .await
                    .ok()?;
                (opened.channel.id.to_string(), None)
            }
            _ => return None,
        };
        let found = self.keyed_post(&channel, thread.as_deref(), key).await;
        if let Some(ts) = &found {
            tracing::info!(
                channel,
                ts,
                "a message sent before keel stopped was found; not posting it again"
            );
        }
        found.map(|ts| Sent { message_id: Some(ts) })
    }

    fn parallel(&self) -> usize {
        8
    }

    fn connection(&self) -> Option<ConnectionState> {
        Some(self.connection.clone())
    }
}

impl Slack {
    /// The `ts` of keel's message carrying `key` in its metadata, in a thread
    /// (`conversations.replies`) or a channel (`conversations.history`).
    async fn keyed_post(&self, channel: &str, thread: Option<&str>, key: &str) -> Option<String> {
        let session = self.client.open_session(&self.token);
        let messages: Vec<serde_json::Value> = match thread {
            Some(ts) => {
                let params = [
                    ("channel", Some(channel)),
                    ("ts", Some(ts)),
                    ("limit", Some("100")),
                    ("include_all_metadata", Some("true")),
                ];
                let answer: serde_json::Value = session
                    .http_session_api
                    .http_get("conversations.replies", &params, None)
                    .await
                    .map_err(|e| tracing::warn!(channel, error = %e, "conversations.replies failed"))
                    .ok()?;
                answer["messages"].as_array().cloned().unwrap_or_default()
            }
            None => {
                let request = SlackApiConversationsHistoryRequest::new()
                    .with_channel(channel.into())
                    .with_limit(100)
                    .with_include_all_metadata(true);
                let history = session
                    .conversations_history(&request)
                    .await
                    .map_err(|e| tracing::warn!(channel, error = %e, "conversations.history failed"))
                    .ok()?;
                history
                    .messages
                    .iter()
                    .filter_map(|m| serde_json::to_value(m).ok())
                    .collect()
            }
        };
        messages.iter().find_map(|m| {
            let meta = &m["metadata"];
            (meta["event_type"] == "keel_outbox" && meta["event_payload"]["key"] == key)
                .then(|| m["ts"].as_str().map(str::to_string))
                .flatten()
        })
    }

    /// The link Socket Mode keeps up to date from now on.
    pub(crate) fn socket_connection(&self) -> ConnectionState {
        self.socket_mode.store(true, std::sync::atomic::Ordering::Relaxed);
        self.connection.clone()
    }
}
