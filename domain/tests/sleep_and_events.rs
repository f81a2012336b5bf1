//! Durable sleep (`schedule`), wait-for-event, event delivery and waking.

mod common;

use common::*;
use durable_domain::event::{WaitOutcome, WaitResponse};
use durable_domain::machine::{self, WaitEffect, Woken};
use durable_domain::task::{EventWait, TaskState};
use durable_domain::{Rejection, RunStatus, TaskId, TaskSpec};
use serde_json::json;

/// A claimed run (claimed at `T0` for 30 s) that called wait-for-event on
/// `approved` for step `approval` at `at(5)` with a 60 s timeout, with no
/// outcome and no event yet: it sleeps until `at(65)`.
fn sleeping_on_event() -> TaskState {
    let mut state = claimed(spec());
    let wait = wait_for(&state, "approved", "approval", 60);
    let effect = machine::wait_for_event(&mut state, &wait, None, None, at(5)).unwrap();
    assert_eq!(effect, WaitEffect { response: WaitResponse::Sleeping, record: None });
    state
}

fn assert_claim_released(state: &TaskState) {
    assert_eq!(state.run.claimed_at, None);
    assert_eq!(state.run.claim_expires_at, None);
    assert_eq!(state.run.worker_id, None);
}

// ---------------------------------------------------------------- schedule

#[test]
fn schedule_defers_a_pending_run() {
    let mut state = new_task(spec());
    let run_id = state.run.id;
    assert!(!machine::schedule(&mut state, at(60), at(1)).unwrap(), "not claimable before run_at");
    assert_eq!(state.run.id, run_id);
    assert_eq!(state.run.status, RunStatus::Pending);
    assert_eq!(state.run.available_at, at(60));

    let pending = Rejection::NotClaimed { run: run_id, status: "pending" };
    assert_rejected(&mut state, pending, |s| machine::claim(s, &claim_for(30), at(59)));
    machine::claim(&mut state, &claim_for(30), at(60)).unwrap();
}

#[test]
fn scheduling_a_pending_run_into_the_past_makes_it_claimable_now() {
    let mut state = new_task(TaskSpec { run_at: Some(at(600)), ..spec() });
    assert!(machine::schedule(&mut state, at(-5), at(1)).unwrap());
    assert_eq!(state.run.status, RunStatus::Pending);
    machine::claim(&mut state, &claim_for(30), at(1)).unwrap();
}

#[test]
fn schedule_puts_a_claimed_run_to_sleep_as_the_same_run() {
    let mut state = claimed(with_attempts(3));
    let before = state.clone();
    assert!(!machine::schedule(&mut state, at(3600), at(10)).unwrap());
    assert_eq!(state.run.id, before.run.id);
    assert_eq!(state.run.attempt, 1);
    assert_eq!(state.run.status, RunStatus::Sleeping);
    assert_eq!(state.run.available_at, at(3600));
    assert_eq!(state.run.wait, None, "a durable sleep waits for no event");
    assert_claim_released(&state);
    assert_eq!(state.task.attempts, 1);
    assert_eq!(state.task.current_run, before.run.id);
    assert_eq!(state.task.failures, 0);
}

#[test]
fn schedule_of_a_claimed_run_into_the_past_makes_it_pending_at_once() {
    for run_at in [at(10), at(-3600)] {
        let mut state = claimed(spec());
        assert!(machine::schedule(&mut state, run_at, at(10)).unwrap(), "run_at {run_at}");
        assert_eq!(state.run.status, RunStatus::Pending);
        assert_claim_released(&state);
        machine::claim(&mut state, &claim_for(30), at(10)).unwrap();
        assert_eq!(state.run.attempt, 1);
    }
}

#[test]
fn a_sleeping_run_is_not_claimable_until_it_wakes() {
    let mut state = claimed(spec());
    machine::schedule(&mut state, at(100), at(10)).unwrap();
    let sleeping = Rejection::NotClaimed { run: state.run.id, status: "sleeping" };
    assert_rejected(&mut state, sleeping.clone(), |s| machine::claim(s, &claim_for(30), at(200)));
    assert_rejected(&mut state, sleeping, |s| machine::complete(s, None, at(11)));
}

#[test]
fn schedule_resets_an_expiry_streak() {
    let mut state = claimed(spec());
    let next = retried(machine::expire_claim(&mut state, &machine::Policy::default(), at(30)).unwrap());
    let mut state = addressing(&state, next);
    machine::claim(&mut state, &claim_for(30), at(30)).unwrap();
    assert_eq!(state.task.consecutive_expiries, 1);
    machine::schedule(&mut state, at(100), at(31)).unwrap();
    assert_eq!(state.task.consecutive_expiries, 0);
}

#[test]
fn schedule_of_a_finished_run_is_rejected() {
    let mut completed = claimed(spec());
    machine::complete(&mut completed, None, at(1)).unwrap();
    let finished = Rejection::RunFinished { run: completed.run.id, status: "completed" };
    assert_rejected(&mut completed, finished, |s| machine::schedule(s, at(60), at(2)));

    let mut failed = claimed(spec());
    machine::fail(&mut failed, "boom", at(1)).unwrap();
    let finished = Rejection::RunFinished { run: failed.run.id, status: "failed" };
    assert_rejected(&mut failed, finished, |s| machine::schedule(s, at(60), at(2)));

    let mut canceled = new_task(spec());
    machine::cancel(&mut canceled, None, at(1)).unwrap();
    let finished = Rejection::RunFinished { run: canceled.run.id, status: "canceled" };
    assert_rejected(&mut canceled, finished, |s| machine::schedule(s, at(60), at(2)));
}

#[test]
fn schedule_after_the_claim_ran_out_is_rejected() {
    let mut state = claimed(spec());
    let lost = Rejection::ClaimLost { run: state.run.id };
    assert_rejected(&mut state, lost, |s| machine::schedule(s, at(100), at(30)));
}

// ---------------------------------------------------------------- wake_due (durable sleep)

#[test]
fn a_durable_sleep_ends_at_its_time_and_not_before() {
    let mut state = claimed(spec());
    machine::schedule(&mut state, at(100), at(10)).unwrap();

    let before = state.clone();
    assert_eq!(machine::wake_due(&mut state, at(99)), None);
    assert_eq!(state, before);

    assert_eq!(machine::wake_due(&mut state, at(120)), Some(Woken::SleepEnded), "no outcome to record");
    assert_eq!(state.run.id, before.run.id);
    assert_eq!(state.run.status, RunStatus::Pending);
    assert_eq!(state.run.available_at, at(120));
    machine::claim(&mut state, &claim_for(30), at(120)).unwrap();
    assert_eq!(state.run.attempt, 1);
    assert_eq!(state.task.attempts, 1);
}

#[test]
fn wake_due_leaves_runs_that_do_not_sleep_alone() {
    let mut pending = new_task(spec());
    let mut held = claimed(spec());
    let mut done = claimed(spec());
    machine::complete(&mut done, None, at(1)).unwrap();
    for state in [&mut pending, &mut held, &mut done] {
        let before = state.clone();
        assert_eq!(machine::wake_due(state, at(1000)), None);
        assert_eq!(*state, before);
    }
}

// ---------------------------------------------------------------- wait_for_event

#[test]
fn wait_without_outcome_or_event_sleeps_until_the_timeout() {
    let state = sleeping_on_event();
    assert_eq!(state.run.status, RunStatus::Sleeping);
    assert_eq!(state.run.available_at, at(65));
    assert_eq!(state.run.wait, Some(EventWait { event_name: "approved".into(), step_name: "approval".into() }));
    assert_claim_released(&state);
    assert_eq!(state.run.attempt, 1);
    assert_eq!(state.task.attempts, 1);
}

#[test]
fn wait_replays_a_memoized_outcome_without_touching_the_run() {
    let outcomes = [WaitOutcome::Resolved { payload: json!({"ok": true}) }, WaitOutcome::Timeout];
    for memo in outcomes {
        let mut state = claimed(spec());
        let before = state.clone();
        let wait = wait_for(&state, "approved", "approval", 60);
        // A newer event of that name does not change a recorded outcome.
        let newer = event("approved", json!({"ok": false}), at(4));
        let effect = machine::wait_for_event(&mut state, &wait, Some(&memo), Some(&newer), at(5)).unwrap();
        assert_eq!(effect, WaitEffect { response: WaitResponse::Outcome(memo), record: None });
        assert_eq!(state, before, "the run keeps its claim");
    }
}

#[test]
fn wait_resolves_from_the_latest_event_and_records_it() {
    let mut state = claimed(spec());
    let before = state.clone();
    let wait = wait_for(&state, "approved", "approval", 60);
    let latest = event("approved", json!({"by": "grace"}), at(-10));
    let effect = machine::wait_for_event(&mut state, &wait, None, Some(&latest), at(5)).unwrap();
    let outcome = WaitOutcome::Resolved { payload: json!({"by": "grace"}) };
    assert_eq!(effect, WaitEffect { response: WaitResponse::Outcome(outcome.clone()), record: Some(outcome) });
    assert_eq!(state, before, "the run keeps its claim");
}

#[test]
fn wait_from_a_run_of_another_task_is_rejected() {
    let mut state = claimed(spec());
    let other = TaskId::new();
    let wait = durable_domain::command::Wait { task_id: other, ..wait_for(&state, "approved", "approval", 60) };
    let expected = Rejection::RunNotOfTask { run: state.run.id, task: other };
    assert_rejected(&mut state, expected.clone(), |s| machine::wait_for_event(s, &wait, None, None, at(5)));
    // The task check comes first, even when the claim is gone too.
    assert_rejected(&mut state, expected, |s| machine::wait_for_event(s, &wait, None, None, at(31)));
}

#[test]
fn wait_needs_a_held_claim() {
    let mut pending = new_task(spec());
    let wait = wait_for(&pending, "approved", "approval", 60);
    let not_claimed = Rejection::NotClaimed { run: pending.run.id, status: "pending" };
    assert_rejected(&mut pending, not_claimed, |s| machine::wait_for_event(s, &wait, None, None, at(1)));

    let mut expired = claimed(spec());
    let wait = wait_for(&expired, "approved", "approval", 60);
    let lost = Rejection::ClaimLost { run: expired.run.id };
    assert_rejected(&mut expired, lost, |s| machine::wait_for_event(s, &wait, None, None, at(30)));

    let mut asleep = sleeping_on_event();
    let wait = wait_for(&asleep, "approved", "approval", 60);
    let not_claimed = Rejection::NotClaimed { run: asleep.run.id, status: "sleeping" };
    assert_rejected(&mut asleep, not_claimed, |s| machine::wait_for_event(s, &wait, None, None, at(6)));
}

#[test]
fn waiting_resets_an_expiry_streak() {
    let mut state = claimed(spec());
    let next = retried(machine::expire_claim(&mut state, &machine::Policy::default(), at(30)).unwrap());
    let mut state = addressing(&state, next);
    machine::claim(&mut state, &claim_for(30), at(30)).unwrap();
    let wait = wait_for(&state, "approved", "approval", 60);
    machine::wait_for_event(&mut state, &wait, None, None, at(31)).unwrap();
    assert_eq!(state.task.consecutive_expiries, 0);
}

// ---------------------------------------------------------------- deliver

#[test]
fn an_emit_wakes_a_sleeper_of_that_name_and_records_its_payload() {
    let mut state = sleeping_on_event();
    let run_id = state.run.id;
    let emitted = event("approved", json!({"by": "grace"}), at(20));
    let recorded = machine::deliver(&mut state, &emitted, at(20));
    assert_eq!(recorded, Some(("approval".to_owned(), WaitOutcome::Resolved { payload: json!({"by": "grace"}) })));
    assert_eq!(state.run.id, run_id);
    assert_eq!(state.run.status, RunStatus::Pending);
    assert_eq!(state.run.available_at, at(20), "claimable at once, not at the timeout");
    assert_eq!(state.run.wait, None);
    assert_eq!(state.task.attempts, 1);
}

#[test]
fn an_emit_of_another_name_changes_nothing() {
    let mut state = sleeping_on_event();
    let before = state.clone();
    assert_eq!(machine::deliver(&mut state, &event("rejected", json!(null), at(20)), at(20)), None);
    assert_eq!(state, before);
}

#[test]
fn an_emit_does_not_wake_durable_sleepers_or_live_runs() {
    let mut durable_sleep = claimed(spec());
    machine::schedule(&mut durable_sleep, at(100), at(1)).unwrap();
    let mut pending = new_task(spec());
    let mut held = claimed(spec());
    let emitted = event("approved", json!(1), at(20));
    for state in [&mut durable_sleep, &mut pending, &mut held] {
        let before = state.clone();
        assert_eq!(machine::deliver(state, &emitted, at(20)), None);
        assert_eq!(*state, before);
    }
}

#[test]
fn the_woken_run_replays_the_delivered_outcome() {
    let mut state = sleeping_on_event();
    let emitted = event("approved", json!("yes"), at(20));
    let (step, outcome) = machine::deliver(&mut state, &emitted, at(20)).unwrap();
    assert_eq!(step, "approval");

    machine::claim(&mut state, &claim_for(30), at(21)).unwrap();
    let wait = wait_for(&state, "approved", "approval", 60);
    let effect = machine::wait_for_event(&mut state, &wait, Some(&outcome), Some(&emitted), at(22)).unwrap();
    assert_eq!(effect.response, WaitResponse::Outcome(WaitOutcome::Resolved { payload: json!("yes") }));
    assert_eq!(effect.record, None, "already recorded");
    assert_eq!(state.run.status, RunStatus::Claimed);
}

// ---------------------------------------------------------------- wake_due (event wait)

#[test]
fn an_event_wait_times_out_at_its_time_and_not_before() {
    let mut state = sleeping_on_event();
    let before = state.clone();
    assert_eq!(machine::wake_due(&mut state, at(64)), None);
    assert_eq!(state, before);

    let recorded = machine::wake_due(&mut state, at(65));
    assert_eq!(recorded, Some(Woken::WaitTimedOut { step_name: "approval".to_owned() }));
    assert_eq!(recorded.and_then(Woken::outcome_to_record), Some(("approval".to_owned(), WaitOutcome::Timeout)));
    assert_eq!(state.run.id, before.run.id);
    assert_eq!(state.run.status, RunStatus::Pending);
    assert_eq!(state.run.available_at, at(65));
    assert_eq!(state.run.wait, None);

    // Re-claimed, the run learns of the timeout, deterministically.
    machine::claim(&mut state, &claim_for(30), at(66)).unwrap();
    let wait = wait_for(&state, "approved", "approval", 60);
    let late = event("approved", json!("too late"), at(65));
    let effect = machine::wait_for_event(&mut state, &wait, Some(&WaitOutcome::Timeout), Some(&late), at(67)).unwrap();
    assert_eq!(effect.response, WaitResponse::Outcome(WaitOutcome::Timeout));
}

#[test]
fn after_a_timeout_a_late_emit_finds_no_sleeper() {
    let mut state = sleeping_on_event();
    machine::wake_due(&mut state, at(65)).unwrap();
    let before = state.clone();
    assert_eq!(machine::deliver(&mut state, &event("approved", json!(1), at(70)), at(70)), None);
    assert_eq!(state, before);
}
