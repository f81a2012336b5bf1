use durable_domain::event::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AnyJson;
use super::rules::NameText;

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

impl From<Event> for EventResponse {
    fn from(event: Event) -> Self {
        Self { event_id: event.id.as_uuid(), event_name: event.name, created_at: event.created_at }
    }
}
