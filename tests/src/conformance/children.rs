//! Child tasks **(ext)**: a task created with `parent_task_id` records its
//! parent, is listed by it, and lives its own life (a parent's end or
//! cancel does not end it).

use durable_domain::command::{NewTask, TaskFilter};
use durable_domain::{NotFound, RunStatus, TaskId, TaskStatus};
use durable_ports::{Service, ServiceError};

use super::{Backend, Ctx, new_task};

fn child_of(parent: TaskId, name: &str) -> NewTask {
    NewTask { parent_task_id: Some(parent), ..new_task(name) }
}

async fn children(ctx: &Ctx, parent: TaskId) -> Vec<TaskId> {
    let filter = TaskFilter { parent_task_id: Some(parent), limit: 100, ..TaskFilter::default() };
    ctx.engine.list_tasks(filter).await.expect("list children").items.into_iter().map(|t| t.id).collect()
}

pub async fn a_child_records_its_parent_and_is_listed_by_it(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.task(&queue).await.task_id;
    let other_parent = ctx.task(&queue).await.task_id;
    let first = ctx.create(&queue, child_of(parent, "child")).await.task_id;
    let second = ctx.create(&queue, child_of(parent, "child")).await.task_id;
    let unrelated = ctx.create(&queue, child_of(other_parent, "child")).await.task_id;

    assert_eq!(ctx.get(first).await.spec.parent_task_id, Some(parent));
    assert_eq!(ctx.get(parent).await.spec.parent_task_id, None);
    // Newest first, like every listing.
    assert_eq!(children(&ctx, parent).await, vec![second, first]);
    assert_eq!(children(&ctx, other_parent).await, vec![unrelated]);
    assert_eq!(children(&ctx, first).await, Vec::<TaskId>::new());
}

pub async fn a_child_of_an_unknown_parent_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let missing = TaskId::new();
    let refused = ctx.engine.create_task(queue.clone(), child_of(missing, "child")).await;
    assert!(matches!(refused, Err(ServiceError::NotFound(NotFound::Task(id))) if id == missing), "{refused:?}");
    // In a batch, the whole batch is refused.
    let parent = ctx.task(&queue).await.task_id;
    let batch = vec![child_of(parent, "fine"), child_of(missing, "orphan")];
    assert_err!(ctx.engine.create_tasks(queue.clone(), batch).await, ServiceError::NotFound(NotFound::Task(_)));
    assert_eq!(children(&ctx, parent).await, Vec::<TaskId>::new());
}

pub async fn canceling_a_parent_leaves_its_children_running(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started(&queue).await;
    let child = ctx.create(&queue, child_of(parent.task.id, "child")).await;

    ctx.engine.cancel_task(parent.task.id).await.expect("cancel the parent");
    assert_eq!(ctx.get(parent.task.id).await.status, TaskStatus::Canceled);
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!(claimed.task.id, child.task_id, "the child is still claimable");
    ctx.complete(claimed.run.id).await;
    let child = ctx.get(child.task_id).await;
    assert_eq!(child.status, TaskStatus::Completed);
    assert_eq!(ctx.run(child.id, child.current_run).await.status, RunStatus::Completed);
}
