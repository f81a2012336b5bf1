//! The one error type of the client: an API error (`{"error", "code"}` body
//! with its HTTP status), a transport failure, or an undecodable response.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The machine-readable `code` of an API error body.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorCode {
    /// `VALIDATION_ERROR` (400): malformed JSON, a missing or invalid field.
    ValidationError,
    /// `UNAUTHORIZED` (401): the bearer token is missing or wrong.
    Unauthorized,
    /// `NOT_FOUND` (404): the queue, task, run, checkpoint or workflow run does not exist.
    NotFound,
    /// `CONFLICT` (409): the current state forbids the request (claim lost, already finished, …).
    Conflict,
    /// `PAYLOAD_TOO_LARGE` (413): the body is over the server's limit.
    PayloadTooLarge,
    /// `UNAVAILABLE` (503): storage is unreachable; the request may be retried.
    Unavailable,
    /// `INTERNAL_ERROR` (500): anything else; details are in the server log.
    InternalError,
    /// A code this client does not know, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Unavailable => "UNAVAILABLE",
            Self::InternalError => "INTERNAL_ERROR",
            Self::Other(code) => code,
        }
    }

    /// The code the API pairs with an HTTP status, for error responses whose
    /// body is not the API's JSON (a proxy's HTML page, an empty body).
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::ValidationError,
            401 => Self::Unauthorized,
            404 => Self::NotFound,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            503 => Self::Unavailable,
            500 => Self::InternalError,
            other => Self::Other(format!("HTTP_{other}")),
        }
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        match code.as_str() {
            "VALIDATION_ERROR" => Self::ValidationError,
            "UNAUTHORIZED" => Self::Unauthorized,
            "NOT_FOUND" => Self::NotFound,
            "CONFLICT" => Self::Conflict,
            "PAYLOAD_TOO_LARGE" => Self::PayloadTooLarge,
            "UNAVAILABLE" => Self::Unavailable,
            "INTERNAL_ERROR" => Self::InternalError,
            _ => Self::Other(code),
        }
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Other(code) => code,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response: `{"error": "<message>", "code": "<CODE>"}`.
/// Also the per-item error of a batch complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The human-readable message; it names the offending field or entity.
    pub error: String,
    /// The machine-readable code.
    pub code: ErrorCode,
}

impl ErrorBody {
    /// The error of one item of a batch as an [`Error::Api`], with the HTTP
    /// status its code stands for.
    pub fn into_error(self) -> Error {
        let status = match &self.code {
            ErrorCode::ValidationError => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unavailable => 503,
            ErrorCode::InternalError | ErrorCode::Other(_) => 500,
        };
        Error::Api { status, code: self.code, message: self.error }
    }
}

/// Everything a call of [`Client`](crate::Client) can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error("HTTP {status} {code}: {message}")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The API's error code.
        code: ErrorCode,
        /// The API's message.
        message: String,
    },
    /// The request never got an answer: connection refused or reset, timeout, TLS.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// A success response whose body is not what the API promises.
    #[error("cannot decode the HTTP {status} response: {source}")]
    Decode {
        /// The HTTP status of the response.
        status: u16,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
    /// The client was configured with something unusable (a bad base URL).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An argument no request can carry (a path segment of `.` or `..`);
    /// nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// An API error from a response status and its raw body; a body that is
    /// not `{"error", "code"}` still gives a typed error, by status.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        if let Ok(ErrorBody { error, code }) = serde_json::from_slice::<ErrorBody>(body) {
            Self::Api { status, code, message: error }
        } else {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let message = if text.is_empty() {
                format!("HTTP {status} with no error body")
            } else {
                text.chars().take(200).collect()
            };
            Self::Api { status, code: ErrorCode::from_status(status), message }
        }
    }

    /// The API's error code, for [`Error::Api`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, for [`Error::Api`] and [`Error::Decode`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `CONFLICT`: e.g. the claim on a run was lost or the task already finished.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(&ErrorCode::Conflict)
    }

    /// `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(&ErrorCode::NotFound)
    }

    /// `VALIDATION_ERROR`.
    pub fn is_validation(&self) -> bool {
        self.code() == Some(&ErrorCode::ValidationError)
    }

    /// `UNAUTHORIZED`.
    pub fn is_unauthorized(&self) -> bool {
        self.code() == Some(&ErrorCode::Unauthorized)
    }

    /// `UNAVAILABLE` (HTTP 503).
    pub fn is_unavailable(&self) -> bool {
        self.code() == Some(&ErrorCode::Unavailable) || self.status() == Some(503)
    }

    /// Worth trying again later: a transport failure, 503 or 500.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transport(_)) || self.is_unavailable() || self.code() == Some(&ErrorCode::InternalError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_api_error_body() {
        let err = Error::from_response(409, br#"{"error": "run is not claimed", "code": "CONFLICT"}"#);
        assert!(err.is_conflict());
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.to_string(), "HTTP 409 CONFLICT: run is not claimed");
        let err = Error::from_response(404, br#"{"error": "queue \"x\" not found", "code": "NOT_FOUND", "extra": 1}"#);
        assert!(err.is_not_found());
        assert!(matches!(err, Error::Api { ref message, .. } if message == "queue \"x\" not found"));
    }

    #[test]
    fn every_known_code_round_trips() {
        for code in [
            "VALIDATION_ERROR",
            "UNAUTHORIZED",
            "NOT_FOUND",
            "CONFLICT",
            "PAYLOAD_TOO_LARGE",
            "UNAVAILABLE",
            "INTERNAL_ERROR",
            "METHOD_NOT_ALLOWED",
        ] {
            let parsed: ErrorCode = serde_json::from_value(serde_json::json!(code)).unwrap();
            assert_eq!(parsed.as_str(), code);
            assert_eq!(serde_json::to_value(&parsed).unwrap(), serde_json::json!(code));
        }
        assert_eq!(ErrorCode::from("METHOD_NOT_ALLOWED".to_owned()), ErrorCode::Other("METHOD_NOT_ALLOWED".into()));
    }

    #[test]
    fn a_body_that_is_not_the_api_shape_falls_back_to_the_status() {
        let err = Error::from_response(503, b"<html>Service Unavailable</html>");
        assert!(err.is_unavailable());
        assert!(err.is_transient());
        assert!(matches!(err, Error::Api { ref message, .. } if message.contains("Service Unavailable")));
        let err = Error::from_response(502, b"");
        assert_eq!(err.code(), Some(&ErrorCode::Other("HTTP_502".into())));
        assert!(!err.is_transient());
        assert!(Error::from_response(401, b"").is_unauthorized());
        assert!(Error::from_response(400, b"nope").is_validation());
    }
}
