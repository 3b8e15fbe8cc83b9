//! The web dashboard `keel run` serves under `/dashboard`: server-rendered pages that work with
//! JavaScript off, behind a sign-in by one-time link (`service::dashboard`). Without a live
//! session every page is the sign-in page: nothing about tasks or clients is served.

mod pages;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};

use crate::service::dashboard::{self as signin, SESSION_SECONDS};
use crate::service::kpi;
use crate::service::Keel;
use crate::store::dashboard::Redeemed;
use crate::store::people::Member;

/// The session cookie's name.
const COOKIE: &str = "keel_session";
/// The one stylesheet, built into the binary.
const CSS: &str = include_str!("../../assets/dashboard.css");

struct Web {
    keel: Keel,
    /// The stylesheet's address, named by its content so it can be cached for good.
    css_path: String,
    /// Cookies carry `Secure` unless the dashboard is plain http on this machine.
    secure: bool,
}

/// The dashboard's routes.
pub fn router(keel: Keel) -> Router {
    let digest: String = Sha256::digest(CSS.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let css_path = format!("/dashboard/style-{digest}.css");
    let secure = !local_http(&keel.settings.public_url);
    let web = Arc::new(Web {
        keel,
        css_path: css_path.clone(),
        secure,
    });
    Router::new()
        .route("/dashboard", get(overview))
        .route("/dashboard/login/{token}", get(login))
        .route("/dashboard/logout", post(logout))
        .route(&css_path, get(stylesheet))
        .with_state(web)
}

/// `http://localhost…` or `http://127.0.0.1…`: a browser sends no `Secure` cookie there.
fn local_http(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
}

/// The session token the browser sent, if any.
fn session(headers: &HeaderMap) -> Option<String> {
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
    fn now(&self) -> i64 {
        self.keel.clock.now().timestamp()
    }

    /// The member signed in with this request's cookie.
    async fn member(&self, headers: &HeaderMap) -> Result<Option<Member>, Response> {
        let Some(token) = session(headers) else {
            return Ok(None);
        };
        signin::signed_in(&self.keel, &token, self.now())
            .await
            .map_err(server_error)
    }

    fn sign_in(&self, status: StatusCode, reason: Option<&str>) -> Response {
        (status, no_store(), pages::sign_in(&self.css_path, reason)).into_response()
    }

    fn cookie(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={value}; Path=/dashboard; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }
}

/// Pages about the team's work are never kept by a shared cache.
fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

fn server_error(e: anyhow::Error) -> Response {
    tracing::error!(error = %crate::store::one_line(&e), "dashboard");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "keel could not read its database; try again",
    )
        .into_response()
}

async fn overview(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let member = match web.member(&headers).await {
        Ok(Some(member)) => member,
        Ok(None) => return web.sign_in(StatusCode::UNAUTHORIZED, None),
        Err(response) => return response,
    };
    match kpi::overview(&web.keel, web.keel.clock.now()).await {
        Ok(report) => (no_store(), pages::overview(&web.css_path, &member.name, &report)).into_response(),
        Err(e) => server_error(e),
    }
}

async fn login(State(web): State<Arc<Web>>, Path(token): Path<String>) -> Response {
    match signin::sign_in(&web.keel, &token, web.now()).await {
        Ok(Ok(session)) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/dashboard".to_string()),
                (header::SET_COOKIE, web.cookie(&session, SESSION_SECONDS)),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
        )
            .into_response(),
        Ok(Err(why)) => {
            let reason = match why {
                Redeemed::Used => "That link was used already: links work once. Ask keel for a new one.",
                Redeemed::Expired => "That link expired: links last 10 minutes. Ask keel for a new one.",
                _ => "That is not a sign-in link keel gave. Ask keel for one.",
            };
            web.sign_in(StatusCode::UNAUTHORIZED, Some(reason))
        }
        Err(e) => server_error(e),
    }
}

async fn logout(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if let Some(token) = session(&headers) {
        if let Err(e) = signin::sign_out(&web.keel, &token).await {
            return server_error(e);
        }
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/dashboard".to_string()),
            (header::SET_COOKIE, web.cookie("", 0)),
        ],
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
        .into_response()
}
