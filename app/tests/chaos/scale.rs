//! How big a run is: the short form for CI, the long form on request.

use std::time::Duration;

/// Set to `1` for the long form.
pub(crate) const LONG_ENV: &str = "CHAOS_LONG";

#[derive(Clone, Debug)]
pub(crate) struct Scale {
    pub long: bool,
    /// Tasks created per scenario.
    pub tasks: usize,
    /// How many times a scenario injects its fault.
    pub rounds: usize,
    /// Creating the tasks is spread over this long; the faults fall inside it.
    pub window: Duration,
    /// How long the database stays down in the outage scenario.
    pub outage: Duration,
    /// At least this long between the end of one fault and the next.
    pub settle: Duration,
    /// How long the queue may take to drain once creating and faults are
    /// over; a bound so a stuck run fails instead of hanging, not a speed goal.
    pub drain: Duration,
}

impl Scale {
    pub(crate) fn from_env() -> Self {
        if std::env::var(LONG_ENV).is_ok_and(|v| v == "1") { Self::long() } else { Self::short() }
    }

    pub(crate) fn short() -> Self {
        Self {
            long: false,
            tasks: 300,
            rounds: 2,
            window: Duration::from_secs(6),
            outage: Duration::from_secs(3),
            settle: Duration::from_secs(2),
            drain: Duration::from_secs(90),
        }
    }

    pub(crate) fn long() -> Self {
        Self {
            long: true,
            tasks: 4000,
            rounds: 6,
            window: Duration::from_secs(60),
            outage: Duration::from_secs(10),
            settle: Duration::from_secs(3),
            drain: Duration::from_secs(240),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        if self.long { "long" } else { "short" }
    }
}
