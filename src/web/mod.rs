//! The web dashboard `keel run` serves under `/dashboard`: server-rendered pages that work with
//! JavaScript off, behind a sign-in by one-time link (`service::dashboard`). Without a live
//! session every page is the sign-in page: nothing about tasks or clients is served.

mod pages;
mod site;
mod tasks;
mod team;

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
use site::{local_http, no_store, server_error, session, Web};

/// The one stylesheet, built into the binary.
const CSS: &str = include_str!("../../assets/dashboard.css");

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
        .route("/dashboard/tasks", get(tasks::list))
        .route("/dashboard/tasks/{id}", get(tasks::one))
        .route("/dashboard/clients", get(team::clients))
        .route("/dashboard/people", get(team::people))
        .route("/dashboard/standups", get(team::standups))
        .route(&css_path, get(stylesheet))
        .with_state(web)
}

async fn overview(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let member = match web.conn().await {
        Ok(mut conn) => web.member(&mut conn, &headers).await,
        Err(response) => Err(response),
    };
    let member = match member {
        Ok(Some(member)) => member,
        Ok(None) => return web.sign_in(None),
        Err(response) => return response,
    };
    match kpi::overview(&web.keel, web.keel.clock.now()).await {
        Ok((report, chart)) => (
            no_store(),
            pages::overview(&web.frame(&member), &report, chart.as_deref()),
        )
            .into_response(),
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
            web.sign_in(Some(reason))
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
