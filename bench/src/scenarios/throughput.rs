//! Throughput: enqueue N no-op tasks, then let W workers drain them.
//!
//! First `warmup` tasks go through the same way, untimed, so the server's
//! connections and prepared statements are warm. Then:
//!
//! - enqueue jobs/s: N over the time the create calls took (`producers`
//!   concurrent callers, `batch` tasks per call);
//! - processed jobs/s: N over the time from the workers' start (their first
//!   claim request) to the last acknowledgement's answer;
//! - create→claim: per task, from its create call's answer to the answer of
//!   the claim that handed it out. The whole backlog exists before the first
//!   claim, so this is mostly time spent waiting in the queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use uuid::Uuid;

use super::{Ctx, Pool, Report, WorkerConfig};
use crate::cli::ThroughputArgs;
use crate::stats::{Latency, rate, signed_ms};

#[derive(Debug, Serialize)]
struct Outcome {
    tasks: usize,
    warmup: usize,
    batch: u32,
    producers: usize,
    workers: usize,
    limit: u32,
    batch_ack: bool,
    handoff: bool,
    enqueue_seconds: f64,
    enqueue_jobs_per_second: f64,
    process_seconds: f64,
    processed_jobs_per_second: f64,
    claim_calls: usize,
    mean_runs_per_claim: f64,
    rejected: usize,
    create_to_claim: Latency,
}

pub(crate) async fn run(ctx: &Ctx, args: &ThroughputArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    ctx.target.create_queue(&ctx.queue).await.context("creating the queue")?;
    let config = WorkerConfig::from_args(&args.worker, Some(args.tasks));
    if args.warmup > 0 {
        enqueue(ctx, args.warmup, args.batch, args.producers).await.context("warm-up")?;
        // No long polls: the workers are stopped once the warm-up is done.
        let warm_up = WorkerConfig { goal: Some(args.warmup), long_poll: 0, ..config.clone() };
        let pool = Pool::start(&ctx.target, &ctx.queue, &warm_up);
        pool.finished().await;
        pool.stop(&ctx.target, false).await.context("warm-up")?;
    }

    let enqueue_started = Instant::now();
    let created = enqueue(ctx, args.tasks, args.batch, args.producers).await?;
    let enqueue_elapsed = enqueue_started.elapsed();

    let started = Instant::now();
    let pool = Pool::start(&ctx.target, &ctx.queue, &config);
    pool.finished().await;
    let logs = pool.stop(&ctx.target, true).await?;
    let last_ack = logs.iter().filter_map(|log| log.last_ack).max().unwrap_or(started);
    let process_elapsed = last_ack - started;

    let latencies = logs
        .iter()
        .flat_map(|log| &log.claims)
        .filter_map(|(run, claimed_at)| created.get(run).map(|at| signed_ms(*at, *claimed_at)))
        .collect();
    let claim_calls: usize = logs.iter().map(|log| log.claim_calls).sum();
    let handed_out: usize = logs.iter().map(|log| log.claims.len()).sum();
    let outcome = Outcome {
        tasks: args.tasks,
        warmup: args.warmup,
        batch: args.batch,
        producers: args.producers,
        workers: config.workers,
        limit: config.limit,
        batch_ack: config.batch_ack,
        handoff: config.handoff,
        enqueue_seconds: enqueue_elapsed.as_secs_f64(),
        enqueue_jobs_per_second: rate(args.tasks, enqueue_elapsed),
        process_seconds: process_elapsed.as_secs_f64(),
        processed_jobs_per_second: rate(handed_out, process_elapsed),
        claim_calls,
        mean_runs_per_claim: (handed_out as f64 / claim_calls.max(1) as f64 * 100.0).round() / 100.0,
        rejected: logs.iter().map(|log| log.rejected).sum(),
        create_to_claim: Latency::of(latencies),
    };
    let line = format!(
        "throughput: {} tasks; enqueue {:.0} jobs/s (batch {}); processed {:.0} jobs/s \
         ({} workers, limit {}, {} ack, {:.1} runs/claim); create→claim {}",
        outcome.tasks,
        outcome.enqueue_jobs_per_second,
        outcome.batch,
        outcome.processed_jobs_per_second,
        outcome.workers,
        outcome.limit,
        if outcome.handoff {
            "handoff"
        } else if outcome.batch_ack {
            "batch"
        } else {
            "single"
        },
        outcome.mean_runs_per_claim,
        outcome.create_to_claim.brief(),
    );
    Report::new(line, &outcome)
}

/// Creates `tasks` tasks in calls of `batch`, `producers` calls at a time;
/// returns when each run's create call answered.
async fn enqueue(ctx: &Ctx, tasks: usize, batch: u32, producers: usize) -> anyhow::Result<HashMap<Uuid, Instant>> {
    let batch = batch as usize;
    let calls = tasks.div_ceil(batch);
    let next = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..producers.max(1))
        .map(|_| {
            let (target, queue, next) = (ctx.target.clone(), ctx.queue.clone(), next.clone());
            tokio::spawn(async move {
                let mut created = Vec::new();
                loop {
                    let call = next.fetch_add(1, Ordering::SeqCst);
                    if call >= calls {
                        return anyhow::Ok(created);
                    }
                    let n = batch.min(tasks - call * batch);
                    let runs = target.create(&queue, n).await.context("create")?;
                    let at = Instant::now();
                    created.extend(runs.into_iter().map(|run| (run, at)));
                }
            })
        })
        .collect();
    let mut created = HashMap::with_capacity(tasks);
    for producer in producers {
        created.extend(producer.await.context("a producer panicked")??);
    }
    Ok(created)
}
