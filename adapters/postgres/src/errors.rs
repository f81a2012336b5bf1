//! Driver errors mapped onto the port's [`StoreError`], inside the adapter.
//!
//! Internally every function returns [`Error`], so `?` works on sqlx calls
//! and on domain rejections alike; the `Store` impl converts at the edge.

use std::io;

use durable_domain::{NotFound, Rejection, ValidationError};
use durable_ports::StoreError;
use sqlx::postgres::PgDatabaseError;

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub(crate) enum Error {
    Sql(sqlx::Error),
    /// A driver error inside a transaction before its COMMIT was sent: the
    /// transaction did not commit, so running the call again is safe.
    Uncommitted(sqlx::Error),
    Store(StoreError),
}

impl Error {
    /// Marks a driver error as having struck before the commit was sent.
    pub(crate) fn before_commit(self) -> Self {
        match self {
            Self::Sql(err) => Self::Uncommitted(err),
            other => other,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<NotFound> for Error {
    fn from(err: NotFound) -> Self {
        Self::Store(err.into())
    }
}

impl From<Rejection> for Error {
    fn from(err: Rejection) -> Self {
        Self::Store(err.into())
    }
}

impl From<ValidationError> for Error {
    fn from(err: ValidationError) -> Self {
        Self::Store(err.into())
    }
}

impl From<Error> for StoreError {
    fn from(err: Error) -> Self {
        match err {
            Error::Store(err) => err,
            Error::Sql(err) | Error::Uncommitted(err) => map_sql(err),
        }
    }
}

/// A stored value the domain cannot read back (a bug or a hand edit).
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Store(StoreError::Other(format!("corrupt row: {what}")))
}

/// The SQLSTATE of a database error, if it is one.
pub(crate) fn sqlstate(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) => db.try_downcast_ref::<PgDatabaseError>().map(PgDatabaseError::code),
        _ => None,
    }
}

pub(crate) const UNIQUE_VIOLATION: &str = "23505";

/// Connection trouble becomes `Unavailable` (the caller may retry, the API
/// answers 503); everything else is `Other`. Specific constraint violations
/// that mean something (a queue that exists) are mapped where they occur.
pub(crate) fn map_sql(err: sqlx::Error) -> StoreError {
    if is_unavailable(&err) {
        return StoreError::Unavailable(err.to_string());
    }
    if sqlstate(&err) == Some(UNTRANSLATABLE_CHARACTER) {
        // jsonb cannot hold "\u0000"; that is the caller's input, not a fault.
        return ValidationError::new("payload", "JSON strings must not contain \\u0000").into();
    }
    StoreError::Other(err.to_string())
}

const UNTRANSLATABLE_CHARACTER: &str = "22P05";

fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // A connection that died mid-protocol surfaces as a protocol error.
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(_) => sqlstate(err).is_some_and(|code| {
            // 08: connection exception; 53: insufficient resources (too many
            // connections); 57P0x: the server is shutting down or starting;
            // 40001/40P01: serialization failure or deadlock, which a retry
            // resolves.
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
        }),
        _ => io_source(err).is_some(),
    }
}

/// The connection the statement ran on is broken, or the server ended the
/// session: the pool's other connections may be broken too, and the server
/// may be gone. Also what makes a connection attempt count as "the database
/// is unreachable".
pub(crate) fn is_connection_loss(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(_) => sqlstate(err).is_some_and(|code| code.starts_with("08") || is_terminated(code)),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => false,
        _ => io_source(err).is_some(),
    }
}

/// The failed statement certainly did not commit, wherever it failed.
///
/// - An *error* 57P01–57P03 (session terminated: `pg_terminate_backend`, a
///   smart or fast shutdown; or not accepting sessions) comes from the
///   backend's interrupt handling, which is held off while a commit runs
///   and reports the error instead of the command's completion, so the
///   transaction aborted. The shutdowns that can strike after a commit (an
///   immediate one, a crash of another backend, a cancelled wait for a
///   synchronous standby) send at most a *warning* before closing, which
///   arrives here as an I/O error and stays ambiguous.
/// - A broken pipe is only ever a write error: the request did not get out
///   whole, and what commits it (the closing Sync, or the `COMMIT` query)
///   is its last message.
///
/// Any other I/O error may have come while reading the reply of a
/// statement the server did run: ambiguous.
pub(crate) fn never_committed(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(_) => sqlstate(err).is_some_and(is_terminated),
        sqlx::Error::Io(io) => io.kind() == io::ErrorKind::BrokenPipe,
        _ => false,
    }
}

fn is_terminated(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03")
}

fn io_source(err: &sqlx::Error) -> Option<&io::Error> {
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return Some(io);
        }
        source = inner.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_unavailable() {
        let refused = sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(matches!(map_sql(refused), StoreError::Unavailable(_)));
        assert!(matches!(map_sql(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        assert!(matches!(map_sql(sqlx::Error::PoolClosed), StoreError::Unavailable(_)));
    }

    #[test]
    fn other_errors_are_other() {
        assert!(matches!(map_sql(sqlx::Error::RowNotFound), StoreError::Other(_)));
        let decode = sqlx::Error::ColumnNotFound("x".into());
        assert!(matches!(map_sql(decode), StoreError::Other(_)));
    }
}
