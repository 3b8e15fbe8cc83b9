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
            header {
                h1 { "Overview" }
                form method="post" action="/dashboard/logout" {
                    span { "Signed in as " strong { (member) } " " }
                    button type="submit" { "Sign out" }
                }
            }
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
