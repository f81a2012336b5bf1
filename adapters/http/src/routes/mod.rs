//! Handlers, one module per resource. Each `routes()` uses paths relative to
//! `/api/v1`; the `#[utoipa::path]` of each handler carries the full path.

pub mod checkpoints;
pub mod events;
pub mod ops;
pub mod queues;
pub mod runs;
pub mod tasks;
pub mod workflows;

use std::sync::Arc;

use axum::Router;
use durable_ports::Service;

/// The state every handler gets: the use cases behind the API.
pub type SharedService = Arc<dyn Service>;

/// Every `/api/v1` route.
pub fn api() -> Router<SharedService> {
    Router::new()
        .merge(queues::routes())
        .merge(tasks::routes())
        .merge(runs::routes())
        .merge(checkpoints::routes())
        .merge(events::routes())
        .merge(workflows::routes())
}
