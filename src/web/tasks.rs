//! `/dashboard/tasks` (filtered, searched, sorted, paged) and `/dashboard/tasks/{id}` (a task's
//! card and its timeline).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::pages;
use super::site::{no_store, server_error, Web};
use crate::domain::sla::{show_span, Clock};
use crate::domain::{Priority, Status};
use crate::service::dashboard::read;
use crate::service::{event_summary, format_time, member_tz};
use crate::store::browse::{Browse, Sort};
use crate::store::people::Member;
use crate::store::Conn;

/// Tasks on one page of the list.
const PER_PAGE: i64 = 50;

pub(super) async fn list(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (mut conn, member) = match web.signed_in_with_conn(&headers).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    match render_list(&web, &mut conn, &member, &q).await {
        Ok(page) => (no_store(), page).into_response(),
        Err(e) => server_error(e),
    }
}

async fn render_list(
    web: &Web,
    conn: &mut Conn,
    member: &Member,
    q: &HashMap<String, String>,
) -> anyhow::Result<maud::Markup> {
    let get = |key: &str| q.get(key).map(|v| v.trim()).unwrap_or("");
    let (clients, members) = read::people(conn).await?;
    let now = web.now();
    let status = match get("status") {
        "" => "active",
        s => s,
    };
    let statuses = match status {
        "all" => Vec::new(),
        "active" => vec![Status::Open, Status::InProgress, Status::Waiting],
        s => s.parse::<Status>().map(|s| vec![s]).unwrap_or_default(),
    };
    let client = clients.iter().find(|(_, key)| key == get("client"));
    let owner = match get("owner") {
        "mine" => Some(member),
        name => members.iter().find(|m| m.name == name),
    };
    let overdue = get("overdue") == "1";
    let sort = match get("sort") {
        "age" => Sort::Age,
        "priority" => Sort::Priority,
        _ => Sort::Due,
    };
    let page: i64 = get("page").parse().unwrap_or(1).clamp(1, 100_000);
    let query = Browse {
        statuses,
        // A client or owner that does not exist matches nothing.
        client_id: match get("client") {
            "" => None,
            _ => Some(client.map_or(-1, |(id, _)| *id)),
        },
        owner_id: match get("owner") {
            "" => None,
            _ => Some(owner.map_or(-1, |m| m.id)),
        },
        priority: get("priority").parse::<Priority>().ok(),
        due_before: overdue.then_some(now),
        search: Some(get("q").to_string()),
        sort,
        offset: (page - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let (views, total) = read::tasks(conn, &query).await?;
    let tz = member_tz(&web.keel, member);
    let rows: Vec<pages::TaskRow> = views
        .iter()
        .map(|v| {
            let t = &v.task;
            pages::TaskRow {
                id: t.id,
                title: t.title.clone(),
                client: v.client_key.clone().unwrap_or_default(),
                owner: v.owner_name.clone().unwrap_or_default(),
                status: t.status.to_string(),
                priority: t.priority.to_string(),
                due: t.due_at.map(|d| format_time(d, tz)).unwrap_or_default(),
                overdue: t.status.is_active() && t.due_at.is_some_and(|d| d < now),
            }
        })
        .collect();
    let link = |page: i64| {
        let mut pairs: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("page".into(), page.to_string()));
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("/dashboard/tasks?{}", encoded.join("&"))
    };
    let pager = (
        (page > 1).then(|| link(page - 1)),
        (page * PER_PAGE < total).then(|| link(page + 1)),
    );
    let mut owners: Vec<String> = vec!["mine".to_string()];
    owners.extend(members.iter().map(|m| m.name.clone()));
    let form = pages::TaskForm {
        status,
        client: get("client"),
        owner: get("owner"),
        priority: get("priority"),
        overdue,
        q: get("q"),
        sort: get("sort"),
        clients: clients.iter().map(|(_, key)| key.clone()).collect(),
        owners,
    };
    Ok(pages::tasks(&web.frame(member), &form, &rows, total, pager))
}

/// A query string value, percent-encoded.
pub(super) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub(super) async fn one(State(web): State<Arc<Web>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (mut conn, member) = match web.signed_in_with_conn(&headers).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let Ok(id) = id.trim_start_matches('#').parse::<i64>() else {
        return missing(
            &web,
            &member,
            &format!("\"{}\" is not a task number.", id.chars().take(40).collect::<String>()),
        );
    };
    let found = match read::task(&mut conn, &web.keel, id, web.now()).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    let Some(read::TaskPage { view, events, sla }) = found else {
        return missing(&web, &member, &format!("#{id} does not exist."));
    };
    let tz = member_tz(&web.keel, &member);
    let t = &view.task;
    let mut fields = vec![
        ("Status", t.status.to_string()),
        ("Owner", view.owner_name.clone().unwrap_or_else(|| "none".into())),
        ("Client", view.client_key.clone().unwrap_or_else(|| "none".into())),
        ("Priority", t.priority.to_string()),
        ("Requester", t.requester_name.clone()),
        ("Opened", format_time(t.created_at, tz)),
        ("Channel", t.channel_name.clone()),
    ];
    if let Some(due) = t.due_at {
        fields.push(("Due", format_time(due, tz)));
    }
    if let Some(first) = t.first_response_at {
        fields.push(("First response", format_time(first, tz)));
    }
    match sla {
        Some((targets, first, resolution)) => {
            fields.push(("First response SLA", clock(first, targets.first_response)));
            fields.push(("Resolution SLA", clock(resolution, targets.resolution)));
        }
        None => fields.push(("SLA", "none: not a client request".into())),
    }
    let timeline: Vec<pages::TimelineEntry> = events
        .iter()
        .map(|e| pages::TimelineEntry {
            iso: chrono::DateTime::from_timestamp(e.at, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            shown: format_time(e.at, tz),
            who: e.actor.clone(),
            what: event_summary(e),
        })
        .collect();
    let title = format!("#{} {}", t.id, t.title);
    (
        no_store(),
        pages::task(&web.frame(&member), &title, &fields, t.permalink.as_deref(), &timeline),
    )
        .into_response()
}

/// Where an SLA clock stands, in business hours against its target.
fn clock(state: Clock, target: i64) -> String {
    let hours = |s: i64| format!("{:.1}", s as f64 / 3600.0).trim_end_matches(".0").to_string();
    let target = show_span(target);
    match state {
        Clock::Met { used } => format!("met in {} business hours (target {target})", hours(used)),
        Clock::Missed { used } => format!("missed: {} business hours (target {target})", hours(used)),
        Clock::Running { left } => format!("{} business hours left (target {target})", hours(left)),
        Clock::Paused { left } => {
            format!(
                "paused while waiting on the client, {} business hours left (target {target})",
                hours(left)
            )
        }
    }
}

/// A task that is not there: a page saying so, with the header to go elsewhere.
fn missing(web: &Web, member: &Member, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        no_store(),
        pages::missing(&web.frame(member), what),
    )
        .into_response()
}
