//! Claims with long polling.
//!
//! The loop subscribes *before* trying, so a task created between an empty
//! claim and the wait still ends the wait. It also wakes at the queue's next
//! due time (no notification fires when a deferred run becomes due) and at
//! least every `poll_fallback`, because a notification is only a hint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use durable_domain::command::Claim;
use durable_domain::{QueueName, TaskState};
use durable_ports::{Observation, ServiceError};
use tokio::time::Instant;

use crate::engine::Engine;

/// Never spin: when due runs exist but the claim got none (racing claimers
/// took them, or a capped queue has no room), look again after this pause,
/// doubled each time it happens again in a row (up to `poll_fallback`): a
/// race clears at once, a full queue may stay full for long, and the write
/// that frees its room notifies the queue anyway.
const MIN_RECHECK: Duration = Duration::from_millis(10);

impl Engine {
    pub(crate) async fn claim_runs(&self, queue: &QueueName, claim: &Claim) -> Result<Vec<TaskState>, ServiceError> {
        let Some(long_poll) = claim.long_poll else {
            return Ok(self.store.runs_claim(queue, claim, self.now()).await?);
        };
        let started = Instant::now();
        let deadline = started + long_poll.unsigned_abs();
        let mut shutdown = self.shutdown.subscribe();
        let mut recheck = MIN_RECHECK;
        loop {
            let mut hint = self.notifier.subscribe(queue);
            let now = self.now();
            let claimed = self.store.runs_claim(queue, claim, now).await?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !claimed.is_empty() || *shutdown.borrow_and_update() || remaining.is_zero() {
                self.record(Observation::LongPollWait { seconds: started.elapsed().as_secs_f64() });
                return Ok(claimed);
            }
            let mut pause = remaining.min(self.config.poll_fallback);
            if let Some(due) = self.store.queue_next_due(queue).await? {
                if due <= now {
                    pause = pause.min(recheck);
                    recheck = (recheck * 2).min(self.config.poll_fallback.max(MIN_RECHECK));
                } else {
                    pause = pause.min(((due - now).unsigned_abs()).max(MIN_RECHECK));
                    recheck = MIN_RECHECK;
                }
            }
            let _waiting = Waiting::enter(&self.waiting);
            tokio::select! {
                () = hint.notified() => {}
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {
                    self.record(Observation::LongPollWait { seconds: started.elapsed().as_secs_f64() });
                    return Ok(Vec::new());
                }
            }
        }
    }
}

/// Counts a claim as waiting for as long as it is held (dropped when the
/// wait ends, however it ends).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
