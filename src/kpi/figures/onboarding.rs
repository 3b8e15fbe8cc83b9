//! Onboarding: days from contract signed to go-live, for the clients that went live in the period.

use std::collections::BTreeMap;

use super::span::Span;
use super::stats::Spread;
use crate::store::kpi::Client;

pub(super) struct Onboarding {
    /// The median of `per_client`.
    pub days: Option<f64>,
    /// Days by client key, to one decimal.
    pub per_client: BTreeMap<String, f64>,
}

pub(super) fn onboarding(clients: &[Client], span: &Span) -> Onboarding {
    let mut per_client = BTreeMap::new();
    for c in clients {
        if let (Some(signed), Some(live)) = (c.signed_at, c.live_at) {
            if (span.from..span.to).contains(&live) {
                let days = (live - signed) as f64 / 86_400.0;
                per_client.insert(c.key.clone(), (days * 10.0).round() / 10.0);
            }
        }
    }
    Onboarding {
        days: Spread::of(per_client.values().copied().collect()).median,
        per_client,
    }
}
