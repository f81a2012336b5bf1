//! Engine settings a deployment may tune.

use std::time::Duration;

use durable_domain::machine::Policy;
use durable_domain::queue::DEFAULT_MAX_QUEUES;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Queues the server accepts before `POST /queues` answers 400.
    pub max_queues: usize,
    /// State-machine rules (claim expiries in a row before a task fails).
    pub policy: Policy,
    /// A long-polling claim re-checks at least this often, so a lost
    /// notification delays work but never strands it.
    pub poll_fallback: Duration,
    /// Rows each sweeper step handles per pass.
    pub sweep_batch: u32,
    /// A schedule's tick at most this old is on time and always fires; an
    /// older one was missed (no server ran) and fires as the schedule's
    /// catch-up policy says.
    pub schedule_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_queues: DEFAULT_MAX_QUEUES,
            policy: Policy::default(),
            poll_fallback: Duration::from_secs(1),
            sweep_batch: 1000,
            schedule_grace: Duration::from_secs(60),
        }
    }
}
