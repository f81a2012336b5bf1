//! JSON arguments (`--params`, `--result`, `--state`, `--payload`,
//! `--inputs`): parsed locally, before anything is sent, so a typo is a usage
//! error (exit 2) and never reaches the server. `@FILE` reads the JSON from a
//! file, `@-` from standard input.

use std::fmt;
use std::io::Read;

use serde_json::Value;

/// A mistake in the command line that clap cannot see: exit status 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses the value given to `flag` (e.g. `--params`) as JSON.
pub(crate) fn parse(flag: &str, raw: &str) -> Result<Value, UsageError> {
    let text = match raw.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| UsageError(format!("{flag}: cannot read standard input: {e}")))?;
            text
        }
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| UsageError(format!("{flag}: cannot read {path}: {e}")))?
        }
        None => raw.to_owned(),
    };
    parse_text(flag, &text)
}

/// `parse` of an optional argument.
pub(crate) fn parse_opt(flag: &str, raw: Option<&str>) -> Result<Option<Value>, UsageError> {
    raw.map(|raw| parse(flag, raw)).transpose()
}

fn parse_text(flag: &str, text: &str) -> Result<Value, UsageError> {
    serde_json::from_str(text).map_err(|e| UsageError(format!("{flag} is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_any_json_value() {
        assert_eq!(parse("--params", r#"{"a": [1, 2]}"#).unwrap(), json!({"a": [1, 2]}));
        assert_eq!(parse("--params", "42").unwrap(), json!(42));
        assert_eq!(parse("--params", r#""s""#).unwrap(), json!("s"));
        assert_eq!(parse("--params", "null").unwrap(), Value::Null);
        assert_eq!(parse_opt("--params", None).unwrap(), None);
    }

    #[test]
    fn names_the_flag_when_the_json_is_bad() {
        let err = parse("--params", "{not json").unwrap_err();
        assert!(err.to_string().starts_with("--params is not valid JSON: "), "{err}");
        let err = parse("--result", "abc").unwrap_err();
        assert!(err.to_string().starts_with("--result is not valid JSON"), "{err}");
    }

    #[test]
    fn reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"from": "file"}"#).unwrap();
        let arg = format!("@{}", path.display());
        assert_eq!(parse("--params", &arg).unwrap(), json!({"from": "file"}));
        let missing = format!("@{}", dir.path().join("nope.json").display());
        assert!(parse("--params", &missing).unwrap_err().to_string().contains("cannot read"));
    }
}
