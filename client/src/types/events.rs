//! Events: `POST /events` wakes every run waiting on the name.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// The body of `POST /events`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmitEvent {
    /// The name waiters wait on.
    pub event_name: String,
    /// What the waiters receive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl EmitEvent {
    /// An event named `event_name` with `payload`.
    pub fn new(event_name: impl Into<String>, payload: Option<Value>) -> Self {
        Self { event_name: event_name.into(), payload }
    }
}

/// The answer of `POST /events`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct EventEmitted {
    /// The stored event.
    pub event_id: Uuid,
    /// Its name.
    pub event_name: String,
    /// When it was stored.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
