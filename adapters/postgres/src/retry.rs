//! How every store call runs: not at all while the database is down, and
//! once more on another connection when the first attempt failed on a
//! broken connection in a way that provably changed nothing.
//!
//! The pool does not ping a connection before handing it out (that would
//! cost every statement a round trip), so after a backend was killed or the
//! server restarted, the next call meets the dead connection. The retry
//! turns that into no error at all, and [`Health`] makes the pool ping the
//! other connections idle since then, so the retry does not meet another.
//!
//! A retry never repeats a write that may have committed:
//! - reads may always run again;
//! - a write fails safely inside its transaction before COMMIT was sent
//!   ([`Error::Uncommitted`]), or with an error that shows the statement
//!   never committed ([`errors::never_committed`]);
//! - anything else, such as an I/O error while reading the answer to an
//!   autocommit write or to COMMIT, is ambiguous and stays `Unavailable`.

use durable_ports::StoreError;

use crate::errors::{self, Error, Result};
use crate::health::Health;

/// What a call does to the database, which decides when it may run again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Reads,
    Writes,
}

/// Runs `attempt` (at most twice) under `health`'s watch.
pub(crate) async fn run<T, Fut>(
    health: &Health,
    effect: Effect,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, StoreError>
where
    Fut: Future<Output = Result<T>>,
{
    health.check()?;
    let err = match health.watch(attempt()).await {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let retry = observe(health, &err) && may_run_again(&err, effect);
    if !retry {
        return Err(err.into());
    }
    tracing::debug!(error = ?err, "retrying on another connection: the failed attempt changed nothing");
    match health.watch(attempt()).await {
        Ok(value) => Ok(value),
        Err(err) => {
            observe(health, &err);
            Err(err.into())
        }
    }
}

/// Tells `health` what a failure says about the database; true when the
/// connection was lost.
fn observe(health: &Health, err: &Error) -> bool {
    match driver_error(err) {
        Some(sql) if errors::is_connection_loss(sql) => {
            health.connection_lost();
            true
        }
        Some(sqlx::Error::PoolTimedOut) => {
            health.suspect();
            false
        }
        _ => false,
    }
}

/// Whether a call that failed with `err`, a lost connection, may run again.
fn may_run_again(err: &Error, effect: Effect) -> bool {
    match (err, effect) {
        (Error::Uncommitted(_), _) | (Error::Sql(_), Effect::Reads) => true,
        (Error::Sql(sql), Effect::Writes) => errors::never_committed(sql),
        (Error::Store(_), _) => false,
    }
}

fn driver_error(err: &Error) -> Option<&sqlx::Error> {
    match err {
        Error::Sql(sql) | Error::Uncommitted(sql) => Some(sql),
        Error::Store(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn io_error(kind: io::ErrorKind) -> sqlx::Error {
        sqlx::Error::Io(io::Error::from(kind))
    }

    #[test]
    fn reads_run_again_after_any_lost_connection() {
        for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::UnexpectedEof, io::ErrorKind::BrokenPipe] {
            assert!(may_run_again(&Error::Sql(io_error(kind)), Effect::Reads), "{kind:?}");
        }
    }

    #[test]
    fn a_write_runs_again_only_when_it_cannot_have_committed() {
        let before_commit = Error::Sql(io_error(io::ErrorKind::UnexpectedEof)).before_commit();
        assert!(may_run_again(&before_commit, Effect::Writes));
        // The request never got out whole.
        assert!(may_run_again(&Error::Sql(io_error(io::ErrorKind::BrokenPipe)), Effect::Writes));
        // The reply of an autocommit write or of COMMIT was lost: ambiguous.
        for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::UnexpectedEof, io::ErrorKind::TimedOut] {
            assert!(!may_run_again(&Error::Sql(io_error(kind)), Effect::Writes), "{kind:?}");
        }
        let protocol = sqlx::Error::Protocol("unexpected end of message".into());
        assert!(!may_run_again(&Error::Sql(protocol), Effect::Writes));
    }

    #[test]
    fn store_errors_never_run_again() {
        let rejected = Error::Store(StoreError::Unavailable("down".into())).before_commit();
        assert!(!may_run_again(&rejected, Effect::Reads));
        assert!(!may_run_again(&rejected, Effect::Writes));
    }
}
