//! [`Store`] over [`State`] behind one mutex: every method is atomic because
//! it runs entirely under the lock, and never awaits while holding it.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use durable_domain::command::{
    self, CheckpointWrite, Claim, Completion, EventFilter, Page, RunFilter, TaskFilter, Wait, WorkflowFilter,
};
use durable_domain::event::{Checkpoint, Event, WaitOutcome, WaitResponse};
use durable_domain::flow::{self, FlowPatch};
use durable_domain::machine::{self, FailOutcome, Policy};
use durable_domain::queue::event_retention;
use durable_domain::schedule::{MAX_TICKS_PER_PASS, Schedule, ScheduleName, SchedulePatch};
use durable_domain::workflow::{WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{
    EventId, NotFound, Queue, QueueName, QueueStats, Rejection, Run, RunId, RunStatus, Task, TaskId, TaskSpec,
    TaskState, Timestamp, ValidationError, WorkflowRunId, child, clock, task, wake,
};
use durable_ports::metrics::QueueDepth;
use durable_ports::store::{
    Cleanup, CreatedTask, CreatedTasks, Emitted, ExpiredClaims, FailedRun, FiredSchedules, RetriedTask, Retry,
    ScheduledRun, SleepersWoken,
};
use durable_ports::{ItemError, Store, StoreError};
use serde_json::Value;
use time::Duration;

use crate::LocalNotifier;
use crate::state::State;

/// A complete store in memory, for tests and quick experiments. Nothing
/// survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// Wakes the claimers of parents woken by a child's end: the one wake
    /// that comes from a write whose answer names no queues (completions,
    /// cancels, timeouts), so the store signals it itself, as PostgreSQL's
    /// `NOTIFY` does.
    notifier: LocalNotifier,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The in-process notifier this store signals: the one its claimers
    /// should wait on.
    pub fn notifier(&self) -> LocalNotifier {
        self.notifier.clone()
    }

    /// Announces the ends of `ended` to the runs waiting for them
    /// (`durable_domain::child`) and wakes their queues' claimers.
    fn announce_ends(&self, state: &mut State, ended: &[Task], now: Timestamp) -> Vec<QueueName> {
        let mut woken = Vec::new();
        for event in ended.iter().filter_map(|task| child::end_event(task, now)) {
            woken.extend(deliver(state, &event, now));
        }
        let mut wake = wake::queues_to_wake(&woken, now);
        wake.extend(child::queues_to_signal(ended));
        wake.sort();
        wake.dedup();
        for queue in &wake {
            self.notifier.wake(queue);
        }
        wake
    }

    /// The state for a write at `now`: when the write is done, the keys it
    /// touched are re-admitted and the queues of runs it exposed are woken.
    fn write(&self, now: Timestamp) -> Writing<'_> {
        Writing { state: self.state(), now, notifier: &self.notifier }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied
        // transition (each one is computed before it is written), so the
        // data is still consistent.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`MemoryStore::write`]'s guard.
struct Writing<'a> {
    state: MutexGuard<'a, State>,
    now: Timestamp,
    notifier: &'a LocalNotifier,
}

impl std::ops::Deref for Writing<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for Writing<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        for queue in self.state.settle(self.now) {
            self.notifier.wake(&queue);
        }
    }
}

/// One page of a newest-first iteration, fetched as every store fetches it.
/// The start of a queue's range in the claim index.
fn first_of(queue: &QueueName) -> crate::state::PendingEntry {
    (queue.clone(), std::cmp::Reverse(i16::MAX), Timestamp::UNIX_EPOCH, RunId::from_uuid(Default::default()))
}

fn page<T, C>(items: impl Iterator<Item = T>, limit: u32, cursor_of: impl Fn(&T) -> C) -> Page<T, C> {
    let fetch = usize::try_from(command::fetch_limit(limit)).unwrap_or(usize::MAX);
    Page::from_fetched(items.take(fetch).collect(), limit, cursor_of)
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn queue_create(&self, queue: Queue, max_queues: usize) -> Result<Queue, StoreError> {
        let mut state = self.state();
        if state.queues.contains_key(&queue.name) {
            return Err(Rejection::QueueExists(queue.name.to_string()).into());
        }
        if state.queues.len() >= max_queues {
            return Err(queue_limit(max_queues).into());
        }
        state.queues.insert(queue.name.clone(), queue.clone());
        Ok(queue)
    }

    async fn queue_list(&self) -> Result<Vec<Queue>, StoreError> {
        Ok(self.state().queues.values().cloned().collect())
    }

    async fn queue_update(&self, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue, StoreError> {
        let mut state = self.write(now);
        let queue = state.queues.get_mut(name).ok_or_else(|| NotFound::Queue(name.to_string()))?;
        let changes_keys = patch.changes_keys(queue.flow);
        queue.flow = patch.apply(queue.flow);
        let updated = queue.clone();
        if changes_keys {
            state.unsettle_queue(name);
        }
        Ok(updated)
    }

    async fn queue_finished_counts(&self, name: &QueueName, cap: u32) -> Result<(u64, u64), StoreError> {
        let state = self.state();
        state.queue(name)?;
        let count = |status: RunStatus| {
            state.runs.values().filter(|r| &r.queue == name && r.status == status).take(cap as usize).count() as u64
        };
        Ok((count(RunStatus::Completed), count(RunStatus::Failed)))
    }

    async fn queue_delete(&self, name: &QueueName, force: bool) -> Result<(), StoreError> {
        let mut state = self.state();
        state.queue(name)?;
        let tasks: Vec<(TaskId, bool)> =
            state.tasks.values().filter(|t| &t.queue == name).map(|t| (t.id, t.status.is_finished())).collect();
        if !force && tasks.iter().any(|(_, finished)| !finished) {
            return Err(Rejection::QueueNotEmpty(name.to_string()).into());
        }
        for (id, _) in tasks {
            state.delete_task(id);
        }
        state.queues.remove(name);
        state.schedules.retain(|_, s| &s.queue != name);
        Ok(())
    }

    async fn queue_stats(&self, name: &QueueName, now: Timestamp) -> Result<QueueStats, StoreError> {
        let state = self.state();
        state.queue(name)?;
        let runs = state.runs.values().filter(|r| &r.queue == name);
        let oldest_due = runs.clone().filter(|r| r.is_claimable(now)).map(|r| r.available_at).min();
        let stats = QueueStats::tally(name.clone(), runs.map(|r| (r.status, 1)), oldest_due, now);
        Ok(stats)
    }

    async fn tasks_create(
        &self,
        queue: &QueueName,
        specs: Vec<TaskSpec>,
        now: Timestamp,
    ) -> Result<CreatedTasks, StoreError> {
        create_tasks(&mut self.write(now), queue, specs, now)
    }

    async fn task_get(&self, id: TaskId) -> Result<Task, StoreError> {
        Ok(self.state().task(id)?.clone())
    }

    async fn task_list(&self, filter: &TaskFilter) -> Result<Page<Task, TaskId>, StoreError> {
        let state = self.state();
        let upper = filter.cursor.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let matching = state
            .tasks
            .range((std::ops::Bound::Unbounded, upper))
            .rev()
            .map(|(_, t)| t)
            .filter(|t| filter.queue_name.as_deref().is_none_or(|q| t.queue.as_str() == q))
            .filter(|t| filter.status.is_none_or(|s| t.status == s))
            .filter(|t| filter.task_name.as_deref().is_none_or(|n| t.spec.task_name == n))
            .filter(|t| filter.parent_task_id.is_none_or(|p| t.spec.parent_task_id == Some(p)))
            .filter(|t| filter.created_after.is_none_or(|after| t.created_at >= after))
            .filter(|t| filter.created_before.is_none_or(|before| t.created_at < before))
            .cloned();
        Ok(page(matching, filter.limit, |t| t.id))
    }

    async fn task_watch_result(&self, id: TaskId) -> Result<Task, StoreError> {
        let mut state = self.state();
        let task = state.tasks.get_mut(&id).ok_or(NotFound::Task(id))?;
        task.result_watched = true;
        Ok(task.clone())
    }

    async fn task_cancel(&self, id: TaskId, now: Timestamp) -> Result<(), StoreError> {
        let mut state = self.write(now);
        let mut current = state.load_task(id)?;
        machine::cancel(&mut current, None, now)?;
        let ended = current.task.clone();
        state.save(current);
        self.announce_ends(&mut state, &[ended], now);
        Ok(())
    }

    async fn wait_outcomes(&self, task: TaskId) -> Result<Vec<(String, WaitOutcome)>, StoreError> {
        let state = self.state();
        state.task(task)?;
        let mut outcomes: Vec<(String, WaitOutcome)> = state
            .outcomes
            .iter()
            .filter(|((t, _), _)| *t == task)
            .map(|((_, step), outcome)| (step.clone(), outcome.clone()))
            .collect();
        outcomes.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(outcomes)
    }

    async fn event_list(&self, filter: &EventFilter) -> Result<Page<Event, EventId>, StoreError> {
        let state = self.state();
        let events = state
            .events
            .iter()
            .rev()
            .filter(|e| filter.event_name.as_ref().is_none_or(|name| &e.name == name))
            .filter(|e| filter.cursor.is_none_or(|cursor| e.id < cursor))
            .cloned();
        Ok(page(events, filter.limit, |e| e.id))
    }

    async fn task_retry(&self, id: TaskId, now: Timestamp) -> Result<RetriedTask, StoreError> {
        let mut state = self.write(now);
        let mut current = state.load_task(id)?;
        let run = machine::retry(&mut current, now)?;
        let retried =
            RetriedTask { task_id: id, run_id: run.id, attempt: run.attempt, wake: wake::queues_to_wake([&run], now) };
        state.save(current);
        state.put_run(run);
        Ok(retried)
    }

    async fn runs_claim(&self, queue: &QueueName, claim: &Claim, now: Timestamp) -> Result<Vec<TaskState>, StoreError> {
        let mut state = self.write(now);
        state.queue(queue)?;
        let cap = state.queue(queue)?.flow.concurrency_limit;
        let room = flow::claim_room(cap, cap.map_or(0, |_| state.claimed_in(queue, now)), claim.limit);
        let due: Vec<RunId> = state
            .pending
            .range(first_of(queue)..)
            .take_while(|(q, ..)| q == queue)
            .filter(|(_, _, at, _)| *at <= now)
            .take(room as usize)
            .map(|(.., id)| *id)
            .collect();
        let mut claimed = Vec::with_capacity(due.len());
        for run in due {
            let mut current = state.load(run)?;
            machine::claim(&mut current, claim, now)?;
            state.save(current.clone());
            claimed.push(current);
        }
        Ok(claimed)
    }

    async fn queue_next_due(&self, queue: &QueueName) -> Result<Option<Timestamp>, StoreError> {
        let state = self.state();
        let first =
            state.pending.range(first_of(queue)..).take_while(|(q, ..)| q == queue).map(|(_, _, at, _)| *at).min();
        Ok(first)
    }

    async fn run_list(&self, filter: &RunFilter) -> Result<Page<Run, RunId>, StoreError> {
        let state = self.state();
        let upper = filter.cursor.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let matching = state
            .runs
            .range((std::ops::Bound::Unbounded, upper))
            .rev()
            .map(|(_, r)| r)
            .filter(|r| filter.task_id.is_none_or(|t| r.task_id == t))
            .filter(|r| filter.status.is_none_or(|s| r.status == s))
            .cloned();
        Ok(page(matching, filter.limit, |r| r.id))
    }

    async fn runs_complete(
        &self,
        items: Vec<Completion>,
        now: Timestamp,
    ) -> Result<Vec<Result<(), ItemError>>, StoreError> {
        let mut state = self.write(now);
        let mut ended = Vec::new();
        let answers = items
            .into_iter()
            .map(|Completion { run_id, result }| {
                let mut current = state.load(run_id).map_err(|_| ItemError::NotFound(NotFound::Run(run_id)))?;
                machine::complete(&mut current, result, now)?;
                ended.push(current.task.clone());
                state.save(current);
                Ok(())
            })
            .collect();
        self.announce_ends(&mut state, &ended, now);
        Ok(answers)
    }

    async fn run_fail(&self, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun, StoreError> {
        let mut state = self.write(now);
        let mut current = state.load(run)?;
        let outcome = machine::fail(&mut current, error, now)?;
        let failed = FailedRun {
            run_id: run,
            queue: current.task.queue.clone(),
            attempt: current.run.attempt,
            next: match &outcome {
                FailOutcome::Retry(next) => Some(Retry::of(next)),
                FailOutcome::TaskFailed => None,
            },
            wake: match &outcome {
                FailOutcome::Retry(next) => wake::queues_to_wake([next.as_ref()], now),
                FailOutcome::TaskFailed => Vec::new(),
            },
        };
        let ended = current.task.clone();
        state.save(current);
        let mut failed = failed;
        match outcome {
            FailOutcome::Retry(next) => state.put_run(*next),
            FailOutcome::TaskFailed => failed.wake = self.announce_ends(&mut state, &[ended], now),
        }
        Ok(failed)
    }

    async fn run_schedule(&self, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun, StoreError> {
        let mut state = self.write(now);
        let mut current = state.load(run)?;
        machine::schedule(&mut current, run_at, now)?;
        let wake = wake::queues_to_wake([&current.run], now);
        let scheduled = ScheduledRun { queue: current.task.queue.clone(), scheduled_at: run_at, wake };
        state.save(current);
        Ok(scheduled)
    }

    async fn run_heartbeat(&self, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp, StoreError> {
        let mut state = self.write(now);
        let mut current = state.load(run)?;
        let end = machine::heartbeat(&mut current, extend_by, now)?;
        state.save(current);
        Ok(end)
    }

    async fn run_wait_for_event(&self, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError> {
        let mut state = self.write(now);
        let latest = state.events.iter().rev().find(|e| e.name == wait.event_name).cloned();
        apply_wait(&mut state, wait, latest, now)
    }

    async fn run_wait_for_task(&self, wait: &Wait, child: TaskId, now: Timestamp) -> Result<WaitResponse, StoreError> {
        let mut state = self.write(now);
        let ended = child::end_event(state.task(child)?, now);
        apply_wait(&mut state, wait, ended, now)
    }

    async fn event_emit(&self, name: &str, payload: Value, now: Timestamp) -> Result<Emitted, StoreError> {
        let mut state = self.write(now);
        let event = Event { id: EventId::new(), name: name.to_owned(), payload, created_at: now };
        state.events.push(event.clone());
        let woken = deliver(&mut state, &event, now);
        let wake = wake::queues_to_wake(&woken, now);
        Ok(Emitted { event, woken: woken.into_iter().map(|r| r.queue).collect(), wake })
    }

    async fn checkpoint_put(&self, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError> {
        let mut state = self.write(now);
        state.task(write.task_id)?;
        let mut owner = state.load(write.owner_run).ok();
        let written = machine::write_checkpoint(owner.as_mut(), write, now)?;
        if let Some(owner) = owner.filter(|_| written.claim_extended) {
            state.save(owner);
        }
        let checkpoint = written.checkpoint;
        state.checkpoints.insert((checkpoint.task_id, checkpoint.step_name.clone()), checkpoint.clone());
        Ok(checkpoint)
    }

    async fn checkpoint_get(&self, task: TaskId, step_name: &str) -> Result<Checkpoint, StoreError> {
        let state = self.state();
        state.task(task)?;
        state
            .checkpoints
            .get(&(task, step_name.to_owned()))
            .cloned()
            .ok_or_else(|| NotFound::Checkpoint { task_id: task, step_name: step_name.to_owned() }.into())
    }

    async fn checkpoint_list(&self, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
        let state = self.state();
        state.task(task)?;
        Ok(state
            .checkpoints
            .range((task, String::new())..)
            .take_while(|((t, _), _)| *t == task)
            .map(|(_, c)| c.clone())
            .collect())
    }

    async fn workflow_create(&self, run: WorkflowRun) -> Result<WorkflowRun, StoreError> {
        self.state().workflows.insert(run.id, run.clone());
        Ok(run)
    }

    async fn workflow_update(
        &self,
        id: WorkflowRunId,
        patch: WorkflowPatch,
        now: Timestamp,
    ) -> Result<WorkflowRun, StoreError> {
        let mut state = self.state();
        let run = state.workflows.get_mut(&id).ok_or(NotFound::WorkflowRun(id))?;
        run.apply(patch, now);
        Ok(run.clone())
    }

    async fn workflow_get(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, StoreError> {
        let state = self.state();
        let run = state.workflows.get(&id).ok_or(NotFound::WorkflowRun(id))?.clone();
        let tasks = state.tasks.values().filter(|t| t.spec.workflow_run_id == Some(id)).cloned().collect();
        Ok(WorkflowWithTasks { run, tasks })
    }

    async fn workflow_list(&self, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>, StoreError> {
        let state = self.state();
        let upper = filter.cursor.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let matching = state
            .workflows
            .range((std::ops::Bound::Unbounded, upper))
            .rev()
            .map(|(_, w)| w)
            .filter(|w| filter.status.is_none_or(|s| w.status == s))
            .filter(|w| filter.workflow_name.as_deref().is_none_or(|n| w.workflow_name == n))
            .cloned();
        Ok(page(matching, filter.limit, |w| w.id))
    }

    async fn schedule_create(&self, schedule: Schedule) -> Result<Schedule, StoreError> {
        let mut state = self.state();
        state.queue(&schedule.queue)?;
        if state.schedules.contains_key(&schedule.name) {
            return Err(Rejection::ScheduleExists(schedule.name.to_string()).into());
        }
        state.schedules.insert(schedule.name.clone(), schedule.clone());
        Ok(schedule)
    }

    async fn schedule_list(&self) -> Result<Vec<Schedule>, StoreError> {
        Ok(self.state().schedules.values().cloned().collect())
    }

    async fn schedule_get(&self, name: &ScheduleName) -> Result<Schedule, StoreError> {
        self.state().schedule(name).cloned()
    }

    async fn schedule_update(
        &self,
        name: &ScheduleName,
        patch: SchedulePatch,
        now: Timestamp,
    ) -> Result<Schedule, StoreError> {
        let mut state = self.state();
        let mut schedule = state.schedule(name)?.clone();
        schedule.apply(patch, now);
        state.schedules.insert(name.clone(), schedule.clone());
        Ok(schedule)
    }

    async fn schedule_delete(&self, name: &ScheduleName) -> Result<(), StoreError> {
        let mut state = self.state();
        state.schedule(name)?;
        state.schedules.remove(name);
        Ok(())
    }

    async fn schedules_fire(&self, now: Timestamp, grace: Duration, limit: u32) -> Result<FiredSchedules, StoreError> {
        let mut state = self.write(now);
        let due: Vec<Schedule> = state
            .schedules
            .values()
            .filter(|s| !s.paused && s.next_tick.is_some_and(|t| t <= now))
            .take(limit as usize)
            .cloned()
            .collect();
        let mut fired = FiredSchedules::default();
        for mut schedule in due {
            let Some(firing) = schedule.due(now, grace, MAX_TICKS_PER_PASS) else { continue };
            let specs: Vec<TaskSpec> = firing.ticks.iter().map(|tick| schedule.tick_task(*tick)).collect();
            let created = if specs.is_empty() {
                CreatedTasks { tasks: Vec::new(), wake: Vec::new() }
            } else {
                create_tasks(&mut state, &schedule.queue, specs, now)?
            };
            schedule.fired(&firing, created.tasks.last().map(|c| c.task_id));
            fired.ticks += firing.ticks.len();
            fired.wake.extend(created.wake);
            state.schedules.insert(schedule.name.clone(), schedule);
        }
        fired.wake.sort();
        fired.wake.dedup();
        Ok(fired)
    }

    async fn claims_expire(&self, policy: &Policy, now: Timestamp, limit: u32) -> Result<ExpiredClaims, StoreError> {
        let mut state = self.write(now);
        let expired: Vec<RunId> = state
            .runs
            .values()
            .filter(|r| r.status == RunStatus::Claimed && r.claim_expires_at.is_some_and(|end| end <= now))
            .take(limit as usize)
            .map(|r| r.id)
            .collect();
        let mut report = ExpiredClaims::default();
        let mut retries = Vec::new();
        let mut ended = Vec::new();
        for run in expired {
            let mut current = state.load(run)?;
            let outcome = machine::expire_claim(&mut current, policy, now)?;
            let current_task = current.task.id;
            state.save(current);
            match outcome {
                FailOutcome::Retry(next) => {
                    report.requeued.push(next.queue.clone());
                    retries.push((*next).clone());
                    state.put_run(*next);
                }
                FailOutcome::TaskFailed => {
                    report.tasks_failed += 1;
                    ended.push(state.task(current_task)?.clone());
                }
            }
        }
        report.wake = wake::queues_to_wake(&retries, now);
        report.wake.extend(self.announce_ends(&mut state, &ended, now));
        report.wake.sort();
        report.wake.dedup();
        Ok(report)
    }

    async fn sleepers_wake(&self, now: Timestamp, limit: u32) -> Result<SleepersWoken, StoreError> {
        let mut state = self.write(now);
        let due: Vec<RunId> = state
            .runs
            .values()
            .filter(|r| r.status == RunStatus::Sleeping && r.available_at <= now)
            .take(limit as usize)
            .map(|r| r.id)
            .collect();
        let mut woken = Vec::with_capacity(due.len());
        for run in due {
            let mut current = state.load(run)?;
            if let Some(woken_now) = machine::wake_due(&mut current, now) {
                if let Some((step, outcome)) = woken_now.outcome_to_record() {
                    state.outcomes.insert((current.task.id, step), outcome);
                }
                woken.push(current.run.clone());
                state.save(current);
            }
        }
        Ok(SleepersWoken { woken: woken.len(), wake: wake::queues_to_wake(&woken, now) })
    }

    async fn timeouts_enforce(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError> {
        let mut state = self.write(now);
        let overdue: Vec<(TaskId, &'static str)> = state
            .tasks
            .values()
            .filter_map(|t| machine::overdue(t, now).map(|reason| (t.id, reason)))
            .take(limit as usize)
            .collect();
        let mut ended = Vec::new();
        for (id, reason) in overdue {
            let mut current = state.load_task(id)?;
            machine::cancel(&mut current, Some(reason), now)?;
            ended.push(current.task.clone());
            state.save(current);
        }
        self.announce_ends(&mut state, &ended, now);
        Ok(ended.len() as u64)
    }

    async fn retention_delete(&self, now: Timestamp, limit: u32) -> Result<Cleanup, StoreError> {
        let mut state = self.write(now);
        let expired: Vec<TaskId> = state
            .tasks
            .values()
            .filter(|t| {
                let ttl = state.queues.get(&t.queue).and_then(|q| q.cleanup.task_ttl());
                machine::retention_due(t, ttl, now)
            })
            .take(limit as usize)
            .map(|t| t.id)
            .collect();
        for id in &expired {
            state.delete_task(*id);
        }
        let mut events = 0;
        if let Some(ttl) = event_retention(state.queues.values().map(|q| &q.cleanup)) {
            let before = state.events.len();
            let mut budget = limit as usize;
            state.events.retain(|e| {
                let keep = budget == 0 || clock::add(e.created_at, ttl) > now;
                if !keep {
                    budget -= 1;
                }
                keep
            });
            events = (before - state.events.len()) as u64;
        }
        Ok(Cleanup { tasks: expired.len() as u64, events })
    }

    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>, StoreError> {
        Ok(self.state().depths(now))
    }
}

/// Creates tasks with their first runs, all or nothing: `tasks_create`,
/// also what a schedule's tick does.
fn create_tasks(
    state: &mut State,
    queue: &QueueName,
    specs: Vec<TaskSpec>,
    now: Timestamp,
) -> Result<CreatedTasks, StoreError> {
    state.queue(queue)?;
    // Check everything before writing anything: the batch is all or nothing.
    for spec in &specs {
        if let Some(wf) = spec.workflow_run_id
            && !state.workflows.contains_key(&wf)
        {
            return Err(NotFound::WorkflowRun(wf).into());
        }
        if let Some(parent) = spec.parent_task_id
            && !state.tasks.contains_key(&parent)
        {
            return Err(NotFound::Task(parent).into());
        }
    }
    let mut created = Vec::with_capacity(specs.len());
    let mut new_runs = Vec::with_capacity(specs.len());
    for spec in specs {
        let key = spec.idempotency_key.clone().map(|k| (queue.clone(), k));
        if let Some(existing) = key.as_ref().and_then(|k| state.idempotency.get(k)) {
            let task = state.task(*existing)?;
            created.push(CreatedTask {
                task_id: task.id,
                run_id: task.current_run,
                workflow_run_id: task.spec.workflow_run_id,
                deduplicated: true,
            });
            continue;
        }
        let new = task::create(queue.clone(), spec, now);
        created.push(CreatedTask {
            task_id: new.task.id,
            run_id: new.run.id,
            workflow_run_id: new.task.spec.workflow_run_id,
            deduplicated: false,
        });
        if let Some(key) = key {
            state.idempotency.insert(key, new.task.id);
        }
        new_runs.push(new.run.clone());
        state.save(new);
    }
    Ok(CreatedTasks { tasks: created, wake: wake::queues_to_wake(&new_runs, now) })
}

fn queue_limit(max_queues: usize) -> ValidationError {
    ValidationError::new("name", format!("the server's limit of {max_queues} queues is reached"))
}

/// Delivers `event` to every run sleeping on its name: records each outcome
/// and makes the run claimable. Answers the woken runs.
fn deliver(state: &mut State, event: &Event, now: Timestamp) -> Vec<Run> {
    let sleepers: Vec<RunId> = state
        .runs
        .values()
        .filter(|r| r.status == RunStatus::Sleeping && r.wait.as_ref().is_some_and(|w| w.event_name == event.name))
        .map(|r| r.id)
        .collect();
    let mut woken = Vec::with_capacity(sleepers.len());
    for run in sleepers {
        let Ok(mut current) = state.load(run) else {
            continue;
        };
        if let Some((step, outcome)) = machine::deliver(&mut current, event, now) {
            state.outcomes.insert((current.task.id, step), outcome);
            woken.push(current.run.clone());
            state.save(current);
        }
    }
    woken
}

/// Both waits, given what resolves them: replay the step's outcome,
/// resolve it, or put the run to sleep.
fn apply_wait(
    state: &mut State,
    wait: &Wait,
    resolution: Option<Event>,
    now: Timestamp,
) -> Result<WaitResponse, StoreError> {
    let mut current = state.load(wait.run_id)?;
    state.task(wait.task_id)?;
    let key = (wait.task_id, wait.step_name.clone());
    let memo = state.outcomes.get(&key).cloned();
    let effect = machine::wait_for_event(&mut current, wait, memo.as_ref(), resolution.as_ref(), now)?;
    if let Some(outcome) = effect.record {
        state.outcomes.insert(key, outcome);
    }
    state.save(current);
    Ok(effect.response)
}
