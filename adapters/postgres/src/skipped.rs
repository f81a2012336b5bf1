//! Rows a batch could not decode. A row written by hand, by a newer
//! version or damaged in some other way must not stop a claim or a sweep
//! from handling the good rows beside it: it is logged, counted and left
//! where it is, and the batch goes on without it.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::errors::Error;

/// How many rows were left out since the process started.
#[derive(Debug, Default)]
pub(crate) struct SkippedRows(AtomicU64);

impl SkippedRows {
    /// Decodes each row on its own; the rows that fail are left out.
    pub(crate) fn decode_each<T>(
        &self,
        batch: &'static str,
        rows: &[PgRow],
        decode: impl Fn(&PgRow) -> Result<T, Error>,
    ) -> Vec<T> {
        rows.iter()
            .filter_map(|row| match decode(row) {
                Ok(item) => Some(item),
                Err(err) => {
                    self.0.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        batch,
                        task_id = ?id(row, "t_id"),
                        run_id = ?id(row, "r_id"),
                        error = ?err,
                        "a stored row cannot be decoded; left out of the batch"
                    );
                    None
                }
            })
            .collect()
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

fn id(row: &PgRow, column: &str) -> Option<Uuid> {
    row.try_get(column).ok()
}
