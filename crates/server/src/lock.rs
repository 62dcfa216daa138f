//! One server per data directory: `spillway.lock`, an exclusive `flock` held for the life of
//! the process.
//!
//! Two servers on one SQLite data directory would each recover the same jobs and launch them
//! twice. The lock is advisory and owned by the open file, so the kernel releases it when the
//! process ends in any way (`kill -9` included): a stale file never blocks a restart. The file
//! holds the holder's pid and address, so that a refused server can say who holds it.
//! Replicas on a shared Postgres store share the data directory on purpose and elect a
//! leader through the database instead; they do not take this lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name under the data directory.
pub const LOCK_FILE: &str = "spillway.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error(
        "data directory {dir} is in use by another spillway server ({holder}): stop it, or give this one another --data-dir"
    )]
    Held {
        /// The data directory.
        dir: String,
        /// Who holds it, as its lock file says (`pid 123, listening on 127.0.0.1:7070`).
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock data directory {dir} ({path}): {source}")]
    Io {
        /// The data directory.
        dir: String,
        /// The lock file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    /// The open lock file: the `flock` lives as long as this descriptor.
    file: File,
    /// Its path, for messages.
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock of `dir` (created if missing) without waiting, and writes this process's
    /// pid into it. Fails with [`LockError::Held`] naming the holder when another process has it.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            dir: dir.display().to_string(),
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // Not truncated on open: the holder's pid and address must survive a refused open.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    dir: dir.display().to_string(),
                    holder: describe_holder(&text),
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        let mut lock = DataDirLock {
            file,
            path: path.clone(),
        };
        lock.record(None).map_err(io)?;
        Ok(lock)
    }

    /// Writes the holder's pid and, once it is bound, its address into the lock file.
    pub fn record(&mut self, address: Option<&str>) -> std::io::Result<()> {
        let mut text = format!("pid {}\n", std::process::id());
        if let Some(a) = address {
            text.push_str(&format!("address {a}\n"));
        }
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `pid 123, listening on 127.0.0.1:7070` from the lock file's lines.
fn describe_holder(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(str::trim))
            .filter(|v| !v.is_empty())
    };
    let pid = field("pid ").map_or("pid unknown".to_string(), |p| format!("pid {p}"));
    match field("address ") {
        Some(a) => format!("{pid}, listening on {a}"),
        None => format!("{pid}, not listening yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = DataDirLock::acquire(dir.path()).unwrap();
        first.record(Some("127.0.0.1:7070")).unwrap();
        // flock belongs to the open file, so a second open in the same process conflicts too.
        let err = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        let me = std::process::id();
        assert!(
            err.contains(&format!("pid {me}, listening on 127.0.0.1:7070")),
            "{err}"
        );
        drop(first);
        let again = DataDirLock::acquire(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(again.path()).unwrap(),
            format!("pid {me}\n")
        );
    }
}
