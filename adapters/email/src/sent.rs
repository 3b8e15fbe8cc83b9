//! The Message-IDs keel has sent, one a line in a file next to the mailbox state. keel stopped
//! between the SMTP server accepting a mail and the outbox recording it would otherwise send it
//! again on restart; the dispatcher asks [`SentLog::contains`] first.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Lines kept when the file is rewritten; it is rewritten once it holds twice as many.
const KEPT: usize = 10_000;

pub(crate) struct SentLog {
    path: PathBuf,
    /// The ids in the file, read at the first question.
    ids: Mutex<Option<HashSet<String>>>,
}

impl SentLog {
    pub(crate) fn new(path: PathBuf) -> SentLog {
        SentLog {
            path,
            ids: Mutex::new(None),
        }
    }

    /// Whether a mail with this Message-ID went out.
    pub(crate) fn contains(&self, id: &str) -> bool {
        let Ok(mut ids) = self.ids.lock() else {
            return false;
        };
        ids.get_or_insert_with(|| self.load()).contains(id)
    }

    /// Records a sent mail, on disk before it returns.
    pub(crate) fn record(&self, id: &str) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| {
                file.write_all(format!("{id}\n").as_bytes())?;
                file.sync_data()
            });
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot record a sent mail");
        }
        if let Ok(mut ids) = self.ids.lock() {
            if let Some(ids) = ids.as_mut() {
                ids.insert(id.to_string());
            }
        }
    }

    /// Reads the file, keeping only its newest `KEPT` lines once it has grown past twice that.
    fn load(&self) -> HashSet<String> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        if lines.len() > 2 * KEPT {
            let kept = &lines[lines.len() - KEPT..];
            let tmp = self.path.with_extension("sent.tmp");
            let rewritten =
                std::fs::write(&tmp, kept.join("\n") + "\n").and_then(|_| std::fs::rename(&tmp, &self.path));
            if let Err(e) = rewritten {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot shorten the sent-mail log");
            }
            return kept.iter().map(|l| l.to_string()).collect();
        }
        lines.into_iter().map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_id_is_known_after_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("mailbox.sent");
        let log = SentLog::new(path.clone());
        assert!(!log.contains("keel.task-1.0@example.com"));
        log.record("keel.task-1.0@example.com");
        assert!(log.contains("keel.task-1.0@example.com"));
        let again = SentLog::new(path);
        assert!(again.contains("keel.task-1.0@example.com"));
        assert!(!again.contains("keel.task-2.0@example.com"));
    }
}
