//! Table growth: claim latency with few versus many finished runs in the
//! table. For each size, the finished runs are seeded with SQL into the
//! database the server uses (`--database-url`, PostgreSQL), fresh pending
//! tasks are created through the target, and `claims` claims of `limit`
//! runs (no long poll) are timed one after the other, each acknowledged
//! (untimed) before the next.

use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;

use super::{Ctx, Report};
use crate::cli::TableGrowthArgs;
use crate::seed;
use crate::stats::Latency;

/// Untimed claims before each phase's timed ones.
const WARM_UP: usize = 20;

#[derive(Debug, Serialize)]
struct Phase {
    finished_runs: u64,
    seed_seconds: f64,
    claim: Latency,
}

#[derive(Debug, Serialize)]
struct Outcome {
    limit: u32,
    claims: usize,
    phases: Vec<Phase>,
    /// Median claim latency of the last phase over the first.
    p50_ratio: f64,
    p99_ratio: f64,
}

pub(crate) async fn run(ctx: &Ctx, args: &TableGrowthArgs) -> anyhow::Result<Report> {
    let Some(url) = ctx.database_url.as_deref().filter(|url| url.starts_with("postgres")) else {
        bail!("table-growth seeds PostgreSQL directly: pass the server's --database-url postgres://…");
    };
    anyhow::ensure!(!args.sizes.is_empty() && args.claims > 0, "need --sizes and --claims");
    let pool = PgPoolOptions::new().max_connections(2).connect(url).await.context("connecting to seed")?;
    ctx.target.create_queue(&ctx.queue).await.context("creating the queue")?;

    let mut phases = Vec::new();
    for &size in &args.sizes {
        let finished = seed::finished_runs(&pool, &ctx.queue).await?;
        let seeded = seed::add_finished(&pool, &ctx.queue, size.saturating_sub(finished)).await?;
        let finished = seed::finished_runs(&pool, &ctx.queue).await?;
        let claim = time_claims(ctx, args).await?;
        eprintln!("table-growth: {finished} finished runs: claim {}", claim.brief());
        phases.push(Phase { finished_runs: finished, seed_seconds: seeded.as_secs_f64(), claim });
    }
    pool.close().await;

    let (first, last) = (&phases[0].claim, &phases[phases.len() - 1].claim);
    let ratio = |a: f64, b: f64| if a > 0.0 { (b / a * 100.0).round() / 100.0 } else { 0.0 };
    let outcome = Outcome {
        limit: args.limit,
        claims: args.claims,
        p50_ratio: ratio(first.p50_ms, last.p50_ms),
        p99_ratio: ratio(first.p99_ms, last.p99_ms),
        phases,
    };
    let per_phase: Vec<String> =
        outcome.phases.iter().map(|p| format!("{} finished: {}", p.finished_runs, p.claim.brief())).collect();
    let line = format!(
        "table-growth: claim latency (limit {}, {} claims) {}; p50 ratio {:.2}, p99 ratio {:.2}",
        outcome.limit,
        outcome.claims,
        per_phase.join("; "),
        outcome.p50_ratio,
        outcome.p99_ratio
    );
    Report::new(line, &outcome)
}

async fn time_claims(ctx: &Ctx, args: &TableGrowthArgs) -> anyhow::Result<Latency> {
    let needed = (WARM_UP + args.claims) * args.limit as usize;
    let mut created = 0;
    while created < needed {
        let n = (needed - created).min(1000);
        ctx.target.create(&ctx.queue, n).await.context("creating pending tasks")?;
        created += n;
    }
    let mut samples = Vec::with_capacity(args.claims);
    for i in 0..WARM_UP + args.claims {
        let started = Instant::now();
        let runs = ctx.target.claim(&ctx.queue, args.limit, 0, "bench-growth").await.context("claim")?;
        let elapsed = started.elapsed();
        anyhow::ensure!(!runs.is_empty(), "the queue ran out of pending runs");
        if i >= WARM_UP {
            samples.push(elapsed);
        }
        ctx.target.complete(&runs, true).await.context("complete")?;
    }
    Ok(Latency::of_durations(samples))
}
