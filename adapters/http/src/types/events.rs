use durable_domain::event::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AnyJson;
use super::rules::{NameText, QueryLimit, QueryUuid, Text};

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmitEventRequest {
    #[schema(value_type = NameText)]
    pub event_name: String,
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub payload: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    pub event_id: Uuid,
    pub event_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// (ext) The recorded outcome of one of a task's waits: its step, and the
/// event's payload (or the child's end) or a timeout.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaitOutcomeBody {
    pub step_name: String,
    /// `resolved` or `timeout`.
    pub outcome: String,
    /// Absent for a timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = AnyJson)]
    pub payload: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitOutcomeList {
    pub waits: Vec<WaitOutcomeBody>,
}

impl From<(String, durable_domain::event::WaitOutcome)> for WaitOutcomeBody {
    fn from((step_name, outcome): (String, durable_domain::event::WaitOutcome)) -> Self {
        match outcome {
            durable_domain::event::WaitOutcome::Resolved { payload } => {
                Self { step_name, outcome: "resolved".into(), payload: Some(payload) }
            }
            durable_domain::event::WaitOutcome::Timeout => Self { step_name, outcome: "timeout".into(), payload: None },
        }
    }
}

/// (ext) An event with its payload, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetail {
    pub event_id: Uuid,
    pub event_name: String,
    #[schema(value_type = AnyJson)]
    pub payload: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Event> for EventDetail {
    fn from(event: Event) -> Self {
        Self {
            event_id: event.id.as_uuid(),
            event_name: event.name,
            payload: event.payload,
            created_at: event.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventDetail>,
    /// Pass as `cursor` to get the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events of this name.
    #[param(value_type = Option<Text>, inline)]
    pub event_name: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<QueryUuid>, inline)]
    pub cursor: Option<String>,
    /// At least 1, default 50; more than 1000 is taken as 1000.
    #[param(value_type = Option<QueryLimit>, inline)]
    pub limit: Option<String>,
}

impl From<Event> for EventResponse {
    fn from(event: Event) -> Self {
        Self { event_id: event.id.as_uuid(), event_name: event.name, created_at: event.created_at }
    }
}
