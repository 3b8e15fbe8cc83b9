//! The statistics the figures are made of.

/// A median and a p90 (nearest rank), in hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spread {
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub count: usize,
}

impl Spread {
    pub(super) fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return Spread::default();
        }
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
        Spread {
            median: Some(median),
            p90: Some(values[rank - 1]),
            count: n,
        }
    }
}

/// `part / whole`, or `None` of nothing.
pub(super) fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
