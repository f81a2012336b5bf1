//! Optional bearer-token authentication of `/api/v1` (the API's (ext) 401).
//! The probes, `/metrics` and the docs stay open so orchestrators and
//! scrapers need no secret.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

pub(crate) async fn require_bearer(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(bearer);
    match presented {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => next.run(request).await,
        _ => {
            let mut response =
                ApiError::new(ErrorCode::Unauthorized, "a valid bearer token is required").into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// The token of `Bearer <token>`. RFC 9110 makes the scheme name
/// case-insensitive (`bearer`, `BEARER`) and lets one or more spaces follow it.
fn bearer(credentials: &str) -> Option<&str> {
    let (scheme, token) = credentials.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim_start_matches(' '))
}

/// Compares without an early exit, so response timing does not reveal how
/// much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::{bearer, constant_time_eq};

    #[test]
    fn the_scheme_is_case_insensitive() {
        for credentials in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR   s3cret", " Bearer s3cret "] {
            assert_eq!(bearer(credentials), Some("s3cret"), "{credentials:?}");
        }
        for credentials in ["Bearers3cret", "Basic s3cret", "Bearer", "s3cret", ""] {
            assert_eq!(bearer(credentials), None, "{credentials:?}");
        }
    }

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
