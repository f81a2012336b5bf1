//! Properties of the state machine over random command sequences on one
//! task, and of retry backoff.
//!
//! The model plays the store: it keeps the task, all of its runs, the
//! recorded wait outcomes and the emitted events, loads a `TaskState` for the
//! run a command addresses (old or current), and writes back what changed.

mod common;

use std::collections::BTreeMap;

use common::*;
use durable_domain::clock;
use durable_domain::event::{Event, WaitOutcome, WaitResponse};
use durable_domain::machine::{self, FailOutcome, Policy};
use durable_domain::retry::{self, RetryKind, RetryStrategy};
use durable_domain::task::{CLAIM_EXPIRED, Run, Task, TaskState};
use durable_domain::{Rejection, RunStatus, TaskId, TaskSpec, TaskStatus, Timestamp};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::json;

const EVENT_NAMES: [&str; 3] = ["approved", "paid", "shipped"];
const STEP_NAMES: [&str; 4] = ["approval", "payment", "shipping", "review"];

/// The run a command addresses.
#[derive(Clone, Debug)]
enum Target {
    Current,
    /// Any run, old or current.
    Any(Index),
    /// Any run but the current one.
    Old(Index),
}

#[derive(Clone, Debug)]
enum Command {
    Claim {
        target: Target,
        timeout: i64,
    },
    Complete {
        target: Target,
    },
    Fail {
        target: Target,
    },
    Heartbeat {
        target: Target,
        extend_by: i64,
    },
    Schedule {
        target: Target,
        offset: i64,
    },
    Wait {
        target: Target,
        event: usize,
        step: usize,
        timeout: i64,
        wrong_task: bool,
    },
    Expire {
        target: Target,
    },
    /// The sweeper: wakes every sleeping run that is due.
    Wake,
    Emit {
        event: usize,
    },
    Cancel,
    /// The timeout sweeper: cancels the task if it is overdue.
    SweepTimeouts,
    Advance {
        seconds: i64,
    },
}

impl Command {
    /// The same command sent to `target` instead, if it names a run.
    fn aimed_at(&self, target: Target) -> Option<Self> {
        let mut aimed = self.clone();
        match &mut aimed {
            Self::Claim { target: t, .. }
            | Self::Complete { target: t }
            | Self::Fail { target: t }
            | Self::Heartbeat { target: t, .. }
            | Self::Schedule { target: t, .. }
            | Self::Wait { target: t, .. }
            | Self::Expire { target: t } => *t = target,
            Self::Wake | Self::Emit { .. } | Self::Cancel | Self::SweepTimeouts | Self::Advance { .. } => return None,
        }
        Some(aimed)
    }
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![2 => Just(Target::Current), 1 => any::<Index>().prop_map(Target::Any)]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        20 => (target(), 1i64..=20).prop_map(|(target, timeout)| Command::Claim { target, timeout }),
        4 => target().prop_map(|target| Command::Complete { target }),
        12 => target().prop_map(|target| Command::Fail { target }),
        6 => (target(), 1i64..=30).prop_map(|(target, extend_by)| Command::Heartbeat { target, extend_by }),
        6 => (target(), -30i64..=120).prop_map(|(target, offset)| Command::Schedule { target, offset }),
        12 => (target(), 0..EVENT_NAMES.len(), 0..STEP_NAMES.len(), 1i64..=60, proptest::bool::weighted(0.1))
            .prop_map(|(target, event, step, timeout, wrong_task)| Command::Wait {
                target,
                event,
                step,
                timeout,
                wrong_task
            }),
        12 => target().prop_map(|target| Command::Expire { target }),
        6 => Just(Command::Wake),
        6 => (0..EVENT_NAMES.len()).prop_map(|event| Command::Emit { event }),
        // Rare: either ends the task, and the other commands are the interesting ones.
        1 => Just(Command::Cancel),
        1 => Just(Command::SweepTimeouts),
        // Mostly small steps, so claims are often still held; now and then a long one.
        12 => (0i64..=5).prop_map(|seconds| Command::Advance { seconds }),
        8 => (0i64..=120).prop_map(|seconds| Command::Advance { seconds }),
    ]
}

fn retry_strategy() -> impl Strategy<Value = Option<RetryStrategy>> {
    prop_oneof![
        Just(None),
        (0.0..30.0f64).prop_map(|base| Some(fixed(base))),
        (0.0..10.0f64, proptest::option::of(1.0..4.0f64), proptest::option::of(0.0..120.0f64))
            .prop_map(|(base, factor, max)| Some(exponential(base, factor, max))),
    ]
}

fn task_spec() -> impl Strategy<Value = TaskSpec> {
    (
        1u32..=6,
        retry_strategy(),
        proptest::option::weighted(0.2, 1i64..=300),
        proptest::option::weighted(0.2, 1i64..=600),
        proptest::option::of(0i64..=60),
    )
        .prop_map(|(max_attempts, retry_strategy, start, execution, run_at)| TaskSpec {
            max_attempts,
            retry_strategy,
            start_timeout: start.map(secs),
            execution_timeout: execution.map(secs),
            run_at: run_at.map(at),
            ..spec()
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    (1u32..=10).prop_map(|max_consecutive_expiries| Policy { max_consecutive_expiries })
}

/// The task and everything a store keeps about it.
struct World {
    task: Task,
    runs: Vec<Run>,
    now: Timestamp,
    policy: Policy,
    outcomes: BTreeMap<String, WaitOutcome>,
    events: Vec<Event>,
    ever_claimed: bool,
}

impl World {
    fn new(spec: TaskSpec, policy: Policy) -> Self {
        let TaskState { task, run } = new_task(spec);
        Self {
            task,
            runs: vec![run],
            now: T0,
            policy,
            outcomes: BTreeMap::new(),
            events: Vec::new(),
            ever_claimed: false,
        }
    }

    fn current(&self) -> usize {
        self.runs.len() - 1
    }

    fn resolve(&self, target: &Target) -> usize {
        match target {
            Target::Current => self.current(),
            Target::Any(index) => index.index(self.runs.len()),
            Target::Old(index) => index.index(self.current()),
        }
    }

    fn load(&self, i: usize) -> TaskState {
        TaskState { task: self.task.clone(), run: self.runs[i].clone() }
    }

    fn store(&mut self, i: usize, state: TaskState) {
        self.task = state.task;
        self.runs[i] = state.run;
    }

    /// Whether a worker holding run `i` may act on it now.
    fn holds_claim(&self, i: usize) -> bool {
        i == self.current() && self.runs[i].claim_held(self.now)
    }

    /// Applies a command that may be rejected to run `i`. A rejection must
    /// leave everything as it was; only the current run may be accepted.
    fn attempt<T>(
        &mut self,
        i: usize,
        expect_ok: bool,
        what: &str,
        op: impl FnOnce(&mut TaskState, Timestamp) -> Result<T, Rejection>,
    ) -> Option<T> {
        let before = self.load(i);
        let mut state = before.clone();
        match op(&mut state, self.now) {
            Ok(value) => {
                assert!(expect_ok, "{what} on run {i} was accepted: {before:?}");
                assert_eq!(i, self.current(), "{what} on fenced-off run {i} was accepted");
                self.store(i, state);
                Some(value)
            }
            Err(rejection) => {
                assert!(!expect_ok, "{what} on run {i} was rejected: {rejection:?}\n{before:?}");
                assert_eq!(state, before, "the rejection of {what} changed the state");
                None
            }
        }
    }

    /// Offers run `i` an effect that is either applied or not (wake, deliver).
    fn offer<T>(&mut self, i: usize, op: impl FnOnce(&mut TaskState) -> Option<T>) -> Option<T> {
        let before = self.load(i);
        let mut state = before.clone();
        let effect = op(&mut state);
        match &effect {
            Some(_) => {
                assert_eq!(i, self.current(), "a fenced-off run {i} was woken");
                self.store(i, state);
            }
            None => assert_eq!(state, before, "an effect that did not apply changed the state"),
        }
        effect
    }

    /// A new run created by a retry or an expiry.
    fn push_run(&mut self, previous: usize, run: Run, due: Timestamp) {
        assert_eq!(previous, self.current());
        assert_eq!(run.attempt, self.runs[previous].attempt + 1, "attempts rise by one");
        assert_eq!(run.task_id, self.task.id);
        assert_eq!(run.status, RunStatus::Pending);
        assert_eq!(run.available_at, due);
        assert_eq!(run.created_at, self.now);
        self.runs.push(run);
    }

    fn record(&mut self, step: String, outcome: WaitOutcome) {
        let previous = self.outcomes.insert(step.clone(), outcome);
        assert_eq!(previous, None, "step {step} already had an outcome: replays must not change");
    }

    fn apply(&mut self, command: &Command) {
        match command {
            Command::Claim { target, timeout } => {
                let i = self.resolve(target);
                let run = &self.runs[i];
                let due = run.status == RunStatus::Pending && run.available_at <= self.now;
                let expect_ok = due && !self.task.status.is_finished();
                let claim = claim_for(*timeout);
                if self.attempt(i, expect_ok, "claim", |s, now| machine::claim(s, &claim, now)).is_some() {
                    self.ever_claimed = true;
                    assert_eq!(self.runs[i].claim_expires_at, Some(self.now + secs(*timeout)));
                }
            }
            Command::Complete { target } => {
                let i = self.resolve(target);
                let result = json!({"run": i});
                if self
                    .attempt(i, self.holds_claim(i), "complete", |s, now| machine::complete(s, Some(result), now))
                    .is_some()
                {
                    assert_eq!(self.task.status, TaskStatus::Completed);
                    assert_eq!(self.task.result, Some(json!({"run": i})));
                }
            }
            Command::Fail { target } => {
                let i = self.resolve(target);
                let failures = self.task.failures;
                match self.attempt(i, self.holds_claim(i), "fail", |s, now| machine::fail(s, "boom", now)) {
                    None => {}
                    Some(FailOutcome::Retry(run)) => {
                        assert_eq!(self.task.failures, failures + 1);
                        assert!(self.task.failures < self.task.spec.max_attempts);
                        let delay = retry::backoff(self.task.spec.retry_strategy.as_ref(), self.runs[i].attempt);
                        self.push_run(i, *run, clock::add(self.now, delay));
                    }
                    Some(FailOutcome::TaskFailed) => {
                        assert_eq!(self.task.failures, self.task.spec.max_attempts);
                        assert_eq!(self.task.status, TaskStatus::Failed);
                    }
                }
            }
            Command::Heartbeat { target, extend_by } => {
                let i = self.resolve(target);
                let extend = secs(*extend_by);
                let end =
                    self.attempt(i, self.holds_claim(i), "heartbeat", |s, now| machine::heartbeat(s, extend, now));
                if let Some(end) = end {
                    assert_eq!(end, self.now + extend);
                    assert_eq!(self.runs[i].claim_expires_at, Some(end));
                }
            }
            Command::Schedule { target, offset } => {
                let i = self.resolve(target);
                let run_at = self.now + secs(*offset);
                let run = &self.runs[i];
                let expect_ok = match run.status {
                    RunStatus::Pending | RunStatus::Sleeping => !self.task.status.is_finished(),
                    RunStatus::Claimed => self.holds_claim(i),
                    _ => false,
                };
                let attempt = run.attempt;
                if let Some(claimable) =
                    self.attempt(i, expect_ok, "schedule", |s, now| machine::schedule(s, run_at, now))
                {
                    let run = &self.runs[i];
                    assert_eq!(run.attempt, attempt, "same run, same attempt");
                    assert!(matches!(run.status, RunStatus::Pending | RunStatus::Sleeping));
                    assert_eq!(run.claim_expires_at, None);
                    assert_eq!(claimable, run.status == RunStatus::Pending && run.available_at <= self.now);
                    if run_at > self.now {
                        assert!(!claimable, "a run scheduled for later is not claimable now");
                    }
                }
            }
            Command::Wait { target, event, step, timeout, wrong_task } => {
                let i = self.resolve(target);
                let (event_name, step_name) = (EVENT_NAMES[*event], STEP_NAMES[*step]);
                let mut wait = wait_for(&self.load(i), event_name, step_name, *timeout);
                if *wrong_task {
                    wait.task_id = TaskId::new();
                }
                let memo = self.outcomes.get(step_name).cloned();
                let latest = self.events.iter().rev().find(|e| e.name == event_name).cloned();
                let expect_ok = !*wrong_task && self.holds_claim(i);
                let effect = self.attempt(i, expect_ok, "wait_for_event", |s, now| {
                    machine::wait_for_event(s, &wait, memo.as_ref(), latest.as_ref(), now)
                });
                let Some(effect) = effect else { return };
                match (memo, latest) {
                    (Some(memo), _) => {
                        assert_eq!(effect.response, WaitResponse::Outcome(memo), "a replay returns the outcome");
                        assert_eq!(effect.record, None);
                        assert_eq!(self.runs[i].status, RunStatus::Claimed);
                    }
                    (None, Some(latest)) => {
                        let outcome = WaitOutcome::Resolved { payload: latest.payload };
                        assert_eq!(effect.response, WaitResponse::Outcome(outcome.clone()));
                        assert_eq!(effect.record, Some(outcome.clone()));
                        assert_eq!(self.runs[i].status, RunStatus::Claimed);
                        self.record(step_name.to_owned(), outcome);
                    }
                    (None, None) => {
                        assert_eq!(effect.response, WaitResponse::Sleeping);
                        assert_eq!(effect.record, None);
                        assert_eq!(self.runs[i].status, RunStatus::Sleeping);
                        assert_eq!(self.runs[i].available_at, self.now + secs(*timeout));
                    }
                }
            }
            Command::Expire { target } => {
                let i = self.resolve(target);
                let run = &self.runs[i];
                let expect_ok =
                    run.status == RunStatus::Claimed && run.claim_expires_at.is_some_and(|end| end <= self.now);
                let failures = self.task.failures;
                let policy = self.policy;
                match self.attempt(i, expect_ok, "expire_claim", |s, now| machine::expire_claim(s, &policy, now)) {
                    None => {}
                    Some(FailOutcome::Retry(run)) => {
                        assert!(self.task.consecutive_expiries < policy.max_consecutive_expiries);
                        // The new run keeps the expired one's place in line.
                        let due = self.runs[i].available_at;
                        self.push_run(i, *run, due);
                    }
                    Some(FailOutcome::TaskFailed) => {
                        assert_eq!(self.task.consecutive_expiries, policy.max_consecutive_expiries);
                        assert_eq!(self.task.status, TaskStatus::Failed);
                    }
                }
                assert_eq!(self.task.failures, failures, "expiries do not use up max_attempts");
            }
            Command::Wake => {
                for i in 0..self.runs.len() {
                    let run = &self.runs[i];
                    let due = run.status == RunStatus::Sleeping && run.available_at <= self.now;
                    let now = self.now;
                    let woken = self.offer(i, |s| machine::wake_due(s, now));
                    assert_eq!(woken.is_some(), due, "wake_due of run {i}");
                    if let Some((step, outcome)) = woken.and_then(machine::Woken::outcome_to_record) {
                        assert_eq!(outcome, WaitOutcome::Timeout);
                        self.record(step, outcome);
                    }
                }
            }
            Command::Emit { event: which } => {
                let name = EVENT_NAMES[*which];
                let emitted = event(name, json!(self.events.len()), self.now);
                self.events.push(emitted.clone());
                for i in 0..self.runs.len() {
                    let run = &self.runs[i];
                    let waits =
                        run.status == RunStatus::Sleeping && run.wait.as_ref().is_some_and(|w| w.event_name == name);
                    let now = self.now;
                    let delivered = self.offer(i, |s| machine::deliver(s, &emitted, now));
                    assert_eq!(delivered.is_some(), waits, "delivery of {name} to run {i}");
                    if let Some((step, outcome)) = delivered {
                        assert_eq!(outcome, WaitOutcome::Resolved { payload: emitted.payload.clone() });
                        assert_eq!(self.runs[i].status, RunStatus::Pending);
                        self.record(step, outcome);
                    }
                }
            }
            Command::Cancel => {
                let i = self.current();
                let expect_ok = !self.task.status.is_finished();
                if self.attempt(i, expect_ok, "cancel", |s, now| machine::cancel(s, Some("canceled"), now)).is_some() {
                    assert_eq!(self.task.status, TaskStatus::Canceled);
                }
            }
            Command::SweepTimeouts => {
                if let Some(reason) = machine::overdue(&self.task, self.now) {
                    let i = self.current();
                    self.attempt(i, true, "cancel", |s, now| machine::cancel(s, Some(reason), now));
                    assert_eq!(self.task.last_error.as_deref(), Some(reason));
                }
            }
            Command::Advance { seconds } => self.now += secs(*seconds),
        }
    }

    fn check_invariants(&self) {
        let task = &self.task;
        let current = &self.runs[self.current()];
        for (i, run) in self.runs.iter().enumerate() {
            assert_eq!(run.attempt as usize, i + 1, "run {i} has the wrong attempt");
            assert_eq!(run.task_id, task.id);
            if i != self.current() {
                assert!(run.status.is_finished(), "old run {i} is still {:?}", run.status);
            }
            assert_eq!(run.claim_expires_at.is_some(), run.status == RunStatus::Claimed, "run {i}");
            if run.status != RunStatus::Claimed && !run.status.is_finished() {
                assert_eq!((run.claimed_at, &run.worker_id), (None, &None), "run {i} kept its claim");
            }
            if run.wait.is_some() {
                assert_eq!(run.status, RunStatus::Sleeping, "run {i} waits without sleeping");
            }
            assert_eq!(run.completed_at.is_some(), run.status.is_finished(), "run {i}");
        }
        assert_eq!(task.attempts as usize, self.runs.len(), "attempts equal the number of runs");
        assert_eq!(task.attempts, current.attempt, "attempts equal the newest run's attempt");
        assert_eq!(task.current_run, current.id, "current_run is the newest run");

        assert_eq!(task.status.is_finished(), current.status.is_finished(), "{task:?}\n{current:?}");
        assert_eq!(task.completed_at.is_some(), task.status.is_finished());
        match task.status {
            TaskStatus::Pending => {}
            TaskStatus::Completed => assert_eq!(current.status, RunStatus::Completed),
            TaskStatus::Failed => assert_eq!(current.status, RunStatus::Failed),
            TaskStatus::Canceled => assert_eq!(current.status, RunStatus::Canceled),
        }

        let worker_failures = self
            .runs
            .iter()
            .filter(|r| r.status == RunStatus::Failed && r.error.as_deref() != Some(CLAIM_EXPIRED))
            .count();
        assert_eq!(task.failures as usize, worker_failures);
        assert!(task.failures <= task.spec.max_attempts);
        assert!(task.consecutive_expiries <= self.policy.max_consecutive_expiries);
        if !task.status.is_finished() {
            assert!(task.failures < task.spec.max_attempts);
            assert!(task.consecutive_expiries < self.policy.max_consecutive_expiries);
        }
        assert_eq!(task.first_claimed_at.is_some(), self.ever_claimed);

        // overdue and deadline agree for an unfinished task.
        if task.status.is_finished() {
            assert_eq!(machine::overdue(task, self.now), None);
        } else {
            let due = machine::deadline(task).is_some_and(|d| d <= self.now);
            assert_eq!(machine::overdue(task, self.now).is_some(), due);
        }
    }
}

/// `cases` per property; a failing case is saved next to this file
/// (`properties.proptest-regressions`) and replayed first from then on.
fn config(cases: u32) -> ProptestConfig {
    let persistence = FileFailurePersistence::WithSource("proptest-regressions");
    ProptestConfig { cases, failure_persistence: Some(Box::new(persistence)), ..ProptestConfig::default() }
}

/// Everything that is not allowed to change any more.
fn frozen(world: &World) -> (Task, Vec<Run>, BTreeMap<String, WaitOutcome>) {
    (world.task.clone(), world.runs.clone(), world.outcomes.clone())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn random_command_sequences_keep_the_task_consistent(
        spec in task_spec(),
        policy in policy(),
        commands in proptest::collection::vec(command(), 1..120),
    ) {
        let mut world = World::new(spec, policy);
        world.check_invariants();
        for command in &commands {
            let finished_task = world.task.status.is_finished().then(|| frozen(&world));
            let finished_runs: Vec<(usize, Run)> =
                world.runs.iter().cloned().enumerate().filter(|(_, r)| r.status.is_finished()).collect();
            let attempts = world.task.attempts;

            world.apply(command);
            world.check_invariants();

            if let Some(frozen_state) = finished_task {
                prop_assert_eq!(frozen(&world), frozen_state, "a finished task changed on {:?}", command);
            }
            for (i, run) in finished_runs {
                prop_assert_eq!(&world.runs[i], &run, "finished run {} changed on {:?}", i, command);
            }
            prop_assert!(
                world.task.attempts == attempts || world.task.attempts == attempts + 1,
                "attempts went from {} to {} on {:?}", attempts, world.task.attempts, command
            );
        }
    }

    #[test]
    fn commands_on_an_old_run_change_nothing(
        spec in task_spec(),
        commands in proptest::collection::vec((command(), any::<Index>()), 1..120),
    ) {
        // Drive the task through a few runs first, then aim every command
        // that names a run at one that is no longer current.
        let mut world = World::new(TaskSpec { max_attempts: 5, run_at: None, ..spec }, Policy::default());
        for _ in 0..2 {
            world.apply(&Command::Advance { seconds: 60 });
            world.apply(&Command::Claim { target: Target::Current, timeout: 30 });
            world.apply(&Command::Advance { seconds: 30 });
            world.apply(&Command::Expire { target: Target::Current });
        }
        prop_assert_eq!(world.runs.len(), 3);
        for (command, old_run) in &commands {
            match command.aimed_at(Target::Old(*old_run)) {
                Some(fenced) => {
                    let before = frozen(&world);
                    world.apply(&fenced);
                    prop_assert_eq!(frozen(&world), before, "{:?} changed something", fenced);
                }
                // Commands that name no run let the task move on meanwhile.
                None => world.apply(command),
            }
            world.check_invariants();
        }
    }
}

// ---------------------------------------------------------------- backoff

fn any_exponential() -> impl Strategy<Value = RetryStrategy> {
    let factor = prop_oneof![Just(None), (1.0..10.0f64).prop_map(Some), (1e10..1e300f64).prop_map(Some),];
    let base = prop_oneof![Just(0.0), 0.0..1e6f64];
    (base, factor, proptest::option::of(0.0..1e7f64)).prop_map(|(base, factor, max)| exponential(base, factor, max))
}

fn any_attempt() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=64, 1u32..=2_000, 1u32..=u32::MAX]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn exponential_backoff_never_shrinks(strategy in any_exponential(), attempt in any_attempt()) {
        prop_assert!(strategy.validate().is_ok());
        let this = strategy.delay_seconds(attempt);
        let next = strategy.delay_seconds(attempt.saturating_add(1));
        prop_assert!(next >= this, "{:?}: attempt {} waits {}, the next {}", strategy, attempt, this, next);
        let this = retry::backoff(Some(&strategy), attempt);
        let next = retry::backoff(Some(&strategy), attempt.saturating_add(1));
        prop_assert!(next >= this);
    }

    #[test]
    fn backoff_stays_within_max_seconds(strategy in any_exponential(), attempt in any_attempt()) {
        let delay = strategy.delay_seconds(attempt);
        prop_assert!(delay.is_finite() && delay >= 0.0, "{:?} attempt {}: {}", strategy, attempt, delay);
        if let Some(max) = strategy.max_seconds {
            prop_assert!(delay <= max, "{:?} attempt {}: {} > {}", strategy, attempt, delay, max);
            prop_assert!(retry::backoff(Some(&strategy), attempt) <= clock::seconds(max));
        }
    }

    #[test]
    fn exponential_backoff_is_base_times_factor_to_the_attempt(strategy in any_exponential(), attempt in 1u32..=20) {
        let factor = strategy.factor.unwrap_or(2.0);
        let raw = strategy.base_seconds * factor.powi(attempt as i32 - 1);
        prop_assume!(raw.is_finite());
        let expected = strategy.max_seconds.map_or(raw, |max| raw.min(max));
        prop_assert_eq!(strategy.delay_seconds(attempt), expected);
    }

    #[test]
    fn a_zero_base_never_waits(
        factor in proptest::option::of(1.0..1e300f64),
        max in proptest::option::of(0.0..1e7f64),
        attempt in any_attempt(),
    ) {
        let strategy = exponential(0.0, factor, max);
        prop_assert_eq!(strategy.delay_seconds(attempt), 0.0, "{:?} attempt {}", strategy, attempt);
    }

    #[test]
    fn fixed_backoff_ignores_the_attempt(
        base in 0.0..1e6f64,
        factor in proptest::option::of(1.0..10.0f64),
        max in proptest::option::of(0.0..1e7f64),
        attempt in any_attempt(),
    ) {
        let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: base, factor, max_seconds: max };
        let expected = max.map_or(base, |max| base.min(max));
        prop_assert_eq!(strategy.delay_seconds(attempt), expected);
        prop_assert_eq!(retry::backoff(Some(&strategy), attempt), clock::seconds(expected));
    }

    #[test]
    fn no_strategy_waits_one_second(attempt in any_attempt()) {
        prop_assert_eq!(retry::backoff(None, attempt), secs(1));
    }
}
