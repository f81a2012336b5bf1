//! Extractors whose every rejection is an [`ApiError`], so a client never
//! sees axum's plain-text defaults.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::RawPathParams as AxumRawPathParams;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::decode::decode;
use crate::error::{ApiError, ErrorCode};

/// A required JSON body; also a JSON response.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        let bytes = read_body(req, state).await?;
        decode(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => {
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
            }
            Err(e) => ApiError::internal(format!("serializing a response: {e}")).into_response(),
        }
    }
}

/// A JSON body that may be left out entirely: an empty body is `None`
/// whatever its content type, since clients post it without one.
#[derive(Clone, Copy, Debug, Default)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        require_json(&headers)?;
        decode(&bytes).map(|value| Self(Some(value)))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, "request body is over the size limit")
        } else {
            ApiError::validation(format!("failed to read the request body: {}", rejection.body_text()))
        }
    })
}

/// `application/json`, with or without parameters, or any `+json` type.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    match essence {
        Some(mime) if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) => {
            Ok(())
        }
        // API.md lists 400 for every malformed request; clients know no 415.
        _ => Err(ApiError::new(ErrorCode::Validation, "Content-Type must be application/json")),
    }
}

/// The parameters of the matched path, parsed by name in the handler so a
/// bad one is reported by its name (`"run_id must be a valid UUID"`).
#[derive(Debug)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    pub fn string(&self, name: &str) -> Result<String, ApiError> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| ApiError::internal(format!("route has no path parameter {name:?}")))
    }

    pub fn id<T: FromStr>(&self, name: &str) -> Result<T, ApiError> {
        self.string(name)?.parse().map_err(|_| ApiError::invalid_uuid(name))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = AxumRawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::validation(rejection.body_text()))?;
        Ok(Self(raw.iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect()))
    }
}

/// A query string into a struct of `Option<String>` fields; the handler
/// converts each one and names it when it is wrong.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::validation(format!("invalid query string: {}", rejection.body_text())))
    }
}

/// An empty query value counts as absent: some clients send `status=`
/// for "no filter".
pub fn present(raw: Option<String>) -> Option<String> {
    raw.filter(|value| !value.is_empty())
}

/// A UUID query parameter such as `cursor` or `task_id`.
pub fn query_id<T: FromStr>(name: &str, raw: Option<String>) -> Result<Option<T>, ApiError> {
    present(raw).map(|value| value.parse().map_err(|_| ApiError::invalid_uuid(name))).transpose()
}

/// The `limit` of a listing; its range is the domain's rule.
pub fn page_limit(raw: Option<String>) -> Result<u32, ApiError> {
    let limit = present(raw)
        .map(|value| value.parse::<i64>().map_err(|_| ApiError::validation("limit must be an integer")))
        .transpose()?;
    durable_domain::command::page_limit(limit).map_err(|e| ApiError::validation(e.message))
}

/// A status filter, parsed by the domain's own `parse`.
pub fn status<T>(
    raw: Option<String>,
    parse: fn(&str) -> Option<T>,
    all: impl IntoIterator<Item = &'static str>,
) -> Result<Option<T>, ApiError> {
    present(raw)
        .map(|value| {
            parse(&value).ok_or_else(|| {
                let names: Vec<&str> = all.into_iter().collect();
                ApiError::validation(format!("status must be one of {}", names.join(", ")))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use durable_domain::TaskStatus;

    use super::*;

    #[test]
    fn content_types() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            require_json(&headers)
        };
        assert!(with("application/json").is_ok());
        assert!(with("Application/JSON; charset=utf-8").is_ok());
        assert!(with("application/problem+json").is_ok());
        assert_eq!(with("text/plain").unwrap_err().code, ErrorCode::Validation);
        assert!(require_json(&HeaderMap::new()).is_err());
    }

    #[test]
    fn query_values() {
        assert_eq!(page_limit(None).unwrap(), 50);
        assert_eq!(page_limit(Some(String::new())).unwrap(), 50);
        assert_eq!(page_limit(Some("x".into())).unwrap_err().message, "limit must be an integer");
        assert!(page_limit(Some("0".into())).unwrap_err().message.starts_with("limit must be between"));
        let names = TaskStatus::ALL.map(TaskStatus::as_str);
        assert_eq!(status(Some("failed".into()), TaskStatus::parse, names).unwrap(), Some(TaskStatus::Failed));
        let err = status(Some("done".into()), TaskStatus::parse, names).unwrap_err();
        assert_eq!(err.message, "status must be one of pending, completed, failed, canceled");
        let err = query_id::<uuid::Uuid>("cursor", Some("nope".into())).unwrap_err();
        assert_eq!(err.message, "cursor must be a valid UUID");
    }
}
