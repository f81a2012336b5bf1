//! The queue-depth gauges, replaced wholesale by each store reading.

use std::collections::BTreeSet;
use std::sync::Mutex;

use durable_ports::metrics::QueueDepth;
use prometheus::{GaugeVec, IntGaugeVec};

const STATES: [&str; 4] = ["pending_due", "pending_scheduled", "claimed", "sleeping"];

pub(crate) struct DepthGauges {
    runs: IntGaugeVec,
    oldest_pending_age: GaugeVec,
    /// Queues of the last reading, so a deleted queue's series can be
    /// removed instead of reporting its last depth forever.
    known: Mutex<BTreeSet<String>>,
}

impl DepthGauges {
    pub(crate) fn new(runs: IntGaugeVec, oldest_pending_age: GaugeVec) -> Self {
        Self { runs, oldest_pending_age, known: Mutex::new(BTreeSet::new()) }
    }

    pub(crate) fn set(&self, depths: &[QueueDepth]) {
        // Poisoning cannot leave the set inconsistent: it is only replaced whole.
        let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let current: BTreeSet<String> = depths.iter().map(|d| d.queue.to_string()).collect();
        for gone in known.difference(&current) {
            for state in STATES {
                // Absent series are fine: nothing to remove.
                let _ = self.runs.remove_label_values(&[gone.as_str(), state]);
            }
            let _ = self.oldest_pending_age.remove_label_values(&[gone.as_str()]);
        }
        for depth in depths {
            let queue = depth.queue.as_str();
            let counts = [depth.pending_due, depth.pending_scheduled, depth.claimed, depth.sleeping];
            for (state, n) in STATES.into_iter().zip(counts) {
                self.runs.with_label_values(&[queue, state]).set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            // No due run means no lag: 0 keeps alert expressions simple.
            self.oldest_pending_age.with_label_values(&[queue]).set(depth.oldest_pending_age_seconds.unwrap_or(0.0));
        }
        *known = current;
    }
}
