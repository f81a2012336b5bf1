//! Queue depths for the metrics gauges, in one pass over the runs.

use std::collections::BTreeMap;

use durable_domain::{QueueName, RunStatus, Timestamp};
use durable_ports::metrics::QueueDepth;

use crate::state::State;

impl State {
    /// Every queue's live runs by state; queues without runs report zeros.
    pub(crate) fn depths(&self, now: Timestamp) -> Vec<QueueDepth> {
        let mut depths: BTreeMap<&QueueName, QueueDepth> = self.queues.keys().map(|q| (q, empty(q))).collect();
        let mut oldest_due: BTreeMap<&QueueName, Timestamp> = BTreeMap::new();
        for run in self.runs.values() {
            let Some(depth) = depths.get_mut(&run.queue) else { continue };
            match run.status {
                RunStatus::Pending if run.is_claimable(now) => {
                    depth.pending_due += 1;
                    let oldest = oldest_due.entry(&run.queue).or_insert(run.available_at);
                    *oldest = (*oldest).min(run.available_at);
                }
                RunStatus::Pending => depth.pending_scheduled += 1,
                RunStatus::Claimed => depth.claimed += 1,
                RunStatus::Sleeping => depth.sleeping += 1,
                RunStatus::Completed | RunStatus::Failed | RunStatus::Canceled => {}
            }
        }
        for (queue, due) in oldest_due {
            if let Some(depth) = depths.get_mut(queue) {
                depth.oldest_pending_age_seconds = Some((now - due).as_seconds_f64());
            }
        }
        depths.into_values().collect()
    }
}

fn empty(queue: &QueueName) -> QueueDepth {
    QueueDepth {
        queue: queue.clone(),
        pending_due: 0,
        pending_scheduled: 0,
        claimed: 0,
        sleeping: 0,
        oldest_pending_age_seconds: None,
    }
}
