//! What the dashboard's pages share: the state, the session cookie, the sign-in page, errors.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::pages;
use crate::service::dashboard as signin;
use crate::service::Keel;
use crate::store::people::Member;
use crate::store::Conn;

/// The session cookie's name.
const COOKIE: &str = "keel_session";

pub(super) struct Web {
    pub keel: Keel,
    /// The stylesheet's address, named by its content so it can be cached for good.
    pub css_path: String,
    /// Cookies carry `Secure` unless the dashboard is plain http on this machine.
    pub secure: bool,
}

/// `http://localhost…` or `http://127.0.0.1…`: a browser sends no `Secure` cookie there.
pub(super) fn local_http(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
}

/// The session token the browser sent, if any.
pub(super) fn session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

impl Web {
    pub fn now(&self) -> i64 {
        self.keel.clock.now().timestamp()
    }

    /// A connection for one page's reads: the session's and the page's, one pool checkout.
    pub async fn conn(&self) -> Result<PoolConnection<Any>, Response> {
        self.keel
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| server_error(e.into()))
    }

    /// The member signed in with this request's cookie.
    pub async fn member(&self, conn: &mut Conn, headers: &HeaderMap) -> Result<Option<Member>, Response> {
        let Some(token) = session(headers) else {
            return Ok(None);
        };
        signin::signed_in(conn, &token, self.now()).await.map_err(server_error)
    }

    /// The frame of a page `member` reads.
    pub fn frame<'a>(&'a self, member: &'a Member) -> pages::Frame<'a> {
        pages::Frame {
            css: &self.css_path,
            member: &member.name,
        }
    }

    /// The signed-in member, or the response to send instead (the sign-in page).
    pub async fn signed_in(&self, headers: &HeaderMap) -> Result<Member, Response> {
        self.signed_in_with_conn(headers).await.map(|(_, member)| member)
    }

    /// `signed_in`, with the connection it checked the session on, for the page's own reads.
    pub async fn signed_in_with_conn(&self, headers: &HeaderMap) -> Result<(PoolConnection<Any>, Member), Response> {
        let mut conn = self.conn().await?;
        match self.member(&mut conn, headers).await? {
            Some(member) => Ok((conn, member)),
            None => Err(self.sign_in(None)),
        }
    }

    /// The sign-in page, in place of the page asked for. It answers 200, not 401: a browser
    /// reports a 401 page as a console error, and the page is the sign-in form a person expects.
    pub fn sign_in(&self, reason: Option<&str>) -> Response {
        (no_store(), pages::sign_in(&self.css_path, reason)).into_response()
    }

    pub fn cookie(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={value}; Path=/dashboard; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }
}

/// Pages about the team's work are never kept by a shared cache.
pub(super) fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

pub(super) fn server_error(e: anyhow::Error) -> Response {
    tracing::error!(error = %crate::store::one_line(&e), "dashboard");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "keel could not read its database; try again",
    )
        .into_response()
}
