//! The metrics port: what the server observes about itself, as plain values.
//!
//! The engine and the HTTP adapter describe what happened with one
//! [`Observation`] each; an adapter (Prometheus, or [`NoopMetrics`]) turns
//! observations into whatever it exports. Keeping the port a single method
//! over an enum means a new metric is a new variant, not a new trait method
//! every implementation must grow, and no metrics library type crosses it.

use durable_domain::QueueName;

/// Records observations. Implementations must be cheap and never block:
/// `record` is called on request and claim paths.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Metrics: Send + Sync {
    fn record(&self, observation: Observation);
}

/// One thing that happened, or a fresh reading of a level.
/// Deliberately exhaustive: an adapter that forgets a new variant should
/// fail to compile rather than drop it silently.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// New tasks were created (deduplicated ones excluded).
    TasksCreated { queue: QueueName, n: u64 },
    /// One claim call answered with these runs; each latency is the claim
    /// time minus the run's `available_at` (how long it waited while due).
    /// An empty list is an empty claim: a batch of size zero.
    RunsClaimed { queue: QueueName, latencies_seconds: Vec<f64> },
    /// Runs completed by their workers (single or batch acknowledgement).
    RunsCompleted { n: u64 },
    /// A worker reported a failure; `retried` when a new run was scheduled.
    RunFailed { queue: QueueName, retried: bool },
    /// The sweeper expired claims (re-queued or, after too many expiries
    /// in a row, failed their tasks).
    ClaimsExpired { n: u64 },
    /// An event was emitted.
    EventEmitted,
    /// Runs woken up: sleepers whose time came, or event waiters an emit
    /// resolved.
    Wakeups { n: u64 },
    /// Rows deleted by one retention pass.
    Cleanup { tasks: u64, events: u64 },
    /// How long a long-polling claim was held before it answered.
    LongPollWait { seconds: f64 },
    /// One HTTP request. `route` is the route template (`/api/v1/runs/{run_id}/complete`),
    /// never the raw path, so ids cannot blow up the label space.
    HttpRequest { route: String, method: String, status: u16, seconds: f64 },
    /// A fresh reading of every queue's depth; queues absent from it no
    /// longer exist.
    QueueDepths(Vec<QueueDepth>),
    /// A fresh reading of the store's connection pool.
    Pool { in_use: u32, idle: u32 },
    /// The notifier's reconnects since the process started (a running total).
    NotifierReconnects(u64),
    /// Stored rows that claims and sweeps left out because they could not be
    /// decoded, since the process started (a running total).
    RowsSkipped(u64),
    /// One step of a sweeper pass failed; the pass went on with the others.
    SweepStepFailed { step: &'static str },
}

/// Live runs of one queue, by state, at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueDepth {
    pub queue: QueueName,
    /// Pending runs that are claimable now.
    pub pending_due: u64,
    /// Pending runs whose `available_at` is still ahead (deferred, backoff).
    pub pending_scheduled: u64,
    pub claimed: u64,
    pub sleeping: u64,
    /// Seconds since the oldest due pending run became due; `None` when no
    /// run is due. This is the consumer lag.
    pub oldest_pending_age_seconds: Option<f64>,
}

/// A queue's last hour and its finished runs, for the dashboard **(ext)**.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueOverview {
    pub minutes: Vec<QueueMinute>,
    /// Completed and failed runs, each counted up to `count_cap` (a count
    /// equal to the cap means "at least that many"), so the call stays one
    /// bounded read however many runs the queue keeps.
    pub completed_runs: u64,
    pub failed_runs: u64,
    pub count_cap: u32,
}

impl QueueMinute {
    /// The minute starting `at` with nothing counted, carrying the depth of
    /// `before` (or none).
    pub fn after(before: Option<&QueueMinute>, at: durable_domain::Timestamp) -> Self {
        match before {
            Some(b) => Self { at, tasks_created: 0, runs_claimed: 0, runs_failed: 0, ..b.clone() },
            None => Self {
                at,
                tasks_created: 0,
                runs_claimed: 0,
                runs_failed: 0,
                pending_due: 0,
                pending_scheduled: 0,
                claimed: 0,
                sleeping: 0,
                oldest_pending_age_seconds: None,
            },
        }
    }
}

/// A reading of a store's connection pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
}

/// Records nothing: the default when no metrics backend is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopMetrics;

impl Metrics for NoopMetrics {
    fn record(&self, _: Observation) {}
}

/// One minute of a queue as one server saw it **(ext)**: the dashboard's
/// throughput and depth chart.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueMinute {
    /// The minute's start.
    pub at: durable_domain::Timestamp,
    /// Tasks created in it, through this server.
    pub tasks_created: u64,
    /// Runs claimed in it, through this server.
    pub runs_claimed: u64,
    /// Runs its workers reported failed, through this server.
    pub runs_failed: u64,
    /// The queue's depth at the minute's last reading (shared by every
    /// server: it is read from the store).
    pub pending_due: u64,
    pub pending_scheduled: u64,
    pub claimed: u64,
    pub sleeping: u64,
    pub oldest_pending_age_seconds: Option<f64>,
}
