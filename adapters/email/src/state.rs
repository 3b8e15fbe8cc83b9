//! Where reading the mailbox left off: the mailbox's UIDVALIDITY and the highest UID keel has
//! handled, kept in a small JSON file so a restart reads only what came since. The file is written
//! whole to a temporary file and renamed over the old one, so a crash leaves the old state or the
//! new, never half of one.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The stored position in one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The mailbox's UIDVALIDITY when `last_uid` was handled: UIDs from another one mean nothing.
    pub uidvalidity: u32,
    /// The highest UID handled (accepted by keel, then flagged or moved).
    pub last_uid: u32,
}

impl State {
    /// The stored state, or `None` when there is none yet. A file that cannot be read as a state
    /// is logged and taken as none: keel then starts from the unseen mail, which loses nothing.
    pub fn load(path: &Path) -> Option<State> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the mailbox state; starting from the unseen mail");
                return None;
            }
        };
        match serde_json::from_str(&text) {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the mailbox state is not valid; starting from the unseen mail");
                None
            }
        }
    }

    /// Writes the state atomically: a temporary file beside it, synced, then renamed over it.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(serde_json::to_string(self).map_err(std::io::Error::other)?.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_through_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("email-state.json");
        assert_eq!(State::load(&path), None);
        let state = State {
            uidvalidity: 7,
            last_uid: 42,
        };
        state.save(&path).unwrap();
        assert_eq!(State::load(&path), Some(state));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"uidvalidity\":7,\"last_uid\":42}\n");
        assert!(!path.with_file_name("email-state.json.tmp").exists());
    }

    #[test]
    fn a_broken_file_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{\"uidvalidity\":").unwrap();
        assert_eq!(State::load(&path), None);
    }
}
