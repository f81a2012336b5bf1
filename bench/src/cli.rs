//! The command line: where to send the load, and one subcommand per scenario.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "durable-bench",
    version,
    about = "Load generator of durable. Talks to a running durable-server over HTTP, \
             or with --in-process drives the engine directly on --database-url. Starts nothing hidden."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Print the result as one JSON object on stdout (the text line goes to stderr).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The server to load (ignored with --in-process).
    #[arg(long, env = "DURABLE_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,

    /// Bearer token, when the server requires one.
    #[arg(long, env = "DURABLE_AUTH_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,

    /// Skip HTTP: run `durable_app::Engine` in this process on --database-url,
    /// to show what HTTP costs.
    #[arg(long, global = true)]
    pub in_process: bool,

    /// `postgres://…`, `sqlite://path` or `memory:`. The store of --in-process,
    /// and the database table-growth seeds (the server's own database).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// PostgreSQL connections of the in-process engine's pool (the server's default).
    #[arg(long, default_value_t = 16, global = true)]
    pub pool_size: u32,

    /// The queue to use; by default a fresh one per run (`bench-<scenario>-<random>`).
    #[arg(long, global = true)]
    pub queue: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Scenario {
    /// Enqueue N no-op tasks, then let W workers drain them; enqueue and
    /// processing rates, create→claim latency.
    Throughput(ThroughputArgs),
    /// W idle long-polling workers; create one task at a time and time the
    /// claim that picks it up.
    Wakeup(WakeupArgs),
    /// A fixed arrival rate for a while: claim latency and whether the backlog stays bounded.
    Steady(SteadyArgs),
    /// Claim latency with few versus many finished runs in the table (PostgreSQL; seeds with SQL).
    TableGrowth(TableGrowthArgs),
    /// Keyed tasks (per-key concurrency limits): K keys × R runs each, drained
    /// by W workers; optionally behind one key holding a blocked backlog.
    Keys(KeysArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    /// Distinct concurrency keys of the measured tasks.
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,

    /// Measured tasks per key.
    #[arg(long, default_value_t = 20)]
    pub per_key: usize,

    /// The queue's `key_concurrency_limit`.
    #[arg(long, default_value_t = 1)]
    pub key_limit: u32,

    /// Tasks of one more key, created first (untimed): a backlog the key's
    /// limit blocks, which claims must not pay for.
    #[arg(long, default_value_t = 0)]
    pub hot_backlog: usize,

    #[command(flatten)]
    pub worker: WorkerArgs,
}

/// How workers claim and acknowledge.
#[derive(Debug, Clone, Args)]
pub(crate) struct WorkerArgs {
    /// Concurrent workers, each claiming in a loop.
    #[arg(long, short = 'w', default_value_t = 16)]
    pub workers: usize,

    /// Runs per claim (`limit`).
    #[arg(long, short = 'l', default_value_t = 10)]
    pub limit: u32,

    /// `long_poll_seconds` of every claim.
    #[arg(long, default_value_t = 5)]
    pub long_poll: u64,

    /// Acknowledge each claimed batch with one `POST /runs/complete`. The default.
    #[arg(long, overrides_with = "no_ack_batch")]
    pub ack_batch: bool,

    /// Acknowledge run by run with `POST /runs/{id}/complete` instead.
    #[arg(long, overrides_with = "ack_batch")]
    pub no_ack_batch: bool,

    /// Acknowledge each batch with the next claim (its `complete` field):
    /// one request per batch instead of two.
    #[arg(long, conflicts_with = "no_ack_batch")]
    pub handoff: bool,
}

impl WorkerArgs {
    pub(crate) fn batch_ack(&self) -> bool {
        !self.no_ack_batch
    }
}

#[derive(Debug, Args)]
pub(crate) struct ThroughputArgs {
    /// Tasks to enqueue and process.
    #[arg(long, short = 'n', default_value_t = 20_000)]
    pub tasks: usize,

    /// Tasks per create call (batch endpoint); 1 uses single creates.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub batch: u32,

    /// Tasks enqueued and processed, untimed, before the measured run, so the
    /// server's connections and statements are warm (0: none).
    #[arg(long, default_value_t = 1000)]
    pub warmup: usize,

    /// Concurrent enqueue callers (1: one call after the other, as the peers' harness does).
    #[arg(long, default_value_t = 1)]
    pub producers: usize,

    #[command(flatten)]
    pub worker: WorkerArgs,
}

#[derive(Debug, Args)]
pub(crate) struct WakeupArgs {
    /// Idle workers long-polling the queue.
    #[arg(long, short = 'w', default_value_t = 16)]
    pub workers: usize,

    /// Timed tasks, created one at a time.
    #[arg(long, default_value_t = 50)]
    pub rounds: usize,

    /// Shortest random pause between two creates (ms).
    #[arg(long, default_value_t = 100)]
    pub min_pause_ms: u64,

    /// Longest random pause between two creates (ms).
    #[arg(long, default_value_t = 300)]
    pub max_pause_ms: u64,
}

#[derive(Debug, Args)]
pub(crate) struct SteadyArgs {
    /// Tasks created per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,

    /// Tasks per create call (1: `POST /tasks`; more: the batch create, at
    /// `rate / per_call` calls per second).
    #[arg(long, default_value_t = 1)]
    pub per_call: u32,

    /// How long tasks arrive, e.g. `20s`, `1m`, `500ms`.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,

    /// How often the queue's stats are sampled (ms).
    #[arg(long, default_value_t = 500)]
    pub sample_ms: u64,

    #[command(flatten)]
    pub worker: WorkerArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TableGrowthArgs {
    /// Finished runs in the table for each phase, ascending.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    pub sizes: Vec<u64>,

    /// Timed claims per phase (after 20 untimed ones).
    #[arg(long, default_value_t = 500)]
    pub claims: usize,

    /// Runs per claim.
    #[arg(long, short = 'l', default_value_t = 1)]
    pub limit: u32,
}

/// `250ms`, `20s`, `2m`, or plain seconds.
pub(crate) fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = raw.find(|c: char| c.is_ascii_alphabetic()).map_or((raw, "s"), |i| raw.split_at(i));
    let value: f64 = number.trim().parse().map_err(|_| format!("{raw:?} is not a duration like 20s"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {raw:?}: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{raw:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn batch_ack_is_the_default() {
        let cli = Cli::parse_from(["durable-bench", "throughput"]);
        let Scenario::Throughput(args) = cli.scenario else { panic!("not throughput") };
        assert!(args.worker.batch_ack());
        let cli = Cli::parse_from(["durable-bench", "throughput", "--no-ack-batch"]);
        let Scenario::Throughput(args) = cli.scenario else { panic!("not throughput") };
        assert!(!args.worker.batch_ack());
        let cli = Cli::parse_from(["durable-bench", "throughput", "--no-ack-batch", "--ack-batch"]);
        let Scenario::Throughput(args) = cli.scenario else { panic!("not throughput") };
        assert!(args.worker.batch_ack());
    }
}
