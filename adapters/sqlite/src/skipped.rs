//! Rows a batch could not decode. A row written by hand, by a newer
//! version or damaged in some other way must not stop a claim or a sweep
//! from handling the good rows beside it: it is logged, counted and left
//! out, and the batch goes on without it.

use std::sync::atomic::{AtomicU64, Ordering};

use durable_ports::StoreError;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// How many rows were left out since the store was opened.
#[derive(Debug, Default)]
pub(crate) struct SkippedRows(AtomicU64);

impl SkippedRows {
    /// `decode(row)`, or `None` (logged and counted) when it fails.
    pub(crate) fn decoded<T>(
        &self,
        batch: &'static str,
        row: &SqliteRow,
        decode: impl FnOnce(&SqliteRow) -> Result<T, StoreError>,
    ) -> Option<T> {
        match decode(row) {
            Ok(item) => Some(item),
            Err(err) => {
                self.0.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    batch,
                    task_id = ?row.try_get::<String, _>("t_id").ok(),
                    run_id = ?row.try_get::<String, _>("r_id").ok(),
                    error = %err,
                    "a stored row cannot be decoded; left out of the batch"
                );
                None
            }
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
