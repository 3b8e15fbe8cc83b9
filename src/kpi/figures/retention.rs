//! Retention: the clients active at the period's start that had not churned by its end.

use super::span::Span;
use super::stats::ratio;
use crate::store::kpi::Client;

pub(super) struct Retention {
    pub at_start: i64,
    pub retained: i64,
    pub rate: Option<f64>,
}

pub(super) fn retention(clients: &[Client], span: &Span) -> Retention {
    let at_start: Vec<&Client> = clients.iter().filter(|c| c.active_at(span.from)).collect();
    let retained = at_start
        .iter()
        .filter(|c| c.churned_at.is_none_or(|x| x >= span.to))
        .count() as i64;
    Retention {
        at_start: at_start.len() as i64,
        retained,
        rate: ratio(retained, at_start.len() as i64),
    }
}
