//! Flow control: priorities, per-key concurrency limits, queue caps. The
//! racing cases run an auditor beside the claimers that reads the store's
//! claimed runs (one listing, one snapshot) and checks every limit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use durable_domain::command::{ClaimRequest, Completion, NewQueue, NewTask, QueueUpdate, RunFilter};
use durable_domain::{RunId, RunStatus, TaskStatus};
use durable_ports::{Service, ServiceError};
use tokio::sync::Barrier;

use super::events::wait_request;
use super::{Backend, Ctx, new_task, unique};

/// A queue with the given flow settings.
async fn flow_queue(ctx: &Ctx, key_limit: Option<i64>, cap: Option<i64>) -> String {
    let name = unique("q");
    let new = NewQueue {
        name: name.clone(),
        key_concurrency_limit: key_limit,
        concurrency_limit: cap,
        ..NewQueue::default()
    };
    ctx.engine.create_queue(new).await.expect("create queue");
    name
}

fn keyed(key: &str) -> NewTask {
    NewTask { concurrency_key: Some(key.to_owned()), ..new_task("keyed") }
}

fn prioritized(priority: i64) -> NewTask {
    NewTask { priority: Some(priority), ..new_task("prioritized") }
}

fn keys_of(claimed: &[durable_domain::TaskState]) -> Vec<Option<String>> {
    claimed.iter().map(|s| s.run.concurrency_key.clone()).collect()
}

pub async fn claims_take_higher_priority_first_then_due_order(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let low = ctx.create(&queue, prioritized(-3)).await;
    let plain = ctx.task(&queue).await;
    let high = ctx.create(&queue, prioritized(5)).await;
    let high_later = ctx.create(&queue, prioritized(5)).await;
    let claimed = ctx.claim(&queue, 10).await;
    let order: Vec<RunId> = claimed.iter().map(|s| s.run.id).collect();
    assert_eq!(order, vec![high.run_id, high_later.run_id, plain.run_id, low.run_id]);
    assert_eq!(claimed[0].task.spec.priority, 5);
    assert_eq!(ctx.get(low.task_id).await.spec.priority, -3);
    assert_eq!(ctx.get(plain.task_id).await.spec.priority, 0);
}

pub async fn a_retry_keeps_its_task_priority(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let urgent = ctx.create(&queue, NewTask { max_attempts: Some(2), ..prioritized(9) }).await;
    let held = ctx.claim_one(&queue).await;
    assert_eq!(held.run.id, urgent.run_id);
    let waiting = ctx.task(&queue).await;
    let failed = ctx.engine.fail_run(held.run.id, "boom".into()).await.expect("fail");
    let retry = failed.next.expect("a retry").run_id;
    ctx.advance(3600.0);
    let claimed = ctx.claim(&queue, 1).await;
    assert_eq!(claimed[0].run.id, retry, "the retry jumps the line like its task");
    assert_eq!(claimed[0].run.priority, 9);
    assert_eq!(ctx.claim_one(&queue).await.run.id, waiting.run_id);
}

pub async fn flow_inputs_are_validated_naming_the_field(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    for (task, field) in [
        (prioritized(40_000), "priority"),
        (prioritized(-40_000), "priority"),
        (keyed(""), "concurrency_key"),
        (keyed(&"k".repeat(256)), "concurrency_key"),
    ] {
        let result = ctx.engine.create_task(queue.clone(), task).await;
        assert!(matches!(&result, Err(ServiceError::Validation(e)) if e.field == field), "{field}: {result:?}");
    }
    let batch = ctx.engine.create_tasks(queue.clone(), vec![new_task("ok"), prioritized(1 << 20)]).await;
    assert!(matches!(&batch, Err(ServiceError::Validation(e)) if e.field == "tasks[1].priority"), "{batch:?}");
    for (key_limit, cap, field) in [(Some(0), None, "key_concurrency_limit"), (None, Some(-1), "concurrency_limit")] {
        let new = NewQueue {
            name: unique("q"),
            key_concurrency_limit: key_limit,
            concurrency_limit: cap,
            ..NewQueue::default()
        };
        let result = ctx.engine.create_queue(new).await;
        assert!(matches!(&result, Err(ServiceError::Validation(e)) if e.field == field), "{field}: {result:?}");
        let update = QueueUpdate { key_concurrency_limit: key_limit, concurrency_limit: cap.map(Some) };
        let result = ctx.engine.update_queue(queue.clone(), update).await;
        assert!(matches!(&result, Err(ServiceError::Validation(e)) if e.field == field), "{field}: {result:?}");
    }
    let unknown = ctx.engine.update_queue(unique("missing"), QueueUpdate::default()).await;
    assert!(matches!(unknown, Err(ServiceError::NotFound(_))), "{unknown:?}");
}

pub async fn queue_settings_default_and_round_trip(backend: Backend) {
    let ctx = Ctx::new(backend);
    let plain = ctx.queue().await;
    let capped = flow_queue(&ctx, Some(3), Some(20)).await;
    let queues = ctx.engine.list_queues().await.unwrap();
    let find = |name: &str| queues.iter().find(|q| q.name.as_str() == name).unwrap().flow;
    assert_eq!((find(&plain).key_concurrency_limit, find(&plain).concurrency_limit), (1, None));
    assert_eq!((find(&capped).key_concurrency_limit, find(&capped).concurrency_limit), (3, Some(20)));
    let update = QueueUpdate { key_concurrency_limit: None, concurrency_limit: Some(None) };
    let updated = ctx.engine.update_queue(capped.clone(), update).await.unwrap();
    assert_eq!((updated.flow.key_concurrency_limit, updated.flow.concurrency_limit), (3, None));
    let update = QueueUpdate { key_concurrency_limit: Some(2), concurrency_limit: None };
    let updated = ctx.engine.update_queue(capped.clone(), update).await.unwrap();
    assert_eq!((updated.flow.key_concurrency_limit, updated.flow.concurrency_limit), (2, None));
    let listed = ctx.engine.list_queues().await.unwrap();
    assert_eq!(listed.iter().find(|q| q.name.as_str() == capped).unwrap().flow, updated.flow);
}

pub async fn a_key_at_its_limit_is_passed_over_for_other_keys(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let busy: Vec<_> = ctx.engine.create_tasks(queue.clone(), vec![keyed("busy"); 50]).await.unwrap();
    let lone = ctx.create(&queue, keyed("lone")).await;
    let plain = ctx.task(&queue).await;
    // The first claim already reaches the lone key behind the busy one's backlog.
    let claimed = ctx.claim(&queue, 10).await;
    let ids: HashSet<RunId> = claimed.iter().map(|s| s.run.id).collect();
    assert_eq!(ids, HashSet::from([busy[0].run_id, lone.run_id, plain.run_id]), "{:?}", keys_of(&claimed));
    ctx.claim_none(&queue).await;
    ctx.complete(busy[0].run_id).await;
    assert_eq!(ctx.claim_one(&queue).await.run.id, busy[1].run_id, "the next of the key, in order");
    ctx.claim_none(&queue).await;
}

pub async fn the_key_limit_is_a_queue_setting(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = flow_queue(&ctx, Some(3), None).await;
    ctx.engine.create_tasks(queue.clone(), vec![keyed("k"); 10]).await.unwrap();
    let first = ctx.claim(&queue, 10).await;
    assert_eq!(first.len(), 3);
    ctx.claim_none(&queue).await;
    // Lowered below what is claimed: nothing new until enough claims end.
    let update = QueueUpdate { key_concurrency_limit: Some(1), concurrency_limit: None };
    ctx.engine.update_queue(queue.clone(), update).await.unwrap();
    ctx.complete(first[0].run.id).await;
    ctx.complete(first[1].run.id).await;
    ctx.claim_none(&queue).await;
    ctx.complete(first[2].run.id).await;
    let next = ctx.claim_one(&queue).await;
    // Raised: the key's next runs are exposed at once.
    let update = QueueUpdate { key_concurrency_limit: Some(4), concurrency_limit: None };
    ctx.engine.update_queue(queue.clone(), update).await.unwrap();
    assert_eq!(ctx.claim(&queue, 10).await.len(), 3);
    ctx.complete(next.run.id).await;
}

pub async fn every_end_of_a_claim_frees_its_key_slot(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let key = "account:7";
    let event = unique("evt");
    // Each way a claimed run stops holding its slot, in turn.
    let ways = ["complete", "fail", "fail with retry", "schedule", "wait for event", "cancel", "claim expiry"];
    for way in ways {
        let task = NewTask { max_attempts: Some(if way == "fail with retry" { 2 } else { 1 }), ..keyed(key) };
        let created = ctx.create(&queue, task).await;
        let claimed = ctx.claim_with(&queue, 10, 5.0).await;
        assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![created.run_id], "{way}: claim");
        let held = claimed.into_iter().next().unwrap();
        let next = ctx.create(&queue, keyed(key)).await;
        ctx.claim_none(&queue).await;
        match way {
            "complete" => ctx.complete(held.run.id).await,
            "fail" | "fail with retry" => {
                ctx.engine.fail_run(held.run.id, "boom".into()).await.unwrap();
            }
            "schedule" => {
                let later = durable_domain::clock::add(ctx.now(), durable_domain::clock::seconds(3600.0));
                ctx.engine.schedule_run(held.run.id, later).await.unwrap();
            }
            "wait for event" => {
                ctx.engine.wait_for_event(wait_request(&held, &event, "step", 3600.0)).await.unwrap();
            }
            "cancel" => ctx.engine.cancel_task(held.task.id).await.unwrap(),
            "claim expiry" => {
                ctx.advance(6.0);
                ctx.sweep().await;
            }
            _ => unreachable!(),
        }
        let claimed = ctx.claim(&queue, 10).await;
        let ids: Vec<RunId> = claimed.iter().map(|s| s.run.id).collect();
        if way == "fail with retry" {
            // The retry (due at once) and the next task contend; one wins.
            assert_eq!(ids.len(), 1, "{way}: {ids:?}");
            ctx.complete(ids[0]).await;
            ctx.advance(3600.0);
            let other = ctx.claim_one(&queue).await;
            ctx.complete(other.run.id).await;
        } else {
            assert_eq!(ids, vec![next.run_id], "{way}: the next run of the key was not admitted");
            ctx.complete(next.run_id).await;
        }
        // Whatever is left of the key (a sleeper, a waiter) is put to rest.
        let _ = ctx.engine.cancel_task(held.task.id).await;
        ctx.claim_none(&queue).await;
    }
}

pub async fn a_sleeper_woken_waits_for_its_key_slot(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let sleeper = ctx.started_with(&queue, keyed("k"), 600.0).await;
    ctx.engine.schedule_run(sleeper.run.id, ctx.at(10.0)).await.unwrap();
    let other = ctx.create(&queue, keyed("k")).await;
    let held = ctx.claim_one(&queue).await;
    assert_eq!(held.run.id, other.run_id);
    ctx.set_at(11.0);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
    ctx.complete(held.run.id).await;
    assert_eq!(ctx.claim_one(&queue).await.run.id, sleeper.run.id, "woken, then admitted");
}

pub async fn a_due_run_of_a_key_goes_before_one_scheduled_later(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let later = ctx.create(&queue, NewTask { run_at: Some(ctx.at(60.0)), ..keyed("k") }).await;
    let now = ctx.create(&queue, keyed("k")).await;
    assert_eq!(ctx.claim_one(&queue).await.run.id, now.run_id, "the scheduled run must not hold the slot");
    ctx.complete(now.run_id).await;
    ctx.claim_none(&queue).await;
    ctx.set_at(60.0);
    assert_eq!(ctx.claim_one(&queue).await.run.id, later.run_id);
}

pub async fn a_higher_priority_arrival_goes_first_within_its_key(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let first = ctx.create(&queue, keyed("k")).await;
    let urgent = ctx.create(&queue, NewTask { priority: Some(7), ..keyed("k") }).await;
    assert_eq!(ctx.claim_one(&queue).await.run.id, urgent.run_id);
    ctx.complete(urgent.run_id).await;
    assert_eq!(ctx.claim_one(&queue).await.run.id, first.run_id);
}

pub async fn the_queue_cap_bounds_claims_across_workers(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = flow_queue(&ctx, None, Some(2)).await;
    ctx.engine.create_tasks(queue.clone(), vec![new_task("capped"); 6]).await.unwrap();
    let replica = ctx.replica();
    let first = ctx.claim_with(&queue, 10, 5.0).await;
    assert_eq!(first.len(), 2);
    let request = ClaimRequest { limit: 10, claim_timeout: 30.0, long_poll_seconds: None, worker_id: None };
    assert!(replica.claim(queue.clone(), request.clone()).await.unwrap().is_empty(), "the cap holds on a replica");
    ctx.complete(first[0].run.id).await;
    let second = replica.claim(queue.clone(), request.clone()).await.unwrap();
    assert_eq!(second.len(), 1);
    // An expired claim frees its slot even before the sweeper runs.
    ctx.advance(6.0);
    assert_eq!(ctx.claim(&queue, 10).await.len(), 1);
    ctx.claim_none(&queue).await;
    // Removing the cap hands out the rest.
    let update = QueueUpdate { key_concurrency_limit: None, concurrency_limit: Some(None) };
    ctx.engine.update_queue(queue.clone(), update).await.unwrap();
    assert_eq!(ctx.claim(&queue, 10).await.len(), 2);
}

/// 8 claimers over `runs` keyed runs (spread over `keys` keys), each
/// completing what it claims, while an auditor checks that no listing of
/// claimed runs ever shows more than `key_limit` of a key or `cap` in all.
async fn race_with_auditor(ctx: &Ctx, queue: &str, runs: usize, keys: usize, key_limit: usize, cap: Option<usize>) {
    let mut created = HashSet::new();
    let tasks: Vec<NewTask> = (0..runs).map(|i| keyed(&format!("key-{}", i % keys))).collect();
    for chunk in tasks.chunks(1000) {
        let batch = ctx.engine.create_tasks(queue.to_owned(), chunk.to_vec()).await.unwrap();
        created.extend(batch.iter().map(|c| c.run_id));
    }
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let auditor = {
        let (engine, stop) = (ctx.replica(), stop.clone());
        tokio::spawn(async move {
            let mut audits = 0;
            while !stop.load(Ordering::Relaxed) {
                let filter = RunFilter { task_id: None, status: Some(RunStatus::Claimed), cursor: None, limit: 1000 };
                let page = engine.list_runs(filter).await.expect("list claimed runs");
                let mut per_key: HashMap<String, usize> = HashMap::new();
                for run in &page.items {
                    *per_key.entry(run.concurrency_key.clone().unwrap_or_default()).or_default() += 1;
                }
                if let Some((key, n)) = per_key.iter().find(|(_, n)| **n > key_limit) {
                    panic!("{n} claimed runs of {key} at once (limit {key_limit})");
                }
                if let Some(cap) = cap {
                    assert!(page.items.len() <= cap, "{} claimed runs at once (cap {cap})", page.items.len());
                }
                audits += 1;
                tokio::task::yield_now().await;
            }
            audits
        })
    };
    let start = Arc::new(Barrier::new(8));
    let claimers: Vec<_> = (0..8)
        .map(|i| {
            let (engine, queue, start, done) = (ctx.replica(), queue.to_owned(), start.clone(), done.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                while done.load(Ordering::SeqCst) < runs {
                    // 8 × 25 claims outstanding outnumber the slots of 50
                    // keys with limit 2, so a broken limit shows.
                    let request = ClaimRequest {
                        limit: 25,
                        claim_timeout: 600.0,
                        long_poll_seconds: None,
                        worker_id: Some(format!("claimer-{i}")),
                    };
                    let claimed = engine.claim(queue.clone(), request).await.expect("claim");
                    if claimed.is_empty() {
                        tokio::task::yield_now().await;
                        continue;
                    }
                    // Held a moment, so the auditor sees claims outstanding.
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    let items: Vec<Completion> = claimed.iter().map(|s| Completion::new(s.run.id, None)).collect();
                    let answers = engine.complete_runs(items).await.expect("complete");
                    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
                    done.fetch_add(claimed.len(), Ordering::SeqCst);
                    mine.extend(claimed.into_iter().map(|s| s.run.id));
                }
                mine
            })
        })
        .collect();
    let mut handed = Vec::new();
    for claimer in claimers {
        handed.extend(claimer.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let audits = auditor.await.unwrap();
    assert!(audits > 0, "the auditor never ran");
    let distinct: HashSet<RunId> = handed.iter().copied().collect();
    assert_eq!(distinct.len(), handed.len(), "a run was handed out twice");
    assert_eq!(distinct, created, "every run completed exactly once");
    let stats = ctx.engine.queue_stats(queue.to_owned()).await.unwrap();
    assert_eq!((stats.completed_runs, stats.pending_runs, stats.claimed_runs), (runs as u64, 0, 0));
}

pub async fn racing_claimers_never_exceed_a_key_limit(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = flow_queue(&ctx, Some(2), None).await;
    race_with_auditor(&ctx, &queue, 5000, 50, 2, None).await;
}

pub async fn racing_claimers_never_exceed_the_queue_cap(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = flow_queue(&ctx, Some(1000), Some(5)).await;
    race_with_auditor(&ctx, &queue, 2000, 2000, 1, Some(5)).await;
}

pub async fn a_canceled_waiting_run_gives_way_to_the_next(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let first = ctx.started_with(&queue, keyed("k"), 600.0).await;
    let waiting = ctx.create(&queue, keyed("k")).await;
    let last = ctx.create(&queue, keyed("k")).await;
    ctx.engine.cancel_task(waiting.task_id).await.unwrap();
    assert_eq!(ctx.get(waiting.task_id).await.status, TaskStatus::Canceled);
    ctx.complete(first.run.id).await;
    assert_eq!(ctx.claim_one(&queue).await.run.id, last.run_id);
}
