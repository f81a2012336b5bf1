//! Typed rejections: every command in every state that forbids it, each
//! answered with the right rejection and without changing anything.

mod common;

use common::*;
use durable_domain::machine::{self, Policy};
use durable_domain::task::TaskState;
use durable_domain::{Rejection, RunId, TaskSpec, Timestamp};
use serde_json::json;

type Call = fn(&mut TaskState, Timestamp) -> Result<(), Rejection>;

/// The calls a worker makes on a run it believes it holds.
fn worker_calls() -> [(&'static str, Call); 5] {
    [
        ("complete", |s, now| machine::complete(s, Some(json!(1)), now)),
        ("fail", |s, now| machine::fail(s, "boom", now).map(drop)),
        ("heartbeat", |s, now| machine::heartbeat(s, secs(60), now).map(drop)),
        ("schedule", |s, now| machine::schedule(s, now + secs(60), now).map(drop)),
        ("wait_for_event", |s, now| {
            let wait = wait_for(s, "approved", "approval", 60);
            machine::wait_for_event(s, &wait, None, None, now).map(drop)
        }),
    ]
}

/// A wrong state for worker calls, the instant of the call and the
/// rejection expected; `schedule` is legal on pending and sleeping runs.
struct Case {
    name: &'static str,
    state: TaskState,
    now: Timestamp,
    expected: Rejection,
    schedule_allowed: bool,
}

fn case(name: &'static str, state: TaskState, now: Timestamp, expected: impl FnOnce(RunId) -> Rejection) -> Case {
    let expected = expected(state.run.id);
    Case { name, state, now, expected, schedule_allowed: false }
}

fn not_claimed(status: &'static str) -> impl FnOnce(RunId) -> Rejection {
    move |run| Rejection::NotClaimed { run, status }
}

fn run_finished(status: &'static str) -> impl FnOnce(RunId) -> Rejection {
    move |run| Rejection::RunFinished { run, status }
}

fn claim_lost(run: RunId) -> Rejection {
    Rejection::ClaimLost { run }
}

fn wrong_states() -> Vec<Case> {
    let pending = new_task(spec());
    let not_yet_due = new_task(TaskSpec { run_at: Some(at(600)), ..spec() });

    let mut durable_sleep = claimed(spec());
    machine::schedule(&mut durable_sleep, at(600), at(1)).unwrap();

    let mut event_wait = claimed(spec());
    let wait = wait_for(&event_wait, "approved", "approval", 60);
    machine::wait_for_event(&mut event_wait, &wait, None, None, at(1)).unwrap();

    let ran_out = claimed(spec());

    let mut superseded = claimed(spec());
    superseded.task.current_run = RunId::new();

    let mut expired = claimed(with_attempts(3));
    machine::expire_claim(&mut expired, &Policy::default(), at(30)).unwrap();

    let mut failed = claimed(with_attempts(3));
    machine::fail(&mut failed, "boom", at(1)).unwrap();

    let mut completed = claimed(spec());
    machine::complete(&mut completed, None, at(1)).unwrap();

    let mut canceled = claimed(spec());
    machine::cancel(&mut canceled, None, at(1)).unwrap();

    vec![
        Case { schedule_allowed: true, ..case("pending", pending, at(1), not_claimed("pending")) },
        Case { schedule_allowed: true, ..case("not yet due", not_yet_due, at(1), not_claimed("pending")) },
        Case { schedule_allowed: true, ..case("durable sleep", durable_sleep, at(2), not_claimed("sleeping")) },
        Case { schedule_allowed: true, ..case("event wait", event_wait, at(2), not_claimed("sleeping")) },
        case("claim ran out, not swept yet", ran_out, at(30), claim_lost),
        case("claimed but superseded", superseded, at(2), claim_lost),
        case("expired", expired, at(31), claim_lost),
        case("failed by the worker", failed, at(2), run_finished("failed")),
        case("completed", completed, at(2), run_finished("completed")),
        case("canceled", canceled, at(2), run_finished("canceled")),
    ]
}

#[test]
fn worker_calls_need_a_held_claim_on_the_current_run() {
    for case in wrong_states() {
        for (call_name, call) in worker_calls() {
            if call_name == "schedule" && case.schedule_allowed {
                continue;
            }
            let mut state = case.state.clone();
            let outcome = call(&mut state, case.now);
            assert_eq!(outcome, Err(case.expected.clone()), "{call_name} on {}", case.name);
            assert_eq!(state, case.state, "{call_name} on {} changed the state", case.name);
        }
    }
}

#[test]
fn only_a_due_pending_run_can_be_claimed() {
    for case in wrong_states() {
        let mut state = case.state.clone();
        let outcome = machine::claim(&mut state, &claim_for(30), case.now);
        match case.name {
            // The only wrong states for a worker call that are right for a claim.
            "pending" => assert!(outcome.is_ok()),
            "claim ran out, not swept yet" | "claimed but superseded" => {
                assert_eq!(outcome, Err(Rejection::NotClaimed { run: state.run.id, status: "claimed" }));
            }
            "expired" => {
                // The expired run itself is finished; its successor is claimable.
                assert_eq!(outcome, Err(Rejection::RunFinished { run: state.run.id, status: "failed" }));
            }
            _ => assert_eq!(outcome, Err(case.expected.clone()), "claim on {}", case.name),
        }
        if outcome.is_err() {
            assert_eq!(state, case.state, "claim on {} changed the state", case.name);
        }
    }
}

#[test]
fn only_a_claim_that_ran_out_can_expire() {
    for case in wrong_states() {
        let mut state = case.state.clone();
        let outcome = machine::expire_claim(&mut state, &Policy::default(), case.now);
        match case.name {
            "claim ran out, not swept yet" => assert!(outcome.is_ok()),
            "claimed but superseded" => {
                assert_eq!(outcome, Err(Rejection::NotClaimed { run: state.run.id, status: "claimed" }));
            }
            "expired" => {
                assert_eq!(outcome, Err(Rejection::RunFinished { run: state.run.id, status: "failed" }));
            }
            _ => assert_eq!(outcome, Err(case.expected.clone()), "expire on {}", case.name),
        }
        if outcome.is_err() {
            assert_eq!(state, case.state, "expire on {} changed the state", case.name);
        }
    }
}

#[test]
fn a_held_claim_does_not_expire() {
    let mut state = claimed(spec());
    let held = Rejection::NotClaimed { run: state.run.id, status: "claimed" };
    assert_rejected(&mut state, held, |s| machine::expire_claim(s, &Policy::default(), at(29)));
}

#[test]
fn finished_tasks_cannot_be_canceled() {
    for case in wrong_states() {
        let mut state = case.state.clone();
        let outcome = machine::cancel(&mut state, None, case.now);
        if case.state.task.status.is_finished() {
            let status = case.state.task.status.as_str();
            assert_eq!(outcome, Err(Rejection::AlreadyFinished { task: state.task.id, status }), "{}", case.name);
            assert_eq!(state, case.state);
        } else if case.state.task.current_run == case.state.run.id {
            assert_eq!(outcome, Ok(()), "cancel on {}", case.name);
        }
    }
}

#[test]
fn rejections_say_what_went_wrong() {
    let run = RunId::new();
    let text = Rejection::NotClaimed { run, status: "pending" }.to_string();
    assert_eq!(text, format!("run {run} is not claimed (it is pending)"));
    assert!(Rejection::ClaimLost { run }.to_string().contains("claim on run"));
    let text = Rejection::RunFinished { run, status: "completed" }.to_string();
    assert_eq!(text, format!("run {run} already finished as completed"));
}

#[test]
fn a_run_of_a_finished_task_is_never_handed_out() {
    // Defence in depth: even if a store left a run pending after its task
    // finished, the claim is refused.
    let mut state = new_task(spec());
    state.task.status = durable_domain::TaskStatus::Canceled;
    let expected = Rejection::NotClaimed { run: state.run.id, status: "pending" };
    assert_rejected(&mut state, expected, |s| machine::claim(s, &claim_for(30), at(1)));
}
