//! The inbox of a keel on a SQLite file: an append-only journal in a directory next to the
//! database (`keel.db-inbox/`), one event per line (JSON, which never holds a raw newline).
//!
//! Recording an event before answering its platform is on the path every acknowledgement waits
//! for. A SQLite commit writes whole pages to the write-ahead log and later copies them into the
//! database; an append here is one `write` of the events' bytes. Both survive a crash of keel
//! once the call returns (the data is with the operating system; neither flushes to the disk on
//! every write, as SQLite does not with `synchronous = NORMAL`), and both may lose the last
//! writes to a power cut.
//!
//! One process owns the journal (a lock on `dir/lock`, released when the process ends, however
//! it ends). Events are read back in order from a cursor; once everything before a position is
//! handled it is released: older segments are deleted, and when the cursor reaches the end the
//! journal is emptied. A segment is closed at 16 MiB, so a journal that never catches up still
//! frees its space as it goes. On start, what is left (handled or not) is read again from the
//! beginning; the core's dedupe drops what was handled already.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Where a segment is closed and the next one begun.
const SEGMENT_BYTES: u64 = 16 << 20;
/// How much is read at a time (more when one record is longer): a round of 16 events is
/// about 10 KiB.
const READ_CHUNK: u64 = 32 << 10;

/// A place in the journal: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// The journal, opened by the one process that appends to it and reads it.
pub struct Journal {
    dir: PathBuf,
    /// Held for as long as the journal is open.
    _lock: File,
    tail: Mutex<Tail>,
}

/// The segment being appended to.
struct Tail {
    segment: u64,
    file: File,
    len: u64,
    /// The oldest segment that may still be on disk: releasing looks at the directory only
    /// when the cursor has passed it.
    oldest: u64,
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:016}.jsonl"))
}

/// The segments in `dir`, oldest first.
fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name.strip_suffix(".jsonl").and_then(|n| n.parse::<u64>().ok()) {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The length of `file` up to its last newline: a write cut short by a crash leaves a last line
/// without one, and that event was never acknowledged.
fn whole_lines_len(file: &mut File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> io::Error {
    io::Error::other("the inbox journal's lock was poisoned")
}

impl Journal {
    /// Opens (creating it if need be) the journal in `dir` for this process alone; `None` when
    /// another process has it open.
    pub fn open(dir: &Path) -> io::Result<Option<Journal>> {
        fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let found = segments(dir)?;
        let segment = found.last().copied().unwrap_or(1);
        let oldest = found.first().copied().unwrap_or(segment);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(segment_path(dir, segment))?;
        let len = whole_lines_len(&mut file)?;
        if len < file.metadata()?.len() {
            tracing::warn!(
                segment,
                "the inbox journal ends in an unfinished write (never acknowledged); cutting it off"
            );
            file.set_len(len)?;
        }
        Ok(Some(Journal {
            dir: dir.to_path_buf(),
            _lock: lock,
            tail: Mutex::new(Tail {
                segment,
                file,
                len,
                oldest,
            }),
        }))
    }

    fn tail(&self) -> io::Result<MutexGuard<'_, Tail>> {
        self.tail.lock().map_err(poisoned)
    }

    /// Appends `records`, one line each, with one write, and returns once the operating system
    /// has them. A record holding a newline is refused (JSON from serde never does).
    pub fn append(&self, records: &[String]) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
        for record in records {
            if record.as_bytes().contains(&b'\n') {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an inbox record holds a newline",
                ));
            }
            bytes.extend_from_slice(record.as_bytes());
            bytes.push(b'\n');
        }
        let mut tail = self.tail()?;
        if let Err(e) = tail.file.write_all(&bytes) {
            // Whatever part was written goes, so the journal stays whole lines.
            let len = tail.len;
            let _ = tail.file.set_len(len);
            return Err(e);
        }
        tail.len += bytes.len() as u64;
        if tail.len >= SEGMENT_BYTES {
            let next = tail.segment + 1;
            match OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(segment_path(&self.dir, next))
            {
                Ok(file) => {
                    *tail = Tail {
                        segment: next,
                        file,
                        len: 0,
                        oldest: tail.oldest,
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot begin a new inbox journal segment; the current one grows"),
            }
        }
        Ok(())
    }

    /// Where the next append goes.
    pub fn end(&self) -> io::Result<Position> {
        let tail = self.tail()?;
        Ok(Position {
            segment: tail.segment,
            offset: tail.len,
        })
    }

    /// The beginning of what the journal holds.
    pub fn start(&self) -> io::Result<Position> {
        Ok(Position {
            segment: self.tail()?.oldest,
            offset: 0,
        })
    }

    /// Up to `limit` records from `from`, each with the position after it.
    pub fn read(&self, from: Position, limit: usize) -> io::Result<Vec<(Position, String)>> {
        let end = self.end()?;
        let mut at = from;
        let mut out = Vec::new();
        while out.len() < limit {
            let stop = if at.segment >= end.segment {
                end.offset
            } else {
                match fs::metadata(segment_path(&self.dir, at.segment)) {
                    Ok(meta) => meta.len(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                    Err(e) => return Err(e),
                }
            };
            if at.offset >= stop {
                if at.segment >= end.segment {
                    break;
                }
                let next = segments(&self.dir)?
                    .into_iter()
                    .find(|s| *s > at.segment)
                    .unwrap_or(end.segment);
                at = Position {
                    segment: next,
                    offset: 0,
                };
                continue;
            }
            let mut file = File::open(segment_path(&self.dir, at.segment))?;
            file.seek(SeekFrom::Start(at.offset))?;
            let mut chunk = READ_CHUNK;
            let bytes = loop {
                let want = chunk.min(stop - at.offset);
                let mut bytes = vec![0u8; want as usize];
                file.read_exact(&mut bytes)?;
                if bytes.contains(&b'\n') || want == stop - at.offset {
                    break bytes;
                }
                chunk *= 4;
                file.seek(SeekFrom::Start(at.offset))?;
            };
            let mut line_start = 0;
            for (i, b) in bytes.iter().enumerate() {
                if *b != b'\n' {
                    continue;
                }
                at.offset += (i + 1 - line_start) as u64;
                out.push((at, String::from_utf8_lossy(&bytes[line_start..i]).into_owned()));
                line_start = i + 1;
                if out.len() >= limit {
                    break;
                }
            }
            if line_start == 0 {
                // No whole line before `stop`: cannot happen with whole-line appends.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("inbox journal segment {} ends in an unfinished line", at.segment),
                ));
            }
        }
        Ok(out)
    }

    /// Everything before `upto` is handled: deletes the segments before its one, and empties
    /// the journal when `upto` is its end. Returns where reading goes on.
    pub fn release(&self, upto: Position) -> io::Result<Position> {
        let mut tail = self.tail()?;
        let keep_from = upto.segment.min(tail.segment);
        if tail.oldest < keep_from {
            for segment in segments(&self.dir)? {
                if segment >= keep_from {
                    break;
                }
                fs::remove_file(segment_path(&self.dir, segment))?;
            }
            tail.oldest = keep_from;
        }
        if upto.segment == tail.segment && upto.offset == tail.len && tail.len > 0 {
            tail.file.set_len(0)?;
            tail.len = 0;
            return Ok(Position {
                segment: tail.segment,
                offset: 0,
            });
        }
        Ok(upto)
    }
}

/// True when the journal in `dir` holds nothing (every segment empty or gone): cheaper than
/// [`count`], which reads the segments.
pub fn is_empty(dir: &Path) -> io::Result<bool> {
    let found = match segments(dir) {
        Ok(found) => found,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    for segment in found {
        match fs::metadata(segment_path(dir, segment)) {
            Ok(meta) if meta.len() > 0 => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// How many events the journal in `dir` holds (handled ones included until they are released),
/// for anyone: another process may have it open.
pub fn count(dir: &Path) -> io::Result<u64> {
    let found = match segments(dir) {
        Ok(found) => found,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut lines = 0;
    for segment in found {
        match fs::read(segment_path(dir, segment)) {
            Ok(bytes) => lines += bytes.iter().filter(|b| **b == b'\n').count() as u64,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("{{\"n\":{i}}}")).collect()
    }

    fn texts(read: &[(Position, String)]) -> Vec<String> {
        read.iter().map(|(_, s)| s.clone()).collect()
    }

    #[test]
    fn appends_reads_in_order_and_empties_once_handled() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap().unwrap();
        journal.append(&records(0..3)).unwrap();
        journal.append(&records(3..5)).unwrap();
        let start = journal.start().unwrap();
        let first = journal.read(start, 4).unwrap();
        assert_eq!(texts(&first), records(0..4));
        let rest = journal.read(first[3].0, 10).unwrap();
        assert_eq!(texts(&rest), records(4..5));
        assert_eq!(count(dir.path()).unwrap(), 5);
        assert!(!is_empty(dir.path()).unwrap());
        // Released halfway: nothing goes; at the end: the journal is emptied.
        assert_eq!(journal.release(first[3].0).unwrap(), first[3].0);
        assert_eq!(count(dir.path()).unwrap(), 5);
        let cursor = journal.release(rest[0].0).unwrap();
        assert_eq!(cursor.offset, 0);
        assert_eq!(count(dir.path()).unwrap(), 0);
        assert!(is_empty(dir.path()).unwrap());
        journal.append(&records(5..6)).unwrap();
        assert_eq!(texts(&journal.read(cursor, 10).unwrap()), records(5..6));
        assert!(journal.append(&["two\nlines".to_string()]).is_err());
    }

    #[test]
    fn one_process_at_a_time_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap().unwrap();
        journal.append(&records(0..2)).unwrap();
        // File locks belong to the open file: a second opening is refused like another
        // process would be.
        assert!(Journal::open(dir.path()).unwrap().is_none());
        drop(journal);
        // A crash in the middle of a write.
        let mut file = OpenOptions::new()
            .append(true)
            .open(segment_path(dir.path(), 1))
            .unwrap();
        file.write_all(b"{\"n\":2").unwrap();
        let journal = Journal::open(dir.path()).unwrap().unwrap();
        let read = journal.read(journal.start().unwrap(), 10).unwrap();
        assert_eq!(texts(&read), records(0..2));
        journal.append(&records(2..3)).unwrap();
        assert_eq!(texts(&journal.read(read[1].0, 10).unwrap()), records(2..3));
    }

    #[test]
    fn segments_are_read_across_and_deleted_once_passed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap().unwrap();
        // Records of 1 MiB: the 17th write closes the first segment.
        let big: Vec<String> = (0..20)
            .map(|i| format!("{i:02}{}", "x".repeat((1 << 20) - 3)))
            .collect();
        for record in &big {
            journal.append(std::slice::from_ref(record)).unwrap();
        }
        assert_eq!(segments(dir.path()).unwrap(), vec![1, 2]);
        let mut cursor = journal.start().unwrap();
        let mut seen = Vec::new();
        loop {
            let read = journal.read(cursor, 3).unwrap();
            if read.is_empty() {
                break;
            }
            seen.extend(texts(&read));
            cursor = journal.release(read.last().unwrap().0).unwrap();
            if cursor.segment == 2 {
                assert_eq!(segments(dir.path()).unwrap(), vec![2], "the passed segment is deleted");
            }
        }
        assert_eq!(seen, big);
        assert_eq!(count(dir.path()).unwrap(), 0);
    }
}
