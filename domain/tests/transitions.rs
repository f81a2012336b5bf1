//! Claim, complete, fail (with retry backoff), heartbeat and claim expiry.

mod common;

use common::*;
use durable_domain::machine::{self, FailOutcome, Policy};
use durable_domain::task::{CLAIM_EXPIRED, DEFAULT_MAX_CONSECUTIVE_EXPIRIES, TaskState};
use durable_domain::{Rejection, RunStatus, TaskSpec, TaskStatus};
use serde_json::json;
use time::Duration;

/// Claims the current run at `now` for 30 s.
fn claim_at(state: &mut TaskState, now: time::OffsetDateTime) {
    machine::claim(state, &claim_for(30), now).unwrap();
}

/// Lets the claim of a run claimed at `claimed_at` (30 s) run out; returns
/// the state addressing the new run.
fn expire_after_claim(state: &mut TaskState, claimed_at: time::OffsetDateTime) -> TaskState {
    let now = claimed_at + secs(30);
    let next = retried(machine::expire_claim(state, &Policy::default(), now).unwrap());
    addressing(state, next)
}

/// Fails the claimed run at `now`; returns the new run's state.
fn fail_and_retry(state: &mut TaskState, now: time::OffsetDateTime) -> TaskState {
    let next = retried(machine::fail(state, "boom", now).unwrap());
    addressing(state, next)
}

// ---------------------------------------------------------------- claim

#[test]
fn a_new_task_has_one_pending_run_due_at_creation() {
    let state = new_task(spec());
    assert_eq!(state.task.status, TaskStatus::Pending);
    assert_eq!(state.task.attempts, 1);
    assert_eq!(state.task.current_run, state.run.id);
    assert_eq!(state.run.task_id, state.task.id);
    assert_eq!(state.run.attempt, 1);
    assert_eq!(state.run.status, RunStatus::Pending);
    assert_eq!(state.run.available_at, T0);
    assert_eq!(state.task.first_claimed_at, None);
}

#[test]
fn run_at_defers_the_first_run() {
    let state = new_task(TaskSpec { run_at: Some(at(60)), ..spec() });
    assert_eq!(state.run.available_at, at(60));
    assert_eq!(state.run.created_at, T0);
}

#[test]
fn claim_hands_out_a_due_pending_run() {
    let mut state = new_task(spec());
    machine::claim(&mut state, &claim_for(45), at(5)).unwrap();
    assert_eq!(state.run.status, RunStatus::Claimed);
    assert_eq!(state.run.claimed_at, Some(at(5)));
    assert_eq!(state.run.claim_expires_at, Some(at(50)));
    assert_eq!(state.run.worker_id.as_deref(), Some("worker-1"));
    assert_eq!(state.task.first_claimed_at, Some(at(5)));
    assert!(state.run.claim_held(at(49)));
    assert!(!state.run.claim_held(at(50)));
}

#[test]
fn claim_keeps_fractional_timeouts() {
    let mut state = new_task(spec());
    let claim = durable_domain::command::Claim { claim_timeout: Duration::milliseconds(1500), ..claim_for(1) };
    machine::claim(&mut state, &claim, T0).unwrap();
    assert_eq!(state.run.claim_expires_at, Some(T0 + Duration::milliseconds(1500)));
}

#[test]
fn claim_waits_for_available_at() {
    let mut state = new_task(TaskSpec { run_at: Some(at(60)), ..spec() });
    let pending = Rejection::NotClaimed { run: state.run.id, status: "pending" };
    assert_rejected(&mut state, pending, |s| machine::claim(s, &claim_for(30), at(59)));
    machine::claim(&mut state, &claim_for(30), at(60)).unwrap();
    assert_eq!(state.run.status, RunStatus::Claimed);
}

#[test]
fn a_claimed_run_cannot_be_claimed_again() {
    let mut state = claimed(spec());
    let expected = Rejection::NotClaimed { run: state.run.id, status: "claimed" };
    assert_rejected(&mut state, expected, |s| machine::claim(s, &claim_for(30), at(1)));
}

#[test]
fn first_claimed_at_is_set_once() {
    let mut state = claimed(spec());
    let mut next = expire_after_claim(&mut state, T0);
    claim_at(&mut next, at(40));
    assert_eq!(next.run.claimed_at, Some(at(40)));
    assert_eq!(next.task.first_claimed_at, Some(T0));
}

// ---------------------------------------------------------------- complete

#[test]
fn complete_finishes_the_run_and_the_task() {
    let mut state = claimed(spec());
    machine::complete(&mut state, Some(json!({"sent": true})), at(10)).unwrap();
    assert_eq!(state.run.status, RunStatus::Completed);
    assert_eq!(state.run.completed_at, Some(at(10)));
    assert_eq!(state.run.claim_expires_at, None);
    assert_eq!(state.run.result, Some(json!({"sent": true})));
    assert_eq!(state.task.status, TaskStatus::Completed);
    assert_eq!(state.task.result, Some(json!({"sent": true})));
    assert_eq!(state.task.completed_at, Some(at(10)));
}

#[test]
fn complete_without_a_result() {
    let mut state = claimed(spec());
    machine::complete(&mut state, None, at(1)).unwrap();
    assert_eq!(state.task.status, TaskStatus::Completed);
    assert_eq!(state.task.result, None);
}

#[test]
fn complete_is_allowed_until_the_last_instant_of_the_claim() {
    let mut state = claimed(spec());
    let lost = Rejection::ClaimLost { run: state.run.id };
    assert_rejected(&mut state, lost, |s| machine::complete(s, None, at(30)));
    machine::complete(&mut state, None, at(30) - Duration::microseconds(1)).unwrap();
}

#[test]
fn complete_ends_an_expiry_streak() {
    let mut state = claimed(spec());
    let mut next = expire_after_claim(&mut state, T0);
    claim_at(&mut next, at(30));
    assert_eq!(next.task.consecutive_expiries, 1);
    machine::complete(&mut next, None, at(31)).unwrap();
    assert_eq!(next.task.consecutive_expiries, 0);
}

// ---------------------------------------------------------------- fail

#[test]
fn with_one_attempt_the_first_failure_fails_the_task() {
    let mut state = claimed(spec());
    assert_eq!(machine::fail(&mut state, "smtp down", at(3)).unwrap(), FailOutcome::TaskFailed);
    assert_eq!(state.run.status, RunStatus::Failed);
    assert_eq!(state.run.error.as_deref(), Some("smtp down"));
    assert_eq!(state.run.completed_at, Some(at(3)));
    assert_eq!(state.run.claim_expires_at, None);
    assert_eq!(state.task.status, TaskStatus::Failed);
    assert_eq!(state.task.failures, 1);
    assert_eq!(state.task.last_error.as_deref(), Some("smtp down"));
    assert_eq!(state.task.completed_at, Some(at(3)));
    assert_eq!(state.task.attempts, 1);
}

#[test]
fn a_failure_with_attempts_left_creates_the_next_run() {
    let mut state = claimed(with_attempts(3));
    let next = retried(machine::fail(&mut state, "smtp down", at(3)).unwrap());
    assert_eq!(state.run.status, RunStatus::Failed);
    assert_eq!(state.task.status, TaskStatus::Pending);
    assert_eq!(state.task.failures, 1);
    assert_eq!(state.task.last_error.as_deref(), Some("smtp down"));
    assert_eq!(state.task.completed_at, None);

    assert_ne!(next.id, state.run.id);
    assert_eq!(next.task_id, state.task.id);
    assert_eq!(next.queue, state.run.queue);
    assert_eq!(next.attempt, 2);
    assert_eq!(next.status, RunStatus::Pending);
    assert_eq!(next.created_at, at(3));
    assert_eq!(next.available_at, at(4), "no strategy: 1 s");
    assert_eq!((next.claimed_at, next.claim_expires_at, next.completed_at), (None, None, None));
    assert_eq!(state.task.attempts, 2);
    assert_eq!(state.task.current_run, next.id);
}

#[test]
fn the_task_fails_once_failures_reach_max_attempts() {
    let mut state = claimed(with_attempts(3));
    let mut now = T0;
    for attempt in 1..=2 {
        assert_eq!(state.run.attempt, attempt);
        now += secs(10);
        state = fail_and_retry(&mut state, now);
        claim_at(&mut state, now + secs(1));
    }
    assert_eq!(state.run.attempt, 3);
    assert_eq!(machine::fail(&mut state, "again", now + secs(2)).unwrap(), FailOutcome::TaskFailed);
    assert_eq!(state.task.status, TaskStatus::Failed);
    assert_eq!(state.task.failures, 3);
    assert_eq!(state.task.attempts, 3);
    assert_eq!(state.task.current_run, state.run.id);
}

#[test]
fn fixed_backoff_waits_base_seconds_every_time() {
    let mut state = claimed(TaskSpec { retry_strategy: Some(fixed(5.0)), ..with_attempts(5) });
    let mut failed_at = at(1);
    for retry in 1..=3 {
        let next = retried(machine::fail(&mut state, "boom", failed_at).unwrap());
        assert_eq!(next.available_at, failed_at + secs(5), "retry {retry}");
        state = addressing(&state, next);
        // Claimed at once when due, failed a little later.
        claim_at(&mut state, failed_at + secs(5));
        failed_at += secs(5 + retry);
    }
}

#[test]
fn exponential_backoff_grows_by_factor_and_stops_at_max_seconds() {
    let strategy = exponential(2.0, Some(3.0), Some(50.0));
    let mut state = claimed(TaskSpec { retry_strategy: Some(strategy), ..with_attempts(10) });
    let mut now = T0;
    for expected in [2, 6, 18, 50, 50] {
        let failed_of = state.run.attempt;
        let next = retried(machine::fail(&mut state, "boom", now).unwrap());
        assert_eq!(next.available_at - now, secs(expected), "after attempt {failed_of}");
        now = next.available_at;
        state = addressing(&state, next);
        claim_at(&mut state, now);
    }
}

#[test]
fn exponential_backoff_defaults_to_factor_two_and_keeps_fractions() {
    let mut state = claimed(TaskSpec { retry_strategy: Some(exponential(0.5, None, None)), ..with_attempts(4) });
    let mut now = T0;
    for expected_ms in [500, 1000, 2000] {
        let next = retried(machine::fail(&mut state, "boom", now).unwrap());
        assert_eq!(next.available_at - now, Duration::milliseconds(expected_ms));
        now = next.available_at;
        state = addressing(&state, next);
        claim_at(&mut state, now);
    }
}

#[test]
fn backoff_follows_the_attempt_number_not_the_failure_count() {
    // An expiry raises the attempt without counting as a failure: the first
    // worker failure (of attempt 2) backs off as attempt 2.
    let strategy = exponential(10.0, Some(2.0), None);
    let mut state = claimed(TaskSpec { retry_strategy: Some(strategy), ..with_attempts(3) });
    let mut second = expire_after_claim(&mut state, T0);
    claim_at(&mut second, at(30));
    let third = retried(machine::fail(&mut second, "boom", at(31)).unwrap());
    assert_eq!(second.task.failures, 1);
    assert_eq!(third.attempt, 3);
    assert_eq!(third.available_at, at(31) + secs(20));
}

#[test]
fn a_worker_failure_of_an_expired_claim_is_fenced_off() {
    let mut state = claimed(with_attempts(3));
    let lost = Rejection::ClaimLost { run: state.run.id };
    assert_rejected(&mut state, lost, |s| machine::fail(s, "late", at(31)));
}

// ---------------------------------------------------------------- heartbeat

#[test]
fn heartbeat_sets_the_claim_end_to_now_plus_n() {
    let mut state = claimed(spec());
    assert_eq!(machine::heartbeat(&mut state, secs(60), at(20)).unwrap(), at(80));
    assert_eq!(state.run.claim_expires_at, Some(at(80)));
    assert_eq!(state.run.status, RunStatus::Claimed);
    // now + N, even when that is sooner than the current end.
    assert_eq!(machine::heartbeat(&mut state, secs(5), at(21)).unwrap(), at(26));
    assert_eq!(state.run.claim_expires_at, Some(at(26)));
}

#[test]
fn a_heartbeat_keeps_the_claim_from_expiring() {
    let mut state = claimed(spec());
    machine::heartbeat(&mut state, secs(60), at(20)).unwrap();
    let still_held = Rejection::NotClaimed { run: state.run.id, status: "claimed" };
    assert_rejected(&mut state, still_held, |s| machine::expire_claim(s, &Policy::default(), at(30)));
    machine::complete(&mut state, None, at(79)).unwrap();
}

#[test]
fn a_heartbeat_cannot_revive_an_expired_claim() {
    let mut state = claimed(spec());
    let lost = Rejection::ClaimLost { run: state.run.id };
    assert_rejected(&mut state, lost, |s| machine::heartbeat(s, secs(60), at(30)));
}

// ---------------------------------------------------------------- expire_claim

#[test]
fn expiry_fails_the_run_and_queues_the_next_attempt_at_once() {
    let mut state = claimed(with_attempts(1));
    let next = retried(machine::expire_claim(&mut state, &Policy::default(), at(45)).unwrap());
    assert_eq!(state.run.status, RunStatus::Failed);
    assert_eq!(state.run.error.as_deref(), Some(CLAIM_EXPIRED));
    assert_eq!(state.run.completed_at, Some(at(45)));
    assert_eq!(state.run.claim_expires_at, None);
    assert_eq!(state.task.status, TaskStatus::Pending);
    assert_eq!(state.task.failures, 0, "an expiry is not a failure");
    assert_eq!(state.task.consecutive_expiries, 1);
    assert_eq!(state.task.last_error.as_deref(), Some(CLAIM_EXPIRED));

    assert_eq!(next.attempt, 2);
    assert_eq!(next.status, RunStatus::Pending);
    assert_eq!(next.available_at, state.run.available_at, "claimable at once, in the expired run's place in line");
    assert!(next.available_at <= at(45));
    assert_eq!(state.task.attempts, 2);
    assert_eq!(state.task.current_run, next.id);
}

#[test]
fn expiry_happens_exactly_at_the_claim_end_and_not_before() {
    let mut state = claimed(spec());
    let held = Rejection::NotClaimed { run: state.run.id, status: "claimed" };
    let just_before = at(30) - Duration::microseconds(1);
    assert_rejected(&mut state, held, |s| machine::expire_claim(s, &Policy::default(), just_before));
    machine::expire_claim(&mut state, &Policy::default(), at(30)).unwrap();
}

#[test]
fn expiries_do_not_use_up_max_attempts() {
    let mut state = claimed(with_attempts(1));
    let mut now = T0;
    for _ in 0..5 {
        state = expire_after_claim(&mut state, now);
        now += secs(30);
        claim_at(&mut state, now);
    }
    assert_eq!(state.run.attempt, 6);
    assert_eq!(state.task.failures, 0);
    // The single worker failure max_attempts allows still fails the task.
    assert_eq!(machine::fail(&mut state, "boom", now).unwrap(), FailOutcome::TaskFailed);
    assert_eq!(state.task.failures, 1);
}

/// Claims and lets the claim expire `times` times in a row, starting with a
/// claimed run; returns the last outcome and the state it left.
fn expire_repeatedly(
    mut state: TaskState,
    policy: &Policy,
    times: u32,
    mut now: time::OffsetDateTime,
) -> (FailOutcome, TaskState) {
    for i in 1..=times {
        now += secs(30);
        let outcome = machine::expire_claim(&mut state, policy, now).unwrap();
        if i == times {
            return (outcome, state);
        }
        state = addressing(&state, retried(outcome));
        claim_at(&mut state, now);
    }
    unreachable!("times must be at least 1")
}

#[test]
fn ten_expiries_in_a_row_fail_the_task() {
    assert_eq!(DEFAULT_MAX_CONSECUTIVE_EXPIRIES, 10);
    let (outcome, state) = expire_repeatedly(claimed(with_attempts(3)), &Policy::default(), 9, T0);
    assert!(matches!(outcome, FailOutcome::Retry(_)), "nine expiries retry");
    assert_eq!(state.task.consecutive_expiries, 9);

    let (outcome, state) = expire_repeatedly(claimed(with_attempts(3)), &Policy::default(), 10, T0);
    assert_eq!(outcome, FailOutcome::TaskFailed);
    assert_eq!(state.task.status, TaskStatus::Failed);
    assert_eq!(state.task.completed_at, Some(at(300)));
    assert_eq!(state.task.attempts, 10);
    assert_eq!(state.task.failures, 0);
    assert_eq!(state.task.last_error.as_deref(), Some("claim expired 10 times in a row"));
    assert_eq!(state.run.status, RunStatus::Failed);
    assert_eq!(state.run.error.as_deref(), Some(CLAIM_EXPIRED));
    assert_eq!(state.task.current_run, state.run.id, "no new run after the last expiry");
}

#[test]
fn the_expiry_limit_is_a_policy() {
    let policy = Policy { max_consecutive_expiries: 3 };
    let (outcome, state) = expire_repeatedly(claimed(spec()), &policy, 3, T0);
    assert_eq!(outcome, FailOutcome::TaskFailed);
    assert_eq!(state.task.attempts, 3);
}

#[test]
fn a_worker_failure_resets_the_expiry_streak() {
    let policy = Policy::default();
    let (outcome, state) = expire_repeatedly(claimed(with_attempts(2)), &policy, 9, T0);
    let mut state = addressing(&state, retried(outcome));
    claim_at(&mut state, at(270));
    let mut state = fail_and_retry(&mut state, at(271));
    assert_eq!(state.task.consecutive_expiries, 0);
    claim_at(&mut state, at(272));

    let (outcome, state) = expire_repeatedly(state, &policy, 9, at(272));
    assert!(matches!(outcome, FailOutcome::Retry(_)), "the streak restarted at zero");
    assert_eq!(state.task.consecutive_expiries, 9);
    assert_eq!(state.task.status, TaskStatus::Pending);
}

#[test]
fn after_expiry_the_old_worker_is_fenced_off() {
    let mut old = claimed(with_attempts(3));
    let mut next = expire_after_claim(&mut old, T0);
    // The store loads the old run together with the task as it is now.
    old.task = next.task.clone();
    let lost = Rejection::ClaimLost { run: old.run.id };
    assert_rejected(&mut old, lost.clone(), |s| machine::complete(s, None, at(31)));
    assert_rejected(&mut old, lost.clone(), |s| machine::fail(s, "late", at(31)));
    assert_rejected(&mut old, lost.clone(), |s| machine::heartbeat(s, secs(30), at(31)));
    assert_rejected(&mut old, lost.clone(), |s| machine::schedule(s, at(90), at(31)));
    let wait = wait_for(&old, "approved", "approval", 60);
    assert_rejected(&mut old, lost, |s| machine::wait_for_event(s, &wait, None, None, at(31)));

    // Meanwhile the new run is claimable and completes normally.
    claim_at(&mut next, at(31));
    machine::complete(&mut next, None, at(32)).unwrap();
}

#[test]
fn an_expired_claim_requeues_the_task_due_when_its_run_was() {
    let mut state = new_task(spec());
    let due = state.run.available_at;
    claim_at(&mut state, T0 + secs(5));
    let next = expire_after_claim(&mut state, T0 + secs(5));
    assert_eq!(next.run.available_at, due, "ahead of every run that became due since");
    assert_eq!(next.run.created_at, T0 + secs(35));
}
