//! How a handler ends: done, a user's mistake answered in one line, or a bug or outage.

/// The outcome of one handler: done, a user mistake, or a bug/outage.
pub(crate) enum Fail {
    User(String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Self {
        Fail::Internal(e)
    }
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Internal(e.into())
    }
}

pub(crate) type Outcome<T = ()> = Result<T, Fail>;

/// Shorthand for a user mistake.
pub(crate) fn user<T>(message: impl Into<String>) -> Outcome<T> {
    Err(Fail::User(message.into()))
}
