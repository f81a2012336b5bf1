//! Keys: tasks spread over concurrency keys, drained by W workers under the
//! queue's key limit.
//!
//! `keys` × `per_key` tasks are created (batches of 1 000, key `k{i % keys}`
//! for the i-th, so every batch touches many keys), then the workers drain
//! them. With `--hot-backlog N`, N tasks of one more key are created first:
//! a backlog its limit blocks, behind which the other keys must still be
//! claimed at once and at the same claim latency.
//!
//! Reports processed jobs/s and the latency of the claim calls that handed
//! out runs (p50/p99).

use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use super::{Ctx, Pool, Report, WorkerConfig};
use crate::cli::KeysArgs;
use crate::stats::{Latency, rate};

const BATCH: usize = 1000;

#[derive(Debug, Serialize)]
struct Outcome {
    keys: usize,
    per_key: usize,
    key_limit: u32,
    hot_backlog: usize,
    workers: usize,
    limit: u32,
    enqueue_jobs_per_second: f64,
    processed_jobs_per_second: f64,
    mean_runs_per_claim: f64,
    claim_ms: Latency,
}

pub(crate) async fn run(ctx: &Ctx, args: &KeysArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.keys > 0 && args.per_key > 0, "--keys and --per-key must be at least 1");
    ctx.target.create_keyed_queue(&ctx.queue, args.key_limit).await.context("creating the queue")?;
    let hot: Vec<String> = vec!["hot".to_owned(); args.hot_backlog];
    for chunk in hot.chunks(BATCH) {
        ctx.target.create_keyed(&ctx.queue, chunk).await.context("creating the hot backlog")?;
    }
    let tasks = args.keys * args.per_key;
    let keys: Vec<String> = (0..tasks).map(|i| format!("k{}", i % args.keys)).collect();
    let enqueue_started = Instant::now();
    for chunk in keys.chunks(BATCH) {
        ctx.target.create_keyed(&ctx.queue, chunk).await.context("create")?;
    }
    let enqueue_elapsed = enqueue_started.elapsed();

    let config = WorkerConfig::from_args(&args.worker, Some(tasks));
    let started = Instant::now();
    let pool = Pool::start(&ctx.target, &ctx.queue, &config);
    pool.finished().await;
    let logs = pool.stop(&ctx.target, true).await?;
    let last_ack = logs.iter().filter_map(|log| log.last_ack).max().unwrap_or(started);
    let handed_out: usize = logs.iter().map(|log| log.claims.len()).sum();
    let claim_calls: usize = logs.iter().map(|log| log.claim_calls).sum();
    let outcome = Outcome {
        keys: args.keys,
        per_key: args.per_key,
        key_limit: args.key_limit,
        hot_backlog: args.hot_backlog,
        workers: config.workers,
        limit: config.limit,
        enqueue_jobs_per_second: rate(tasks, enqueue_elapsed),
        processed_jobs_per_second: rate(handed_out, last_ack - started),
        mean_runs_per_claim: (handed_out as f64 / claim_calls.max(1) as f64 * 100.0).round() / 100.0,
        claim_ms: Latency::of(logs.iter().flat_map(|log| log.claim_ms.iter().copied()).collect()),
    };
    let line = format!(
        "keys: {} keys × {} (limit {}, hot backlog {}); enqueue {:.0} jobs/s; processed {:.0} jobs/s \
         ({} workers, limit {}, {:.1} runs/claim); claim {}",
        outcome.keys,
        outcome.per_key,
        outcome.key_limit,
        outcome.hot_backlog,
        outcome.enqueue_jobs_per_second,
        outcome.processed_jobs_per_second,
        outcome.workers,
        outcome.limit,
        outcome.mean_runs_per_claim,
        outcome.claim_ms.brief(),
    );
    Report::new(line, &outcome)
}
