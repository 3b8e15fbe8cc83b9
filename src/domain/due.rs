use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
#[derive(Debug, Clone, Copy)]
pub struct DueContext {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub day_end: NaiveTime,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDue {
    pub at: DateTime<Utc>,
    pub start: usize,
    pub end: usize,
    pub phrase: String,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueError {
    pub input: String,
}
impl std::fmt::Display for DueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\"{}\" is not a date I understand (try \"friday\", \"2026-12-01\", \"in 3 days\")",
            self.input
        )
    }
}
impl std::error::Error for DueError {}
pub fn parse_due(text: &str, _ctx: &DueContext) -> Result<DateTime<Utc>, DueError> {
    Err(DueError { input: text.into() })
}
pub fn find_due(_text: &str, _ctx: &DueContext) -> Option<FoundDue> {
    None
}
