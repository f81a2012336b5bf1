//! Time as the domain sees it: UTC instants with microsecond precision, the
//! finest precision PostgreSQL keeps, so a value survives every store unchanged.

use time::{Duration, OffsetDateTime};

pub type Timestamp = OffsetDateTime;

/// Drops sub-microsecond digits and normalises to UTC.
pub fn truncate(t: Timestamp) -> Timestamp {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).expect("nanosecond in range")
}

/// A non-negative number of seconds (possibly fractional) as a duration,
/// saturating instead of overflowing for absurdly large inputs.
pub fn seconds(value: f64) -> Duration {
    const MAX_SECONDS: f64 = 100.0 * 365.0 * 86_400.0;
    let clamped = if value.is_finite() { value.clamp(0.0, MAX_SECONDS) } else { MAX_SECONDS };
    let micros = (clamped * 1_000_000.0).round() as i64;
    Duration::microseconds(micros)
}

/// Adds a duration, saturating at the largest representable instant.
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(time::PrimitiveDateTime::MAX.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn truncate_keeps_microseconds() {
        let t = datetime!(2026-01-01 00:00:00.123456789 UTC);
        assert_eq!(truncate(t), datetime!(2026-01-01 00:00:00.123456 UTC));
    }

    #[test]
    fn seconds_saturate() {
        assert_eq!(seconds(1.5), Duration::milliseconds(1500));
        assert_eq!(seconds(-3.0), Duration::ZERO);
        assert!(seconds(f64::INFINITY) > Duration::days(365));
    }
}
