//! Listings: newest first, filters, cursor pagination without gaps or
//! duplicates.

use durable_domain::command::{NewTask, RunFilter, TaskFilter};
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{RunId, RunStatus, Task, TaskId, TaskStatus};
use durable_ports::Service;

use super::{Backend, Ctx, new_task, unique};

async fn tasks(ctx: &Ctx, filter: TaskFilter) -> Vec<TaskId> {
    ctx.engine.list_tasks(filter).await.unwrap().items.iter().map(|t: &Task| t.id).collect()
}

async fn runs(ctx: &Ctx, filter: RunFilter) -> Vec<RunId> {
    ctx.engine.list_runs(filter).await.unwrap().items.iter().map(|r| r.id).collect()
}

fn retrying(attempts: i64) -> NewTask {
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 0.0, factor: None, max_seconds: None };
    NewTask { max_attempts: Some(attempts), retry_strategy: Some(strategy), ..new_task("retrying") }
}

pub async fn tasks_newest_first_with_filters(backend: Backend) {
    let ctx = Ctx::new(backend);
    let (qa, qb) = (ctx.queue().await, ctx.queue().await);
    let (alpha, beta) = (unique("alpha"), unique("beta"));
    let mut in_a = Vec::new();
    for name in [&alpha, &beta, &alpha, &beta, &alpha] {
        in_a.push(ctx.create(&qa, new_task(name)).await.task_id);
        ctx.advance(0.001); // distinct due times: claim order is then certain
    }
    let in_b = ctx.create(&qb, new_task(&alpha)).await.task_id;
    // finish the oldest alpha (completed) and the oldest beta (failed)
    let first = ctx.claim(&qa, 2).await;
    assert_eq!(first.iter().map(|s| s.task.id).collect::<Vec<_>>(), vec![in_a[0], in_a[1]]);
    ctx.complete(first[0].run.id).await;
    ctx.engine.fail_run(first[1].run.id, "boom".into()).await.unwrap();

    let by_queue = |queue: &str| TaskFilter { queue_name: Some(queue.to_owned()), limit: 100, ..TaskFilter::default() };
    let newest_first: Vec<_> = in_a.iter().rev().copied().collect();
    assert_eq!(tasks(&ctx, by_queue(&qa)).await, newest_first);
    let listed = ctx.engine.list_tasks(by_queue(&qa)).await.unwrap();
    assert_eq!(listed.next_cursor, None);
    let completed = listed.items.iter().find(|t| t.id == in_a[0]).unwrap();
    assert_eq!((completed.status, completed.queue.as_str()), (TaskStatus::Completed, qa.as_str()));
    assert!(completed.completed_at.is_some());

    let filter = TaskFilter { status: Some(TaskStatus::Completed), ..by_queue(&qa) };
    assert_eq!(tasks(&ctx, filter).await, vec![in_a[0]]);
    let filter = TaskFilter { status: Some(TaskStatus::Failed), ..by_queue(&qa) };
    assert_eq!(tasks(&ctx, filter).await, vec![in_a[1]]);
    let filter = TaskFilter { task_name: Some(alpha.clone()), ..by_queue(&qa) };
    assert_eq!(tasks(&ctx, filter).await, vec![in_a[4], in_a[2], in_a[0]]);
    let filter = TaskFilter { task_name: Some(alpha.clone()), status: Some(TaskStatus::Pending), ..by_queue(&qa) };
    assert_eq!(tasks(&ctx, filter).await, vec![in_a[4], in_a[2]]);
    let filter = TaskFilter { task_name: Some(alpha.clone()), limit: 100, ..TaskFilter::default() };
    assert_eq!(tasks(&ctx, filter).await, vec![in_b, in_a[4], in_a[2], in_a[0]], "across queues");
    let filter = TaskFilter { status: Some(TaskStatus::Canceled), ..by_queue(&qa) };
    assert!(tasks(&ctx, filter).await.is_empty());
}

pub async fn tasks_paginate_without_gaps_or_duplicates(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.engine.create_tasks(queue.clone(), vec![new_task("t"); 7]).await.unwrap();
    let expected: Vec<_> = created.iter().rev().map(|c| c.task_id).collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut sizes = Vec::new();
    loop {
        let filter = TaskFilter { queue_name: Some(queue.clone()), cursor, limit: 3, ..TaskFilter::default() };
        let page = ctx.engine.list_tasks(filter).await.unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(|t| t.id));
        if sizes.len() == 1 {
            // a task created while paging is newer than the cursor: it does
            // not show up on later pages, and nothing shifts
            ctx.task(&queue).await;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, expected, "every task once, newest first");
}

pub async fn runs_by_task_and_status(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let first = ctx.started_with(&queue, retrying(5), 30.0).await;
    ctx.engine.fail_run(first.run.id, "one".into()).await.unwrap();
    let second = ctx.claim_one(&queue).await;
    ctx.engine.fail_run(second.run.id, "two".into()).await.unwrap();
    let third = ctx.claim_one(&queue).await;
    let other = ctx.started(&queue).await;
    let task = first.task.id;

    let by_task = RunFilter { task_id: Some(task), status: None, cursor: None, limit: 100 };
    let listed = ctx.engine.list_runs(by_task.clone()).await.unwrap();
    let summary: Vec<_> = listed.items.iter().map(|r| (r.id, r.attempt, r.status, r.error.clone())).collect();
    assert_eq!(
        summary,
        vec![
            (third.run.id, 3, RunStatus::Claimed, None),
            (second.run.id, 2, RunStatus::Failed, Some("two".to_owned())),
            (first.run.id, 1, RunStatus::Failed, Some("one".to_owned())),
        ]
    );
    assert!(listed.items.iter().all(|r| r.task_id == task));
    let failed = RunFilter { status: Some(RunStatus::Failed), ..by_task.clone() };
    assert_eq!(runs(&ctx, failed).await, vec![second.run.id, first.run.id]);
    let claimed = RunFilter { status: Some(RunStatus::Claimed), ..by_task.clone() };
    assert_eq!(runs(&ctx, claimed).await, vec![third.run.id]);
    let pending = RunFilter { status: Some(RunStatus::Pending), ..by_task };
    assert!(runs(&ctx, pending).await.is_empty());
    let all_claimed = RunFilter { task_id: None, status: Some(RunStatus::Claimed), cursor: None, limit: 1000 };
    let all_claimed = runs(&ctx, all_claimed).await;
    assert!(all_claimed.contains(&third.run.id) && all_claimed.contains(&other.run.id));
    assert!(!all_claimed.contains(&first.run.id));
}

pub async fn runs_paginate_without_gaps_or_duplicates(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut held = ctx.started_with(&queue, retrying(7), 30.0).await;
    let mut ids = vec![held.run.id];
    for _ in 0..6 {
        ctx.engine.fail_run(held.run.id, "again".into()).await.unwrap();
        held = ctx.claim_one(&queue).await;
        ids.push(held.run.id);
    }
    let expected: Vec<_> = ids.iter().rev().copied().collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut sizes = Vec::new();
    loop {
        let filter = RunFilter { task_id: Some(held.task.id), status: None, cursor, limit: 3 };
        let page = ctx.engine.list_runs(filter).await.unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, expected, "every run once, newest first");
}

pub async fn tasks_are_filtered_by_creation_time(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(ctx.task(&queue).await.task_id);
        ctx.advance(10.0);
    }
    let between = |after: Option<f64>, before: Option<f64>| TaskFilter {
        queue_name: Some(queue.clone()),
        created_after: after.map(|s| ctx.at(s)),
        created_before: before.map(|s| ctx.at(s)),
        limit: 100,
        ..TaskFilter::default()
    };
    assert_eq!(tasks(&ctx, between(Some(10.0), None)).await, vec![ids[2], ids[1]], "at or after, newest first");
    assert_eq!(tasks(&ctx, between(None, Some(10.0))).await, vec![ids[0]], "strictly before");
    assert_eq!(tasks(&ctx, between(Some(5.0), Some(15.0))).await, vec![ids[1]]);
    assert!(tasks(&ctx, between(Some(25.0), None)).await.is_empty());
}
