//! Rows ↔ domain values. Every table has its column list, a decoder and the
//! writes the store needs; nothing here decides a rule.
//!
//! Encodings: times are unix microseconds (the domain's precision, so a value
//! round-trips exactly), JSON is its text, ids are lower-case hyphenated
//! UUIDs, statuses are the domain's names.

pub(crate) mod admission;
pub(crate) mod checkpoints;
pub(crate) mod events;
pub(crate) mod queues;
pub(crate) mod runs;
pub(crate) mod schedules;
pub(crate) mod state;
pub(crate) mod tasks;
pub(crate) mod workflows;

use std::str::FromStr;

use durable_domain::Timestamp;
use durable_ports::StoreError;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::{Duration, OffsetDateTime};

use crate::errors::{self, corrupt};

pub(crate) fn micros(t: Timestamp) -> i64 {
    // Saturates only for instants no clock produces (past year ±292 277).
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000)).unwrap_or(i64::MAX)
}

pub(crate) fn opt_micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(micros)
}

pub(crate) fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.whole_microseconds()).unwrap_or(i64::MAX)
}

pub(crate) fn json(value: &Value) -> String {
    value.to_string()
}

pub(crate) fn opt_json(value: Option<&Value>) -> Option<String> {
    value.map(json)
}

/// Typed access to a row, mapping decode failures onto [`StoreError`].
pub(crate) struct Cols<'r>(pub &'r SqliteRow);

impl Cols<'_> {
    pub(crate) fn text(&self, col: &str) -> Result<String, StoreError> {
        self.0.try_get(col).map_err(errors::map_sql)
    }

    pub(crate) fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.0.try_get(col).map_err(errors::map_sql)
    }

    pub(crate) fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.0.try_get(col).map_err(errors::map_sql)
    }

    pub(crate) fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.0.try_get(col).map_err(errors::map_sql)
    }

    pub(crate) fn opt_real(&self, col: &str) -> Result<Option<f64>, StoreError> {
        self.0.try_get(col).map_err(errors::map_sql)
    }

    pub(crate) fn u32(&self, col: &str) -> Result<u32, StoreError> {
        let raw = self.int(col)?;
        u32::try_from(raw).map_err(|_| corrupt(col, raw))
    }

    pub(crate) fn i16(&self, col: &str) -> Result<i16, StoreError> {
        let raw = self.int(col)?;
        i16::try_from(raw).map_err(|_| corrupt(col, raw))
    }

    pub(crate) fn opt_u32(&self, col: &str) -> Result<Option<u32>, StoreError> {
        self.opt_int(col)?.map(|raw| u32::try_from(raw).map_err(|_| corrupt(col, raw))).transpose()
    }

    pub(crate) fn u64(&self, col: &str) -> Result<u64, StoreError> {
        let raw = self.int(col)?;
        u64::try_from(raw).map_err(|_| corrupt(col, raw))
    }

    pub(crate) fn time(&self, col: &str) -> Result<Timestamp, StoreError> {
        to_time(col, self.int(col)?)
    }

    pub(crate) fn opt_time(&self, col: &str) -> Result<Option<Timestamp>, StoreError> {
        self.opt_int(col)?.map(|us| to_time(col, us)).transpose()
    }

    pub(crate) fn opt_duration(&self, col: &str) -> Result<Option<Duration>, StoreError> {
        Ok(self.opt_int(col)?.map(Duration::microseconds))
    }

    pub(crate) fn json(&self, col: &str) -> Result<Value, StoreError> {
        to_json(col, &self.text(col)?)
    }

    pub(crate) fn opt_json(&self, col: &str) -> Result<Option<Value>, StoreError> {
        self.opt_text(col)?.map(|raw| to_json(col, &raw)).transpose()
    }

    /// An id or any other value with a text form (`FromStr`).
    pub(crate) fn parse<T: FromStr>(&self, col: &str) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.text(col)?;
        raw.parse().map_err(|e| corrupt(col, format!("{raw:?}: {e}")))
    }

    pub(crate) fn opt_parse<T: FromStr>(&self, col: &str) -> Result<Option<T>, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        self.opt_text(col)?.map(|raw| raw.parse().map_err(|e| corrupt(col, format!("{raw:?}: {e}")))).transpose()
    }

    /// A value stored by its domain name (statuses, kinds).
    pub(crate) fn named<T>(&self, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
        let raw = self.text(col)?;
        parse(&raw).ok_or_else(|| corrupt(col, format!("{raw:?}")))
    }
}

fn to_time(col: &str, us: i64) -> Result<Timestamp, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).map_err(|e| corrupt(col, e))
}

fn to_json(col: &str, raw: &str) -> Result<Value, StoreError> {
    serde_json::from_str(raw).map_err(|e| corrupt(col, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_round_trip_through_microseconds() {
        for t in [
            datetime!(2026-03-04 05:06:07.123456 UTC),
            datetime!(1969-12-31 23:59:59.999999 UTC),
            Timestamp::UNIX_EPOCH,
            time::PrimitiveDateTime::MAX.assume_utc().replace_nanosecond(999_999_000).unwrap(),
        ] {
            assert_eq!(to_time("t", micros(t)).unwrap(), t);
        }
    }

    #[test]
    fn literal_statuses_in_sql_are_the_domain_names() {
        // Queries name statuses literally so SQLite can use partial indexes.
        use durable_domain::{RunStatus, TaskStatus};
        assert_eq!(RunStatus::Pending.as_str(), "pending");
        assert_eq!(RunStatus::Claimed.as_str(), "claimed");
        assert_eq!(RunStatus::Sleeping.as_str(), "sleeping");
        assert_eq!(TaskStatus::Pending.as_str(), "pending");
    }
}
