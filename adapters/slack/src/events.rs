//! The Events API over HTTP: `/slack/events`, `/slack/commands`, `/slack/interactivity`.
//!
//! Every request's signature is checked first (HMAC-SHA256 of `v0:{timestamp}:{body}` with the
//! signing secret, the timestamp within five minutes of now); a forged or stale one gets 401 and
//! nothing else happens. Bodies over 1 MiB are refused (413). An event is answered 200 once keel
//! has recorded it (in its inbox, a few milliseconds; Slack wants an answer within 3 s) and is
//! handled after the answer: a crash before the answer leaves it unanswered, so Slack sends it
//! again, and dedupe makes a repeat harmless; a crash after it leaves it in the inbox for the next
//! start. Replies go out through the outbox.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use keel_chat::{Inbound, InboundSink};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::inbound::Translator;

/// Slack's limit on a request's age.
const MAX_AGE_S: i64 = 300;
/// The largest body keel reads.
pub const MAX_BODY: usize = 1024 * 1024;
/// How long keel may take to record an event before it answers 503 (Slack retries later).
const COMMIT_WITHIN: Duration = Duration::from_millis(2500);

#[derive(Clone)]
struct Endpoint {
    secret: Arc<SecretString>,
    translator: Translator,
    sink: Arc<dyn InboundSink>,
}

/// The three endpoints, for keel's HTTP server.
pub fn router(secret: SecretString, translator: Translator, sink: Arc<dyn InboundSink>) -> Router {
    let endpoint = Endpoint {
        secret: Arc::new(secret),
        translator,
        sink,
    };
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/commands", post(commands))
        .route("/slack/interactivity", post(interactivity))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(endpoint)
}

/// Checks Slack's signature on a request: `v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))`, and
/// that `ts` is within five minutes of `now`.
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let ts = header("x-slack-request-timestamp").ok_or("no timestamp")?;
    let signature = header("x-slack-signature").ok_or("no signature")?;
    let at: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    if (now - at).abs() > MAX_AGE_S {
        return Err("stale timestamp");
    }
    let expected = sign(secret, ts, body);
    if expected.as_bytes().ct_eq(signature.as_bytes()).into() {
        Ok(())
    } else {
        Err("wrong signature")
    }
}

/// Slack's signature of a body sent at `ts`.
pub fn sign(secret: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(ts.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn refuse(e: &str) -> Response {
    tracing::warn!(reason = e, "refusing a Slack request with a bad signature");
    (StatusCode::UNAUTHORIZED, "invalid signature\n").into_response()
}

/// Hands events to keel and answers once they are recorded.
async fn take(endpoint: &Endpoint, inbound: Vec<Inbound>) -> Response {
    let deliver = async {
        for event in inbound {
            endpoint.sink.accept(event).await?;
        }
        anyhow::Ok(())
    };
    match tokio::time::timeout(COMMIT_WITHIN, deliver).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "keel could not take a Slack event; Slack will retry");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(_) => {
            tracing::warn!("keel took too long to take a Slack event; Slack will retry");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn events(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = verify(endpoint.secret.expose_secret(), &headers, &body, now()) {
        return refuse(e);
    }
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON\n").into_response();
    };
    if let Some(retry) = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()) {
        tracing::info!(
            retry,
            event_id = payload["event_id"].as_str().unwrap_or(""),
            "Slack retried an event"
        );
    }
    match payload["type"].as_str() {
        Some("url_verification") => payload["challenge"]
            .as_str()
            .unwrap_or_default()
            .to_string()
            .into_response(),
        Some("event_callback") => {
            let inbound = endpoint.translator.event(&payload).await;
            take(&endpoint, inbound).await
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn commands(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = verify(endpoint.secret.expose_secret(), &headers, &body, now()) {
        return refuse(e);
    }
    let form: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    match endpoint.translator.command(&serde_json::Value::Object(form)).await {
        Some(inbound) => take(&endpoint, vec![inbound]).await,
        None => (StatusCode::OK, "keel could not read that command").into_response(),
    }
}

async fn interactivity(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = verify(endpoint.secret.expose_secret(), &headers, &body, now()) {
        return refuse(e);
    }
    let payload = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str::<serde_json::Value>(&v).ok());
    match payload {
        Some(payload) => {
            let inbound = endpoint.translator.interaction(&payload).await;
            take(&endpoint, inbound).await
        }
        None => (StatusCode::BAD_REQUEST, "no payload\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_slacks_documented_example() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, "1531420618", body.as_bytes()), expected);
        let mut headers = HeaderMap::new();
        headers.insert("x-slack-request-timestamp", "1531420618".parse().unwrap());
        headers.insert("x-slack-signature", expected.parse().unwrap());
        assert_eq!(verify(secret, &headers, body.as_bytes(), 1531420618 + 299), Ok(()));
        assert_eq!(
            verify(secret, &headers, body.as_bytes(), 1531420618 + 301),
            Err("stale timestamp")
        );
        assert_eq!(
            verify(secret, &headers, b"tampered", 1531420618),
            Err("wrong signature")
        );
        assert_eq!(
            verify("other-secret", &headers, body.as_bytes(), 1531420618),
            Err("wrong signature")
        );
    }
}
