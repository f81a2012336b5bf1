//! Workflow runs: create, patch, get with its tasks, list with filters, 404.

use std::collections::HashSet;

use durable_client::{
    ClaimRequest, CreateTask, CreateWorkflowRun, ErrorCode, ListWorkflowRuns, TaskStatus, UpdateWorkflowRun,
    WorkflowStatus,
};
use futures::TryStreamExt;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{Harness, expect_api_error};

/// Whole seconds, as clients usually send them.
fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn workflow_runs_lifecycle_tasks_and_filters() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("wf").await;

    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let etl = c
        .create_workflow_run(
            &CreateWorkflowRun::new("etl")
                .version("v2")
                .inputs(json!({"date": "2030-01-01"}))
                .created_by("alice")
                .tag("env", "test")
                .tag("team", "data"),
        )
        .await
        .unwrap();
    assert_eq!(etl.workflow_name, "etl");
    assert_eq!(etl.status, WorkflowStatus::Pending);
    assert!(etl.created_at >= before);
    let report = c.create_workflow_run(&CreateWorkflowRun::new("report")).await.unwrap();
    assert_eq!(report.status, WorkflowStatus::Pending);
    assert_ne!(report.workflow_run_id, etl.workflow_run_id);

    // Tasks of the workflow run carry its id.
    let extract = c.create_task("wf", &CreateTask::new("extract").workflow_run_id(etl.workflow_run_id)).await.unwrap();
    assert_eq!(extract.workflow_run_id, Some(etl.workflow_run_id));
    let batch = c.create_tasks("wf", &[CreateTask::new("load").workflow_run_id(etl.workflow_run_id)]).await.unwrap();
    assert_eq!(batch[0].workflow_run_id, Some(etl.workflow_run_id));
    let unrelated = c.create_task("wf", &CreateTask::new("other")).await.unwrap();
    assert_eq!(unrelated.workflow_run_id, None);

    let claimed = c.claim("wf", &ClaimRequest::new(1, 30)).await.unwrap();
    assert_eq!(claimed[0].task_id, extract.task_id);
    assert_eq!(claimed[0].workflow_run_id, Some(etl.workflow_run_id));
    c.complete_run(claimed[0].run_id, None).await.unwrap();

    // Patch: running, then completed with a result.
    let started_at = now_seconds();
    let running = c
        .update_workflow_run(
            etl.workflow_run_id,
            &UpdateWorkflowRun::default().status(WorkflowStatus::Running).started_at(started_at),
        )
        .await
        .unwrap();
    assert_eq!(running.workflow_run_id, etl.workflow_run_id);
    assert_eq!(running.status, WorkflowStatus::Running);
    let running_view = c.get_workflow_run(etl.workflow_run_id).await.unwrap();
    assert_eq!(running_view.status, WorkflowStatus::Running);
    assert_eq!(running_view.started_at, Some(started_at));
    assert_eq!(running_view.completed_at, None);

    let completed_at = now_seconds();
    let done = c
        .update_workflow_run(
            etl.workflow_run_id,
            &UpdateWorkflowRun::default()
                .status(WorkflowStatus::Completed)
                .result(json!({"rows": 1000}))
                .completed_at(completed_at),
        )
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert!(done.updated_at >= running.updated_at);

    // Get: every field, and its tasks (not the unrelated one).
    let got = c.get_workflow_run(etl.workflow_run_id).await.unwrap();
    assert_eq!(got.workflow_run_id, etl.workflow_run_id);
    assert_eq!(got.workflow_name, "etl");
    assert_eq!(got.workflow_version.as_deref(), Some("v2"));
    assert_eq!(got.inputs, Some(json!({"date": "2030-01-01"})));
    assert_eq!(got.created_by.as_deref(), Some("alice"));
    assert_eq!(got.tags.get("env").map(String::as_str), Some("test"));
    assert_eq!(got.tags.get("team").map(String::as_str), Some("data"));
    assert_eq!(got.tags.len(), 2);
    assert_eq!(got.status, WorkflowStatus::Completed);
    assert_eq!(got.result, Some(json!({"rows": 1000})));
    assert_eq!(got.started_at, Some(started_at), "a later patch keeps started_at");
    assert_eq!(got.completed_at, Some(completed_at));
    assert_eq!(got.created_at, etl.created_at);
    let task_ids: HashSet<Uuid> = got.tasks.iter().map(|t| t.id).collect();
    assert_eq!(task_ids, HashSet::from([extract.task_id, batch[0].task_id]), "{:?}", got.tasks);
    let extract_summary = got.tasks.iter().find(|t| t.id == extract.task_id).unwrap();
    assert_eq!(extract_summary.status, TaskStatus::Completed);
    assert_eq!(extract_summary.task_name, "extract");

    // An empty patch changes nothing.
    let same = c.update_workflow_run(etl.workflow_run_id, &UpdateWorkflowRun::default()).await.unwrap();
    assert_eq!(same.status, WorkflowStatus::Completed);

    // Listing: newest first, filtered by name and by status.
    let all = c.list_workflow_runs(&ListWorkflowRuns::default()).await.unwrap();
    let ids: Vec<Uuid> = all.workflow_runs.iter().map(|w| w.workflow_run_id).collect();
    assert_eq!(ids, [report.workflow_run_id, etl.workflow_run_id]);
    assert_eq!(all.next_cursor, None);
    let by_name = c.list_workflow_runs(&ListWorkflowRuns::default().workflow_name("etl")).await.unwrap();
    assert_eq!(by_name.workflow_runs.len(), 1);
    assert_eq!(by_name.workflow_runs[0].workflow_run_id, etl.workflow_run_id);
    assert_eq!(by_name.workflow_runs[0].status, WorkflowStatus::Completed);
    let completed = c.list_workflow_runs(&ListWorkflowRuns::default().status(WorkflowStatus::Completed)).await.unwrap();
    let ids: Vec<Uuid> = completed.workflow_runs.iter().map(|w| w.workflow_run_id).collect();
    assert_eq!(ids, [etl.workflow_run_id]);
    let pending = c.list_workflow_runs(&ListWorkflowRuns::default().status(WorkflowStatus::Pending)).await.unwrap();
    let ids: Vec<Uuid> = pending.workflow_runs.iter().map(|w| w.workflow_run_id).collect();
    assert_eq!(ids, [report.workflow_run_id]);
    let none = c
        .list_workflow_runs(&ListWorkflowRuns::default().workflow_name("etl").status(WorkflowStatus::Failed))
        .await
        .unwrap();
    assert!(none.workflow_runs.is_empty());
    // Paged by one.
    let paged: Vec<Uuid> = c
        .list_all_workflow_runs(ListWorkflowRuns::default().limit(1))
        .map_ok(|w| w.workflow_run_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(paged, [report.workflow_run_id, etl.workflow_run_id]);

    // 404s.
    let unknown = Uuid::now_v7();
    expect_api_error(c.get_workflow_run(unknown).await, 404, ErrorCode::NotFound);
    expect_api_error(
        c.update_workflow_run(unknown, &UpdateWorkflowRun::default().status(WorkflowStatus::Failed)).await,
        404,
        ErrorCode::NotFound,
    );
    expect_api_error(
        c.create_task("wf", &CreateTask::new("x").workflow_run_id(unknown)).await,
        404,
        ErrorCode::NotFound,
    );
    h.stop().await;
}
