//! Outcomes waiting for the worker's next claim.
//!
//! A handler that finishes while the claim loop is about to claim leaves
//! its outcome here, and the claim carries it (the claim's `complete` and
//! `fail` fields): one request per batch instead of one more per run. While
//! the loop waits in a long poll (or has stopped), an outcome would wait
//! for the poll to end, so the outbox refuses it and the handler reports it
//! on its own.

use std::sync::{Mutex, PoisonError};

use crate::types::handoff::{FailRun, Finished};
use crate::types::runs::CompleteRun;

/// What a finished handler reports.
#[derive(Debug)]
pub(crate) enum Outcome {
    Complete(CompleteRun),
    Fail(FailRun),
}

#[derive(Debug, Default)]
struct State {
    /// Outcomes are reported by their handlers, not carried: while the
    /// claim loop long-polls.
    direct: bool,
    /// For good: the worker stops, or the server does not take outcomes
    /// with claims.
    closed: bool,
    finished: Finished,
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    state: Mutex<State>,
}

impl Outbox {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `outcome` for the next claim, or gives it back when the claim
    /// loop cannot carry it soon: the caller reports it itself.
    pub(crate) fn offer(&self, outcome: Outcome) -> Option<Outcome> {
        let mut state = self.state();
        if state.direct || state.closed {
            return Some(outcome);
        }
        match outcome {
            Outcome::Complete(run) => state.finished.complete.push(run),
            Outcome::Fail(run) => state.finished.fail.push(run),
        }
        None
    }

    /// Everything kept so far, for the claim about to be sent. When there is
    /// nothing, that claim long-polls, and outcomes are reported directly
    /// until [`Outbox::carry_again`].
    pub(crate) fn take_for_claim(&self) -> Finished {
        let mut state = self.state();
        let finished = std::mem::take(&mut state.finished);
        state.direct = finished.is_empty();
        finished
    }

    /// The long poll is over: keep outcomes for the next claim again.
    pub(crate) fn carry_again(&self) {
        self.state().direct = false;
    }

    /// Outcomes a claim could not deliver go out with the next one, first.
    pub(crate) fn put_back(&self, mut finished: Finished) {
        let mut state = self.state();
        finished.complete.append(&mut state.finished.complete);
        finished.fail.append(&mut state.finished.fail);
        state.finished = finished;
    }

    /// No claim will carry anything any more: from now on handlers report
    /// directly; answers what was kept, for the caller to report.
    pub(crate) fn close(&self) -> Finished {
        let mut state = self.state();
        state.closed = true;
        std::mem::take(&mut state.finished)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn complete(n: u128) -> Outcome {
        Outcome::Complete(CompleteRun::new(Uuid::from_u128(n), None))
    }

    #[test]
    fn outcomes_ride_on_the_next_claim_unless_it_long_polls() {
        let outbox = Outbox::default();
        assert!(outbox.offer(complete(1)).is_none());
        assert!(outbox.offer(Outcome::Fail(FailRun::new(Uuid::from_u128(2), "boom"))).is_none());
        let carried = outbox.take_for_claim();
        assert_eq!((carried.complete.len(), carried.fail.len()), (1, 1));
        // Nothing left: this claim long-polls, so outcomes go out directly.
        assert!(outbox.take_for_claim().is_empty());
        assert!(outbox.offer(complete(3)).is_some());
        outbox.carry_again();
        assert!(outbox.offer(complete(4)).is_none());
    }

    #[test]
    fn undelivered_outcomes_go_first_and_close_hands_back_the_rest() {
        let outbox = Outbox::default();
        assert!(outbox.offer(complete(1)).is_none());
        let carried = outbox.take_for_claim();
        assert!(outbox.offer(complete(2)).is_none());
        outbox.put_back(carried);
        let left = outbox.close();
        let ids: Vec<_> = left.complete.iter().map(|c| c.run_id.as_u128()).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(outbox.offer(complete(3)).is_some(), "after close, handlers report directly");
        outbox.carry_again();
        assert!(outbox.take_for_claim().is_empty());
        assert!(outbox.offer(complete(4)).is_some(), "for good");
    }
}
