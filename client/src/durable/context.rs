//! The handle a durable handler gets: steps, durable sleeps, event waits
//! and child tasks, each recorded so a later run of the task replays it.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::names::{self, StepNames};
use super::stop::{Stop, StopSignal};
use super::{ChildTask, DurableError, SpawnOptions};
use crate::types::checkpoints::{Checkpoint, PutCheckpoint};
use crate::types::results::{FinishedTask, WaitForTask};
use crate::types::runs::{WaitForEvent, WaitOutcome};
use crate::types::tasks::{ClaimedTask, TaskStatus};
use crate::{Client, Error};

/// What a claimed run of a durable task can do; given to its handler.
///
/// Cheap to clone; clones share the run's state. Every method records its
/// outcome as a checkpoint of the task (or, for waits, the server records
/// it), so when the task runs again — retried after a failure, resumed
/// after a sleep or a wait, or taken over after a crash — the handler
/// replays: finished calls return their recorded value at once.
///
/// Calls are named in the order they are made, so a handler must make the
/// same calls in the same order on every run (branch on recorded values,
/// not on the clock or randomness outside steps).
///
/// A call that must wait (a sleep not yet over, an event not yet emitted, a
/// child not yet ended) gives up the claim and never returns in this run:
/// the worker drops the handler there and reports nothing, and the run
/// comes back when the wait is over. The same happens when the server says
/// the claim is lost (expired, or the task was canceled).
#[derive(Clone, Debug)]
pub struct TaskContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    task_id: Uuid,
    run_id: Uuid,
    attempt: u32,
    task_name: String,
    queue: String,
    headers: BTreeMap<String, String>,
    /// Sent as `extend_claim_by` with every checkpoint write.
    claim_seconds: u64,
    /// The task's checkpoints: loaded with the claim, grown by each write.
    recorded: Mutex<HashMap<String, Value>>,
    names: Mutex<StepNames>,
    stop: StopSignal,
}

/// The base name of durable sleeps.
const SLEEP: &str = "$sleep";

/// What a durable sleep records: when it ends.
#[derive(Serialize, serde::Deserialize)]
struct SleepRecord {
    #[serde(with = "time::serde::rfc3339")]
    wake_at: OffsetDateTime,
}

/// What a spawn records: the child it created.
#[derive(Serialize, serde::Deserialize)]
struct SpawnRecord {
    task_id: Uuid,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a failed call means the run no longer holds its claim.
fn claim_lost(error: &Error) -> bool {
    error.is_conflict() || error.is_not_found()
}

/// A duration as the whole seconds a wait takes (at least 1).
fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

impl TaskContext {
    pub(crate) fn new(
        client: Client,
        task: &ClaimedTask,
        queue: String,
        claim_seconds: u64,
        checkpoints: Vec<Checkpoint>,
    ) -> Self {
        let recorded = checkpoints.into_iter().map(|c| (c.step_name, c.state)).collect();
        Self {
            inner: Arc::new(Inner {
                client,
                task_id: task.task_id,
                run_id: task.run_id,
                attempt: task.attempt,
                task_name: task.task_name.clone(),
                queue,
                headers: task.headers.clone(),
                claim_seconds,
                recorded: Mutex::new(recorded),
                names: Mutex::new(StepNames::default()),
                stop: StopSignal::default(),
            }),
        }
    }

    /// The task being run.
    pub fn task_id(&self) -> Uuid {
        self.inner.task_id
    }

    /// This run of it (the claim's fencing token).
    pub fn run_id(&self) -> Uuid {
        self.inner.run_id
    }

    /// 1 for the first run, one more per failed run; a run resumed after a
    /// sleep or a wait keeps its attempt.
    pub fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    /// The task's name.
    pub fn task_name(&self) -> &str {
        &self.inner.task_name
    }

    /// The queue the task came from (children are spawned there by default).
    pub fn queue(&self) -> &str {
        &self.inner.queue
    }

    /// The task's headers.
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.inner.headers
    }

    /// The client the worker uses, for calls of your own.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn stop_signal(&self) -> &StopSignal {
        &self.inner.stop
    }

    /// Runs `work` once for the task and records its result as checkpoint
    /// `name` (the n-th step of the same name in a run is `name#n`).
    ///
    /// When the step was recorded by an earlier run, its value is returned
    /// without running `work`. The result is stored (one request, which
    /// also extends the claim) before this returns, so code after the step
    /// never runs without it being recorded. If the process dies while
    /// `work` runs, the next run runs it again: make steps safe to repeat
    /// when they have effects outside.
    ///
    /// An error of `work` comes back as [`DurableError::Step`] and records
    /// nothing; returning it from the handler fails the run, and the
    /// retried run re-runs this step.
    pub fn step<T, E, F, Fut>(
        &self,
        name: &str,
        work: F,
    ) -> impl Future<Output = Result<T, DurableError>> + use<'_, T, E, F, Fut>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<Box<dyn StdError + Send + Sync + 'static>>,
    {
        // The name is taken now, not when the future is first polled, so
        // steps started together (`join!`) are named in the order written.
        let key = names::user_step(name).map(|name| self.next_name(name));
        async move {
            let key = key?;
            self.halt_if_stopped().await;
            if let Some(value) = self.recorded(&key) {
                return decode(value, || format!("the recorded result of step {key:?}"));
            }
            let value =
                work().await.map_err(|source| DurableError::Step { step: key.clone(), source: source.into() })?;
            let state = serde_json::to_value(&value)
                .map_err(|source| DurableError::encode(format!("the result of step {key:?}"), source))?;
            self.record(&key, state).await?;
            Ok(value)
        }
    }

    /// Sleeps durably for `duration`: the run gives up its claim and comes
    /// back when the time is over, even across worker and server restarts.
    /// The wake-up time is recorded by the first run that gets here; later
    /// runs continue at once when it has passed.
    pub fn sleep_for(&self, duration: Duration) -> impl Future<Output = Result<(), DurableError>> {
        let key = self.next_name(SLEEP.to_owned());
        self.sleep_to(key, move || OffsetDateTime::now_utc() + duration)
    }

    /// Sleeps durably until `wake_at`; see [`TaskContext::sleep_for`]. A
    /// time already past returns at once.
    pub fn sleep_until(&self, wake_at: OffsetDateTime) -> impl Future<Output = Result<(), DurableError>> {
        let key = self.next_name(SLEEP.to_owned());
        self.sleep_to(key, move || wake_at)
    }

    async fn sleep_to(&self, key: String, wake_at: impl FnOnce() -> OffsetDateTime) -> Result<(), DurableError> {
        self.halt_if_stopped().await;
        let wake_at = if let Some(value) = self.recorded(&key) {
            decode::<SleepRecord>(value, || format!("the recorded sleep {key:?}"))?.wake_at
        } else {
            let wake_at = wake_at();
            if wake_at <= OffsetDateTime::now_utc() {
                return Ok(());
            }
            let record = serde_json::to_value(SleepRecord { wake_at })
                .map_err(|source| DurableError::encode("a sleep", source))?;
            self.record(&key, record).await?;
            wake_at
        };
        if wake_at <= OffsetDateTime::now_utc() {
            return Ok(());
        }
        match self.inner.client.schedule_run(self.inner.run_id, wake_at).await {
            Ok(_) => self.halt(Stop::Suspended).await,
            Err(error) if claim_lost(&error) => self.halt(Stop::ClaimLost).await,
            Err(error) => Err(error.into()),
        }
    }

    /// Waits for the event `event_name` and returns its payload as `T`. An
    /// event emitted before the wait counts (the latest one). The outcome
    /// is recorded by the server, so every later run gets the same payload.
    ///
    /// When the event has not been emitted yet the run gives up its claim
    /// until it is (or until `timeout`, rounded up to whole seconds); then
    /// [`DurableError::EventTimeout`] comes back, which the handler may
    /// match on.
    pub fn await_event<T>(
        &self,
        event_name: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<T, DurableError>> + use<'_, T>
    where
        T: DeserializeOwned,
    {
        let key = self.next_name(names::internal("event", event_name));
        let wait = WaitForEvent::new(self.inner.task_id, key, event_name, whole_seconds(timeout));
        async move {
            self.halt_if_stopped().await;
            match self.inner.client.wait_for_event(self.inner.run_id, &wait).await {
                Ok(WaitOutcome::Resolved { payload }) => {
                    decode(payload, || format!("the payload of event {:?}", wait.event_name))
                }
                Ok(WaitOutcome::Timeout { .. }) => Err(DurableError::EventTimeout { event_name: wait.event_name }),
                Ok(WaitOutcome::Sleeping { .. }) => self.halt(Stop::Suspended).await,
                Err(error) if claim_lost(&error) => self.halt(Stop::ClaimLost).await,
                Err(error) => Err(error.into()),
            }
        }
    }

    /// Creates a child task named `task_name` in this task's queue; see
    /// [`TaskContext::spawn_in`].
    pub fn spawn<P>(
        &self,
        task_name: &str,
        params: &P,
    ) -> impl Future<Output = Result<ChildTask, DurableError>> + use<'_, P>
    where
        P: Serialize + ?Sized,
    {
        self.spawn_in(self.queue(), task_name, params, SpawnOptions::default())
    }

    /// Creates a child task named `task_name` in `queue`, once: the child's
    /// id is recorded, and the create carries an idempotency key made of
    /// this task's id and the call's name, so no replay (not even one after
    /// a crash between the create and the record) makes a second child.
    /// The child carries this task as its parent. `options` set the
    /// child's attempts, retry strategy and so on; its idempotency key is
    /// always the derived one.
    pub fn spawn_in<P>(
        &self,
        queue: &str,
        task_name: &str,
        params: &P,
        options: SpawnOptions,
    ) -> impl Future<Output = Result<ChildTask, DurableError>> + use<'_, P>
    where
        P: Serialize + ?Sized,
    {
        let key = self.next_name(names::internal("spawn", task_name));
        let params = serde_json::to_value(params)
            .map_err(|source| DurableError::encode(format!("the params of child task {task_name:?}"), source));
        let queue = queue.to_owned();
        let task_name = task_name.to_owned();
        async move {
            self.halt_if_stopped().await;
            if let Some(value) = self.recorded(&key) {
                let record: SpawnRecord = decode(value, || format!("the recorded spawn {key:?}"))?;
                return Ok(ChildTask { task_id: record.task_id });
            }
            let create = options
                .into_create(task_name, params?)
                .idempotency_key(format!("{}/{key}", self.inner.task_id))
                .parent_task_id(self.inner.task_id);
            let created = self.inner.client.create_task(&queue, &create).await?;
            let record = serde_json::to_value(SpawnRecord { task_id: created.task_id })
                .map_err(|source| DurableError::encode("a spawn", source))?;
            self.record(&key, record).await?;
            Ok(ChildTask { task_id: created.task_id })
        }
    }

    /// Waits, without a timeout, for `child` to end and returns its result
    /// as `T`; see [`TaskContext::await_task_for`].
    pub fn await_task<T>(&self, child: &ChildTask) -> impl Future<Output = Result<T, DurableError>> + use<'_, T>
    where
        T: DeserializeOwned,
    {
        self.await_child(child, None)
    }

    /// Waits for `child` to end, up to `timeout` (rounded up to whole
    /// seconds), and returns its result as `T`. Until it ends the run gives
    /// up its claim; the child's end wakes it. A failed child is
    /// [`DurableError::ChildFailed`], a canceled one
    /// [`DurableError::ChildCanceled`], a timeout
    /// [`DurableError::ChildTimeout`]. The outcome is recorded by the
    /// server, so every later run gets the same one.
    pub fn await_task_for<T>(
        &self,
        child: &ChildTask,
        timeout: Duration,
    ) -> impl Future<Output = Result<T, DurableError>> + use<'_, T>
    where
        T: DeserializeOwned,
    {
        self.await_child(child, Some(timeout))
    }

    fn await_child<T>(
        &self,
        child: &ChildTask,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<T, DurableError>> + use<'_, T>
    where
        T: DeserializeOwned,
    {
        let task_id = child.task_id;
        let key = self.next_name(names::internal("task", &task_id.to_string()));
        let mut wait = WaitForTask::new(task_id, key);
        if let Some(timeout) = timeout {
            wait = wait.timeout_seconds(whole_seconds(timeout));
        }
        async move {
            self.halt_if_stopped().await;
            match self.inner.client.wait_for_task(self.inner.run_id, &wait).await {
                Ok(WaitOutcome::Resolved { payload }) => {
                    let finished: FinishedTask = decode(payload, || format!("the end of child task {task_id}"))?;
                    child_result(finished)
                }
                Ok(WaitOutcome::Timeout { .. }) => Err(DurableError::ChildTimeout { task_id }),
                Ok(WaitOutcome::Sleeping { .. }) => self.halt(Stop::Suspended).await,
                Err(error) if claim_lost(&error) => self.halt(Stop::ClaimLost).await,
                Err(error) => Err(error.into()),
            }
        }
    }

    fn next_name(&self, base: String) -> String {
        lock(&self.inner.names).next(base)
    }

    fn recorded(&self, key: &str) -> Option<Value> {
        lock(&self.inner.recorded).get(key).cloned()
    }

    /// Writes checkpoint `key` (extending the claim); a refused write stops the run.
    async fn record(&self, key: &str, state: Value) -> Result<(), DurableError> {
        let put = PutCheckpoint::new(self.inner.run_id, state.clone()).extend_claim_by(self.inner.claim_seconds);
        match self.inner.client.put_checkpoint(self.inner.task_id, key, &put).await {
            Ok(_) => {
                lock(&self.inner.recorded).insert(key.to_owned(), state);
                Ok(())
            }
            Err(error) if claim_lost(&error) => self.halt(Stop::ClaimLost).await,
            Err(error) => Err(error.into()),
        }
    }

    /// Stops the run: raises the signal and never resolves, so the handler
    /// is not resumed; the runner drops it.
    async fn halt<T>(&self, why: Stop) -> T {
        self.inner.stop.raise(why);
        std::future::pending().await
    }

    /// Once stopped, no call may reach the server again (a handler running
    /// calls side by side may start one after another call stopped the run).
    async fn halt_if_stopped(&self) {
        if let Some(why) = self.inner.stop.reason() {
            self.halt::<()>(why).await;
        }
    }
}

fn decode<T: DeserializeOwned>(value: Value, what: impl FnOnce() -> String) -> Result<T, DurableError> {
    serde_json::from_value(value).map_err(|source| DurableError::decode(what(), source))
}

/// A child's end as the awaiting handler sees it.
fn child_result<T: DeserializeOwned>(finished: FinishedTask) -> Result<T, DurableError> {
    let task_id = finished.task_id;
    match finished.status {
        TaskStatus::Completed => {
            decode(finished.result.unwrap_or(Value::Null), || format!("the result of child task {task_id}"))
        }
        TaskStatus::Canceled => Err(DurableError::ChildCanceled { task_id }),
        _ => Err(DurableError::ChildFailed {
            task_id,
            error: finished.error.unwrap_or_else(|| "no error recorded".to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn finished(status: &str, extra: Value) -> FinishedTask {
        let mut body = json!({"task_id": Uuid::nil(), "status": status});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn a_child_end_maps_to_its_result_or_a_typed_error() {
        let done: u32 = child_result(finished("completed", json!({"result": 7}))).unwrap();
        assert_eq!(done, 7);
        let unit: () = child_result(finished("completed", json!({}))).unwrap();
        assert_eq!(unit, ());
        let failed = child_result::<Value>(finished("failed", json!({"error": "boom"}))).unwrap_err();
        assert!(matches!(failed, DurableError::ChildFailed { ref error, .. } if error == "boom"), "{failed:?}");
        let canceled = child_result::<Value>(finished("canceled", json!({}))).unwrap_err();
        assert!(matches!(canceled, DurableError::ChildCanceled { .. }));
        let wrong = child_result::<u32>(finished("completed", json!({"result": "x"}))).unwrap_err();
        assert!(matches!(wrong, DurableError::Decode { .. }));
    }

    #[test]
    fn waits_last_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(86_400)), 86_400);
    }
}
