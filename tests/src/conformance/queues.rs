//! Queues: names, the limit, cleanup policies, deletion and stats.

use durable_domain::command::{NewQueue, TaskFilter};
use durable_domain::queue::DEFAULT_TTL_SECONDS;
use durable_domain::{NotFound, Rejection};
use durable_ports::{Service, ServiceError};
use serde_json::json;

use super::{Backend, Ctx, new_task, unique};
use durable_app::EngineConfig;

fn named(name: &str) -> NewQueue {
    NewQueue { name: name.to_owned(), ..NewQueue::default() }
}

pub async fn name_is_validated(backend: Backend) {
    let ctx = Ctx::new(backend);
    let too_long = "a".repeat(256);
    for bad in ["", "tab\there", "nul\0", "line\nbreak", ".", "..", too_long.as_str()] {
        assert_err!(ctx.engine.create_queue(named(bad)).await, ServiceError::Validation(_));
    }
    // 255 bytes, mostly two-byte characters: the limit counts bytes.
    let mut longest = unique("q");
    while longest.len() + 'é'.len_utf8() <= 255 {
        longest.push('é');
    }
    while longest.len() < 255 {
        longest.push('a');
    }
    let mut good = vec![longest];
    for name in ["emails:high", "billing/eu", "tâches", "it's 100%_ \"quoted\"", "has space", "?a=b&c#d", "..."] {
        good.push(format!("{name}{}", unique("")));
    }
    for name in &good {
        let queue = ctx.engine.create_queue(named(name)).await.expect("valid name accepted");
        assert_eq!(queue.name.as_str(), name.as_str());
    }
    let listed: Vec<String> =
        ctx.engine.list_queues().await.unwrap().into_iter().map(|q| q.name.as_str().to_owned()).collect();
    for name in &good {
        assert!(listed.contains(name), "{name:?} not in {listed:?}");
    }
    assert!(!listed.iter().any(|n| n.is_empty() || n.contains('\t')), "{listed:?}");
}

/// Tasks, claims, stats, listings and deletion all address a queue by the
/// name as given, whatever characters it holds.
pub async fn any_valid_name_round_trips(backend: Backend) {
    let ctx = Ctx::new(backend);
    let name = format!("billing/eu:high 100%_ 'tâches'{}", unique(""));
    ctx.engine.create_queue(named(&name)).await.unwrap();
    let created = ctx.task(&name).await;
    let other = ctx.queue().await;
    ctx.task(&other).await;
    let stats = ctx.engine.queue_stats(name.clone()).await.unwrap();
    assert_eq!((stats.queue_name.as_str(), stats.pending_runs), (name.as_str(), 1));
    let filter = TaskFilter { queue_name: Some(name.clone()), limit: 10, ..TaskFilter::default() };
    let listed = ctx.engine.list_tasks(filter).await.unwrap().items;
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![created.task_id]);
    assert_eq!(listed[0].queue.as_str(), name);
    let claimed = ctx.claim_one(&name).await;
    assert_eq!((claimed.task.id, claimed.task.queue.as_str()), (created.task_id, name.as_str()));
    ctx.complete(claimed.run.id).await;
    ctx.engine.delete_queue(name.clone(), false).await.unwrap();
    assert_err!(ctx.engine.queue_stats(name).await, ServiceError::NotFound(NotFound::Queue(_)));
}

/// A name in a path that no queue could have: not found, like any other
/// missing queue, rather than a validation error.
pub async fn impossible_name_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    for impossible in ["", "nul\0", "..", &"a".repeat(256)] {
        let name = impossible.to_owned();
        assert_err!(ctx.engine.queue_stats(name.clone()).await, ServiceError::NotFound(NotFound::Queue(_)));
        assert_err!(ctx.engine.create_task(name.clone(), new_task("x")).await, ServiceError::NotFound(_));
        assert_err!(ctx.engine.delete_queue(name, true).await, ServiceError::NotFound(NotFound::Queue(_)));
    }
}

pub async fn duplicate_name_conflicts(backend: Backend) {
    let ctx = Ctx::new(backend);
    let name = unique("q");
    let first = ctx
        .engine
        .create_queue(NewQueue {
            name: name.clone(),
            task_ttl_seconds: Some(10),
            event_ttl_seconds: Some(20),
            ..NewQueue::default()
        })
        .await
        .unwrap();
    ctx.advance(5.0);
    let again = ctx
        .engine
        .create_queue(NewQueue {
            name: name.clone(),
            task_ttl_seconds: Some(99),
            event_ttl_seconds: Some(99),
            ..NewQueue::default()
        })
        .await;
    assert_err!(again, ServiceError::Conflict(Rejection::QueueExists(_)));
    let listed: Vec<_> = ctx.engine.list_queues().await.unwrap().into_iter().filter(|q| q.name == first.name).collect();
    assert_eq!(listed, vec![first], "the existing queue is unchanged");
}

pub async fn queue_limit_is_enforced(backend: Backend) {
    let probe = Ctx::new(Backend { store: backend.store.clone(), notifier: backend.notifier.clone() });
    let existing = probe.engine.list_queues().await.unwrap().len();
    let ctx = Ctx::with_config(backend, EngineConfig { max_queues: existing + 2, ..EngineConfig::default() });
    let a = ctx.queue().await;
    ctx.queue().await;
    let over = ctx.engine.create_queue(named(&unique("q"))).await;
    assert_err!(over, ServiceError::Validation(_));
    assert_eq!(ctx.engine.list_queues().await.unwrap().len(), existing + 2, "nothing created over the limit");
    ctx.engine.delete_queue(a, false).await.unwrap();
    ctx.engine.create_queue(named(&unique("q"))).await.expect("room again after a delete");
}

pub async fn cleanup_policy_defaults_and_overrides(backend: Backend) {
    let ctx = Ctx::new(backend);
    ctx.advance(3.0);
    let default = ctx.engine.create_queue(named(&unique("q"))).await.unwrap();
    assert_eq!(default.cleanup.task_ttl_seconds, DEFAULT_TTL_SECONDS);
    assert_eq!(default.cleanup.event_ttl_seconds, DEFAULT_TTL_SECONDS);
    assert_eq!(DEFAULT_TTL_SECONDS, 259_200);
    assert_eq!(default.created_at, ctx.now());
    let custom = ctx
        .engine
        .create_queue(NewQueue {
            name: unique("q"),
            task_ttl_seconds: Some(0),
            event_ttl_seconds: Some(60),
            ..NewQueue::default()
        })
        .await
        .unwrap();
    assert_eq!(custom.cleanup.task_ttl_seconds, 0);
    assert_eq!(custom.cleanup.event_ttl_seconds, 60);
    let listed = ctx.engine.list_queues().await.unwrap();
    assert!(listed.contains(&default), "{listed:?}");
    assert!(listed.contains(&custom), "{listed:?}");
}

pub async fn delete_refuses_unfinished_tasks(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    ctx.task(&queue).await;
    // pending
    assert_err!(
        ctx.engine.delete_queue(queue.clone(), false).await,
        ServiceError::Conflict(Rejection::QueueNotEmpty(_))
    );
    // claimed
    let held = ctx.claim_one(&queue).await;
    assert_err!(
        ctx.engine.delete_queue(queue.clone(), false).await,
        ServiceError::Conflict(Rejection::QueueNotEmpty(_))
    );
    // sleeping
    ctx.engine.schedule_run(held.run.id, ctx.at(60.0)).await.unwrap();
    assert_err!(
        ctx.engine.delete_queue(queue.clone(), false).await,
        ServiceError::Conflict(Rejection::QueueNotEmpty(_))
    );
    // finished
    ctx.set_at(60.0);
    ctx.sweep().await;
    let again = ctx.claim_one(&queue).await;
    ctx.complete(again.run.id).await;
    ctx.engine.delete_queue(queue.clone(), false).await.expect("a queue of finished tasks can be deleted");
    assert!(!ctx.engine.list_queues().await.unwrap().iter().any(|q| q.name.as_str() == queue));
    assert_err!(ctx.engine.queue_stats(queue.clone()).await, ServiceError::NotFound(NotFound::Queue(_)));
    assert_err!(ctx.engine.create_task(queue.clone(), new_task("x")).await, ServiceError::NotFound(NotFound::Queue(_)));
    assert_err!(ctx.engine.delete_queue(queue, false).await, ServiceError::NotFound(NotFound::Queue(_)));
}

pub async fn delete_unknown_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    assert_err!(ctx.engine.delete_queue(unique("q"), false).await, ServiceError::NotFound(NotFound::Queue(_)));
    assert_err!(ctx.engine.delete_queue(unique("q"), true).await, ServiceError::NotFound(NotFound::Queue(_)));
}

pub async fn force_delete_removes_everything(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    let pending = ctx.task(&queue).await;
    ctx.engine
        .put_checkpoint(durable_ports::service::PutCheckpoint {
            task_id: held.task.id,
            step_name: "s".into(),
            state: json!(1),
            owner_run: held.run.id,
            extend_claim_by: None,
        })
        .await
        .unwrap();
    ctx.engine.delete_queue(queue.clone(), true).await.expect("force delete");
    assert!(!ctx.engine.list_queues().await.unwrap().iter().any(|q| q.name.as_str() == queue));
    assert_err!(ctx.engine.get_task(held.task.id).await, ServiceError::NotFound(_));
    assert_err!(ctx.engine.get_task(pending.task_id).await, ServiceError::NotFound(_));
    assert_err!(ctx.engine.complete_run(held.run.id, None).await, ServiceError::NotFound(_));
    // the name is free again and the new queue starts empty
    ctx.engine.create_queue(named(&queue)).await.expect("recreate");
    let stats = ctx.engine.queue_stats(queue.clone()).await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs, stats.completed_runs), (0, 0, 0));
    ctx.claim_none(&queue).await;
}

pub async fn stats_count_runs_by_state(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    // claimed
    ctx.started(&queue).await;
    // sleeping
    let sleeper = ctx.started(&queue).await;
    ctx.engine.schedule_run(sleeper.run.id, ctx.at(100.0)).await.unwrap();
    // completed
    let done = ctx.started(&queue).await;
    ctx.complete(done.run.id).await;
    // failed (no attempts left)
    let failed = ctx.started(&queue).await;
    ctx.engine.fail_run(failed.run.id, "boom".into()).await.unwrap();
    // pending: one due now, one scheduled for later
    ctx.task(&queue).await;
    ctx.create(&queue, durable_domain::command::NewTask { run_at: Some(ctx.at(100.0)), ..new_task("later") }).await;
    ctx.set_at(7.0);
    let stats = ctx.engine.queue_stats(queue.clone()).await.unwrap();
    assert_eq!(stats.queue_name.as_str(), queue);
    assert_eq!(stats.pending_runs, 2, "{stats:?}");
    assert_eq!(stats.claimed_runs, 1, "{stats:?}");
    assert_eq!(stats.completed_runs, 1, "{stats:?}");
    assert_eq!(stats.sleeping_runs, 1, "{stats:?}");
    assert_eq!(stats.failed_runs, 1, "{stats:?}");
    let age = stats.oldest_pending_run_age_seconds.expect("a due run exists");
    assert!((age - 7.0).abs() < 1e-3, "age {age}");
}

pub async fn stats_age_counts_from_when_the_oldest_run_became_due(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    // created first, but due only at +10
    ctx.create(&queue, durable_domain::command::NewTask { run_at: Some(ctx.at(10.0)), ..new_task("late") }).await;
    ctx.set_at(5.0);
    // created later, due at once (+5)
    ctx.task(&queue).await;
    ctx.set_at(7.0);
    let age = ctx.engine.queue_stats(queue.clone()).await.unwrap().oldest_pending_run_age_seconds;
    assert!(age.is_some_and(|a| (a - 2.0).abs() < 1e-3), "a run scheduled for later does not count: {age:?}");
    ctx.set_at(20.0);
    let age = ctx.engine.queue_stats(queue.clone()).await.unwrap().oldest_pending_run_age_seconds;
    assert!(age.is_some_and(|a| (a - 15.0).abs() < 1e-3), "age since the oldest due time: {age:?}");
}

pub async fn stats_age_is_null_when_nothing_is_claimable(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let stats = ctx.engine.queue_stats(queue.clone()).await.unwrap();
    assert_eq!(stats.oldest_pending_run_age_seconds, None, "empty queue");
    assert_eq!(
        (stats.pending_runs, stats.claimed_runs, stats.completed_runs, stats.sleeping_runs, stats.failed_runs),
        (0, 0, 0, 0, 0)
    );
    ctx.started(&queue).await;
    ctx.create(&queue, durable_domain::command::NewTask { run_at: Some(ctx.at(50.0)), ..new_task("later") }).await;
    ctx.advance(10.0);
    let stats = ctx.engine.queue_stats(queue.clone()).await.unwrap();
    assert_eq!(stats.pending_runs, 1);
    assert_eq!(stats.claimed_runs, 1);
    assert_eq!(stats.oldest_pending_run_age_seconds, None, "only claimed and not-yet-due runs: {stats:?}");
}

pub async fn stats_of_unknown_queue_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    assert_err!(ctx.engine.queue_stats(unique("q")).await, ServiceError::NotFound(NotFound::Queue(_)));
}

pub async fn finished_runs_are_counted_up_to_a_cap(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    for _ in 0..3 {
        let held = ctx.started(&queue).await;
        ctx.complete(held.run.id).await;
    }
    let held = ctx.started(&queue).await;
    ctx.engine.fail_run(held.run.id, "boom".into()).await.unwrap();
    let name = durable_domain::QueueName::parse("q", &queue).unwrap();
    assert_eq!(ctx.store.queue_finished_counts(&name, 10).await.unwrap(), (3, 1));
    assert_eq!(ctx.store.queue_finished_counts(&name, 2).await.unwrap(), (2, 1), "counted no further than the cap");
    let overview = ctx.engine.queue_history(queue.clone()).await.unwrap();
    assert_eq!((overview.completed_runs, overview.failed_runs), (3, 1));
    let unknown = durable_domain::QueueName::parse("q", &unique("nowhere")).unwrap();
    assert!(matches!(ctx.store.queue_finished_counts(&unknown, 10).await, Err(durable_ports::StoreError::NotFound(_))));
    assert_err!(ctx.engine.queue_history(unique("nowhere")).await, ServiceError::NotFound(_));
}
