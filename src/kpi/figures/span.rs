//! The instants one period's figures are measured at.

/// A period `[from, to)` and the instant its "at the end" figures are taken (its end, or now
/// while it runs), in unix seconds.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    pub as_of: i64,
}
