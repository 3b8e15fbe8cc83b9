//! Every KPI of one period, one file per KPI or group of KPIs that share their reads.

mod backlog;
mod chases;
mod escalation;
mod onboarding;
mod response;
mod retention;
mod sentiment;
mod silence;
mod span;
mod stats;
mod surveys;
mod template_trap;

use std::collections::{BTreeMap, HashMap};

pub use backlog::OwnerLoad;
pub(super) use span::Span;
pub use stats::Spread;

use super::rules::Rules;
use crate::store::kpi::{created_in, Client, CreatedTask};
use crate::store::Conn;

/// Every KPI for one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub clients_at_start: i64,
    pub clients_retained: i64,
    pub retention_rate: Option<f64>,
    pub first_response_hours: Spread,
    pub resolution_hours: Spread,
    pub sla_decided: i64,
    pub sla_met: i64,
    pub sla_compliance: Option<f64>,
    /// By client key: requests with both SLA targets decided, and how many met both.
    pub sla_per_client: BTreeMap<String, (i64, i64)>,
    pub backlog: i64,
    pub overdue: i64,
    pub nps_answers: i64,
    pub nps: Option<f64>,
    pub csat_answers: i64,
    pub csat: Option<f64>,
    pub nps_per_client: BTreeMap<String, f64>,
    pub onboarding_days: Option<f64>,
    pub onboarding_per_client: BTreeMap<String, f64>,
    pub tasks_created: i64,
    pub tasks_escalated: i64,
    pub escalation_rate: Option<f64>,
    /// Clients' chases ("any update?") in the period, the tasks chased, and chases per client.
    pub chases: i64,
    pub chased_tasks: i64,
    pub chases_per_client: BTreeMap<String, i64>,
    pub owner_load: Vec<OwnerLoad>,
    pub overloaded_owners: Vec<String>,
    pub silent_clients: Vec<String>,
    pub sentiment: Option<f64>,
    pub sentiment_per_client: BTreeMap<String, f64>,
    pub template_trap: Vec<String>,
}

/// The figures of `span`, with every client and every member's name.
pub(super) async fn figures(
    conn: &mut Conn,
    rules: &Rules,
    span: &Span,
    clients: &[Client],
    members: &HashMap<i64, String>,
) -> anyhow::Result<Figures> {
    let created = created_in(conn, span.from, span.to).await?;
    // Requests: the tasks a playbook did not make; the client requests among them are measured.
    let requests: Vec<&CreatedTask> = created.iter().filter(|t| t.source != "playbook").collect();
    let client_requests: Vec<&CreatedTask> = requests.iter().copied().filter(|t| t.from_client).collect();
    let retention = retention::retention(clients, span);
    let response = response::response(conn, rules, span, &created, &client_requests).await?;
    let open = backlog::open_at(conn, span.as_of).await?;
    let surveys = surveys::surveys(conn, span, clients).await?;
    let onboarding = onboarding::onboarding(clients, span);
    let escalation = escalation::escalation(conn, span, requests.len() as i64).await?;
    let chases = chases::chases(conn, span, clients).await?;
    let (owner_load, overloaded_owners) =
        backlog::owner_load(&open, clients, members, span.as_of, rules.overload_tasks);
    let silent_clients = silence::silent_clients(conn, clients, span.as_of, rules.silent_client_days).await?;
    let sentiment = sentiment::sentiment(clients, &client_requests);
    let template_trap = template_trap::template_trap(conn, clients, span).await?;
    Ok(Figures {
        clients_at_start: retention.at_start,
        clients_retained: retention.retained,
        retention_rate: retention.rate,
        first_response_hours: response.first_response_hours,
        resolution_hours: response.resolution_hours,
        sla_decided: response.sla_decided,
        sla_met: response.sla_met,
        sla_compliance: response.sla_compliance,
        sla_per_client: response
            .sla_per_client
            .into_iter()
            .filter_map(|(id, v)| Some((clients.iter().find(|c| c.id == id)?.key.clone(), v)))
            .collect(),
        backlog: open.len() as i64,
        overdue: backlog::overdue(&open, span.as_of),
        nps_answers: surveys.nps_answers,
        nps: surveys.nps,
        csat_answers: surveys.csat_answers,
        csat: surveys.csat,
        nps_per_client: surveys.nps_per_client,
        onboarding_days: onboarding.days,
        onboarding_per_client: onboarding.per_client,
        tasks_created: requests.len() as i64,
        tasks_escalated: escalation.escalated,
        escalation_rate: escalation.rate,
        chases: chases.total,
        chased_tasks: chases.tasks,
        chases_per_client: chases.per_client,
        owner_load,
        overloaded_owners,
        silent_clients,
        sentiment: sentiment.mean,
        sentiment_per_client: sentiment.per_client,
        template_trap,
    })
}
