//! The single-owner guard: an exclusive advisory lock on `<database>.lock`,
//! held for the store's lifetime.
//!
//! The store's correctness rests on being the only writer (one write
//! connection serializes every transition, and notifications are in-process),
//! so a second server on the same file must refuse to start rather than run
//! with waiters that never hear the other's writes. The lock sits on a file
//! of its own so that it never interferes with SQLite's locking of the
//! database, and the OS releases it when the process dies, so a crash never
//! leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use durable_ports::StoreError;

#[derive(Debug)]
pub(crate) struct LockFile {
    // Held, never read: dropping the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl LockFile {
    /// Takes the lock next to `database`, or explains who holds it.
    pub(crate) fn acquire(database: &Path) -> Result<Self, StoreError> {
        let path = lock_path(database);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open lock file {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
                "database {} is in use by another durable-server (lock file {} is held); \
                 stop that server or choose another database file",
                database.display(),
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::Unavailable(format!("cannot lock {}: {e}", path.display()))),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// `<database>.lock`, e.g. `durable.db.lock`.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("durable.db");
        let first = LockFile::acquire(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("durable.db.lock"));
        let message = LockFile::acquire(&db).unwrap_err().to_string();
        assert!(message.contains("in use by another durable-server"), "{message}");
        assert!(message.contains("durable.db.lock"), "{message}");
        drop(first);
        LockFile::acquire(&db).expect("free again");
    }
}
