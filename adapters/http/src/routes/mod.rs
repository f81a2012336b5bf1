//! Handlers, one module per resource. Each `routes()` uses paths relative to
//! `/api/v1`; the `#[utoipa::path]` of each handler carries the full path.

pub(crate) mod checkpoints;
pub(crate) mod events;
pub(crate) mod ops;
pub(crate) mod queues;
pub(crate) mod runs;
pub(crate) mod schedules;
pub(crate) mod tasks;
pub(crate) mod workflows;

use std::sync::Arc;

use axum::Router;
use durable_ports::Service;

/// The state every handler gets: the use cases behind the API.
pub(crate) type SharedService = Arc<dyn Service>;

/// Every `/api/v1` route.
pub(crate) fn api() -> Router<SharedService> {
    Router::new()
        .merge(queues::routes())
        .merge(tasks::routes())
        .merge(runs::routes())
        .merge(checkpoints::routes())
        .merge(events::routes())
        .merge(workflows::routes())
        .merge(schedules::routes())
}
