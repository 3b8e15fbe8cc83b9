//! The KPI report as JSON (one key per KPI, each with its `previous` value), as CSV (one row per
//! figure) and as the short text a head of client service reads: what needs attention, then the
//! figures.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Figures, OwnerLoad, Period, Report, Spread};

// The JSON's structs declare their fields in alphabetical order: its keys have always come out
// sorted (serde_json's `Value` sorts them), and a struct serializes in declaration order.

#[derive(Serialize)]
struct ReportJson<'a> {
    as_of: String,
    backlog: Compared<i64>,
    chases: ChasesJson<'a>,
    csat: Answered,
    escalation_rate: Escalation,
    first_response_hours: WithPrevious<SpreadJson>,
    nps: Answered,
    onboarding_days: WithPrevious<Onboarding<'a>>,
    overdue: Compared<i64>,
    overloaded_owners: Compared<&'a [String]>,
    owner_load: Compared<Vec<Load<'a>>>,
    period: PeriodJson,
    previous_period: PeriodJson,
    resolution_hours: WithPrevious<SpreadJson>,
    retention_rate: Retention,
    sentiment: Sentiment<'a>,
    silent_clients: Compared<&'a [String]>,
    sla_compliance: Sla,
    template_trap: Compared<&'a [String]>,
}

/// A KPI that is a number or a list, with its previous value.
#[derive(Serialize)]
struct Compared<T> {
    previous: T,
    value: T,
}

/// A KPI that is an object, with the previous period's object under `previous`.
#[derive(Serialize)]
struct WithPrevious<T> {
    #[serde(flatten)]
    now: T,
    previous: T,
}

#[derive(Serialize)]
struct PeriodJson {
    first_day: String,
    from: String,
    label: String,
    last_day: String,
    to: String,
}

impl PeriodJson {
    fn of(p: &Period) -> PeriodJson {
        PeriodJson {
            first_day: p.first.to_string(),
            from: p.from.to_rfc3339(),
            label: p.label(),
            last_day: p.last.to_string(),
            to: p.to.to_rfc3339(),
        }
    }
}

#[derive(Serialize)]
struct SpreadJson {
    count: usize,
    median: Option<f64>,
    p90: Option<f64>,
}

impl SpreadJson {
    fn of(s: &Spread) -> SpreadJson {
        SpreadJson {
            count: s.count,
            median: round(s.median, 2),
            p90: round(s.p90, 2),
        }
    }
}

#[derive(Serialize)]
struct Retention {
    clients_at_start: i64,
    previous: Option<f64>,
    retained: i64,
    value: Option<f64>,
}

#[derive(Serialize)]
struct Sla {
    decided: i64,
    met: i64,
    previous: Option<f64>,
    value: Option<f64>,
}

/// NPS or CSAT: the score and how many answers it is made of.
#[derive(Serialize)]
struct Answered {
    answers: i64,
    previous: Option<f64>,
    value: Option<f64>,
}

/// Clients asking after work: chases in the period, on how many tasks, per client.
#[derive(Serialize)]
struct ChasesJson<'a> {
    per_client: &'a BTreeMap<String, i64>,
    previous: i64,
    tasks: i64,
    value: i64,
}

#[derive(Serialize)]
struct Escalation {
    created: i64,
    escalated: i64,
    previous: Option<f64>,
    value: Option<f64>,
}

#[derive(Serialize)]
struct Onboarding<'a> {
    median: Option<f64>,
    per_client: &'a BTreeMap<String, f64>,
}

impl Onboarding<'_> {
    fn of(f: &Figures) -> Onboarding<'_> {
        Onboarding {
            median: round(f.onboarding_days, 1),
            per_client: &f.onboarding_per_client,
        }
    }
}

#[derive(Serialize)]
struct Load<'a> {
    active_clients: i64,
    open_tasks: i64,
    owner: &'a str,
}

fn loads(l: &[OwnerLoad]) -> Vec<Load<'_>> {
    l.iter()
        .map(|o| Load {
            active_clients: o.active_clients,
            open_tasks: o.open_tasks,
            owner: &o.owner,
        })
        .collect()
}

/// The sentiment now, each client's with its previous value and trend, and the previous
/// period's.
#[derive(Serialize)]
struct Sentiment<'a> {
    mean: Option<f64>,
    per_client: BTreeMap<&'a String, ClientSentiment>,
    previous: SentimentBefore<'a>,
}

#[derive(Serialize)]
struct ClientSentiment {
    mean: f64,
    previous: Option<f64>,
    trend: &'static str,
}

#[derive(Serialize)]
struct SentimentBefore<'a> {
    mean: Option<f64>,
    per_client: &'a BTreeMap<String, f64>,
}

impl Sentiment<'_> {
    fn of<'a>(c: &'a Figures, p: &'a Figures) -> Sentiment<'a> {
        Sentiment {
            mean: round(c.sentiment, 3),
            per_client: c
                .sentiment_per_client
                .iter()
                .map(|(k, v)| {
                    let before = p.sentiment_per_client.get(k).copied();
                    let trend = trend(Some(*v), before, 0.05);
                    (
                        k,
                        ClientSentiment {
                            mean: *v,
                            previous: before,
                            trend,
                        },
                    )
                })
                .collect(),
            previous: SentimentBefore {
                mean: round(p.sentiment, 3),
                per_client: &p.sentiment_per_client,
            },
        }
    }
}

/// `x` rounded to `places` decimals.
fn round(x: Option<f64>, places: i32) -> Option<f64> {
    let scale = 10f64.powi(places);
    x.map(|v| (v * scale).round() / scale)
}

impl ReportJson<'_> {
    fn of(r: &Report) -> ReportJson<'_> {
        let (c, p) = (&r.current, &r.previous);
        ReportJson {
            as_of: r.as_of.to_rfc3339(),
            backlog: Compared {
                previous: p.backlog,
                value: c.backlog,
            },
            chases: ChasesJson {
                per_client: &c.chases_per_client,
                previous: p.chases,
                tasks: c.chased_tasks,
                value: c.chases,
            },
            csat: Answered {
                answers: c.csat_answers,
                previous: round(p.csat, 4),
                value: round(c.csat, 4),
            },
            escalation_rate: Escalation {
                created: c.tasks_created,
                escalated: c.tasks_escalated,
                previous: round(p.escalation_rate, 4),
                value: round(c.escalation_rate, 4),
            },
            first_response_hours: WithPrevious {
                now: SpreadJson::of(&c.first_response_hours),
                previous: SpreadJson::of(&p.first_response_hours),
            },
            nps: Answered {
                answers: c.nps_answers,
                previous: round(p.nps, 1),
                value: round(c.nps, 1),
            },
            onboarding_days: WithPrevious {
                now: Onboarding::of(c),
                previous: Onboarding::of(p),
            },
            overdue: Compared {
                previous: p.overdue,
                value: c.overdue,
            },
            overloaded_owners: Compared {
                previous: &p.overloaded_owners,
                value: &c.overloaded_owners,
            },
            owner_load: Compared {
                previous: loads(&p.owner_load),
                value: loads(&c.owner_load),
            },
            period: PeriodJson::of(&r.period),
            previous_period: PeriodJson::of(&r.previous_period),
            resolution_hours: WithPrevious {
                now: SpreadJson::of(&c.resolution_hours),
                previous: SpreadJson::of(&p.resolution_hours),
            },
            retention_rate: Retention {
                clients_at_start: c.clients_at_start,
                previous: round(p.retention_rate, 4),
                retained: c.clients_retained,
                value: round(c.retention_rate, 4),
            },
            sentiment: Sentiment::of(c, p),
            silent_clients: Compared {
                previous: &p.silent_clients,
                value: &c.silent_clients,
            },
            sla_compliance: Sla {
                decided: c.sla_decided,
                met: c.sla_met,
                previous: round(p.sla_compliance, 4),
                value: round(c.sla_compliance, 4),
            },
            template_trap: Compared {
                previous: &p.template_trap,
                value: &c.template_trap,
            },
        }
    }
}

impl Report {
    /// One key per KPI, each with its previous value.
    pub fn to_json(&self) -> Value {
        // Cannot fail: every map's keys are strings.
        serde_json::to_value(ReportJson::of(self)).unwrap_or(Value::Null)
    }

    /// One row per figure: `kpi,value,previous`.
    pub fn to_csv(&self) -> String {
        let (c, p) = (&self.current, &self.previous);
        let num = |x: Option<f64>| {
            x.map(|v| format!("{}", (v * 10_000.0).round() / 10_000.0))
                .unwrap_or_default()
        };
        let int = |x: i64| Some(x as f64);
        let mut rows: Vec<(String, String, String)> = vec![
            ("retention_rate".into(), num(c.retention_rate), num(p.retention_rate)),
            (
                "first_response_hours.median".into(),
                num(c.first_response_hours.median),
                num(p.first_response_hours.median),
            ),
            (
                "first_response_hours.p90".into(),
                num(c.first_response_hours.p90),
                num(p.first_response_hours.p90),
            ),
            (
                "resolution_hours.median".into(),
                num(c.resolution_hours.median),
                num(p.resolution_hours.median),
            ),
            (
                "resolution_hours.p90".into(),
                num(c.resolution_hours.p90),
                num(p.resolution_hours.p90),
            ),
            ("sla_compliance".into(), num(c.sla_compliance), num(p.sla_compliance)),
            ("backlog".into(), num(int(c.backlog)), num(int(p.backlog))),
            ("overdue".into(), num(int(c.overdue)), num(int(p.overdue))),
            ("nps".into(), num(c.nps), num(p.nps)),
            ("csat".into(), num(c.csat), num(p.csat)),
            (
                "onboarding_days.median".into(),
                num(c.onboarding_days),
                num(p.onboarding_days),
            ),
            ("escalation_rate".into(), num(c.escalation_rate), num(p.escalation_rate)),
            ("chases".into(), num(int(c.chases)), num(int(p.chases))),
            ("sentiment".into(), num(c.sentiment), num(p.sentiment)),
            (
                "overloaded_owners".into(),
                c.overloaded_owners.join(" "),
                p.overloaded_owners.join(" "),
            ),
            (
                "silent_clients".into(),
                c.silent_clients.join(" "),
                p.silent_clients.join(" "),
            ),
            (
                "template_trap".into(),
                c.template_trap.join(" "),
                p.template_trap.join(" "),
            ),
        ];
        for (key, n) in &c.chases_per_client {
            let before = p.chases_per_client.get(key).map(|b| *b as f64);
            rows.push((format!("chases.{key}"), num(int(*n)), num(before)));
        }
        for (key, days) in &c.onboarding_per_client {
            let before = p.onboarding_per_client.get(key).copied();
            rows.push((format!("onboarding_days.{key}"), num(Some(*days)), num(before)));
        }
        for load in &c.owner_load {
            let before = p.owner_load.iter().find(|l| l.owner == load.owner);
            rows.push((
                format!("owner_load.{}.open_tasks", load.owner),
                num(int(load.open_tasks)),
                num(before.map(|b| b.open_tasks as f64)),
            ));
            rows.push((
                format!("owner_load.{}.active_clients", load.owner),
                num(int(load.active_clients)),
                num(before.map(|b| b.active_clients as f64)),
            ));
        }
        for (key, mean) in &c.sentiment_per_client {
            let before = p.sentiment_per_client.get(key).copied();
            rows.push((format!("sentiment.{key}"), num(Some(*mean)), num(before)));
        }
        let mut out = String::from("kpi,value,previous\n");
        for (k, v, b) in rows {
            out.push_str(&format!("{},{},{}\n", csv_field(&k), csv_field(&v), csv_field(&b)));
        }
        out
    }

    /// The three things that need attention most, worst first.
    pub fn attention(&self) -> Vec<String> {
        let (c, p) = (&self.current, &self.previous);
        let mut items: Vec<(f64, String)> = Vec::new();
        if let Some(sla) = c.sla_compliance.filter(|s| *s < 0.9) {
            items.push((
                (0.9 - sla) * 10.0 + 1.0,
                format!(
                    "SLA compliance {} ({} of {} requests met both targets)",
                    percent(Some(sla)),
                    c.sla_met,
                    c.sla_decided
                ),
            ));
        }
        if c.overdue > 0 {
            items.push((
                1.0 + c.overdue as f64 / 5.0,
                format!("{} overdue task{} in the backlog", c.overdue, plural(c.overdue)),
            ));
        }
        let churned = c.clients_at_start - c.clients_retained;
        if churned > 0 {
            items.push((
                3.0 + churned as f64,
                format!("{churned} client{} churned", plural(churned)),
            ));
        }
        if !c.silent_clients.is_empty() {
            items.push((
                1.5 + c.silent_clients.len() as f64 / 2.0,
                format!(
                    "silent for {}+ days: {}",
                    self.silent_client_days,
                    c.silent_clients.join(", ")
                ),
            ));
        }
        if !c.overloaded_owners.is_empty() {
            items.push((2.0, format!("overloaded: {}", c.overloaded_owners.join(", "))));
        }
        if let (Some(now), Some(before)) = (c.resolution_hours.median, p.resolution_hours.median) {
            if before > 0.0 && now > before * 1.2 {
                items.push((
                    1.0 + (now / before - 1.0),
                    format!("resolution slower: median {} h (was {} h)", hours(now), hours(before)),
                ));
            }
        }
        if let Some(nps) = c.nps.filter(|n| *n < 0.0 || p.nps.is_some_and(|b| *n < b - 10.0)) {
            items.push((
                2.0,
                format!("NPS {} (was {})", signed(nps), p.nps.map(signed).unwrap_or("–".into())),
            ));
        }
        if let Some(rate) = c.escalation_rate.filter(|r| *r > 0.1) {
            items.push((
                1.0 + rate * 5.0,
                format!("{} of new requests escalated", percent(Some(rate))),
            ));
        }
        for (key, mean) in &c.sentiment_per_client {
            if *mean <= -0.3 {
                items.push((1.0 - mean, format!("{key} sounds frustrated (sentiment {mean:.2})")));
            }
        }
        if !c.template_trap.is_empty() {
            items.push((
                1.2,
                format!(
                    "onboarding run straight from the template: {}",
                    c.template_trap.join(", ")
                ),
            ));
        }
        items.sort_by(|a, b| b.0.total_cmp(&a.0));
        items.into_iter().take(3).map(|(_, text)| text).collect()
    }

    /// The chat summary: the period, what needs attention, then the figures with their change.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "KPIs {} ({} to {}), compared with the period before\n",
            self.period.label(),
            self.period.first,
            self.period.last
        );
        let attention = self.attention();
        if attention.is_empty() {
            out.push_str("Nothing needs attention.\n");
        } else {
            out.push_str("Needs attention:\n");
            for (i, item) in attention.iter().enumerate() {
                out.push_str(&format!("{}. {item}\n", i + 1));
            }
        }
        for line in self.figure_lines() {
            out.push_str(&line);
            out.push('\n');
        }
        out.trim_end().to_string()
    }

    /// One line per KPI, with the previous period's value.
    pub fn figure_lines(&self) -> [String; 11] {
        let (c, p) = (&self.current, &self.previous);
        let spread_text = |s: &Spread, b: &Spread| match (s.median, s.p90) {
            (Some(m), Some(p90)) => format!(
                "median {} h, p90 {} h ({}){}",
                hours(m),
                hours(p90),
                s.count,
                b.median.map(|x| format!(", was {} h", hours(x))).unwrap_or_default()
            ),
            _ => "no data".into(),
        };
        [
            format!(
                "Retention: {} (was {})",
                percent(c.retention_rate),
                percent(p.retention_rate)
            ),
            format!(
                "First response: {}",
                spread_text(&c.first_response_hours, &p.first_response_hours)
            ),
            format!("Resolution: {}", spread_text(&c.resolution_hours, &p.resolution_hours)),
            format!(
                "SLA compliance: {} (was {})",
                percent(c.sla_compliance),
                percent(p.sla_compliance)
            ),
            format!(
                "Backlog: {} open, {} overdue (was {}, {})",
                c.backlog, c.overdue, p.backlog, p.overdue
            ),
            format!(
                "NPS: {} from {} answer{} (was {}) · CSAT: {} (was {})",
                c.nps.map(signed).unwrap_or("–".into()),
                c.nps_answers,
                plural(c.nps_answers),
                p.nps.map(signed).unwrap_or("–".into()),
                percent(c.csat),
                percent(p.csat)
            ),
            format!(
                "Onboarding: {}",
                match c.onboarding_days {
                    Some(d) => format!(
                        "median {d:.1} days ({})",
                        c.onboarding_per_client
                            .iter()
                            .map(|(k, v)| format!("{k} {v:.1}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "nobody went live".into(),
                }
            ),
            format!(
                "Escalations: {} of {} new requests ({}, was {})",
                c.tasks_escalated,
                c.tasks_created,
                percent(c.escalation_rate),
                percent(p.escalation_rate)
            ),
            format!(
                "Chases: {} on {} tasks{} (was {})",
                c.chases,
                c.chased_tasks,
                if c.chases_per_client.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": {}",
                        c.chases_per_client
                            .iter()
                            .map(|(k, n)| format!("{k} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                p.chases
            ),
            format!(
                "Load: {}",
                if c.owner_load.is_empty() {
                    "nobody owns open work".to_string()
                } else {
                    c.owner_load
                        .iter()
                        .map(|l| format!("{} {} tasks/{} clients", l.owner, l.open_tasks, l.active_clients))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            format!(
                "Sentiment: {}{}",
                c.sentiment.map(|s| format!("{s:.2}")).unwrap_or("–".into()),
                p.sentiment.map(|s| format!(" (was {s:.2})")).unwrap_or_default()
            ),
        ]
    }
}

fn trend(now: Option<f64>, before: Option<f64>, margin: f64) -> &'static str {
    match (now, before) {
        (Some(n), Some(b)) if n > b + margin => "up",
        (Some(n), Some(b)) if n < b - margin => "down",
        (Some(_), Some(_)) => "flat",
        _ => "new",
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn percent(x: Option<f64>) -> String {
    x.map(|v| format!("{}%", ((v * 1000.0).round() / 10.0)))
        .unwrap_or_else(|| "–".into())
}

fn hours(h: f64) -> String {
    let r = (h * 10.0).round() / 10.0;
    format!("{r}")
}

fn signed(n: f64) -> String {
    if n > 0.0 {
        format!("+{n}")
    } else {
        format!("{n}")
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_structs_list_their_keys_in_the_order_they_come_out() {
        let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let period = Period::iso_week("2026-W47", tz).unwrap();
        let mut current = Figures {
            nps: Some(12.5),
            sentiment: Some(-0.25),
            ..Figures::default()
        };
        current.sentiment_per_client.insert("acme".into(), -0.4);
        current.onboarding_per_client.insert("acme".into(), 12.0);
        current.owner_load.push(OwnerLoad {
            owner: "lea".into(),
            open_tasks: 3,
            active_clients: 1,
        });
        let report = Report {
            previous_period: period.previous(tz),
            as_of: period.to,
            period,
            current,
            previous: Figures::default(),
            silent_client_days: 14,
        };
        let direct = serde_json::to_string(&ReportJson::of(&report)).unwrap();
        assert_eq!(direct, report.to_json().to_string());
    }
}
