//! The dashboard's pages as HTML, checked at compile time (maud): headings, table headers, no
//! script, a viewport for phones.

use maud::{html, Markup, PreEscaped, DOCTYPE};

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
                // No icon: without this line every browser asks for /favicon.ico and logs its 404.
                link rel="icon" href="data:,";
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
    ("/dashboard/clients", "Clients"),
    ("/dashboard/people", "People"),
    ("/dashboard/standups", "Standups"),
];

/// A table's header row: one column header per name.
fn head(columns: &[&str]) -> Markup {
    html! {
        thead { tr { @for c in columns { th scope="col" { (c) } } } }
    }
}

/// What every signed-in page carries: the stylesheet's address and who is signed in.
pub(super) struct Frame<'a> {
    pub css: &'a str,
    pub member: &'a str,
}

/// A signed-in page's header: its title, the links to the other pages (this one marked), and
/// sign-out with who is signed in.
fn top(title: &str, current: &str, member: &str) -> Markup {
    html! {
        header {
            h1 { (title) }
            nav aria-label="dashboard" {
                @for (href, name) in PAGES {
                    a href=(href) aria-current=[(*href == current).then_some("page")] { (name) }
                }
            }
            form method="post" action="/dashboard/logout" {
                span { "Signed in as " strong { (member) } " " }
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
pub(super) fn overview(frame: &Frame<'_>, report: &Report, chart: Option<&str>) -> Markup {
    let attention = report.attention();
    let period = &report.period;
    page(
        frame.css,
        "Overview",
        html! {
            (top("Overview", "/dashboard", frame.member))
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
                    (head(&["KPI", "Now, and the period before"]))
                    tbody {
                        @for line in report.figure_lines() {
                            @let (name, value) = line.split_once(": ").unwrap_or((line.as_str(), ""));
                            tr { th scope="row" { (name) } td { (value) } }
                        }
                    }
                }
            }
            @if let Some(svg) = chart {
                section aria-labelledby="chart" {
                    h2 id="chart" { "The last 8 weeks" }
                    figure.chart { (PreEscaped(inline_svg(svg))) }
                }
            }
        },
    )
}

/// plotters' SVG document made fit for a page: it scales to the width it has, and says what it
/// shows to screen readers.
fn inline_svg(svg: &str) -> String {
    let svg = svg.trim_start();
    let svg = match svg.find("<svg") {
        Some(at) => &svg[at..],
        None => svg,
    };
    svg.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"Resolution time, backlog, open tasks per owner and NPS over the last 8 weeks\" ",
        1,
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
    frame: &Frame<'_>,
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
        frame.css,
        "Tasks",
        html! {
            (top("Tasks", "/dashboard/tasks", frame.member))
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
                (head(&["#", "Title", "Client", "Owner", "Status", "Priority", "Due"]))
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

/// One event on a task's timeline: when (machine-readable and as shown), who, what.
pub(super) struct TimelineEntry {
    pub iso: String,
    pub shown: String,
    pub who: String,
    pub what: String,
}

/// One task: its card, then its whole log as a timeline.
pub(super) fn task(
    frame: &Frame<'_>,
    title: &str,
    fields: &[(&str, String)],
    link: Option<&str>,
    timeline: &[TimelineEntry],
) -> Markup {
    page(
        frame.css,
        title,
        html! {
            (top(title, "", frame.member))
            table.card {
                tbody {
                    @for (name, value) in fields { tr { th scope="row" { (name) } td { (value) } } }
                    @if let Some(link) = link { tr { th scope="row" { "Source" } td { a href=(link) { "the original message" } } } }
                }
            }
            section aria-labelledby="timeline" {
                h2 id="timeline" { "Timeline" }
                ol.timeline {
                    @for e in timeline { li { time datetime=(e.iso) { (e.shown) } " · " (e.who) " · " (e.what) } }
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
pub(super) fn people(frame: &Frame<'_>, rows: &[PersonRow], overload: i64) -> Markup {
    page(
        frame.css,
        "People",
        html! {
            (top("People", "/dashboard/people", frame.member))
            p { "Overloaded: more than " (overload) " open tasks." }
            table {
                (head(&["Member", "Role", "Open tasks", "Overdue", "Time zone", "Hours", "Away until"]))
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

/// One client's row on the clients page, ready to show.
pub(super) struct ClientRow {
    pub key: String,
    pub name: String,
    pub owner: String,
    pub active: i64,
    pub overdue: i64,
    pub last_touch: String,
    pub silent: bool,
    pub sla: String,
    pub nps: String,
    pub sentiment: String,
    pub onboarding: String,
    pub template_trap: bool,
}

/// Every client's health at a glance.
pub(super) fn clients(frame: &Frame<'_>, rows: &[ClientRow], days: i64, silent_days: i64) -> Markup {
    let list = |key: &str, extra: &str| format!("/dashboard/tasks?client={key}{extra}");
    page(
        frame.css,
        "Clients",
        html! {
            (top("Clients", "/dashboard/clients", frame.member))
            p {
                "SLA compliance, NPS and sentiment over the last " (days) " days, sentiment against the "
                (days) " before. Silent: no touchpoint for " (silent_days) " days."
            }
            div.scroll { table {
                (head(&["Client", "Owner", "Open tasks", "Overdue", "Last touchpoint", "SLA met", "NPS", "Sentiment", "Onboarding"]))
                tbody {
                    @for row in rows {
                        tr {
                            th scope="row" { (row.name) " " span.key { "(" (row.key) ")" } }
                            td { (row.owner) }
                            td { a href=(list(&row.key, "")) { (row.active) } }
                            td {
                                @if row.overdue > 0 { a href=(list(&row.key, "&overdue=1")) { strong.overdue { (row.overdue) } } }
                                @else { "0" }
                            }
                            td { (row.last_touch) @if row.silent { " " strong.overdue { "silent" } } }
                            td { (row.sla) } td { (row.nps) } td { (row.sentiment) }
                            td { (row.onboarding) @if row.template_trap { " " strong.overdue { "template trap" } } }
                        }
                    }
                }
            } }
        },
    )
}

/// One day's standup, ready to show.
pub(super) struct StandupView {
    pub label: String,
    pub summary: String,
    pub answers: Vec<(String, Vec<(String, String)>)>,
}

/// The standups of the last days, newest first: the summary line, then each member's answers.
pub(super) fn standups(frame: &Frame<'_>, days: &[StandupView]) -> Markup {
    page(
        frame.css,
        "Standups",
        html! {
            (top("Standups", "/dashboard/standups", frame.member))
            @if days.is_empty() {
                p { "No standup has run yet. Set one in chat: " code { "standup set" } "." }
            }
            @for day in days {
                section.standup {
                    h2 { (day.label) }
                    p { (day.summary) }
                    @for (member, pairs) in &day.answers {
                        h3 { (member) }
                        dl {
                            @for (question, answer) in pairs { dt { (question) } dd { (answer) } }
                        }
                    }
                }
            }
        },
    )
}

/// A page for something that does not exist.
pub(super) fn missing(frame: &Frame<'_>, what: &str) -> Markup {
    page(
        frame.css,
        "Not found",
        html! {
            (top("Not found", "", frame.member))
            p { (what) " " a href="/dashboard/tasks" { "All tasks" } }
        },
    )
}
