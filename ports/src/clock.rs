//! The clock port: time is an input, so tests drive timeouts and backoff by
//! moving a manual clock instead of sleeping.

use std::sync::{Arc, Mutex};

use durable_domain::clock::{Timestamp, truncate};
use time::{Duration, OffsetDateTime};

/// Where the engine and the sweeper read "now"; stores never read the
/// time themselves, so a test moves it with [`ManualClock`].
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(truncate(start))))
    }

    /// Starts at the current wall-clock time.
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().expect("clock lock");
        *now = truncate(*now + by);
    }

    pub fn set(&self, to: Timestamp) {
        *self.0.lock().expect("clock lock") = truncate(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}
