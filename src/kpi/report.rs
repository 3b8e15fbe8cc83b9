//! The KPI report as JSON (one key per KPI, each with its `previous` value), as CSV (one row per
//! figure) and as the short text a head of client service reads: what needs attention, then the
//! figures.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{Figures, OwnerLoad, Period, Report, Spread};

fn period_json(p: &Period) -> Value {
    json!({"first_day": p.first.to_string(), "last_day": p.last.to_string(), "label": p.label(),
           "from": p.from.to_rfc3339(), "to": p.to.to_rfc3339()})
}

fn round(x: Option<f64>, places: i32) -> Value {
    let scale = 10f64.powi(places);
    x.map_or(Value::Null, |v| json!((v * scale).round() / scale))
}

fn spread(s: &Spread) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("median".into(), round(s.median, 2));
    m.insert("p90".into(), round(s.p90, 2));
    m.insert("count".into(), json!(s.count));
    m
}

fn loads(l: &[OwnerLoad]) -> Value {
    l.iter()
        .map(|o| json!({"owner": o.owner, "open_tasks": o.open_tasks, "active_clients": o.active_clients}))
        .collect()
}

/// An object KPI with its previous value (the same object) under `previous`.
fn with_previous(mut now: Map<String, Value>, before: Map<String, Value>) -> Value {
    now.insert("previous".into(), Value::Object(before));
    Value::Object(now)
}

/// A scalar or list KPI with its previous value.
fn value(now: Value, before: Value) -> Value {
    json!({"value": now, "previous": before})
}

fn onboarding(f: &Figures) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("median".into(), round(f.onboarding_days, 1));
    m.insert("per_client".into(), json!(f.onboarding_per_client));
    m
}

impl Report {
    pub fn to_json(&self) -> Value {
        let (c, p) = (&self.current, &self.previous);
        let mut sentiment = Map::new();
        sentiment.insert("mean".into(), round(c.sentiment, 3));
        let clients: BTreeMap<&String, Value> = c
            .sentiment_per_client
            .iter()
            .map(|(k, v)| {
                let before = p.sentiment_per_client.get(k).copied();
                (
                    k,
                    json!({"mean": v, "previous": before, "trend": trend(Some(*v), before, 0.05)}),
                )
            })
            .collect();
        sentiment.insert("per_client".into(), json!(clients));
        let mut sentiment_before = Map::new();
        sentiment_before.insert("mean".into(), round(p.sentiment, 3));
        sentiment_before.insert("per_client".into(), json!(p.sentiment_per_client));
        json!({
            "period": period_json(&self.period),
            "previous_period": period_json(&self.previous_period),
            "as_of": self.as_of.to_rfc3339(),
            "retention_rate": json!({"value": round(c.retention_rate, 4), "clients_at_start": c.clients_at_start,
                                     "retained": c.clients_retained, "previous": round(p.retention_rate, 4)}),
            "first_response_hours": with_previous(spread(&c.first_response_hours), spread(&p.first_response_hours)),
            "resolution_hours": with_previous(spread(&c.resolution_hours), spread(&p.resolution_hours)),
            "sla_compliance": json!({"value": round(c.sla_compliance, 4), "decided": c.sla_decided, "met": c.sla_met,
                                     "previous": round(p.sla_compliance, 4)}),
            "backlog": value(json!(c.backlog), json!(p.backlog)),
            "overdue": value(json!(c.overdue), json!(p.overdue)),
            "nps": json!({"value": round(c.nps, 1), "answers": c.nps_answers, "previous": round(p.nps, 1)}),
            "csat": json!({"value": round(c.csat, 4), "answers": c.csat_answers, "previous": round(p.csat, 4)}),
            "onboarding_days": with_previous(onboarding(c), onboarding(p)),
            "escalation_rate": json!({"value": round(c.escalation_rate, 4), "escalated": c.tasks_escalated,
                                      "created": c.tasks_created, "previous": round(p.escalation_rate, 4)}),
            "owner_load": value(loads(&c.owner_load), loads(&p.owner_load)),
            "overloaded_owners": value(json!(c.overloaded_owners), json!(p.overloaded_owners)),
            "silent_clients": value(json!(c.silent_clients), json!(p.silent_clients)),
            "sentiment": with_previous(sentiment, sentiment_before),
            "template_trap": value(json!(c.template_trap), json!(p.template_trap)),
        })
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
        let (c, p) = (&self.current, &self.previous);
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
        let lines = [
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
        ];
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
        out.trim_end().to_string()
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
