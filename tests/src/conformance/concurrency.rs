//! Races: many claimers, emit against wait, two completes of one run, many
//! sweepers. Each case repeats or scales the race so a store without the
//! right locking fails it.

use std::collections::HashSet;
use std::sync::Arc;

use durable_domain::command::{ClaimRequest, Completion, NewTask, RunFilter};
use durable_domain::event::{WaitOutcome, WaitResponse};
use durable_domain::{RunId, RunStatus, TaskStatus};
use durable_ports::{Service, ServiceError};
use serde_json::json;
use tokio::sync::Barrier;

use super::events::wait_request;
use super::{Backend, Ctx, is_conflict, new_task, unique};

const RUNS: usize = 2000;
const CLAIMERS: usize = 8;

/// Every run of the given status, paging through the listing.
async fn runs_with_status(ctx: &Ctx, status: RunStatus) -> HashSet<RunId> {
    let mut all = HashSet::new();
    let mut cursor = None;
    loop {
        let filter = RunFilter { task_id: None, status: Some(status), cursor, limit: 1000 };
        let page = ctx.engine.list_runs(filter).await.unwrap();
        all.extend(page.items.iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

pub async fn racing_claimers_hand_out_each_run_once(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut created = HashSet::new();
    for _ in 0..RUNS / 1000 {
        let batch = ctx.engine.create_tasks(queue.clone(), vec![new_task("race"); 1000]).await.unwrap();
        created.extend(batch.iter().map(|c| c.run_id));
    }
    assert_eq!(created.len(), RUNS);
    let start = Arc::new(Barrier::new(CLAIMERS));
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let engine = ctx.replica();
            let queue = queue.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                loop {
                    let request = ClaimRequest {
                        limit: 25,
                        claim_timeout: 600.0,
                        long_poll_seconds: None,
                        worker_id: Some(format!("claimer-{i}")),
                    };
                    let claimed = engine.claim(queue.clone(), request).await.expect("claim");
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|s| s.run.id));
                }
            })
        })
        .collect();
    let mut handed = Vec::new();
    for claimer in claimers {
        handed.push(claimer.await.unwrap());
    }
    let total: usize = handed.iter().map(Vec::len).sum();
    let distinct: HashSet<RunId> = handed.iter().flatten().copied().collect();
    assert_eq!(distinct.len(), total, "a run was handed out twice");
    assert_eq!(distinct, created, "every run was handed out (none lost)");

    // complete them all, concurrently, in batches
    let completers: Vec<_> = handed
        .into_iter()
        .map(|mine| {
            let engine = ctx.replica();
            tokio::spawn(async move {
                for chunk in mine.chunks(100) {
                    let items = chunk.iter().map(|id| Completion::new(*id, Some(json!(id.to_string())))).collect();
                    let answers = engine.complete_runs(items).await.expect("complete batch");
                    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
                }
            })
        })
        .collect();
    for completer in completers {
        completer.await.unwrap();
    }
    let completed = runs_with_status(&ctx, RunStatus::Completed).await;
    assert!(created.is_subset(&completed), "every run completed");
    for status in [RunStatus::Pending, RunStatus::Claimed, RunStatus::Failed] {
        assert!(runs_with_status(&ctx, status).await.is_disjoint(&created), "a run ended {status:?}");
    }
    let stats = ctx.engine.queue_stats(queue.clone()).await.unwrap();
    assert_eq!((stats.completed_runs, stats.pending_runs, stats.claimed_runs), (RUNS as u64, 0, 0));
    let sample: Vec<RunId> = created.iter().take(20).copied().collect();
    for run in sample {
        assert!(is_conflict(&ctx.engine.complete_run(run, None).await), "completed twice");
    }
    ctx.claim_none(&queue).await;
}

pub async fn emit_racing_wait_never_loses_the_wake_up(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let emitter = ctx.replica();
    let (mut resolved_at_once, mut woken) = (0, 0);
    for i in 0..100 {
        let event = unique("race");
        let held = ctx.started(&queue).await;
        let start = Arc::new(Barrier::new(2));
        let waiter = {
            let (engine, start) = (ctx.engine.clone(), start.clone());
            let request = wait_request(&held, &event, "step", 600.0);
            tokio::spawn(async move {
                start.wait().await;
                engine.wait_for_event(request).await
            })
        };
        let emit = {
            let (engine, event) = (emitter.clone(), event.clone());
            tokio::spawn(async move {
                start.wait().await;
                engine.emit_event(event, json!(i)).await
            })
        };
        let waited = waiter.await.unwrap().expect("wait for event");
        emit.await.unwrap().expect("emit");
        let expected = WaitResponse::Outcome(WaitOutcome::Resolved { payload: json!(i) });
        match waited {
            WaitResponse::Sleeping => {
                // the emit must have woken it: claimable now, no sweep needed
                let again = ctx.claim(&queue, 10).await;
                let ids: Vec<_> = again.iter().map(|s| s.run.id).collect();
                assert_eq!(ids, vec![held.run.id], "iteration {i}: the wake-up was lost");
                let replay = ctx.engine.wait_for_event(wait_request(&again[0], &event, "step", 600.0)).await.unwrap();
                assert_eq!(replay, expected, "iteration {i}");
                woken += 1;
            }
            outcome @ WaitResponse::Outcome(_) => {
                assert_eq!(outcome, expected, "iteration {i}");
                resolved_at_once += 1;
            }
        }
        ctx.complete(held.run.id).await;
    }
    assert_eq!(resolved_at_once + woken, 100);
}

pub async fn racing_completes_have_one_winner(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    for i in 0..60 {
        let held = ctx.started(&queue).await;
        let run = held.run.id;
        let start = Arc::new(Barrier::new(2));
        let callers: Vec<_> = (0..2)
            .map(|caller| {
                let (engine, start) = (ctx.replica(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    // every third iteration, the second caller fails the run instead
                    if caller == 1 && i % 3 == 2 {
                        engine.fail_run(run, "failed".into()).await.map(|_| ())
                    } else {
                        engine.complete_run(run, Some(json!(caller))).await
                    }
                })
            })
            .collect();
        let mut results: Vec<Result<(), ServiceError>> = Vec::new();
        for caller in callers {
            results.push(caller.await.unwrap());
        }
        let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(c, _)| c).collect();
        assert_eq!(winners.len(), 1, "iteration {i}: {results:?}");
        assert!(results.iter().any(is_conflict), "iteration {i}: the loser gets a 409: {results:?}");
        let task = ctx.get(held.task.id).await;
        if winners[0] == 1 && i % 3 == 2 {
            assert_eq!(task.status, TaskStatus::Failed, "iteration {i}");
        } else {
            assert_eq!((task.status, task.result), (TaskStatus::Completed, Some(json!(winners[0]))), "iteration {i}");
        }
        assert_eq!(ctx.runs(held.task.id).await.len(), 1, "iteration {i}");
    }
}

pub async fn racing_sweepers_expire_each_claim_once(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let tasks = NewTask { max_attempts: Some(5), ..new_task("crash") };
    let created = ctx.engine.create_tasks(queue.clone(), vec![tasks; 200]).await.unwrap();
    assert_eq!(ctx.claim_with(&queue, 1000, 5.0).await.len(), 200);
    ctx.advance(5.0);
    let start = Arc::new(Barrier::new(4));
    let sweepers: Vec<_> = (0..4)
        .map(|_| {
            let (engine, start) = (ctx.replica(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                engine.sweep_once().await.expect("sweep").claims_expired
            })
        })
        .collect();
    let mut expired = 0;
    for sweeper in sweepers {
        expired += sweeper.await.unwrap();
    }
    assert_eq!(expired, 200, "each claim expired exactly once");
    for c in created.iter().take(20) {
        let runs = ctx.runs(c.task_id).await;
        assert_eq!(
            runs.iter().map(|r| (r.attempt, r.status)).collect::<Vec<_>>(),
            vec![(1, RunStatus::Failed), (2, RunStatus::Pending)]
        );
    }
    let again = ctx.claim(&queue, 1000).await;
    assert_eq!(again.len(), 200);
    assert!(again.iter().all(|s| s.run.attempt == 2));
}
