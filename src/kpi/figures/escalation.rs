//! Escalations: the tasks escalated in the period, per task created in it.

use super::span::Span;
use super::stats::ratio;
use crate::store::kpi::escalated_tasks;
use crate::store::Conn;

pub(super) struct Escalation {
    pub escalated: i64,
    pub rate: Option<f64>,
}

pub(super) async fn escalation(conn: &mut Conn, span: &Span, tasks_created: i64) -> anyhow::Result<Escalation> {
    let escalated = escalated_tasks(conn, span.from, span.to).await?;
    Ok(Escalation {
        escalated,
        rate: ratio(escalated, tasks_created),
    })
}
