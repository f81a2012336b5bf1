//! The in-memory tables and the indexes the hot paths need. All run writes go
//! through [`State::put_run`], which keeps the pending index in step.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use durable_domain::event::{Checkpoint, Event, WaitOutcome};
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
    /// Pending runs by queue in claim order: due time, then id.
    pub pending: BTreeSet<(QueueName, Timestamp, RunId)>,
    pub idempotency: HashMap<(QueueName, String), TaskId>,
    pub checkpoints: BTreeMap<(TaskId, String), Checkpoint>,
    pub outcomes: HashMap<(TaskId, String), WaitOutcome>,
    /// In emit order, so the last match is the latest event of a name.
    pub events: Vec<Event>,
    pub workflows: BTreeMap<WorkflowRunId, WorkflowRun>,
}

impl State {
    pub(crate) fn queue(&self, name: &QueueName) -> Result<&Queue, StoreError> {
        self.queues.get(name).ok_or_else(|| NotFound::Queue(name.to_string()).into())
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
        if let Some(old) = self.runs.get(&run.id)
            && old.status == RunStatus::Pending
        {
            self.pending.remove(&(old.queue.clone(), old.available_at, old.id));
        }
        if run.status == RunStatus::Pending {
            self.pending.insert((run.queue.clone(), run.available_at, run.id));
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
            if let Some(run) = self.runs.remove(&run_id)
                && run.status == RunStatus::Pending
            {
                self.pending.remove(&(run.queue, run.available_at, run.id));
            }
        }
        if let Some(key) = task.spec.idempotency_key {
            self.idempotency.remove(&(task.queue, key));
        }
        self.checkpoints.retain(|(task_id, _), _| *task_id != id);
        self.outcomes.retain(|(task_id, _), _| *task_id != id);
    }
}
