//! `/dashboard/tasks` (filtered, searched, sorted, paged), `/dashboard/tasks/{id}` (a task's
//! card and its timeline) and `/dashboard/people` (each member's work and hours).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::pages;
use super::site::{no_store, server_error, Web};
use crate::domain::{Priority, Status};
use crate::service::dashboard::read;
use crate::service::{event_summary, format_time, member_tz};
use crate::store::browse::{Browse, Sort};
use crate::store::people::Member;

/// Tasks on one page of the list.
const PER_PAGE: i64 = 50;

/// The signed-in member, or the response to send instead (the sign-in page).
async fn signed_in(web: &Web, headers: &HeaderMap) -> Result<Member, Response> {
    match web.member(headers).await? {
        Some(member) => Ok(member),
        None => Err(web.sign_in(StatusCode::UNAUTHORIZED, None)),
    }
}

pub(super) async fn list(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let member = match signed_in(&web, &headers).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    match render_list(&web, &member, &q).await {
        Ok(page) => (no_store(), page).into_response(),
        Err(e) => server_error(e),
    }
}

async fn render_list(web: &Web, member: &Member, q: &HashMap<String, String>) -> anyhow::Result<maud::Markup> {
    let get = |key: &str| q.get(key).map(|v| v.trim()).unwrap_or("");
    let (clients, members) = read::people(&web.keel).await?;
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
    let client = clients.iter().find(|c| c.key == get("client"));
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
            _ => Some(client.map_or(-1, |c| c.id)),
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
    let (views, total) = read::tasks(&web.keel, &query).await?;
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
        clients: clients.iter().map(|c| c.key.clone()).collect(),
        owners,
    };
    Ok(pages::tasks(&web.css_path, &form, &rows, total, pager))
}

/// A query string value, percent-encoded.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub(super) async fn one(State(web): State<Arc<Web>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let member = match signed_in(&web, &headers).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let Ok(id) = id.trim_start_matches('#').parse::<i64>() else {
        return (StatusCode::NOT_FOUND, no_store(), "no such task").into_response();
    };
    let found = match read::task(&web.keel, id).await {
        Ok(found) => found,
        Err(e) => return server_error(e),
    };
    let Some((view, events)) = found else {
        return (StatusCode::NOT_FOUND, no_store(), format!("#{id} does not exist")).into_response();
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
    let timeline: Vec<(String, String, String)> = events
        .iter()
        .map(|e| (format_time(e.at, tz), e.actor.clone(), event_summary(e)))
        .collect();
    let title = format!("#{} {}", t.id, t.title);
    (
        no_store(),
        pages::task(&web.css_path, &title, &fields, t.permalink.as_deref(), &timeline),
    )
        .into_response()
}

pub(super) async fn people(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let member = match signed_in(&web, &headers).await {
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
    (no_store(), pages::people(&web.css_path, &rows, overload)).into_response()
}
