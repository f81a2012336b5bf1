//! Extractors whose every rejection is an [`ApiError`], so a client never
//! sees axum's plain-text defaults.

use std::num::IntErrorKind;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::RawPathParams as AxumRawPathParams;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::decode::decode;
use crate::error::{ApiError, ErrorCode};

/// A required JSON body, read as JSON whatever its `Content-Type` (as the
/// original server does: its quick start posts with `curl -d`, which says
/// `application/x-www-form-urlencoded`, and some clients send none); also a
/// JSON response.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
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

/// A JSON body that may be left out entirely: an empty body, or a JSON
/// `null`, is `None`. Like [`Json`], the content type is not looked at.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        decode::<Option<T>>(&bytes).map(Self)
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

/// The parameters of the matched path, parsed by name in the handler so a
/// bad one is reported by its name (`"run_id must be a valid UUID"`).
#[derive(Debug)]
pub(crate) struct PathParams(Vec<(String, String)>);

impl PathParams {
    pub(crate) fn string(&self, name: &str) -> Result<String, ApiError> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| ApiError::internal(format!("route has no path parameter {name:?}")))
    }

    pub(crate) fn id<T: FromStr>(&self, name: &str) -> Result<T, ApiError> {
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
pub(crate) struct Query<T>(pub T);

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
pub(crate) fn present(raw: Option<String>) -> Option<String> {
    raw.filter(|value| !value.is_empty())
}

/// A UUID query parameter such as `cursor` or `task_id`.
pub(crate) fn query_id<T: FromStr>(name: &str, raw: Option<String>) -> Result<Option<T>, ApiError> {
    present(raw).map(|value| value.parse().map_err(|_| ApiError::invalid_uuid(name))).transpose()
}

/// An RFC 3339 time query parameter such as `created_after`.
pub(crate) fn query_time(name: &str, raw: Option<String>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    present(raw)
        .map(|value| {
            time::OffsetDateTime::parse(&value, &time::format_description::well_known::Rfc3339)
                .map(|t| t.to_offset(time::UtcOffset::UTC))
                .map_err(|_| ApiError::validation(format!("{name} must be an RFC 3339 time")))
        })
        .transpose()
}

/// The `limit` of a listing; its range is the domain's rule. An integer
/// too large for 64 bits is still just "over the maximum".
pub(crate) fn page_limit(raw: Option<String>) -> Result<u32, ApiError> {
    let limit = present(raw)
        .map(|value| match value.parse::<i64>() {
            Ok(n) => Ok(n),
            Err(e) if *e.kind() == IntErrorKind::PosOverflow => Ok(i64::MAX),
            Err(e) if *e.kind() == IntErrorKind::NegOverflow => Ok(i64::MIN),
            Err(_) => Err(ApiError::validation("limit must be an integer")),
        })
        .transpose()?;
    durable_domain::command::page_limit(limit).map_err(|e| ApiError::validation(e.message))
}

/// A status filter, parsed by the domain's own `parse`.
pub(crate) fn status<T>(
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
    fn query_values() {
        assert_eq!(page_limit(None).unwrap(), 50);
        assert_eq!(page_limit(Some(String::new())).unwrap(), 50);
        assert_eq!(page_limit(Some("x".into())).unwrap_err().message, "limit must be an integer");
        assert_eq!(page_limit(Some("0".into())).unwrap_err().message, "limit must be at least 1");
        assert_eq!(page_limit(Some("-99999999999999999999".into())).unwrap_err().message, "limit must be at least 1");
        assert_eq!(page_limit(Some("1001".into())).unwrap(), 1000);
        assert_eq!(page_limit(Some("99999999999999999999".into())).unwrap(), 1000);
        let names = TaskStatus::ALL.map(TaskStatus::as_str);
        assert_eq!(status(Some("failed".into()), TaskStatus::parse, names).unwrap(), Some(TaskStatus::Failed));
        let err = status(Some("done".into()), TaskStatus::parse, names).unwrap_err();
        assert_eq!(err.message, "status must be one of pending, completed, failed, canceled");
        let err = query_id::<uuid::Uuid>("cursor", Some("nope".into())).unwrap_err();
        assert_eq!(err.message, "cursor must be a valid UUID");
    }
}
