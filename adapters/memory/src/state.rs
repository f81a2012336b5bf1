//! The in-memory tables and the indexes the hot paths need. All run writes go
//! through [`State::put_run`], which keeps the pending index in step.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use durable_domain::event::{Checkpoint, Event, WaitOutcome};
use durable_domain::flow::{self, Contender, KeySlot};
use durable_domain::schedule::{Schedule, ScheduleName};
use durable_domain::workflow::WorkflowRun;
use durable_domain::{
    NotFound, Queue, QueueName, Run, RunId, RunStatus, Task, TaskId, TaskState, Timestamp, WorkflowRunId,
};
use durable_ports::StoreError;

#[derive(Debug, Default)]
pub(crate) struct State {
    pub queues: BTreeMap<QueueName, Queue>,
    pub tasks: BTreeMap<TaskId, Task>,
    pub runs: BTreeMap<RunId, Run>,
    pub runs_by_task: HashMap<TaskId, Vec<RunId>>,
    /// Claimable-when-due runs (pending, not held) by queue in claim order:
    /// priority (higher first), due time, id.
    pub pending: BTreeSet<PendingEntry>,
    /// The live (pending or claimed) runs of each concurrency key.
    pub keyed: HashMap<KeySlot, BTreeSet<RunId>>,
    /// Keys whose admission a write may have changed since the last settle.
    pub unsettled: BTreeSet<KeySlot>,
    /// Capped queues where a write may have freed a slot since the last settle.
    pub freed: BTreeSet<QueueName>,
    pub idempotency: HashMap<(QueueName, String), TaskId>,
    pub checkpoints: BTreeMap<(TaskId, String), Checkpoint>,
    pub outcomes: HashMap<(TaskId, String), WaitOutcome>,
    /// In emit order, so the last match is the latest event of a name.
    pub events: Vec<Event>,
    pub workflows: BTreeMap<WorkflowRunId, WorkflowRun>,
    pub schedules: BTreeMap<ScheduleName, Schedule>,
}

impl State {
    pub(crate) fn queue(&self, name: &QueueName) -> Result<&Queue, StoreError> {
        self.queues.get(name).ok_or_else(|| NotFound::Queue(name.to_string()).into())
    }

    pub(crate) fn schedule(&self, name: &ScheduleName) -> Result<&Schedule, StoreError> {
        self.schedules.get(name).ok_or_else(|| NotFound::Schedule(name.to_string()).into())
    }

    pub(crate) fn task(&self, id: TaskId) -> Result<&Task, StoreError> {
        self.tasks.get(&id).ok_or_else(|| NotFound::Task(id).into())
    }

    /// The addressed run with its task.
    pub(crate) fn load(&self, run: RunId) -> Result<TaskState, StoreError> {
        let run = self.runs.get(&run).ok_or(NotFound::Run(run))?.clone();
        let task = self.task(run.task_id)?.clone();
        Ok(TaskState { task, run })
    }

    /// A task with its current run.
    pub(crate) fn load_task(&self, id: TaskId) -> Result<TaskState, StoreError> {
        let task = self.task(id)?.clone();
        let run = self.runs.get(&task.current_run).ok_or(NotFound::Run(task.current_run))?.clone();
        Ok(TaskState { task, run })
    }

    pub(crate) fn save(&mut self, state: TaskState) {
        self.tasks.insert(state.task.id, state.task);
        self.put_run(state.run);
    }

    pub(crate) fn put_run(&mut self, run: Run) {
        if let Some(old) = self.runs.get(&run.id) {
            self.pending.remove(&PendingEntry::of(old));
        }
        if run.status == RunStatus::Pending && !run.held {
            self.pending.insert(PendingEntry::of(&run));
        }
        if let Some(slot) = KeySlot::of(&run) {
            let live = self.keyed.entry(slot.clone()).or_default();
            if matches!(run.status, RunStatus::Pending | RunStatus::Claimed) {
                live.insert(run.id);
            } else {
                live.remove(&run.id);
            }
        }
        self.unsettled.extend(flow::keys_to_admit([&run]));
        if run.status != RunStatus::Claimed
            && self.queues.get(&run.queue).is_some_and(|q| q.flow.concurrency_limit.is_some())
        {
            self.freed.insert(run.queue.clone());
        }
        let runs = self.runs_by_task.entry(run.task_id).or_default();
        if !runs.contains(&run.id) {
            runs.push(run.id);
        }
        self.runs.insert(run.id, run);
    }

    /// Removes a task with its runs, checkpoints, outcomes and idempotency key.
    pub(crate) fn delete_task(&mut self, id: TaskId) {
        let Some(task) = self.tasks.remove(&id) else { return };
        for run_id in self.runs_by_task.remove(&id).unwrap_or_default() {
            if let Some(run) = self.runs.remove(&run_id) {
                self.pending.remove(&PendingEntry::of(&run));
                if let Some(live) = KeySlot::of(&run).and_then(|slot| self.keyed.get_mut(&slot)) {
                    live.remove(&run.id);
                }
            }
        }
        if let Some(key) = task.spec.idempotency_key {
            self.idempotency.remove(&(task.queue, key));
        }
        self.checkpoints.retain(|(task_id, _), _| *task_id != id);
        self.outcomes.retain(|(task_id, _), _| *task_id != id);
    }
}

/// A run in the claim index: queue, priority (higher first), due time, id.
pub(crate) type PendingEntry = (QueueName, Reverse<i16>, Timestamp, RunId);

trait Entry {
    fn of(run: &Run) -> Self;
}

impl Entry for PendingEntry {
    fn of(run: &Run) -> Self {
        (run.queue.clone(), Reverse(run.priority), run.available_at, run.id)
    }
}

impl State {
    /// Re-admits every unsettled key (`flow::admit`); answers the queues in
    /// which a run was exposed that is due at `now`, and the capped queues
    /// where a slot may have been freed.
    pub(crate) fn settle(&mut self, now: Timestamp) -> Vec<QueueName> {
        let mut wake: Vec<QueueName> = std::mem::take(&mut self.freed).into_iter().collect();
        for slot in std::mem::take(&mut self.unsettled) {
            let Some(limit) = self.queues.get(&slot.queue).map(|q| q.flow.key_concurrency_limit) else { continue };
            let live: Vec<&Run> =
                self.keyed.get(&slot).into_iter().flatten().filter_map(|id| self.runs.get(id)).collect();
            let occupied = live.iter().filter(|r| r.status == RunStatus::Claimed).count() as u64;
            let contenders: Vec<Contender> =
                live.iter().filter(|r| r.status == RunStatus::Pending).map(|r| Contender::of(r)).collect();
            let admission = flow::admit(limit, occupied, &contenders, now);
            for (ids, held) in [(admission.release, false), (admission.hold, true)] {
                for id in ids {
                    let Some(run) = self.runs.get_mut(&id) else { continue };
                    run.held = held;
                    let entry = PendingEntry::of(run);
                    if held {
                        self.pending.remove(&entry);
                    } else {
                        if run.available_at <= now {
                            wake.push(run.queue.clone());
                        }
                        self.pending.insert(entry);
                    }
                }
            }
        }
        wake.sort();
        wake.dedup();
        wake
    }

    /// Marks every key of a queue for re-admission (its limit changed).
    pub(crate) fn unsettle_queue(&mut self, queue: &QueueName) {
        let keys: Vec<KeySlot> = self.keyed.keys().filter(|slot| &slot.queue == queue).cloned().collect();
        self.unsettled.extend(keys);
    }

    /// Runs of a queue whose claim is held at `now`.
    pub(crate) fn claimed_in(&self, queue: &QueueName, now: Timestamp) -> u64 {
        self.runs.values().filter(|r| &r.queue == queue && r.claim_held(now)).count() as u64
    }
}
