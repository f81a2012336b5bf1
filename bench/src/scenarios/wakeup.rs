//! Wake-up: W idle workers long-poll an empty queue; one task at a time is
//! created (random pauses between, so every worker is waiting again), and
//! the time from the create call's answer to the answer of the claim that
//! hands the task out is measured. It can be negative: the claim may answer
//! before the create call's own answer arrives. Also reported: the same from
//! the moment the create call was sent (what the peers' figures measure).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Ctx, Pool, Report, WorkerConfig};
use crate::cli::WakeupArgs;
use crate::stats::{Latency, ms, signed_ms};

/// A created task that no worker claims within this is a failure.
const CLAIM_WAIT: Duration = Duration::from_secs(10);

/// Long enough that workers are always waiting when a task arrives.
const LONG_POLL_SECONDS: u64 = 30;

#[derive(Debug, Serialize)]
struct Outcome {
    workers: usize,
    rounds: usize,
    /// From the create call's answer to the claim's answer.
    wakeup: Latency,
    /// From sending the create call to the claim's answer.
    wakeup_from_request: Latency,
    /// The create call alone.
    create: Latency,
}

pub(crate) async fn run(ctx: &Ctx, args: &WakeupArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.min_pause_ms <= args.max_pause_ms, "--min-pause-ms must not exceed --max-pause-ms");
    ctx.target.create_queue(&ctx.queue).await.context("creating the queue")?;
    let (tap, mut claimed) = mpsc::unbounded_channel();
    let config = WorkerConfig {
        workers: args.workers,
        limit: 1,
        long_poll: LONG_POLL_SECONDS,
        batch_ack: false,
        handoff: false,
        goal: None,
        tap: Some(tap),
    };
    let pool = Pool::start(&ctx.target, &ctx.queue, &config);
    // The workers hold their own senders: the channel closes when they all stop.
    drop(config);
    // Unclaimed ids seen so far, in case claims answer out of order.
    let mut seen = HashMap::new();

    let (mut wakeup, mut from_request, mut create) = (Vec::new(), Vec::new(), Vec::new());
    // One untimed round first: connections and caches warm up.
    for round in 0..=args.rounds {
        let pause = fastrand::u64(args.min_pause_ms..=args.max_pause_ms);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let sent = Instant::now();
        let run = *ctx.target.create(&ctx.queue, 1).await.context("create")?.first().context("no run created")?;
        let answered = Instant::now();
        let claimed_at = wait_for(&mut claimed, &mut seen, run).await?;
        if round > 0 {
            wakeup.push(signed_ms(answered, claimed_at));
            from_request.push(signed_ms(sent, claimed_at));
            create.push(ms(answered - sent));
        }
    }
    pool.stop(&ctx.target, true).await?;

    let outcome = Outcome {
        workers: args.workers,
        rounds: args.rounds,
        wakeup: Latency::of(wakeup),
        wakeup_from_request: Latency::of(from_request),
        create: Latency::of(create),
    };
    let line = format!(
        "wakeup: {} idle workers, {} tasks; create answered → claim answered: median {:.2} ms, p99 {:.2} ms \
         (from create sent: median {:.2} ms; create call median {:.2} ms)",
        outcome.workers,
        outcome.rounds,
        outcome.wakeup.p50_ms,
        outcome.wakeup.p99_ms,
        outcome.wakeup_from_request.p50_ms,
        outcome.create.p50_ms,
    );
    Report::new(line, &outcome)
}

async fn wait_for(
    claimed: &mut mpsc::UnboundedReceiver<(Uuid, Instant)>,
    seen: &mut HashMap<Uuid, Instant>,
    run: Uuid,
) -> anyhow::Result<Instant> {
    let deadline = tokio::time::Instant::now() + CLAIM_WAIT;
    loop {
        if let Some(at) = seen.remove(&run) {
            return Ok(at);
        }
        match tokio::time::timeout_at(deadline, claimed.recv()).await {
            Ok(Some((id, at))) => {
                seen.insert(id, at);
            }
            Ok(None) => bail!("every worker stopped"),
            Err(_) => bail!("run {run} was not claimed within {CLAIM_WAIT:?}"),
        }
    }
}
