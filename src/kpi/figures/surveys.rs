//! NPS and CSAT from the survey answers given in the period.

use super::span::Span;
use super::stats::ratio;
use crate::store::kpi::survey_answers;
use crate::store::Conn;

pub(super) struct Surveys {
    pub nps_answers: i64,
    /// Promoters (9, 10) less detractors (0 to 6), in percent of the answers, to one decimal.
    pub nps: Option<f64>,
    pub csat_answers: i64,
    /// The share of thumbs up.
    pub csat: Option<f64>,
}

pub(super) async fn surveys(conn: &mut Conn, span: &Span) -> anyhow::Result<Surveys> {
    let (mut nps_answers, mut csat_answers) = (0, 0);
    let (mut promoters, mut detractors, mut thumbs_up) = (0, 0, 0);
    for answer in survey_answers(conn, span.from, span.to).await? {
        let Some(score) = answer.score else { continue };
        match answer.kind.as_str() {
            "nps" => {
                nps_answers += 1;
                promoters += i64::from(score >= 9);
                detractors += i64::from(score <= 6);
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
        nps: ratio(promoters - detractors, nps_answers).map(|r| (r * 1000.0).round() / 10.0),
        csat_answers,
        csat: ratio(thumbs_up, csat_answers),
    })
}
