//! Running a store method's body in one transaction.

use sqlx::{PgConnection, PgPool};

use crate::errors::{Error, Result};

/// Runs `body` in a transaction: commits when it succeeds, rolls back when
/// it fails. The explicit rollback matters: a dropped sqlx transaction only
/// queues its ROLLBACK, which a background task flushes later, and until
/// then the row locks stay held — a claim right after a rejected call
/// would skip the still-locked run and come back empty.
///
/// A driver error before the COMMIT was sent comes back marked
/// [`Error::Uncommitted`]: nothing of the call was committed, so
/// [`crate::retry`] may run it again on another connection. A failure of
/// the COMMIT itself is left unmarked (the server may have committed).
pub(crate) async fn in_transaction<T>(
    pool: &PgPool,
    body: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    let mut tx = pool.begin().await.map_err(|err| Error::from(err).before_commit())?;
    match body(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            // If the connection is gone the server has rolled back already.
            let _ = tx.rollback().await;
            Err(err.before_commit())
        }
    }
}
