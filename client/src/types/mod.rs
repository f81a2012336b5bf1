//! The API's request and response bodies, one module per resource.
//! Times are RFC 3339 on the wire; response fields this client does not
//! know are ignored, and (ext) fields are optional so older servers work.

pub mod checkpoints;
pub mod events;
pub mod handoff;
pub mod queues;
pub mod results;
pub mod runs;
pub mod schedules;
pub mod tasks;
pub mod workflows;
