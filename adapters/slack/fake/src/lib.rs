//! A fake Slack for keel's tests and benchmarks, on 127.0.0.1: the Web API methods keel calls,
//! answering with Slack's JSON shapes and conventions (`ok`, `error`, HTTP 429 with
//! `Retry-After` and `"error":"ratelimited"`), checking the bot token, and recording what was
//! posted so a test can look at the channel as a person would.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use serde_json::{json, Map, Value};

mod views;
pub use views::Modal;

/// A message as it appears in a channel (or, for an ephemeral one, to one user).
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    /// Set for `chat.postEphemeral`: the only user who sees it.
    pub only_for: Option<String>,
    /// `metadata.event_payload.key`, keel's outbox key.
    pub key: Option<String>,
    /// Who posted it: `UKEEL` for keel, else the person's id.
    pub user: String,
    /// The Block Kit blocks of the message, when it has any (a question's buttons).
    pub blocks: Option<Value>,
    pub at: Instant,
}

#[derive(Default)]
struct Fake {
    bot_token: String,
    channels: HashMap<String, String>,
    users: HashMap<String, Value>,
    posts: Vec<Post>,
    reactions: Vec<(String, String, String)>,
    /// `chat.update` calls that changed a message: its channel and ts, and when.
    updates: Vec<(String, String, Instant)>,
    files: HashMap<String, (String, Vec<u8>)>,
    shared_files: Vec<(String, String, Vec<u8>, Option<String>)>,
    /// Per method: the `Retry-After` seconds of the next answers that are rate limited.
    limits: HashMap<String, VecDeque<u64>>,
    /// Per method: the HTTP status of the next answers that fail (5xx).
    failures: HashMap<String, VecDeque<u16>>,
    /// Per method: the error codes of the next answers that refuse (`{"ok": false, "error": …}`).
    refusals: HashMap<String, VecDeque<String>>,
    calls: Vec<(String, Instant)>,
    seq: u64,
    /// Message timestamps from the wall clock (as Slack's are) instead of from a fixed second.
    wall_clock: Option<(u64, u64)>,
    api_url: String,
    app_token: String,
    socket_url: String,
    /// The open Socket Mode connection: its number and a way to write to it.
    socket: Option<(u64, tokio::sync::mpsc::UnboundedSender<SocketFrame>)>,
    connections: u64,
    /// Envelopes not yet acknowledged: (id, type, payload, connection it was last sent on, when).
    envelopes: Vec<Envelope>,
    acked: Vec<String>,
    /// Trigger ids given out (with a shortcut, a command, a press): whose, and when.
    triggers: HashMap<String, (String, Instant)>,
    modals: Vec<Modal>,
    /// Each user's App Home views as published, oldest first.
    homes: HashMap<String, Vec<Value>>,
}

#[derive(Clone)]
struct Envelope {
    id: String,
    kind: String,
    payload: Value,
    sent: Option<(u64, Instant)>,
    attempts: u32,
}

/// What the fake writes to a Socket Mode connection.
#[derive(Debug)]
enum SocketFrame {
    Text(String),
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// A running fake Slack; stops when dropped.
pub struct FakeSlack {
    /// The Web API base, `http://127.0.0.1:PORT/api` (for `with_slack_api_url`).
    pub api_url: String,
    state: Arc<Mutex<Fake>>,
    server: tokio::task::JoinHandle<()>,
    front: tokio::task::JoinHandle<()>,
    /// True while Slack is away: the Web API's port takes connections and drops them unanswered.
    away: tokio::sync::watch::Sender<bool>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
        self.front.abort();
    }
}

/// The Web API's front door: each connection is passed to the server behind, unless Slack is
/// away; then new connections are dropped unanswered and open ones are cut.
async fn front(
    listener: tokio::net::TcpListener,
    inner: std::net::SocketAddr,
    away: tokio::sync::watch::Receiver<bool>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        if *away.borrow() {
            drop(client);
            continue;
        }
        let mut away = away.clone();
        tokio::spawn(async move {
            let Ok(mut server) = tokio::net::TcpStream::connect(inner).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = away.wait_for(|away| *away) => {}
            }
        });
    }
}

fn ok(mut body: Value) -> Response {
    body["ok"] = json!(true);
    axum::Json(body).into_response()
}

fn error(code: &str) -> Response {
    axum::Json(json!({"ok": false, "error": code})).into_response()
}

impl FakeSlack {
    /// Starts the fake on a free port; `bot_token` is the only token it accepts.
    pub async fn start(bot_token: &str) -> std::io::Result<FakeSlack> {
        let public = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = public.local_addr()?;
        let api_url = format!("http://{address}/api");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (away, away_seen) = tokio::sync::watch::channel(false);
        let front = tokio::spawn(front(public, listener.local_addr()?, away_seen));
        let sockets = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let socket_url = format!("ws://{}/link", sockets.local_addr()?);
        let state = Arc::new(Mutex::new(Fake {
            bot_token: bot_token.to_string(),
            seq: 1,
            wall_clock: None,
            api_url: api_url.clone(),
            app_token: "xapp-test-token".into(),
            socket_url,
            ..Fake::default()
        }));
        tokio::spawn(accept_sockets(sockets, state.clone()));
        tokio::spawn(redeliver(state.clone()));
        let app = Router::new()
            .route("/api/{method}", any(web_api))
            .route("/upload/{file}", post(upload))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeSlack {
            api_url,
            state,
            server,
            front,
            away,
        })
    }

    /// Slack goes away: every Web API connection is dropped unanswered until `come_back`.
    pub fn go_away(&self) {
        self.away.send_replace(true);
    }

    /// Slack answers again.
    pub fn come_back(&self) {
        self.away.send_replace(false);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn add_channel(&self, id: &str, name: &str) {
        self.with(|s| s.channels.insert(id.to_string(), name.to_string()));
    }

    /// A user as `users.info` returns it.
    pub fn add_user(&self, id: &str, name: &str, team_id: &str, tz: &str) {
        let user = json!({"id": id, "name": name, "real_name": name, "team_id": team_id, "tz": tz,
                          "profile": {"display_name": name, "real_name": name}});
        self.with(|s| s.users.insert(id.to_string(), user));
    }

    /// From now on, message timestamps (and events' times) come from the wall clock, as Slack's
    /// do; by default they count up from a fixed second, so tests can name them.
    pub fn stamp_with_wall_clock(&self) {
        self.with(|s| s.wall_clock = Some((0, 0)));
    }

    /// The next `times` calls of `method` are answered 429 with `Retry-After: retry_after_s`.
    pub fn rate_limit(&self, method: &str, times: usize, retry_after_s: u64) {
        self.with(|s| queue(&mut s.limits, method, retry_after_s, times));
    }

    /// A person writes in a channel (in a thread when `thread_ts` is set): the message is in the
    /// channel, and the `event_callback` Slack would send about it is returned.
    pub fn user_says(&self, channel: &str, user: &str, text: &str, thread_ts: Option<&str>) -> Value {
        self.with(|s| {
            let ts = s.next_ts();
            s.posts.push(Post {
                channel: channel.to_string(),
                ts: ts.clone(),
                thread_ts: thread_ts.map(str::to_string),
                text: text.to_string(),
                only_for: None,
                key: None,
                user: user.to_string(),
                blocks: None,
                at: Instant::now(),
            });
            let team = s
                .users
                .get(user)
                .and_then(|u| u["team_id"].as_str())
                .unwrap_or("TTEAM")
                .to_string();
            let mut event = json!({"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                                   "team": team, "user_team": team, "channel_type": "channel", "event_ts": ts});
            if let Some(t) = thread_ts {
                event["thread_ts"] = json!(t);
            }
            s.callback(event)
        })
    }

    /// A person adds a reaction to a message: the `event_callback` Slack would send.
    pub fn user_reacts(&self, channel: &str, user: &str, ts: &str, name: &str) -> Value {
        self.with(|s| {
            let event_ts = s.next_ts();
            s.callback(json!({"type": "reaction_added", "user": user, "reaction": name,
                              "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": event_ts}))
        })
    }

    /// Sends an envelope over Socket Mode (`events_api`, `slash_commands`, `interactive`): now if
    /// keel is connected, else when it connects; again every 3 s until acknowledged, like Slack.
    pub fn send_envelope(&self, kind: &str, payload: Value) -> String {
        self.with(|s| {
            s.seq += 1;
            let id = format!("env-{:06}", s.seq);
            s.envelopes.push(Envelope {
                id: id.clone(),
                kind: kind.to_string(),
                payload,
                sent: None,
                attempts: 0,
            });
            id
        })
    }

    /// Acknowledged envelope ids, in order.
    pub fn acked(&self) -> Vec<String> {
        self.with(|s| s.acked.clone())
    }

    /// How many Socket Mode connections keel has opened.
    pub fn connections(&self) -> u64 {
        self.with(|s| s.connections)
    }

    /// Asks keel to reconnect, as Slack does before it refreshes a connection.
    pub fn request_disconnect(&self, reason: &str) {
        let frame = json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}});
        self.with(|s| {
            if let Some((_, tx)) = &s.socket {
                let _ = tx.send(SocketFrame::Text(frame.to_string()));
            }
        });
    }

    /// Drops the connection without a word (a network failure).
    pub fn drop_connection(&self) {
        self.with(|s| {
            if let Some((_, tx)) = s.socket.take() {
                let _ = tx.send(SocketFrame::Drop);
            }
        });
    }

    /// The app-level token `apps.connections.open` accepts.
    pub fn app_token(&self) -> String {
        self.with(|s| s.app_token.clone())
    }

    /// The messages keel posted (not people's).
    pub fn keel_posts(&self) -> Vec<Post> {
        self.posts().into_iter().filter(|p| p.user == "UKEEL").collect()
    }

    /// The next `times` calls of `method` fail with this HTTP status (a 5xx: Slack is down).
    pub fn fail_next(&self, method: &str, times: usize, status: u16) {
        self.with(|s| queue(&mut s.failures, method, status, times));
    }

    /// The next `times` calls of `method` are refused as Slack refuses them: HTTP 200 with
    /// `{"ok": false, "error": code}` (`is_archived`, `not_in_channel`, …).
    pub fn refuse_next(&self, method: &str, times: usize, code: &str) {
        self.with(|s| queue(&mut s.refusals, method, code.to_string(), times));
    }

    /// A person joins a channel: the `event_callback` Slack would send.
    pub fn user_joins(&self, channel: &str, user: &str) -> Value {
        self.with(|s| {
            let team = s
                .users
                .get(user)
                .and_then(|u| u["team_id"].as_str())
                .unwrap_or("TTEAM")
                .to_string();
            s.callback(
                json!({"type": "member_joined_channel", "user": user, "channel": channel,
                              "channel_type": "C", "team": team}),
            )
        })
    }

    pub fn posts(&self) -> Vec<Post> {
        self.with(|s| s.posts.clone())
    }

    /// The posts after the first `n` (people's and keel's), for following a long run without
    /// copying all of it each time.
    pub fn posts_after(&self, n: usize) -> Vec<Post> {
        self.with(|s| s.posts.get(n..).map(<[Post]>::to_vec).unwrap_or_default())
    }

    /// Every message edit keel made with `chat.update` (channel, ts), in order.
    pub fn updates(&self) -> Vec<(String, String)> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.updates.iter().map(|(c, ts, _)| (c.clone(), ts.clone())).collect()
    }

    /// When each message was edited with `chat.update`, by its ts, in order.
    pub fn update_times(&self) -> Vec<(String, Instant)> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.updates.iter().map(|(_, ts, at)| (ts.clone(), *at)).collect()
    }

    /// A message as it stands now (after any `chat.update`).
    pub fn post(&self, channel: &str, ts: &str) -> Option<Post> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.posts.iter().find(|p| p.channel == channel && p.ts == ts).cloned()
    }

    pub fn reactions(&self) -> Vec<(String, String, String)> {
        self.with(|s| s.reactions.clone())
    }

    /// Files shared in channels: (channel, title, bytes, comment).
    pub fn shared_files(&self) -> Vec<(String, String, Vec<u8>, Option<String>)> {
        self.with(|s| s.shared_files.clone())
    }

    /// When each call of `method` arrived (rate-limited ones included).
    pub fn calls(&self, method: &str) -> Vec<Instant> {
        self.with(|s| s.calls.iter().filter(|(m, _)| m == method).map(|(_, at)| *at).collect())
    }

    /// Waits until at least `n` messages were posted (at most `within`), and returns them all.
    pub async fn wait_posts(&self, n: usize, within: Duration) -> Vec<Post> {
        let deadline = Instant::now() + within;
        loop {
            let posts = self.posts();
            if posts.len() >= n || Instant::now() >= deadline {
                return posts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Queues `times` copies of an answer for the next calls of `method`.
fn queue<T: Clone>(answers: &mut HashMap<String, VecDeque<T>>, method: &str, answer: T, times: usize) {
    answers
        .entry(method.to_string())
        .or_default()
        .extend(std::iter::repeat_n(answer, times));
}

impl Fake {
    /// The next message timestamp, Slack-style (`1795600000.000042`).
    fn next_ts(&mut self) -> String {
        self.seq += 1;
        match &mut self.wall_clock {
            None => format!("1795600000.{:06}", self.seq),
            Some((second, micro)) => {
                // Increasing and unique, however many messages fall in one second.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                if now > *second {
                    (*second, *micro) = (now, 0);
                } else if *micro >= 999_999 {
                    (*second, *micro) = (*second + 1, 0);
                } else {
                    *micro += 1;
                }
                format!("{second}.{micro:06}")
            }
        }
    }

    fn callback(&mut self, event: Value) -> Value {
        self.seq += 1;
        json!({"token": "legacy", "team_id": "TTEAM", "api_app_id": "AKEEL", "type": "event_callback",
               "event_id": format!("Ev{:08}", self.seq), "event_time": self.wall_clock.map_or(1795600000, |(s, _)| s), "event": event,
               "authorizations": [{"team_id": "TTEAM", "user_id": "UKEEL", "is_bot": true}]})
    }
}

/// Accepts Socket Mode connections: a hello, then envelopes out and acks in.
async fn accept_sockets(listener: tokio::net::TcpListener, state: Arc<Mutex<Fake>>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    while let Ok((tcp, _)) = listener.accept().await {
        let Ok(socket) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        let (mut write, mut read) = socket.split();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<SocketFrame>();
        let number = {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            s.connections += 1;
            let number = s.connections;
            s.socket = Some((number, tx.clone()));
            number
        };
        let hello = json!({"type": "hello", "num_connections": 1,
                           "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 3600},
                           "connection_info": {"app_id": "AKEEL"}});
        let _ = tx.send(SocketFrame::Text(hello.to_string()));
        let acks = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    out = rx.recv() => match out {
                        Some(SocketFrame::Text(text)) => {
                            if write.send(Message::text(text)).await.is_err() {
                                break;
                            }
                        }
                        // Both halves are dropped below: the TCP connection goes without a word.
                        Some(SocketFrame::Drop) | None => break,
                    },
                    incoming = read.next() => match incoming {
                        Some(Ok(Message::Text(text))) => {
                            let Ok(ack) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                            let Some(id) = ack["envelope_id"].as_str() else { continue };
                            let mut s = acks.lock().unwrap_or_else(|p| p.into_inner());
                            s.envelopes.retain(|e| e.id != id);
                            s.acked.push(id.to_string());
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            let mut s = acks.lock().unwrap_or_else(|p| p.into_inner());
            if s.socket.as_ref().is_some_and(|(n, _)| *n == number) {
                s.socket = None;
            }
        });
    }
}

/// Sends waiting envelopes to the open connection; an envelope not acknowledged within 3 s (or
/// sent on a connection that is gone) is sent again with its `retry_attempt`.
async fn redeliver(state: Arc<Mutex<Fake>>) {
    loop {
        {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((number, tx)) = s.socket.clone() {
                for e in s.envelopes.iter_mut() {
                    let due = match e.sent {
                        None => true,
                        Some((on, at)) => on != number || at.elapsed() >= Duration::from_secs(3),
                    };
                    if due {
                        let frame = json!({"envelope_id": e.id, "type": e.kind, "payload": e.payload,
                                           "accepts_response_payload": e.kind != "events_api",
                                           "retry_attempt": e.attempts, "retry_reason": if e.attempts > 0 { "timeout" } else { "" }});
                        if tx.send(SocketFrame::Text(frame.to_string())).is_ok() {
                            e.sent = Some((number, Instant::now()));
                            e.attempts += 1;
                        }
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What keel answered one HTTP delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Sends a request to keel as Slack does: signed with `secret` at `ts` (now unless given), with
/// extra headers. A request keel does not answer within 3 s counts as a 408 (Slack's timeout).
pub async fn send_signed(
    url: &str,
    secret: &str,
    content_type: &str,
    body: &[u8],
    ts: Option<i64>,
    extra: &[(&str, String)],
) -> Answer {
    let ts = ts.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    });
    let signature = signature(secret, &ts.to_string(), body);
    let mut headers = vec![
        ("X-Slack-Request-Timestamp", ts.to_string()),
        ("X-Slack-Signature", signature),
        ("Content-Type", content_type.to_string()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    match tokio::time::timeout(Duration::from_secs(3), http_post(url, &headers, body)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => Answer {
            status: 0,
            body: e.to_string(),
        },
        Err(_) => Answer {
            status: 408,
            body: "timed out".into(),
        },
    }
}

/// Delivers an event as Slack does: on anything but a 2xx (or no answer in 3 s) it tries again
/// after each of `retry_after` (Slack: at once, 1 min, 5 min), with `X-Slack-Retry-Num`.
pub async fn deliver_event(url: &str, secret: &str, payload: &Value, retry_after: &[Duration]) -> Vec<Answer> {
    let body = payload.to_string();
    let mut answers = Vec::new();
    for attempt in 0..=retry_after.len() {
        let mut extra = Vec::new();
        if attempt > 0 {
            tokio::time::sleep(retry_after[attempt - 1]).await;
            extra.push(("X-Slack-Retry-Num", attempt.to_string()));
            extra.push(("X-Slack-Retry-Reason", "http_error".to_string()));
        }
        let answer = send_signed(url, secret, "application/json", body.as_bytes(), None, &extra).await;
        let done = (200..300).contains(&answer.status);
        answers.push(answer);
        if done {
            break;
        }
    }
    answers
}

/// Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{ts}:{body}`.
pub fn signature(secret: &str, ts: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// A plain HTTP/1.1 POST to 127.0.0.1.
async fn http_post(url: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<Answer> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let parsed = url::Url::parse(url).map_err(|e| std::io::Error::other(e.to_string()))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port().unwrap_or(80);
    let mut stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        parsed.path(),
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok(Answer { status, body })
}

/// A request's parameters, whatever way they came: JSON body, form body or query string.
/// The `blocks` of a post, checked as Slack checks them: an array of at most 50 known blocks
/// (a section with a text and at most 10 fields of up to 2,000 characters, a context of 1 to 10
/// texts, actions of 1 to 25 elements: buttons with a text and a value of at most 2,000
/// characters, overflow menus of 1 to 5 options, date pickers with a `YYYY-MM-DD` initial date),
/// action ids unique in the message; anything else is `invalid_blocks`.
fn blocks(p: &Map<String, Value>) -> Result<Option<Value>, &'static str> {
    let blocks = match p.get("blocks") {
        None => return Ok(None),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|_| "invalid_blocks_format")?,
        Some(other) => other.clone(),
    };
    let list = blocks.as_array().ok_or("invalid_blocks_format")?;
    if list.len() > 50 {
        return Err("invalid_blocks");
    }
    let mut action_ids = std::collections::HashSet::new();
    for block in list {
        let fine = match block["type"].as_str() {
            Some("section") => section(block),
            Some("context") => block["elements"]
                .as_array()
                .is_some_and(|e| (1..=10).contains(&e.len()) && e.iter().all(|t| t["text"].as_str().is_some())),
            Some("actions") => {
                let elements = block["elements"].as_array().ok_or("invalid_blocks")?;
                if elements.is_empty() || elements.len() > 25 {
                    return Err("invalid_blocks");
                }
                for e in elements {
                    let id = e["action_id"].as_str().unwrap_or_default();
                    if !element(e) || (!id.is_empty() && !action_ids.insert(id.to_string())) {
                        return Err("invalid_blocks");
                    }
                }
                true
            }
            _ => false,
        };
        if !fine {
            return Err("invalid_blocks");
        }
    }
    Ok(Some(blocks))
}

/// A message's text and blocks, checked: blocks as [`blocks`] checks them, and one of the two.
fn content(p: &Map<String, Value>) -> Result<(String, Option<Value>), &'static str> {
    let message = text(p, "text").unwrap_or_default();
    let blocks = blocks(p)?;
    if message.is_empty() && blocks.is_none() {
        return Err("no_text");
    }
    Ok((message, blocks))
}

/// A section: a text, and at most 10 fields of up to 2,000 characters.
fn section(block: &Value) -> bool {
    let text = block["text"]["text"]
        .as_str()
        .is_some_and(|t| !t.is_empty() && t.chars().count() <= 3000);
    let fields = match block.get("fields") {
        None => true,
        Some(fields) => fields.as_array().is_some_and(|f| {
            f.len() <= 10
                && f.iter()
                    .all(|t| t["text"].as_str().is_some_and(|t| t.chars().count() <= 2000))
        }),
    };
    text && fields
}

/// An element of an actions block: a button, an overflow menu or a date picker, well formed.
fn element(e: &Value) -> bool {
    match e["type"].as_str() {
        Some("button") => {
            let label = e["text"]["text"].as_str().unwrap_or_default();
            let value = e["value"].as_str().unwrap_or_default();
            !label.is_empty() && label.chars().count() <= 75 && value.chars().count() <= 2000
        }
        Some("overflow") => e["options"].as_array().is_some_and(|o| {
            (1..=5).contains(&o.len())
                && o.iter()
                    .all(|o| o["text"]["text"].as_str().is_some_and(|t| !t.is_empty()) && o["value"].as_str().is_some())
        }),
        Some("datepicker") => match e.get("initial_date") {
            None => true,
            Some(date) => date.as_str().is_some_and(is_date),
        },
        _ => false,
    }
}

/// `YYYY-MM-DD` (the shape Slack checks; the calendar is the date picker's business).
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// The `block_actions` payload Slack sends when `user` presses the button labelled `label` on
/// keel's message `post` (for `/slack/interactivity` or a Socket Mode `interactive` envelope).
pub fn press(post: &Post, user: &str, team: &str, label: &str) -> Option<Value> {
    let button = elements(post).find(|e| e["type"] == "button" && e["text"]["text"] == label)?;
    let action = json!({"type": "button", "block_id": "b", "action_id": button["action_id"],
                        "value": button["value"], "text": button["text"]});
    Some(block_actions(post, user, team, action))
}

/// The `block_actions` payload of `user` choosing the entry labelled `label` in the overflow
/// menu of keel's message `post`.
pub fn choose(post: &Post, user: &str, team: &str, label: &str) -> Option<Value> {
    let (menu, option) = elements(post).filter(|e| e["type"] == "overflow").find_map(|menu| {
        let option = menu["options"]
            .as_array()?
            .iter()
            .find(|o| o["text"]["text"] == label)?
            .clone();
        Some((menu, option))
    })?;
    let action = json!({"type": "overflow", "block_id": "b", "action_id": menu["action_id"],
                        "selected_option": option});
    Some(block_actions(post, user, team, action))
}

/// The `block_actions` payload of `user` picking `date` (`YYYY-MM-DD`) in the date picker of
/// keel's message `post`.
pub fn pick_date(post: &Post, user: &str, team: &str, date: &str) -> Option<Value> {
    let picker = elements(post).find(|e| e["type"] == "datepicker")?;
    let action = json!({"type": "datepicker", "block_id": "b", "action_id": picker["action_id"],
                        "selected_date": date, "initial_date": picker["initial_date"]});
    Some(block_actions(post, user, team, action))
}

/// The elements of a message's actions blocks.
fn elements(post: &Post) -> impl Iterator<Item = Value> + '_ {
    post.blocks
        .iter()
        .flat_map(|b| b.as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
}

/// A `block_actions` payload as Slack sends it for one action on a message.
fn block_actions(post: &Post, user: &str, team: &str, mut action: Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    action["action_ts"] = json!(format!("{now}.{:06}", rand_suffix()));
    let mut message = json!({"type": "message", "user": "UKEEL", "ts": post.ts, "text": post.text,
                             "blocks": post.blocks.clone().unwrap_or(json!([]))});
    let mut container = json!({"type": "message", "message_ts": post.ts, "channel_id": post.channel,
                               "is_ephemeral": false});
    if let Some(thread) = &post.thread_ts {
        message["thread_ts"] = json!(thread);
        container["thread_ts"] = json!(thread);
    }
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": user, "name": user, "team_id": team},
        "api_app_id": "AKEEL",
        "team": {"id": "TTEAM", "domain": "team"},
        "container": container,
        "trigger_id": format!("{now}.{}.trigger", rand_suffix()),
        "channel": {"id": post.channel, "name": post.channel},
        "message": message,
        "response_url": "https://hooks.slack.com/actions/TTEAM/1/fake",
        "actions": [action],
    })
}

/// A distinct suffix for action timestamps within one process.
fn rand_suffix() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn params(query: Option<String>, headers: &HeaderMap, body: &Bytes) -> Map<String, Value> {
    let mut out = Map::new();
    let form = |text: &str, out: &mut Map<String, Value>| {
        for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(&q, &mut out);
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json_body {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            out.extend(map);
        }
    } else if let Ok(text) = std::str::from_utf8(body) {
        form(text, &mut out);
    }
    out
}

fn text(p: &Map<String, Value>, key: &str) -> Option<String> {
    match p.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(|v| v.as_str()).map(str::to_string),
        other => Some(other.to_string()),
    }
}

async fn web_api(
    State(state): State<Arc<Mutex<Fake>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.calls.push((method.clone(), Instant::now()));
    if let Some(wait) = s.limits.get_mut(&method).and_then(VecDeque::pop_front) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.to_string())],
            axum::Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response();
    }
    if let Some(status) = s.failures.get_mut(&method).and_then(VecDeque::pop_front) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>upstream error</html>",
        )
            .into_response();
    }
    if let Some(code) = s.refusals.get_mut(&method).and_then(VecDeque::pop_front) {
        return error(&code);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let bearer = bearer.as_deref();
    if method == "apps.connections.open" {
        if bearer != Some(s.app_token.as_str()) {
            return error("invalid_auth");
        }
        s.seq += 1;
        let url = format!("{}?ticket={}", s.socket_url, s.seq);
        return ok(json!({"url": url}));
    }
    match bearer {
        None => return error("not_authed"),
        Some(token) if token != s.bot_token => return error("invalid_auth"),
        Some(_) => {}
    }
    let p = params(query, &headers, &body);
    match method.as_str() {
        "auth.test" => ok(
            json!({"user_id": "UKEEL", "user": "keel", "team_id": "TTEAM", "team": "Team",
                                 "url": "https://team.slack.com/", "bot_id": "BKEEL"}),
        ),
        "conversations.history" | "conversations.replies" => {
            let Some(channel) = text(&p, "channel") else {
                return error("channel_not_found");
            };
            if !s.channels.contains_key(&channel) {
                return error("channel_not_found");
            }
            let latest = text(&p, "latest");
            let limit = text(&p, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(100)
                .clamp(1, 1000);
            let metadata = text(&p, "include_all_metadata").is_some_and(|v| v == "true" || v == "1");
            // conversations.replies: the thread's root and its replies, oldest first.
            let root = match method.as_str() {
                "conversations.replies" => match text(&p, "ts") {
                    Some(ts) => Some(ts),
                    None => return error("thread_not_found"),
                },
                _ => None,
            };
            let shown = |m: &Post| {
                let mut message = json!({"type": "message", "ts": m.ts, "text": m.text, "user": m.user});
                if let Some(t) = &m.thread_ts {
                    message["thread_ts"] = json!(t);
                }
                if let (true, Some(key)) = (metadata, &m.key) {
                    message["metadata"] = json!({"event_type": "keel_outbox", "event_payload": {"key": key}});
                }
                message
            };
            let visible = s.posts.iter().filter(|m| m.channel == channel && m.only_for.is_none());
            let messages: Vec<Value> = match &root {
                Some(ts) => visible
                    .filter(|m| m.ts == *ts || m.thread_ts.as_deref() == Some(ts.as_str()))
                    .take(limit)
                    .map(shown)
                    .collect(),
                None => {
                    let mut newest: Vec<&Post> =
                        visible.filter(|m| latest.as_ref().is_none_or(|l| m.ts <= *l)).collect();
                    newest.reverse();
                    newest.into_iter().take(limit).map(shown).collect()
                }
            };
            ok(json!({"messages": messages, "has_more": false}))
        }
        "chat.getPermalink" => {
            let (Some(channel), Some(ts)) = (text(&p, "channel"), text(&p, "message_ts")) else {
                return error("invalid_arguments");
            };
            let Some(post) = s.posts.iter().find(|m| m.channel == channel && m.ts == ts) else {
                return error("message_not_found");
            };
            let mut permalink = format!("https://team.slack.com/archives/{channel}/p{}", ts.replace('.', ""));
            if let Some(root) = post.thread_ts.as_deref().filter(|root| *root != ts) {
                permalink.push_str(&format!("?thread_ts={root}&cid={channel}"));
            }
            ok(json!({"channel": channel, "permalink": permalink}))
        }
        "views.open" | "views.publish" => views::api(&mut s, &method, &p),
        "chat.postMessage" | "chat.postEphemeral" => {
            let Some(mut channel) = text(&p, "channel") else {
                return error("channel_not_found");
            };
            // A user id posts to that user's conversation with the app.
            if !s.channels.contains_key(&channel) && s.users.contains_key(&channel) {
                let user = channel.clone();
                channel = format!("D{user}");
                s.channels.insert(channel.clone(), user);
            }
            if !s.channels.contains_key(&channel) {
                return error("channel_not_found");
            }
            let (message, blocks) = match content(&p) {
                Ok(content) => content,
                Err(e) => return error(e),
            };
            if message.chars().count() > 40_000 {
                return error("msg_too_long");
            }
            let ts = s.next_ts();
            let ephemeral = method == "chat.postEphemeral";
            let only_for = if ephemeral { text(&p, "user") } else { None };
            if ephemeral && only_for.as_ref().is_none_or(|u| !s.users.contains_key(u)) {
                return error("user_not_found");
            }
            let key = p
                .get("metadata")
                .and_then(|m| m.get("event_payload"))
                .and_then(|m| m.get("key"))
                .and_then(Value::as_str)
                .map(str::to_string);
            s.posts.push(Post {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts: text(&p, "thread_ts"),
                text: message.clone(),
                only_for,
                key,
                user: "UKEEL".into(),
                blocks,
                at: Instant::now(),
            });
            if ephemeral {
                ok(json!({"message_ts": ts}))
            } else {
                ok(json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": message, "user": "UKEEL"}}))
            }
        }
        "chat.update" => {
            let (Some(channel), Some(ts)) = (text(&p, "channel"), text(&p, "ts")) else {
                return error("invalid_arguments");
            };
            if !s.channels.contains_key(&channel) {
                return error("channel_not_found");
            }
            let (message, blocks) = match content(&p) {
                Ok(content) => content,
                Err(e) => return error(e),
            };
            let Some(post) = s
                .posts
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts && m.only_for.is_none())
            else {
                return error("message_not_found");
            };
            if post.user != "UKEEL" {
                return error("cant_update_message");
            }
            post.text = message.clone();
            // Text without blocks drops the message's blocks, as on Slack.
            post.blocks = blocks;
            s.updates.push((channel.clone(), ts.clone(), Instant::now()));
            ok(json!({"channel": channel, "ts": ts, "text": message, "message": {"text": message, "user": "UKEEL"}}))
        }
        "reactions.add" => {
            let (Some(channel), Some(name), Some(ts)) = (text(&p, "channel"), text(&p, "name"), text(&p, "timestamp"))
            else {
                return error("invalid_arguments");
            };
            if !s.channels.contains_key(&channel) {
                return error("channel_not_found");
            }
            let reaction = (channel, ts, name);
            if s.reactions.contains(&reaction) {
                return error("already_reacted");
            }
            s.reactions.push(reaction);
            ok(json!({}))
        }
        "conversations.open" => {
            let Some(user) = text(&p, "users").map(|u| u.split(',').next().unwrap_or_default().to_string()) else {
                return error("users_list_not_supplied");
            };
            if !s.users.contains_key(&user) {
                return error("user_not_found");
            }
            let id = format!("D{user}");
            s.channels.insert(id.clone(), user.clone());
            ok(json!({"channel": {"id": id}}))
        }
        "users.list" => {
            let members: Vec<Value> = s.users.values().cloned().collect();
            ok(json!({"members": members, "response_metadata": {"next_cursor": ""}}))
        }
        "users.info" => match text(&p, "user").and_then(|u| s.users.get(&u).cloned()) {
            Some(user) => ok(json!({"user": user})),
            None => error("user_not_found"),
        },
        "files.getUploadURLExternal" => {
            let (Some(name), Some(length)) = (text(&p, "filename"), text(&p, "length")) else {
                return error("invalid_arguments");
            };
            if length.parse::<usize>().is_err() {
                return error("invalid_arguments");
            }
            s.seq += 1;
            let id = format!("F{:06}", s.seq);
            s.files.insert(id.clone(), (name, Vec::new()));
            let base = s.api_url.trim_end_matches("/api").to_string();
            ok(json!({"upload_url": format!("{base}/upload/{id}"), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            let files = match p.get("files") {
                Some(Value::Array(files)) => files.clone(),
                Some(Value::String(text)) => serde_json::from_str(text).unwrap_or_default(),
                _ => Vec::new(),
            };
            let channel = text(&p, "channel_id");
            if let Some(c) = &channel {
                if !s.channels.contains_key(c) {
                    return error("channel_not_found");
                }
            }
            let mut done = Vec::new();
            for file in files {
                let Some(id) = file.get("id").and_then(Value::as_str) else {
                    return error("invalid_arguments");
                };
                let Some((name, bytes)) = s.files.get(id).cloned() else {
                    return error("file_not_found");
                };
                let title = file.get("title").and_then(Value::as_str).unwrap_or(&name).to_string();
                if let Some(c) = &channel {
                    s.shared_files
                        .push((c.clone(), title.clone(), bytes, text(&p, "initial_comment")));
                }
                done.push(json!({"id": id, "title": title, "name": name}));
            }
            ok(json!({"files": done}))
        }
        _ => error("unknown_method"),
    }
}

async fn upload(State(state): State<Arc<Mutex<Fake>>>, Path(file): Path<String>, body: Bytes) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match s.files.get_mut(&file) {
        Some((_, bytes)) => {
            *bytes = body.to_vec();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                format!("OK - {}", bytes.len()),
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "not found",
        )
            .into_response(),
    }
}

/// A round-robin TCP load balancer on 127.0.0.1 in front of several keel replicas, as a team
/// puts one in front of the Events API: each connection goes to the next replica, or to the one
/// after when that one does not accept. Stops when dropped.
pub struct Balancer {
    /// `http://127.0.0.1:PORT`, where Slack is pointed.
    pub url: String,
    counts: Arc<Vec<std::sync::atomic::AtomicU64>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Balancer {
    pub async fn start(replicas: Vec<std::net::SocketAddr>) -> std::io::Result<Balancer> {
        use std::sync::atomic::{AtomicU64, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let counts: Arc<Vec<AtomicU64>> = Arc::new(replicas.iter().map(|_| AtomicU64::new(0)).collect());
        let counted = counts.clone();
        let server = tokio::spawn(async move {
            let next = Arc::new(AtomicU64::new(0));
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (replicas, counts, next) = (replicas.clone(), counted.clone(), next.clone());
                tokio::spawn(async move {
                    let first = next.fetch_add(1, Ordering::Relaxed) as usize;
                    for offset in 0..replicas.len() {
                        let n = (first + offset) % replicas.len();
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(replicas[n]).await {
                            counts[n].fetch_add(1, Ordering::Relaxed);
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Ok(Balancer { url, counts, server })
    }

    /// How many connections each replica was given.
    pub fn split(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .collect()
    }
}
