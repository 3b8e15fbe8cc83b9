//! `/dashboard/clients` (each client's health), `/dashboard/people` (each member's work and
//! hours) and `/dashboard/standups` (the last days' answers).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::pages;
use super::site::{no_store, server_error, Web};
use super::tasks::encode;
use crate::service::dashboard::read::{self, ClientHealth, CLIENT_DAYS};
use crate::service::{format_time, member_tz};

pub(super) async fn people(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let member = match web.signed_in(&headers).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let load = match read::load(&web.keel, web.now()).await {
        Ok(load) => load,
        Err(e) => return server_error(e),
    };
    let tz = member_tz(&web.keel, &member);
    let overload = web.keel.settings.schedules.overload_tasks;
    let rows: Vec<pages::PersonRow> = load
        .into_iter()
        .map(|(m, active, overdue)| pages::PersonRow {
            role: m.role.to_string(),
            zone: member_tz(&web.keel, &m).to_string(),
            hours: format!("{}–{}", m.hours.start.format("%H:%M"), m.hours.end.format("%H:%M")),
            away: m
                .away_until
                .filter(|until| *until > web.now())
                .map(|until| format_time(until, tz))
                .unwrap_or_default(),
            active,
            overdue,
            overloaded: active > overload,
            link: format!("/dashboard/tasks?owner={}", encode(&m.name)),
            name: m.name,
        })
        .collect();
    (no_store(), pages::people(&web.frame(&member), &rows, overload)).into_response()
}

pub(super) async fn clients(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let member = match web.signed_in(&headers).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let (health, silent_days) = match read::clients(&web.keel, web.keel.clock.now()).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    let tz = member_tz(&web.keel, &member);
    let now = web.now();
    let rows: Vec<pages::ClientRow> = health
        .into_iter()
        .map(|h| {
            let ClientHealth { client, .. } = &h;
            pages::ClientRow {
                owner: h.owner.clone().unwrap_or_else(|| "none".into()),
                active: h.active,
                overdue: h.overdue,
                last_touch: client.last_touch_at.map_or_else(
                    || "never".to_string(),
                    |at| format!("{} ({})", format_time(at, tz), days_ago(now - at)),
                ),
                silent: h.silent,
                sla: match h.sla {
                    Some((decided, met)) if decided > 0 => {
                        format!("{:.0}% ({met} of {decided})", met as f64 * 100.0 / decided as f64)
                    }
                    _ => "—".into(),
                },
                nps: h.nps.map_or_else(|| "—".into(), |n| format!("{n:+.0}")),
                sentiment: trend(h.sentiment),
                onboarding: h
                    .playbook
                    .map_or_else(|| "—".into(), |(done, all)| format!("{done} of {all} done")),
                template_trap: h.template_trap,
                key: client.key.clone(),
                name: client.name.clone(),
            }
        })
        .collect();
    (
        no_store(),
        pages::clients(&web.frame(&member), &rows, CLIENT_DAYS, silent_days),
    )
        .into_response()
}

/// `today`, `1 day ago`, `12 days ago`.
fn days_ago(seconds: i64) -> String {
    match seconds.max(0) / 86_400 {
        0 => "today".into(),
        1 => "1 day ago".into(),
        n => format!("{n} days ago"),
    }
}

/// A mean sentiment against the one before: `+0.40, up from −0.10`.
fn trend((now, before): (Option<f64>, Option<f64>)) -> String {
    let show = |v: f64| format!("{v:+.2}").replace('-', "−");
    match (now, before) {
        (None, _) => "—".into(),
        (Some(n), None) => show(n),
        (Some(n), Some(b)) if n - b >= 0.1 => format!("{}, up from {}", show(n), show(b)),
        (Some(n), Some(b)) if b - n >= 0.1 => format!("{}, down from {}", show(n), show(b)),
        (Some(n), Some(_)) => format!("{}, steady", show(n)),
    }
}

pub(super) async fn standups(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let member = match web.signed_in(&headers).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let days = match read::standups(&web.keel).await {
        Ok(days) => days,
        Err(e) => return server_error(e),
    };
    let views: Vec<pages::StandupView> = days
        .into_iter()
        .map(|d| {
            let asked = d.answers.len() + d.silent.len();
            let mut summary = format!("{} of {asked} answered", d.answers.len());
            if !d.silent.is_empty() {
                summary.push_str(&format!(" · no answer: {}", d.silent.join(", ")));
            }
            if !d.away.is_empty() {
                summary.push_str(&format!(" · away: {}", d.away.join(", ")));
            }
            pages::StandupView {
                label: d.label,
                summary,
                answers: d.answers,
            }
        })
        .collect();
    (no_store(), pages::standups(&web.frame(&member), &views)).into_response()
}
