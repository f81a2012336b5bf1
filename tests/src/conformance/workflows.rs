//! Workflow runs: create, patch, get with its tasks, list with filters.

use std::collections::HashSet;

use durable_domain::command::{NewTask, WorkflowFilter};
use durable_domain::workflow::{NewWorkflowRun, WorkflowPatch, WorkflowRun, WorkflowStatus, WorkflowWithTasks};
use durable_domain::{NotFound, WorkflowRunId};
use durable_ports::{Service, ServiceError};
use serde_json::json;

use super::{Backend, Ctx, headers, new_task, unique};

fn new_workflow(name: &str) -> NewWorkflowRun {
    NewWorkflowRun {
        workflow_name: name.to_owned(),
        workflow_version: None,
        inputs: None,
        created_by: None,
        tags: Default::default(),
    }
}

pub async fn workflow_create_get_and_patch(backend: Backend) {
    let ctx = Ctx::new(backend);
    ctx.set_at(1.0);
    let name = unique("wf");
    let created = ctx
        .engine
        .create_workflow_run(NewWorkflowRun {
            workflow_name: name.clone(),
            workflow_version: Some("v2".into()),
            inputs: Some(json!({"order": 42})),
            created_by: Some("alice".into()),
            tags: headers(&[("env", "test")]),
        })
        .await
        .unwrap();
    assert_eq!(created.workflow_name, name);
    assert_eq!(created.status, WorkflowStatus::Pending);
    assert_eq!((created.created_at, created.updated_at), (ctx.at(1.0), ctx.at(1.0)));
    assert_eq!(created.workflow_version.as_deref(), Some("v2"));
    assert_eq!(created.inputs, Some(json!({"order": 42})));
    assert_eq!(created.created_by.as_deref(), Some("alice"));
    assert_eq!(created.tags, headers(&[("env", "test")]));
    let WorkflowWithTasks { run: got, tasks } = ctx.engine.get_workflow_run(created.id).await.unwrap();
    assert_eq!(got, created);
    assert!(tasks.is_empty());

    ctx.set_at(5.0);
    let patch = WorkflowPatch {
        status: Some(WorkflowStatus::Running),
        started_at: Some(ctx.at(4.0)),
        ..WorkflowPatch::default()
    };
    let running = ctx.engine.update_workflow_run(created.id, patch).await.unwrap();
    assert_eq!(running.status, WorkflowStatus::Running);
    assert_eq!(running.started_at, Some(ctx.at(4.0)));
    assert_eq!(running.updated_at, ctx.at(5.0));
    assert_eq!(running.inputs, created.inputs, "fields not in the patch are kept");
    ctx.set_at(9.0);
    let patch = WorkflowPatch {
        status: Some(WorkflowStatus::Completed),
        result: Some(json!("ok")),
        completed_at: Some(ctx.at(9.0)),
        ..WorkflowPatch::default()
    };
    let done = ctx.engine.update_workflow_run(created.id, patch).await.unwrap();
    let expected = WorkflowRun {
        status: WorkflowStatus::Completed,
        result: Some(json!("ok")),
        started_at: Some(ctx.at(4.0)),
        completed_at: Some(ctx.at(9.0)),
        updated_at: ctx.at(9.0),
        ..created.clone()
    };
    assert_eq!(done, expected);
    assert_eq!(ctx.engine.get_workflow_run(created.id).await.unwrap().run, expected);
}

pub async fn workflow_lists_its_tasks(backend: Backend) {
    let ctx = Ctx::new(backend);
    let (qa, qb) = (ctx.queue().await, ctx.queue().await);
    let workflow = ctx.engine.create_workflow_run(new_workflow(&unique("wf"))).await.unwrap();
    let member = |name: &str| NewTask { workflow_run_id: Some(workflow.id), ..new_task(name) };
    let first = ctx.create(&qa, member("one")).await;
    assert_eq!(first.workflow_run_id, Some(workflow.id));
    ctx.task(&qa).await; // not a member
    let batch = ctx.engine.create_tasks(qb.clone(), vec![member("two"), member("three")]).await.unwrap();
    assert!(batch.iter().all(|c| c.workflow_run_id == Some(workflow.id)));
    let tasks = ctx.engine.get_workflow_run(workflow.id).await.unwrap().tasks;
    let ids: Vec<_> = tasks.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![first.task_id, batch[0].task_id, batch[1].task_id], "its tasks, oldest first");
    assert!(tasks.iter().all(|t| t.spec.workflow_run_id == Some(workflow.id)));
    assert_eq!(ctx.get(first.task_id).await.spec.workflow_run_id, Some(workflow.id));
    let claimed = ctx.claim(&qb, 10).await;
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|s| s.task.spec.workflow_run_id == Some(workflow.id)), "claims carry it");
}

pub async fn workflow_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let unknown = WorkflowRunId::new();
    assert_err!(ctx.engine.get_workflow_run(unknown).await, ServiceError::NotFound(NotFound::WorkflowRun(_)));
    let patch = WorkflowPatch { status: Some(WorkflowStatus::Running), ..WorkflowPatch::default() };
    assert_err!(ctx.engine.update_workflow_run(unknown, patch).await, ServiceError::NotFound(NotFound::WorkflowRun(_)));
}

pub async fn workflow_list_filters_and_pages(backend: Backend) {
    let ctx = Ctx::new(backend);
    let (name, other) = (unique("wf"), unique("wf"));
    let mut mine = Vec::new();
    for i in 0..7 {
        let run = ctx.engine.create_workflow_run(new_workflow(&name)).await.unwrap();
        if i % 2 == 0 {
            let patch = WorkflowPatch { status: Some(WorkflowStatus::Running), ..WorkflowPatch::default() };
            ctx.engine.update_workflow_run(run.id, patch).await.unwrap();
        }
        mine.push(run.id);
    }
    let theirs = ctx.engine.create_workflow_run(new_workflow(&other)).await.unwrap();
    // paged, newest first
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let filter =
            WorkflowFilter { workflow_name: Some(name.clone()), cursor, limit: 3, ..WorkflowFilter::default() };
        let page = ctx.engine.list_workflow_runs(filter).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|w| w.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let newest_first: Vec<_> = mine.iter().rev().copied().collect();
    assert_eq!(seen, newest_first, "every run once, newest first");
    // status filter
    let filter = WorkflowFilter {
        workflow_name: Some(name.clone()),
        status: Some(WorkflowStatus::Running),
        limit: 100,
        ..WorkflowFilter::default()
    };
    let running: Vec<_> =
        ctx.engine.list_workflow_runs(filter).await.unwrap().items.into_iter().map(|w| w.id).collect();
    assert_eq!(running, vec![mine[6], mine[4], mine[2], mine[0]]);
    let filter = WorkflowFilter { status: Some(WorkflowStatus::Pending), limit: 1000, ..WorkflowFilter::default() };
    let pending: HashSet<_> =
        ctx.engine.list_workflow_runs(filter).await.unwrap().items.into_iter().map(|w| w.id).collect();
    assert!(pending.contains(&theirs.id) && pending.contains(&mine[1]) && !pending.contains(&mine[0]));
}
