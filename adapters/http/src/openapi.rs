//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use utoipa::openapi::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::ErrorBody;
use crate::metrics;
use crate::routes::{checkpoints, events, ops, queues, runs, schedules, tasks, workflows};

#[derive(OpenApi)]
#[openapi(
    info(title = "durable", description = "A durable task queue over HTTP."),
    paths(
        queues::list_queues,
        queues::create_queue,
        queues::update_queue,
        queues::delete_queue,
        queues::queue_stats,
        queues::queue_history,
        tasks::create_task,
        tasks::create_tasks,
        tasks::claim,
        tasks::list_tasks,
        tasks::get_task,
        tasks::cancel_task,
        tasks::retry_task,
        runs::list_runs,
        runs::complete_run,
        runs::complete_runs,
        runs::fail_run,
        runs::schedule_run,
        runs::heartbeat_run,
        runs::wait_for_event,
        runs::wait_for_task,
        tasks::task_result,
        checkpoints::put_checkpoint,
        checkpoints::get_checkpoint,
        checkpoints::list_checkpoints,
        events::emit_event,
        events::list_events,
        events::list_waits,
        workflows::create_workflow_run,
        workflows::update_workflow_run,
        workflows::get_workflow_run,
        workflows::list_workflow_runs,
        schedules::create_schedule,
        schedules::list_schedules,
        schedules::get_schedule,
        schedules::update_schedule,
        schedules::delete_schedule,
        ops::healthz,
        ops::readyz,
        metrics::metrics,
    ),
    components(schemas(ErrorBody)),
    modifiers(&CommonErrors),
)]
struct ApiDoc;

/// The document served at `/openapi.json`.
pub fn openapi() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// Every `/api/v1` operation can answer these; listing them once here keeps
/// the handlers' annotations about what is particular to each.
struct CommonErrors;

const ANY_OPERATION: &[(&str, &str)] = &[
    ("400", "Invalid input: a missing or invalid field or parameter, a bad UUID"),
    ("500", "Internal error; details are in the server log"),
    ("503", "(ext) Storage is unavailable; retry later"),
];

const WITH_BODY: &[(&str, &str)] = &[("413", "(ext) The body is over the configured limit")];

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let error_ref = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ErrorBody::name()));
        let error_response = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", ContentBuilder::new().schema(Some(error_ref.clone())).build())
                .build()
        };
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let extra = if operation.request_body.is_some() { WITH_BODY } else { &[] };
                for (status, description) in ANY_OPERATION.iter().chain(extra) {
                    let responses = &mut operation.responses.responses;
                    responses.entry((*status).to_owned()).or_insert_with(|| error_response(description).into());
                }
            }
        }
    }
}
