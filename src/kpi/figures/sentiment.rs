//! Sentiment: the mean score of the client requests created in the period, overall and per client.

use std::collections::{BTreeMap, HashMap};

use crate::store::kpi::{Client, CreatedTask};

pub(super) struct Sentiment {
    pub mean: Option<f64>,
    /// By client key.
    pub per_client: BTreeMap<String, f64>,
}

pub(super) fn sentiment(clients: &[Client], client_requests: &[&CreatedTask]) -> Sentiment {
    let keys: HashMap<i64, &str> = clients.iter().map(|c| (c.id, c.key.as_str())).collect();
    let mut per_client: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut all = (0.0, 0usize);
    for t in client_requests {
        all.0 += t.sentiment;
        all.1 += 1;
        if let Some(key) = t.client_id.and_then(|id| keys.get(&id)) {
            let e = per_client.entry(key.to_string()).or_default();
            e.0 += t.sentiment;
            e.1 += 1;
        }
    }
    let mean = |(sum, n): (f64, usize)| (sum / n as f64 * 1000.0).round() / 1000.0;
    Sentiment {
        mean: (all.1 > 0).then(|| mean(all)),
        per_client: per_client.into_iter().map(|(k, v)| (k, mean(v))).collect(),
    }
}
