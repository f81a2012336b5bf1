//! Request and response bodies: the wire format, owned by this adapter and
//! converted to and from domain types at the edge.

pub mod any_json;
pub mod checkpoints;
pub mod events;
pub mod ops;
pub mod queues;
pub mod rules;
pub mod runs;
pub mod schedules;
pub mod status;
pub mod tasks;
pub mod wire;
pub mod workflows;
pub use any_json::AnyJson;
