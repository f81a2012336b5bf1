//! Steady: tasks arrive at a fixed rate (one create call each, or batches
//! of `--per-call`) for a while,
//! while W workers claim and acknowledge. Reports claim latency (from a
//! task's create answer to the answer of the claim that handed it out) and
//! whether the backlog stays bounded: in the second half of the arrival
//! phase, the queue's pending runs (sampled from its stats) never exceed
//! one second of arrivals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use super::{Ctx, Pool, Report, WorkerConfig};
use crate::cli::SteadyArgs;
use crate::stats::{Latency, rate, signed_ms};
use crate::target::Target;

/// Create calls in flight at most; beyond, arrivals fall behind the rate.
const MAX_IN_FLIGHT: usize = 512;

/// After the arrivals stop, how long the workers get to finish the backlog.
const DRAIN: Duration = Duration::from_secs(30);

/// The backlog is bounded while it stays under this many seconds of arrivals.
const BOUNDED_SECONDS: f64 = 1.0;

#[derive(Debug, Serialize)]
struct Outcome {
    rate: u32,
    per_call: u32,
    duration_seconds: f64,
    workers: usize,
    limit: u32,
    batch_ack: bool,
    created: usize,
    arrival_rate: f64,
    processed: usize,
    claim_latency: Latency,
    max_backlog: u64,
    max_backlog_second_half: u64,
    backlog_at_end: u64,
    bounded: bool,
    /// `[seconds since start, pending runs, claimed runs]`.
    samples: Vec<(f64, u64, u64)>,
}

pub(crate) async fn run(ctx: &Ctx, args: &SteadyArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.rate > 0, "--rate must be at least 1");
    anyhow::ensure!(args.per_call > 0 && args.per_call <= args.rate, "--per-call must be 1..=--rate");
    ctx.target.create_queue(&ctx.queue).await.context("creating the queue")?;
    let config = WorkerConfig::from_args(&args.worker, None);
    let pool = Pool::start(&ctx.target, &ctx.queue, &config);
    let started = Instant::now();
    let (stop_sampling, sampling) = watch::channel(false);
    let sampler = tokio::spawn(sample(ctx.target.clone(), ctx.queue.clone(), args.sample_ms, started, sampling));

    let created = arrive(ctx, args).await?;
    let arrival_elapsed = started.elapsed();
    let drain_deadline = Instant::now() + DRAIN;
    while pool.handled() < created.len() && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_sampling.send_replace(true);
    let samples = sampler.await.context("the sampler panicked")??;
    let logs = pool.stop(&ctx.target, true).await?;

    let created_at: std::collections::HashMap<Uuid, Instant> = created.iter().copied().collect();
    let latencies = logs
        .iter()
        .flat_map(|log| &log.claims)
        .filter_map(|(run, claimed_at)| created_at.get(run).map(|at| signed_ms(*at, *claimed_at)))
        .collect();
    let arrival_seconds = arrival_elapsed.as_secs_f64();
    let mut in_arrivals = samples.iter().filter(|s| s.0 <= arrival_seconds);
    let second_half = in_arrivals.clone().filter(|s| s.0 >= arrival_seconds / 2.0);
    let max_backlog_second_half = second_half.map(|s| s.1).max().unwrap_or(0);
    let outcome = Outcome {
        rate: args.rate,
        per_call: args.per_call,
        duration_seconds: args.duration.as_secs_f64(),
        workers: config.workers,
        limit: config.limit,
        batch_ack: config.batch_ack,
        created: created.len(),
        arrival_rate: rate(created.len(), arrival_elapsed),
        processed: logs.iter().map(|log| log.claims.len()).sum(),
        claim_latency: Latency::of(latencies),
        max_backlog: samples.iter().map(|s| s.1).max().unwrap_or(0),
        max_backlog_second_half,
        backlog_at_end: in_arrivals.next_back().map_or(0, |s| s.1),
        bounded: (max_backlog_second_half as f64) <= f64::from(args.rate) * BOUNDED_SECONDS,
        samples,
    };
    let line = format!(
        "steady: {} tasks/s offered for {:.0} s ({:.0}/s arrived, {} of {} processed); claim latency {}; \
         backlog max {} (second half {}, at end {}): {}",
        outcome.rate,
        outcome.duration_seconds,
        outcome.arrival_rate,
        outcome.processed,
        outcome.created,
        outcome.claim_latency.brief(),
        outcome.max_backlog,
        outcome.max_backlog_second_half,
        outcome.backlog_at_end,
        if outcome.bounded { "bounded" } else { "GROWING" },
    );
    Report::new(line, &outcome)
}

/// One create call of `per_call` tasks per tick of `per_call / rate` for
/// `duration`, each in its own task so a slow answer does not delay the
/// next arrival.
async fn arrive(ctx: &Ctx, args: &SteadyArgs) -> anyhow::Result<Vec<(Uuid, Instant)>> {
    let per_call = args.per_call as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(f64::from(args.per_call) / f64::from(args.rate)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let deadline = Instant::now() + args.duration;
    let mut calls = JoinSet::new();
    let mut created = Vec::new();
    while Instant::now() < deadline {
        ticker.tick().await;
        let permit = in_flight.clone().acquire_owned().await.context("semaphore closed")?;
        let (target, queue) = (ctx.target.clone(), ctx.queue.clone());
        calls.spawn(async move {
            let runs = target.create(&queue, per_call).await;
            let at = Instant::now();
            drop(permit);
            runs.map(|runs| runs.into_iter().map(move |run| (run, at)))
        });
        while let Some(done) = calls.try_join_next() {
            created.extend(done.context("a create call panicked")?.context("create")?);
        }
    }
    while let Some(done) = calls.join_next().await {
        created.extend(done.context("a create call panicked")?.context("create")?);
    }
    Ok(created)
}

async fn sample(
    target: Arc<Target>,
    queue: String,
    every_ms: u64,
    started: Instant,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<(f64, u64, u64)>> {
    let mut ticker = tokio::time::interval(Duration::from_millis(every_ms.max(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut samples = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return Ok(samples),
        }
        let depth = target.depth(&queue).await.context("queue stats")?;
        samples.push(((started.elapsed().as_secs_f64() * 100.0).round() / 100.0, depth.pending, depth.claimed));
    }
}
