//! A command's failure: its exit code and one line for stderr.

/// A failure and its exit code.
pub struct Failure {
    pub code: i32,
    pub message: String,
}

/// A value someone typed, as an error shows it: one line, at most 40 characters, nothing that
/// would move the terminal's cursor.
pub(super) fn shown(value: &str) -> String {
    crate::domain::truncate(value, 40)
}

pub(super) fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

pub(super) fn environment(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        environment(crate::store::one_line(&format!("{e:#}")))
    }
}
