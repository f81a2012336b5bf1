//! JSON bodies into request types, with rejections that name the field
//! (`"limit must be an integer"`, `"tasks[2].task_name is required"`)
//! instead of serde's wording.

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;

/// Every request body of the API is a JSON object.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(ApiError::validation("request body is empty; a JSON object is required"));
        }
        // serde's derive would also read a struct from an array, by position.
        Some(b'[') => return Err(ApiError::validation("request body must be a JSON object")),
        Some(_) => {}
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(rejection)?;
    // Trailing garbage after the value is malformed JSON too.
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn rejection(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = err.inner();
    match inner.classify() {
        Category::Data => {
            let path = err.path().to_string();
            ApiError::validation(describe(&path, message_of(inner)))
        }
        Category::Syntax | Category::Eof | Category::Io => malformed(inner),
    }
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::validation(format!("malformed JSON: {err} (the request body must be a JSON object)"))
}

/// serde_json appends the position to every message; a data error is about
/// a field, so the position only adds noise.
fn message_of(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Rewrites one of serde's data-error messages, raised at `path`.
fn describe(path: &str, message: String) -> String {
    let subject = if path == "." { "request body" } else { path };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return if path == "." { format!("{name} is required") } else { format!("{path}.{name} is required") };
    }
    match expectation(&message) {
        Some(expected) => format!("{subject} must be {}", plain(expected)),
        None => format!("{subject}: {message}"),
    }
}

/// What serde expected, from messages of the form `"invalid type: <found>,
/// expected <what>"` (and the like for values, lengths and variants).
fn expectation(message: &str) -> Option<&str> {
    const WITH_EXPECTATION: [&str; 4] = ["invalid type: ", "invalid value: ", "invalid length ", "unknown variant "];
    if !WITH_EXPECTATION.iter().any(|prefix| message.starts_with(prefix)) {
        return None;
    }
    let marker = ", expected ";
    message.rfind(marker).map(|at| &message[at + marker.len()..])
}

/// serde names Rust types (`i64`, `struct ClaimBody`); clients know JSON.
fn plain(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
        "f32" | "f64" => "a number",
        "a map" => "an object",
        "a sequence" => "an array",
        s if s.starts_with("struct ") => "an object",
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Item {
        task_name: String,
        limit: Option<i64>,
        seconds: Option<f64>,
        kind: Option<Kind>,
        headers: Option<BTreeMap<String, String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Fixed,
        Exponential,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Batch {
        tasks: Vec<Item>,
    }

    fn message(body: &str) -> String {
        decode::<Batch>(body.as_bytes()).unwrap_err().message
    }

    #[test]
    fn missing_fields_are_required() {
        assert_eq!(message("{}"), "tasks is required");
        assert_eq!(message(r#"{"tasks": [{"task_name": "a"}, {}]}"#), "tasks[1].task_name is required");
    }

    #[test]
    fn wrong_types_name_the_field_and_the_json_type() {
        let body = |item: &str| format!(r#"{{"tasks": [{{"task_name": "a", {item}}}]}}"#);
        assert_eq!(message(&body(r#""limit": "x""#)), "tasks[0].limit must be an integer");
        assert_eq!(message(&body(r#""limit": 1.5"#)), "tasks[0].limit must be an integer");
        assert_eq!(message(&body(r#""seconds": "x""#)), "tasks[0].seconds must be a number");
        assert_eq!(message(&body(r#""kind": "daily""#)), "tasks[0].kind must be `fixed` or `exponential`");
        assert_eq!(message(&body(r#""headers": {"a": 1}"#)), "tasks[0].headers.a must be a string");
        assert_eq!(message(r#"{"tasks": {}}"#), "tasks must be an array");
        assert_eq!(message("[]"), "request body must be a JSON object");
        assert_eq!(message("5"), "request body must be an object");
    }

    #[test]
    fn integers_are_accepted_as_seconds() {
        let batch: Batch = decode(br#"{"tasks": [{"task_name": "a", "seconds": 3}]}"#).unwrap();
        assert_eq!(batch.tasks[0].seconds, Some(3.0));
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert!(message("{").starts_with("malformed JSON"));
        assert!(message(r#"{"tasks": []} x"#).starts_with("malformed JSON"));
        assert!(message("").contains("empty"));
    }
}
