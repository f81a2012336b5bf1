use durable_domain::EventId;
use durable_domain::event::Event;
use durable_ports::MockService;
use serde_json::{Value, json};

use crate::fixtures::{NOW, NOW_TEXT};
use crate::harness::{app, post, untouched};

#[tokio::test]
async fn emit_event() {
    let id = EventId::new();
    let mut service = MockService::new();
    service
        .expect_emit_event()
        .withf(|name, payload| name == "paid" && *payload == json!({"amount": 5}))
        .returning(move |name, payload| Ok(Event { id, name, payload, created_at: NOW }));
    let body = post(app(service), "/api/v1/events", json!({"event_name": "paid", "payload": {"amount": 5}})).await;
    assert_eq!(body.ok(201), json!({"event_id": id.to_string(), "event_name": "paid", "created_at": NOW_TEXT}));
}

#[tokio::test]
async fn emit_event_without_payload() {
    let mut service = MockService::new();
    service
        .expect_emit_event()
        .withf(|_, payload| *payload == Value::Null)
        .returning(|name, payload| Ok(Event { id: EventId::new(), name, payload, created_at: NOW }));
    post(app(service), "/api/v1/events", json!({"event_name": "paid"})).await.ok(201);
    let reply = post(untouched(), "/api/v1/events", json!({"payload": 1})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "event_name is required");
}
