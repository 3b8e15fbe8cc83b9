//! NPS and CSAT from the survey answers given in the period.

use std::collections::{BTreeMap, HashMap};

use super::span::Span;
use super::stats::ratio;
use crate::store::kpi::{survey_answers, Client};
use crate::store::Conn;

pub(super) struct Surveys {
    pub nps_answers: i64,
    /// Promoters (9, 10) less detractors (0 to 6), in percent of the answers, to one decimal.
    pub nps: Option<f64>,
    pub csat_answers: i64,
    /// The share of thumbs up.
    pub csat: Option<f64>,
    /// NPS by client key, for the clients who answered.
    pub nps_per_client: BTreeMap<String, f64>,
}

/// Promoters less detractors in percent of the answers, to one decimal.
fn nps(promoters: i64, detractors: i64, answers: i64) -> Option<f64> {
    ratio(promoters - detractors, answers).map(|r| (r * 1000.0).round() / 10.0)
}

pub(super) async fn surveys(conn: &mut Conn, span: &Span, clients: &[Client]) -> anyhow::Result<Surveys> {
    let keys: HashMap<i64, &str> = clients.iter().map(|c| (c.id, c.key.as_str())).collect();
    let (mut nps_answers, mut csat_answers) = (0, 0);
    let (mut promoters, mut detractors, mut thumbs_up) = (0, 0, 0);
    // Answers, promoters, detractors per client.
    let mut per_client: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for answer in survey_answers(conn, span.from, span.to).await? {
        let Some(score) = answer.score else { continue };
        match answer.kind.as_str() {
            "nps" => {
                nps_answers += 1;
                promoters += i64::from(score >= 9);
                detractors += i64::from(score <= 6);
                if let Some(key) = keys.get(&answer.client_id) {
                    let c = per_client.entry(key).or_default();
                    *c = (c.0 + 1, c.1 + i64::from(score >= 9), c.2 + i64::from(score <= 6));
                }
            }
            "csat" => {
                csat_answers += 1;
                thumbs_up += i64::from(score > 0);
            }
            _ => {}
        }
    }
    Ok(Surveys {
        nps_answers,
        nps: nps(promoters, detractors, nps_answers),
        csat_answers,
        csat: ratio(thumbs_up, csat_answers),
        nps_per_client: per_client
            .into_iter()
            .filter_map(|(key, (n, p, d))| Some((key.to_string(), nps(p, d, n)?)))
            .collect(),
    })
}
