//! Errors that cross the ports. Few variants, each one a caller acts on.

use durable_domain::{NotFound, Rejection, ValidationError};
use thiserror::Error;

/// What a [`crate::Store`] call can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Conflict(#[from] Rejection),
    /// A rule only the store can check (e.g. the queue limit).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The backend cannot be reached; the caller may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Other(String),
}

/// What a [`crate::Service`] call can fail with; maps one-to-one onto the
/// API's status codes (400, 404, 409, 503, 500).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Conflict(#[from] Rejection),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(e) => Self::NotFound(e),
            StoreError::Conflict(e) => Self::Conflict(e),
            StoreError::Invalid(e) => Self::Validation(e),
            StoreError::Unavailable(e) => Self::Unavailable(e),
            StoreError::Other(e) => Self::Internal(e),
        }
    }
}

/// The failure of one item of a batch whose other items may succeed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ItemError {
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Conflict(#[from] Rejection),
}
