//! Printing results: aligned tables for people, the API's JSON for scripts,
//! and the small formatting helpers the tables share.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::OutputFormat;

/// Prints results in the chosen format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    format: OutputFormat,
}

impl Printer {
    /// A printer in `format`.
    pub(crate) fn new(format: OutputFormat) -> Self {
        Self { format }
    }

    /// The chosen format.
    pub(crate) fn format(&self) -> OutputFormat {
        self.format
    }

    /// Prints `json` (pretty) in JSON mode, else the text `table` renders.
    pub(crate) fn emit(&self, json: &Value, table: impl FnOnce() -> String) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => line(&pretty(json)),
            OutputFormat::Table => line(&table()),
        }
    }

    /// Like [`Printer::emit`], with JSON on one line (for streams of results).
    pub(crate) fn emit_line(&self, json: &Value, table: impl FnOnce() -> String) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => line(&json.to_string()),
            OutputFormat::Table => line(&table()),
        }
    }
}

/// Writes `text` and a newline to stdout, flushed.
pub(crate) fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes `text` to stdout without a newline, flushed.
pub(crate) fn raw(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn pretty(json: &Value) -> String {
    serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())
}

/// Columns under a header, aligned, without borders.
pub(crate) fn table<R>(headers: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<String>>,
{
    let mut table = bare_table();
    table.set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    finish(table)
}

/// A column of field names and a column of values, for one object.
pub(crate) fn details<'a, I>(fields: I) -> String
where
    I: IntoIterator<Item = (&'a str, String)>,
{
    let mut table = bare_table();
    for (name, value) in fields {
        table.add_row(vec![format!("{name}:"), value]);
    }
    finish(table)
}

fn bare_table() -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    table
}

fn finish(mut table: Table) -> String {
    // No indent before the first column; two spaces between columns.
    let columns = table.column_count();
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if index + 1 == columns { 0 } else { 2 }));
        column.set_cell_alignment(CellAlignment::Left);
    }
    table.trim_fmt()
}

/// A time in RFC 3339 to the second, in UTC.
pub(crate) fn time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// [`time`], or `-`.
pub(crate) fn opt_time(at: Option<OffsetDateTime>) -> String {
    at.map_or_else(dash, time)
}

/// `-`, for an empty cell.
pub(crate) fn dash() -> String {
    "-".to_owned()
}

/// The value or `-`.
pub(crate) fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(dash, |v| v.to_string())
}

/// A JSON value on one line, cut to `max` characters (`…` marks the cut).
pub(crate) fn json_short(value: &Value, max: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A JSON value for a detail view: pretty when it is an object or array.
pub(crate) fn json_full(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Object(_) | Value::Array(_) => pretty(value),
        other => other.to_string(),
    }
}

/// Seconds as a short duration: `45s`, `3m12s`, `2h5m`, `1h`, `3d4h`.
pub(crate) fn seconds(total: f64) -> String {
    if !total.is_finite() || total < 0.0 {
        return total.to_string();
    }
    if total < 10.0 && total.fract() != 0.0 {
        return format!("{total:.1}s");
    }
    // Truncation is intended: sub-second precision does not matter here.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = total as u64;
    // The two largest units, leaving out a zero second one: 1h, 1h30m, 3d.
    let (big, big_unit, small, small_unit) = match s {
        0..60 => return format!("{s}s"),
        60..3600 => (s / 60, "m", s % 60, "s"),
        3600..86_400 => (s / 3600, "h", s % 3600 / 60, "m"),
        _ => (s / 86_400, "d", s % 86_400 / 3600, "h"),
    };
    if small == 0 { format!("{big}{big_unit}") } else { format!("{big}{big_unit}{small}{small_unit}") }
}

/// A retention TTL: `off` for 0, else a short duration.
pub(crate) fn ttl(total: u64) -> String {
    match total {
        0 => "off".to_owned(),
        // u64 seconds → f64 is exact for any realistic TTL.
        #[allow(clippy::cast_precision_loss)]
        s => seconds(s as f64),
    }
}

/// An RFC 3339 string for the JSON output.
pub(crate) fn json_time(at: OffsetDateTime) -> Value {
    Value::String(at.format(&Rfc3339).unwrap_or_else(|_| at.to_string()))
}

/// [`json_time`] or `null`.
pub(crate) fn json_opt_time(at: Option<OffsetDateTime>) -> Value {
    at.map_or(Value::Null, json_time)
}

/// Inserts `key` into the JSON object `object` only when `value` is present
/// (the API leaves such fields out instead of sending `null`).
pub(crate) fn insert_some(object: &mut Value, key: &str, value: Option<Value>) {
    if let (Value::Object(map), Some(value)) = (object, value) {
        map.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn tables_are_aligned_without_borders() {
        let text = table(
            &["NAME", "COUNT"],
            [vec!["a".to_owned(), "1".to_owned()], vec!["longer".to_owned(), "22".to_owned()]],
        );
        assert_eq!(text, "NAME    COUNT\na       1\nlonger  22");
        let text = details([("id", "x".to_owned()), ("status", "ok".to_owned())]);
        assert_eq!(text, "id:      x\nstatus:  ok");
    }

    #[test]
    fn formats_times_durations_and_json() {
        assert_eq!(time(datetime!(2030-01-02 03:04:05.678 UTC)), "2030-01-02T03:04:05Z");
        assert_eq!(time(datetime!(2030-01-02 03:04:05 +02:00)), "2030-01-02T01:04:05Z");
        assert_eq!(opt_time(None), "-");
        assert_eq!(seconds(1.25), "1.2s");
        assert_eq!(seconds(42.0), "42s");
        assert_eq!(seconds(192.0), "3m12s");
        assert_eq!(seconds(7500.0), "2h5m");
        assert_eq!(seconds(3600.0), "1h");
        assert_eq!(seconds(90_000.0), "1d1h");
        assert_eq!(ttl(259_200), "3d");
        assert_eq!(ttl(0), "off");
        assert_eq!(json_short(&json!({"a": "bcdefgh"}), 8), "{\"a\":\"b…");
        assert_eq!(json_short(&json!(1), 8), "1");
        assert_eq!(json_full(&json!({})), "{}");
        let mut object = json!({});
        insert_some(&mut object, "a", None);
        insert_some(&mut object, "b", Some(json!(1)));
        assert_eq!(object, json!({"b": 1}));
    }
}
