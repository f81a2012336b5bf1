//! The checkpoint rule: only a run of the task that holds its claim writes,
//! and it may extend the claim on the way.

mod common;

use common::*;
use durable_domain::command::CheckpointWrite;
use durable_domain::machine;
use durable_domain::{Rejection, RunId, TaskSpec};
use serde_json::json;

fn write_by(state: &durable_domain::TaskState, extend_by: Option<i64>) -> CheckpointWrite {
    CheckpointWrite {
        task_id: state.task.id,
        step_name: "step".into(),
        state: json!({"done": 3}),
        owner_run: state.run.id,
        extend_claim_by: extend_by.map(secs),
    }
}

#[test]
fn the_claim_holder_writes_and_may_extend_its_claim() {
    let mut owner = claimed(spec());
    let before = owner.clone();
    let written = machine::write_checkpoint(Some(&mut owner), write_by(&before, None), at(5)).unwrap();
    assert!(!written.claim_extended);
    assert_eq!(owner, before, "no extension, no change");
    assert_eq!(written.checkpoint.task_id, before.task.id);
    assert_eq!(written.checkpoint.owner_run, before.run.id);
    assert_eq!(written.checkpoint.step_name, "step");
    assert_eq!(written.checkpoint.state, json!({"done": 3}));
    assert_eq!(written.checkpoint.updated_at, at(5));

    let written = machine::write_checkpoint(Some(&mut owner), write_by(&before, Some(120)), at(10)).unwrap();
    assert!(written.claim_extended);
    assert_eq!(owner.run.claim_expires_at, Some(at(130)));
}

#[test]
fn an_unknown_owner_is_not_claimed() {
    let state = claimed(spec());
    let write = CheckpointWrite { owner_run: RunId::new(), ..write_by(&state, None) };
    let owner_run = write.owner_run;
    assert_eq!(
        machine::write_checkpoint(None, write, at(5)),
        Err(Rejection::NotClaimed { run: owner_run, status: "unknown" })
    );
}

#[test]
fn a_run_of_another_task_is_refused_unchanged() {
    let mut other = claimed(spec());
    let before = other.clone();
    let task = claimed(spec());
    let write = CheckpointWrite { task_id: task.task.id, ..write_by(&other, Some(60)) };
    assert_eq!(
        machine::write_checkpoint(Some(&mut other), write, at(5)),
        Err(Rejection::RunNotOfTask { run: before.run.id, task: task.task.id })
    );
    assert_eq!(other, before);
}

#[test]
fn an_owner_without_its_claim_is_refused_unchanged() {
    let pending = new_task(spec());
    let mut expired = claimed(spec());
    let mut retried = claimed(TaskSpec { max_attempts: 2, ..spec() });
    machine::fail(&mut retried, "boom", at(1)).unwrap();
    for (name, owner, now) in
        [("pending", pending, at(5)), ("expired", expired.clone(), at(31)), ("failed", retried, at(2))]
    {
        let mut owner = owner;
        let before = owner.clone();
        let write = write_by(&before, Some(60));
        let answer = machine::write_checkpoint(Some(&mut owner), write, now);
        assert_eq!(answer.map(drop), machine::ensure_claim_held(&before, now), "{name}");
        assert!(machine::ensure_claim_held(&before, now).is_err(), "{name}");
        assert_eq!(owner, before, "{name}");
    }
    // Expiry is strict: at the claim's end it is gone already.
    let write = write_by(&expired, None);
    assert_eq!(
        machine::write_checkpoint(Some(&mut expired), write, at(30)).map(drop),
        Err(Rejection::ClaimLost { run: expired.run.id })
    );
}
