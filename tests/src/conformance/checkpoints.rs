//! Checkpoints: upsert/get/list per (task, step), shared by every run of the
//! task, writable only by a run of the task that holds its claim.

use durable_domain::command::NewTask;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{NotFound, RunId, RunStatus, TaskId};
use durable_ports::service::PutCheckpoint;
use durable_ports::{Service, ServiceError};
use serde_json::{Value, json};

use super::{Backend, Ctx, JUST, new_task};

fn write(task: TaskId, step: &str, state: Value, owner: RunId) -> PutCheckpoint {
    PutCheckpoint { task_id: task, step_name: step.into(), state, owner_run: owner, extend_claim_by: None }
}

pub async fn checkpoint_upsert_get_and_list(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    let (task, run) = (held.task.id, held.run.id);
    assert!(ctx.engine.list_checkpoints(task).await.unwrap().is_empty());
    ctx.set_at(1.0);
    let put = ctx.engine.put_checkpoint(write(task, "b", json!({"v": 1}), run)).await.unwrap();
    assert_eq!((put.task_id, put.step_name.as_str(), put.updated_at), (task, "b", ctx.at(1.0)));
    let got = ctx.engine.get_checkpoint(task, "b".into()).await.unwrap();
    assert_eq!((got.state, got.updated_at, got.owner_run), (json!({"v": 1}), ctx.at(1.0), run));
    ctx.set_at(2.0);
    ctx.engine.put_checkpoint(write(task, "a", json!([1, 2]), run)).await.unwrap();
    ctx.set_at(3.0);
    ctx.engine.put_checkpoint(write(task, "b", json!({"v": 2}), run)).await.unwrap();
    let got = ctx.engine.get_checkpoint(task, "b".into()).await.unwrap();
    assert_eq!((got.state, got.updated_at), (json!({"v": 2}), ctx.at(3.0)), "a later write replaces the state");
    let all = ctx.engine.list_checkpoints(task).await.unwrap();
    let listed: Vec<_> = all.iter().map(|c| (c.step_name.as_str(), c.state.clone())).collect();
    assert_eq!(listed, vec![("a", json!([1, 2])), ("b", json!({"v": 2}))]);
    assert!(all.iter().all(|c| c.task_id == task));
}

pub async fn checkpoints_are_shared_by_all_runs_of_a_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 0.0, factor: None, max_seconds: None };
    let task = NewTask { max_attempts: Some(2), retry_strategy: Some(strategy), ..new_task("job") };
    let first = ctx.started_with(&queue, task, 30.0).await;
    ctx.engine.put_checkpoint(write(first.task.id, "s", json!(1), first.run.id)).await.unwrap();
    ctx.engine.fail_run(first.run.id, "boom".into()).await.unwrap();
    let second = ctx.claim_one(&queue).await;
    assert_eq!((second.task.id, second.run.attempt), (first.task.id, 2));
    assert_eq!(ctx.engine.get_checkpoint(first.task.id, "s".into()).await.unwrap().state, json!(1));
    ctx.engine.put_checkpoint(write(first.task.id, "s", json!(2), second.run.id)).await.unwrap();
    let got = ctx.engine.get_checkpoint(first.task.id, "s".into()).await.unwrap();
    assert_eq!((got.state, got.owner_run), (json!(2), second.run.id));
    assert_eq!(ctx.engine.list_checkpoints(first.task.id).await.unwrap().len(), 1);
}

pub async fn checkpoint_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    let unknown = TaskId::new();
    assert_err!(ctx.engine.get_checkpoint(unknown, "s".into()).await, ServiceError::NotFound(_));
    assert_err!(
        ctx.engine.get_checkpoint(held.task.id, "missing".into()).await,
        ServiceError::NotFound(NotFound::Checkpoint { .. })
    );
    assert_err!(ctx.engine.list_checkpoints(unknown).await, ServiceError::NotFound(NotFound::Task(_)));
    assert_err!(
        ctx.engine.put_checkpoint(write(unknown, "s", json!(1), held.run.id)).await,
        ServiceError::NotFound(NotFound::Task(_))
    );
    assert!(ctx.engine.list_checkpoints(held.task.id).await.unwrap().is_empty());
}

pub async fn checkpoint_write_requires_a_held_claim_on_the_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    // a pending run of the task
    let pending = ctx.task(&queue).await;
    assert_err!(
        ctx.engine.put_checkpoint(write(pending.task_id, "s", json!(1), pending.run_id)).await,
        ServiceError::Conflict(_)
    );
    // a held run of another task
    let mine = ctx.claim_one(&queue).await;
    let other = ctx.started(&queue).await;
    assert_err!(
        ctx.engine.put_checkpoint(write(mine.task.id, "s", json!(1), other.run.id)).await,
        ServiceError::Conflict(_)
    );
    // a sleeping run
    ctx.engine.schedule_run(mine.run.id, ctx.at(100.0)).await.unwrap();
    assert_err!(
        ctx.engine.put_checkpoint(write(mine.task.id, "s", json!(1), mine.run.id)).await,
        ServiceError::Conflict(_)
    );
    // a completed run
    ctx.complete(other.run.id).await;
    assert_err!(
        ctx.engine.put_checkpoint(write(other.task.id, "s", json!(1), other.run.id)).await,
        ServiceError::Conflict(_)
    );
    for task in [pending.task_id, other.task.id] {
        assert!(ctx.engine.list_checkpoints(task).await.unwrap().is_empty(), "nothing was written");
    }
}

pub async fn checkpoint_extend_claim_by_moves_the_claim_end(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started_with(&queue, new_task("job"), 10.0).await;
    ctx.set_at(8.0);
    let mut put = write(held.task.id, "s", json!(1), held.run.id);
    put.extend_claim_by = Some(0.5);
    assert_err!(ctx.engine.put_checkpoint(put.clone()).await, ServiceError::Validation(_));
    put.extend_claim_by = Some(30.0);
    ctx.engine.put_checkpoint(put.clone()).await.unwrap();
    assert_eq!(ctx.run(held.task.id, held.run.id).await.claim_expires_at, Some(ctx.at(38.0)));
    ctx.set(ctx.at(38.0) - JUST);
    ctx.sweep().await;
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed);
    // a write without extend_claim_by leaves the end alone
    put.extend_claim_by = None;
    ctx.engine.put_checkpoint(put).await.unwrap();
    assert_eq!(ctx.run(held.task.id, held.run.id).await.claim_expires_at, Some(ctx.at(38.0)));
    ctx.complete(held.run.id).await;
}

pub async fn checkpoints_of_many_tasks_come_in_one_answer(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let first = ctx.started(&queue).await;
    let second = ctx.started(&queue).await;
    let empty = ctx.task(&queue).await;
    for (held, step, state) in [(&first, "b", json!(2)), (&first, "a", json!(1)), (&second, "only", json!({"x": true}))]
    {
        ctx.engine.put_checkpoint(write(held.task.id, step, state, held.run.id)).await.expect("write");
    }
    let asked = vec![second.task.id, empty.task_id, TaskId::new(), first.task.id];
    let all = ctx.engine.checkpoints_of_tasks(asked).await.expect("checkpoints");
    let mut got: Vec<(TaskId, String, Value)> = all.into_iter().map(|c| (c.task_id, c.step_name, c.state)).collect();
    // Each task's steps in step-name order; tasks in any order.
    got.sort_by_key(|(task, _, _)| *task != first.task.id);
    assert_eq!(
        got,
        vec![
            (first.task.id, "a".to_owned(), json!(1)),
            (first.task.id, "b".to_owned(), json!(2)),
            (second.task.id, "only".to_owned(), json!({"x": true})),
        ]
    );
    assert_eq!(ctx.engine.checkpoints_of_tasks(vec![]).await.expect("none asked"), vec![]);
}
