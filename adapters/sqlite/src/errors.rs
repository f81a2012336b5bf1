//! SQLite and sqlx failures as [`StoreError`]s. Only what a retry can cure
//! is `Unavailable`; everything else is `Other` (a bug or a damaged file).

use durable_ports::StoreError;

// Primary SQLite result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

/// Maps a sqlx error: a locked or unreachable file (busy past the timeout,
/// I/O errors, disk full, the writer pool exhausted or closed) is
/// `Unavailable`; the rest is `Other`.
pub(crate) fn map_sql(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(e) => {
            let primary = e.code().and_then(|c| c.parse::<i64>().ok()).map(|c| c & 0xff);
            match primary {
                Some(SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN) => {
                    StoreError::Unavailable(err.to_string())
                }
                _ => StoreError::Other(err.to_string()),
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Other(err.to_string()),
    }
}

/// A stored value the domain cannot take back: the file was written by
/// something else or is damaged.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("corrupt {what} in the database: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        assert!(matches!(map_sql(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        let io = std::io::Error::other("disk gone");
        assert!(matches!(map_sql(sqlx::Error::Io(io)), StoreError::Unavailable(_)));
        assert!(matches!(map_sql(sqlx::Error::RowNotFound), StoreError::Other(_)));
    }
}
