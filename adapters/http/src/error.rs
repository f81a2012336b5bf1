//! The one place where failures become HTTP statuses and `{"error", "code"}`
//! bodies. Handlers and extractors only ever return [`ApiError`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use durable_ports::{ItemError, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error response of the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A human-readable message that names the offending field or entity.
    #[schema(example = "task_name is required")]
    pub error: String,
    /// A stable, machine-readable code.
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
}

/// The codes a client can act on. The string forms are part of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Validation,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "VALIDATION_ERROR",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Internal => "INTERNAL_ERROR",
            Self::Unavailable => "UNAVAILABLE",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A failed request: what the client is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// Clients see this instead of the cause of a 500; the cause goes to the log.
const INTERNAL_MESSAGE: &str = "internal error; see the server log";
/// Backend details (hosts, driver messages) stay in the log here too.
const UNAVAILABLE_MESSAGE: &str = "storage is unavailable; retry later";

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    /// `"<field> must be a valid UUID"`.
    pub fn invalid_uuid(field: &str) -> Self {
        Self::validation(format!("{field} must be a valid UUID"))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// Logs the cause; the client only learns that something went wrong.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, INTERNAL_MESSAGE)
    }

    /// Logs the cause; the client is told to retry.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "storage unavailable");
        Self::new(ErrorCode::Unavailable, UNAVAILABLE_MESSAGE)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.message.clone(), code: self.code.as_str().to_owned() }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Validation(e) => Self::validation(e.message),
            ServiceError::NotFound(e) => Self::not_found(e.to_string()),
            ServiceError::Conflict(e) => Self::new(ErrorCode::Conflict, e.to_string()),
            ServiceError::Unavailable(cause) => Self::unavailable(cause),
            ServiceError::Internal(cause) => Self::internal(cause),
            // `ServiceError` is non-exhaustive: a variant added later is a
            // server-side gap, not the client's fault.
            other => Self::internal(other),
        }
    }
}

impl From<ItemError> for ApiError {
    fn from(err: ItemError) -> Self {
        match err {
            ItemError::NotFound(e) => Self::not_found(e.to_string()),
            ItemError::Conflict(e) => Self::new(ErrorCode::Conflict, e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use durable_domain::{NotFound, Rejection, RunId, ValidationError};

    use super::*;

    #[test]
    fn service_errors_map_onto_the_contract() {
        let cases = [
            (ServiceError::Validation(ValidationError::required("task_name")), 400, "VALIDATION_ERROR"),
            (ServiceError::NotFound(NotFound::Queue("q".into())), 404, "NOT_FOUND"),
            (ServiceError::Conflict(Rejection::QueueExists("q".into())), 409, "CONFLICT"),
            (ServiceError::Unavailable("db down".into()), 503, "UNAVAILABLE"),
            (ServiceError::Internal("boom".into()), 500, "INTERNAL_ERROR"),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.code.status().as_u16(), status);
            assert_eq!(api.code.as_str(), code);
        }
    }

    #[test]
    fn causes_of_server_errors_stay_private() {
        let api = ApiError::from(ServiceError::Internal("password=hunter2".into()));
        assert!(!api.message.contains("hunter2"));
        let api = ApiError::from(ServiceError::Unavailable("host db.internal".into()));
        assert!(!api.message.contains("db.internal"));
    }

    #[test]
    fn item_errors_keep_their_message() {
        let run = RunId::new();
        let api = ApiError::from(ItemError::NotFound(NotFound::Run(run)));
        assert_eq!(api.code, ErrorCode::NotFound);
        assert_eq!(api.message, format!("run {run} not found"));
    }
}
