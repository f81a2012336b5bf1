//! Cancellation, start/execution timeouts and retention.

mod common;

use common::*;
use durable_domain::machine::{self, EXECUTION_TIMEOUT, START_TIMEOUT};
use durable_domain::task::TaskState;
use durable_domain::{Rejection, RunStatus, TaskSpec, TaskStatus};

fn with_timeouts(start_seconds: Option<i64>, execution_seconds: Option<i64>) -> TaskSpec {
    TaskSpec { start_timeout: start_seconds.map(secs), execution_timeout: execution_seconds.map(secs), ..spec() }
}

/// One task in each finished state.
fn finished_tasks() -> [TaskState; 3] {
    let mut completed = claimed(spec());
    machine::complete(&mut completed, None, at(1)).unwrap();
    let mut failed = claimed(spec());
    machine::fail(&mut failed, "boom", at(1)).unwrap();
    let mut canceled = new_task(spec());
    machine::cancel(&mut canceled, None, at(1)).unwrap();
    [completed, failed, canceled]
}

// ---------------------------------------------------------------- cancel

#[test]
fn cancel_ends_the_task_and_its_pending_run() {
    let mut state = new_task(spec());
    machine::cancel(&mut state, Some("no longer needed"), at(5)).unwrap();
    assert_eq!(state.task.status, TaskStatus::Canceled);
    assert_eq!(state.task.completed_at, Some(at(5)));
    assert_eq!(state.task.last_error.as_deref(), Some("no longer needed"));
    assert_eq!(state.run.status, RunStatus::Canceled);
    assert_eq!(state.run.completed_at, Some(at(5)));
    assert_eq!(state.run.error.as_deref(), Some("no longer needed"));
}

#[test]
fn cancel_without_a_reason_records_no_error() {
    let mut state = new_task(spec());
    machine::cancel(&mut state, None, at(5)).unwrap();
    assert_eq!(state.task.status, TaskStatus::Canceled);
    assert_eq!(state.task.last_error, None);
    assert_eq!(state.run.error, None);
}

#[test]
fn cancel_takes_the_claim_away_from_the_worker() {
    let mut state = claimed(with_attempts(3));
    machine::cancel(&mut state, None, at(5)).unwrap();
    assert_eq!(state.run.status, RunStatus::Canceled);
    assert_eq!(state.run.claim_expires_at, None);
    assert!(!state.run.claim_held(at(6)));

    let canceled = Rejection::RunFinished { run: state.run.id, status: "canceled" };
    assert_rejected(&mut state, canceled.clone(), |s| machine::complete(s, None, at(6)));
    assert_rejected(&mut state, canceled.clone(), |s| machine::fail(s, "late", at(6)));
    assert_rejected(&mut state, canceled.clone(), |s| machine::heartbeat(s, secs(30), at(6)));
    assert_rejected(&mut state, canceled, |s| machine::expire_claim(s, &machine::Policy::default(), at(60)));
}

#[test]
fn cancel_ends_a_sleep_and_an_event_wait() {
    let mut state = claimed(spec());
    let wait = wait_for(&state, "approved", "approval", 60);
    machine::wait_for_event(&mut state, &wait, None, None, at(1)).unwrap();
    machine::cancel(&mut state, None, at(5)).unwrap();
    assert_eq!(state.run.status, RunStatus::Canceled);
    assert_eq!(state.run.wait, None);

    let before = state.clone();
    let emitted = event("approved", serde_json::json!(1), at(6));
    assert_eq!(machine::deliver(&mut state, &emitted, at(6)), None);
    assert_eq!(machine::wake_due(&mut state, at(600)), None);
    assert_eq!(state, before);
}

#[test]
fn cancel_of_a_finished_task_is_rejected() {
    for mut state in finished_tasks() {
        let status = state.task.status.as_str();
        let expected = Rejection::AlreadyFinished { task: state.task.id, status };
        assert_rejected(&mut state, expected, |s| machine::cancel(s, Some("too late"), at(9)));
    }
}

// ---------------------------------------------------------------- overdue / deadline

#[test]
fn a_task_without_timeouts_is_never_overdue() {
    let state = new_task(spec());
    assert_eq!(machine::overdue(&state.task, at(1_000_000)), None);
    assert_eq!(machine::deadline(&state.task), None);
}

#[test]
fn start_timeout_applies_while_no_run_was_claimed() {
    let state = new_task(with_timeouts(Some(60), None));
    assert_eq!(machine::deadline(&state.task), Some(at(60)));
    assert_eq!(machine::overdue(&state.task, at(59)), None);
    assert_eq!(machine::overdue(&state.task, at(60)), Some(START_TIMEOUT));
    assert_eq!(machine::overdue(&state.task, at(3600)), Some(START_TIMEOUT));
}

#[test]
fn start_timeout_stops_applying_once_claimed() {
    let mut state = new_task(with_timeouts(Some(60), None));
    machine::claim(&mut state, &claim_for(30), at(10)).unwrap();
    assert_eq!(machine::deadline(&state.task), None);
    assert_eq!(machine::overdue(&state.task, at(3600)), None);

    // Even once that run failed and the next one waits unclaimed.
    let next = retried(machine::expire_claim(&mut state, &machine::Policy::default(), at(40)).unwrap());
    let state = addressing(&state, next);
    assert_eq!(machine::overdue(&state.task, at(3600)), None);
}

#[test]
fn execution_timeout_applies_across_all_runs() {
    let mut state = claimed(TaskSpec { retry_strategy: Some(fixed(1.0)), ..with_timeouts(None, Some(300)) });
    assert_eq!(machine::deadline(&state.task), Some(at(300)));
    let next = retried(machine::expire_claim(&mut state, &machine::Policy::default(), at(30)).unwrap());
    let state = addressing(&state, next);
    assert_eq!(machine::overdue(&state.task, at(299)), None);
    assert_eq!(machine::overdue(&state.task, at(300)), Some(EXECUTION_TIMEOUT));
}

#[test]
fn the_deadline_is_the_earlier_of_both_timeouts() {
    let state = new_task(with_timeouts(Some(60), Some(30)));
    assert_eq!(machine::deadline(&state.task), Some(at(30)));
    assert_eq!(machine::overdue(&state.task, at(30)), Some(EXECUTION_TIMEOUT));
    // Both passed: the start timeout is the reason reported.
    assert_eq!(machine::overdue(&state.task, at(60)), Some(START_TIMEOUT));

    let mut state = new_task(with_timeouts(Some(60), Some(300)));
    assert_eq!(machine::deadline(&state.task), Some(at(60)));
    machine::claim(&mut state, &claim_for(30), at(1)).unwrap();
    assert_eq!(machine::deadline(&state.task), Some(at(300)));
}

#[test]
fn overdue_is_never_true_before_the_deadline() {
    for spec in [with_timeouts(Some(60), None), with_timeouts(None, Some(90)), with_timeouts(Some(120), Some(45))] {
        let state = new_task(spec);
        let deadline = machine::deadline(&state.task).unwrap();
        assert_eq!(machine::overdue(&state.task, deadline - time::Duration::microseconds(1)), None);
        assert!(machine::overdue(&state.task, deadline).is_some());
    }
}

#[test]
fn finished_tasks_are_never_overdue_and_have_no_deadline() {
    let strict = with_timeouts(Some(1), Some(2));
    let mut completed = claimed(strict.clone());
    machine::complete(&mut completed, None, at(1)).unwrap();
    let mut canceled = new_task(strict);
    machine::cancel(&mut canceled, Some(START_TIMEOUT), at(1)).unwrap();
    for state in [completed, canceled] {
        assert_eq!(machine::overdue(&state.task, at(3600)), None);
        assert_eq!(machine::deadline(&state.task), None, "nothing left to time out");
    }
}

#[test]
fn a_timed_out_task_is_canceled_with_the_reason() {
    let mut state = new_task(with_timeouts(Some(60), None));
    let reason = machine::overdue(&state.task, at(60)).unwrap();
    machine::cancel(&mut state, Some(reason), at(60)).unwrap();
    assert_eq!(state.task.status, TaskStatus::Canceled);
    assert_eq!(state.task.last_error.as_deref(), Some(START_TIMEOUT));
    assert_eq!(state.run.error.as_deref(), Some(START_TIMEOUT));
}

// ---------------------------------------------------------------- retention

#[test]
fn retention_deletes_finished_tasks_once_the_ttl_has_passed() {
    for state in finished_tasks() {
        // Every fixture finished at at(1).
        assert!(!machine::retention_due(&state.task, Some(secs(100)), at(100)));
        assert!(machine::retention_due(&state.task, Some(secs(100)), at(101)));
        assert!(!machine::retention_due(&state.task, None, at(1_000_000)), "no ttl keeps it forever");
    }
}

#[test]
fn retention_never_deletes_unfinished_tasks() {
    let pending = new_task(spec());
    let held = claimed(spec());
    for state in [pending, held] {
        assert!(!machine::retention_due(&state.task, Some(secs(1)), at(1_000_000)));
    }
}

// ---------------------------------------------------------------- retry

#[test]
fn retry_reopens_a_failed_or_canceled_task_with_a_new_run() {
    let [_, failed, canceled] = finished_tasks();
    for mut state in [failed, canceled] {
        let before = state.clone();
        let run = machine::retry(&mut state, at(10)).unwrap();
        assert_eq!(run.attempt, before.run.attempt + 1);
        assert_eq!((run.status, run.available_at, run.task_id), (RunStatus::Pending, at(10), before.task.id));
        assert_eq!(state.task.status, TaskStatus::Pending);
        assert_eq!((state.task.current_run, state.task.attempts), (run.id, run.attempt));
        assert_eq!((state.task.completed_at, state.task.failures, state.task.consecutive_expiries), (None, 0, 0));
        assert_eq!(state.task.last_error, before.task.last_error, "the last error stays until a run ends");
        assert_eq!(state.run, before.run, "the old run is left as it ended");
    }
}

#[test]
fn a_retried_task_gets_its_whole_failure_budget_again() {
    let mut state = claimed(with_attempts(1));
    machine::fail(&mut state, "boom", at(1)).unwrap();
    assert_eq!(state.task.status, TaskStatus::Failed);
    let run = machine::retry(&mut state, at(2)).unwrap();
    let mut retried = TaskState { task: state.task.clone(), run };
    machine::claim(&mut retried, &claim_for(30), at(3)).unwrap();
    machine::fail(&mut retried, "boom again", at(4)).unwrap();
    assert_eq!(retried.task.status, TaskStatus::Failed, "max_attempts 1: one more failure fails it again");
    assert_eq!(retried.task.attempts, 2);
}

#[test]
fn retry_refuses_unfinished_and_completed_tasks() {
    let [mut completed, _, _] = finished_tasks();
    let id = completed.task.id;
    assert_rejected(&mut completed, Rejection::NotRetryable { task: id, status: "completed" }, |s| {
        machine::retry(s, at(10))
    });
    let mut pending = new_task(spec());
    let id = pending.task.id;
    assert_rejected(&mut pending, Rejection::NotRetryable { task: id, status: "pending" }, |s| {
        machine::retry(s, at(10))
    });
}

#[test]
fn retry_refuses_a_task_past_its_timeout() {
    let mut state = new_task(with_timeouts(None, Some(60)));
    machine::cancel(&mut state, Some(EXECUTION_TIMEOUT), at(60)).unwrap();
    let id = state.task.id;
    assert_rejected(&mut state, Rejection::PastDeadline { task: id }, |s| machine::retry(s, at(61)));
    let mut early = new_task(with_timeouts(None, Some(60)));
    machine::cancel(&mut early, None, at(5)).unwrap();
    assert!(machine::retry(&mut early, at(10)).is_ok(), "within the deadline a retry is fine");
}
