//! The dashboard's pages as HTML, checked at compile time (maud): headings, table headers, no
//! script, a viewport for phones.

use maud::{html, Markup, DOCTYPE};

use crate::kpi::Report;

/// A whole page around `body`.
fn page(css: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · keel" }
                link rel="stylesheet" href=(css);
            }
            body {
                main { (body) }
            }
        }
    }
}

/// The pages every header links to.
const PAGES: &[(&str, &str)] = &[
    ("/dashboard", "Overview"),
    ("/dashboard/tasks", "Tasks"),
    ("/dashboard/people", "People"),
];

/// A signed-in page's header: its title, the links to the other pages (this one marked), and
/// sign-out (with who is signed in, when given).
fn top(title: &str, current: &str, member: Option<&str>) -> Markup {
    html! {
        header {
            h1 { (title) }
            nav aria-label="dashboard" {
                @for (href, name) in PAGES {
                    a href=(href) aria-current=[(*href == current).then_some("page")] { (name) }
                }
            }
            form method="post" action="/dashboard/logout" {
                @if let Some(member) = member { span { "Signed in as " strong { (member) } " " } }
                button type="submit" { "Sign out" }
            }
        }
    }
}

/// Where someone without a session lands: how to get a link, and why the last one did not work.
pub(super) fn sign_in(css: &str, reason: Option<&str>) -> Markup {
    page(
        css,
        "Sign in",
        html! {
            h1 { "keel dashboard" }
            @if let Some(reason) = reason {
                p.notice role="status" { (reason) }
            }
            p {
                "Say " code { "dashboard" } " to keel in chat. It answers you alone with a link that "
                "signs you in here for 30 days; the link works once, within 10 minutes."
            }
        },
    )
}

/// The overview: what needs attention, then every figure against the period before, as `kpi`
/// in chat shows them.
pub(super) fn overview(css: &str, member: &str, report: &Report) -> Markup {
    let attention = report.attention();
    let period = &report.period;
    page(
        css,
        "Overview",
        html! {
            (top("Overview", "/dashboard", Some(member)))
            p { (period.label()) ", " (period.first) " to " (period.last) ", against the period before." }
            section aria-labelledby="attention" {
                h2 id="attention" { "Needs attention" }
                @if attention.is_empty() {
                    p { "Nothing needs attention." }
                } @else {
                    ul.attention {
                        @for line in &attention { li { (line) } }
                    }
                }
            }
            section aria-labelledby="figures" {
                h2 id="figures" { "Figures" }
                table {
                    thead { tr { th scope="col" { "KPI" } th scope="col" { "Now, and the period before" } } }
                    tbody {
                        @for line in report.figure_lines() {
                            @let (name, value) = line.split_once(": ").unwrap_or((line.as_str(), ""));
                            tr { th scope="row" { (name) } td { (value) } }
                        }
                    }
                }
            }
        },
    )
}

/// The choices the task list's form offers and what is chosen.
pub(super) struct TaskForm<'a> {
    pub status: &'a str,
    pub client: &'a str,
    pub owner: &'a str,
    pub priority: &'a str,
    pub overdue: bool,
    pub q: &'a str,
    pub sort: &'a str,
    pub clients: Vec<String>,
    pub owners: Vec<String>,
}

/// One row of the task list, ready to show.
pub(super) struct TaskRow {
    pub id: i64,
    pub title: String,
    pub client: String,
    pub owner: String,
    pub status: String,
    pub priority: String,
    pub due: String,
    pub overdue: bool,
}

fn select(name: &str, label: &str, options: &[(String, String)], chosen: &str) -> Markup {
    html! {
        label for=(name) { (label) }
        select id=(name) name=(name) {
            @for (value, text) in options {
                option value=(value) selected[value == chosen] { (text) }
            }
        }
    }
}

fn words(list: &[&str]) -> Vec<(String, String)> {
    list.iter().map(|w| (w.to_string(), w.to_string())).collect()
}

/// The task list: a filter form (works without script: a GET), the matching tasks, and pages.
pub(super) fn tasks(
    css: &str,
    form: &TaskForm<'_>,
    rows: &[TaskRow],
    total: i64,
    pager: (Option<String>, Option<String>),
) -> Markup {
    let any = |list: &[String]| {
        let mut out = vec![(String::new(), "any".to_string())];
        out.extend(list.iter().map(|x| (x.clone(), x.clone())));
        out
    };
    page(
        css,
        "Tasks",
        html! {
            (top("Tasks", "/dashboard/tasks", None))
            form.filters method="get" action="/dashboard/tasks" {
                (select("status", "Status", &words(&["active", "open", "in-progress", "waiting", "done", "cancelled", "all"]), form.status))
                (select("client", "Client", &any(&form.clients), form.client))
                (select("owner", "Owner", &any(&form.owners), form.owner))
                (select("priority", "Priority", &any(&["urgent".into(), "high".into(), "normal".into(), "low".into()]), form.priority))
                label for="overdue" { input id="overdue" type="checkbox" name="overdue" value="1" checked[form.overdue]; " overdue only" }
                label for="q" { "Title contains" }
                input id="q" type="search" name="q" value=(form.q);
                (select("sort", "Sort by", &[("due".into(), "due date".into()), ("age".into(), "age".into()), ("priority".into(), "priority".into())], form.sort))
                button type="submit" { "Show" }
            }
            p role="status" { (total) " task" @if total != 1 { "s" } }
            table {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Title" } th scope="col" { "Client" }
                    th scope="col" { "Owner" } th scope="col" { "Status" } th scope="col" { "Priority" } th scope="col" { "Due" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            td { a href={ "/dashboard/tasks/" (row.id) } { "#" (row.id) } }
                            td { a href={ "/dashboard/tasks/" (row.id) } { (row.title) } }
                            td { (row.client) } td { (row.owner) } td { (row.status) } td { (row.priority) }
                            td { (row.due) @if row.overdue { " " strong.overdue { "overdue" } } }
                        }
                    }
                }
            }
            nav.pages aria-label="pages" {
                @if let Some(prev) = &pager.0 { a rel="prev" href=(prev) { "← Previous" } " " }
                @if let Some(next) = &pager.1 { a rel="next" href=(next) { "Next →" } }
            }
        },
    )
}

/// One task: its card, then its whole log as a timeline.
pub(super) fn task(
    css: &str,
    title: &str,
    fields: &[(&str, String)],
    link: Option<&str>,
    timeline: &[(String, String, String)],
) -> Markup {
    page(
        css,
        title,
        html! {
            (top(title, "", None))
            table.card {
                tbody {
                    @for (name, value) in fields { tr { th scope="row" { (name) } td { (value) } } }
                    @if let Some(link) = link { tr { th scope="row" { "Source" } td { a href=(link) { "the original message" } } } }
                }
            }
            section aria-labelledby="timeline" {
                h2 id="timeline" { "Timeline" }
                ol.timeline {
                    @for (at, who, what) in timeline { li { time { (at) } " · " (who) " · " (what) } }
                }
            }
        },
    )
}

/// One member's row on the people page.
pub(super) struct PersonRow {
    pub name: String,
    pub role: String,
    pub zone: String,
    pub hours: String,
    pub away: String,
    pub active: i64,
    pub overdue: i64,
    pub overloaded: bool,
    /// Their open tasks in the task list.
    pub link: String,
}

/// The team: each member's open and overdue work, zone, hours and away days.
pub(super) fn people(css: &str, rows: &[PersonRow], overload: i64) -> Markup {
    page(
        css,
        "People",
        html! {
            (top("People", "/dashboard/people", None))
            p { "Overloaded: more than " (overload) " open tasks." }
            table {
                thead { tr {
                    th scope="col" { "Member" } th scope="col" { "Role" } th scope="col" { "Open tasks" }
                    th scope="col" { "Overdue" } th scope="col" { "Time zone" } th scope="col" { "Hours" } th scope="col" { "Away until" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            th scope="row" { (row.name) }
                            td { (row.role) }
                            td {
                                a href=(row.link) { (row.active) }
                                @if row.overloaded { " " strong.overdue { "overloaded" } }
                            }
                            td { (row.overdue) } td { (row.zone) } td { (row.hours) } td { (row.away) }
                        }
                    }
                }
            }
        },
    )
}
