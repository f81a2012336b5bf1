//! TIME arguments: RFC 3339, `now`, or a time relative to now (`+30s`,
//! `+5m`, `+2h`, `+1d`, `+1h30m`; a bare `+90` is seconds).

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const EXPECTED: &str = "expected an RFC 3339 time (e.g. 2030-01-02T03:04:05Z), `now`, \
     or a time relative to now such as +30s, +5m, +2h, +1d, +1h30m";

/// Parses a TIME argument relative to the current time (a clap value parser).
pub(crate) fn parse(raw: &str) -> Result<OffsetDateTime, String> {
    parse_at(raw, OffsetDateTime::now_utc())
}

/// Parses a TIME argument; relative forms count from `now`.
pub(crate) fn parse_at(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(relative) = raw.strip_prefix('+') {
        let offset = parse_offset(relative).ok_or_else(|| EXPECTED.to_owned())?;
        return now.checked_add(offset).ok_or_else(|| format!("{raw} is too far in the future"));
    }
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| EXPECTED.to_owned())
}

/// `1h30m`, `45s`, `90` (seconds): a sum of whole numbers with units.
fn parse_offset(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    if let Ok(seconds) = text.parse::<u32>() {
        return Some(Duration::seconds(i64::from(seconds)));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let amount: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "s" | "sec" | "secs" => Duration::SECOND,
            "m" | "min" | "mins" => Duration::MINUTE,
            "h" | "hr" | "hrs" => Duration::HOUR,
            "d" => Duration::DAY,
            "w" => Duration::WEEK,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(unit.checked_mul(i32::try_from(amount).ok()?)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

    #[test]
    fn parses_relative_times() {
        let cases = [
            ("+30s", Duration::seconds(30)),
            ("+5m", Duration::minutes(5)),
            ("+2h", Duration::hours(2)),
            ("+1d", Duration::days(1)),
            ("+1h30m", Duration::minutes(90)),
            ("+90", Duration::seconds(90)),
            ("+0s", Duration::ZERO),
        ];
        for (raw, offset) in cases {
            assert_eq!(parse_at(raw, NOW).unwrap(), NOW + offset, "{raw}");
        }
        assert_eq!(parse_at("now", NOW).unwrap(), NOW);
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_at("2031-02-03T04:05:06Z", NOW).unwrap(), datetime!(2031-02-03 04:05:06 UTC));
        assert_eq!(parse_at("2031-02-03T04:05:06.5+02:00", NOW).unwrap(), datetime!(2031-02-03 02:05:06.5 UTC));
    }

    #[test]
    fn rejects_everything_else() {
        for raw in ["", "+", "+s", "+5x", "+-5s", "5m", "tomorrow", "2031-02-03", "+1h+2m", "+99999999999s"] {
            let err = parse_at(raw, NOW).unwrap_err();
            assert!(err.contains("RFC 3339") || err.contains("too far"), "{raw}: {err}");
        }
    }
}
