//! Durable execution: handlers written as straight-line async code whose
//! steps, sleeps, event waits and child tasks survive crashes, retries and
//! restarts.
//!
//! ```no_run
//! # async fn example() -> Result<(), durable_client::DurableError> {
//! use std::time::Duration;
//! use durable_client::{Client, Durable, DurableError, SpawnOptions, TaskContext, TaskOutcome};
//! use serde_json::{Value, json};
//!
//! let mut app = Durable::new(Client::new("http://127.0.0.1:8080")?);
//! app.register("greet", |ctx: TaskContext, name: String| async move {
//!     let greeting: String = ctx.step("compose", || async { Ok::<_, DurableError>(format!("hello {name}")) }).await?;
//!     ctx.sleep_for(Duration::from_secs(5)).await?;
//!     Ok::<_, DurableError>(json!({"greeting": greeting}))
//! });
//! let worker = tokio::spawn(app.worker("greetings").run_until(std::future::pending()));
//! let task = app.spawn("greetings", "greet", "Ada", SpawnOptions::default()).await?;
//! let outcome: TaskOutcome<Value> = app.wait_result(task.task_id, Duration::from_secs(30)).await?;
//! # drop((worker, outcome));
//! # Ok(())
//! # }
//! ```
//!
//! What runs once: a step whose result was recorded. What may run twice: a
//! step the process died in (or whose result could not be recorded), so
//! steps with outside effects should be safe to repeat. See
//! [`TaskContext`] for how replay works.

mod context;
mod error;
mod names;
mod options;
mod registry;
mod stop;
mod worker;

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

pub use context::TaskContext;
pub use error::DurableError;
pub use options::{ChildTask, SpawnOptions, TaskOutcome};
use registry::Registry;
pub use worker::DurableWorker;

use crate::Client;
use crate::types::results::{FinishedTask, ResultPoll};
use crate::types::tasks::{TaskCreated, TaskStatus};

/// The longest single wait `GET /tasks/{id}/result` takes.
const MAX_RESULT_WAIT_SECONDS: u64 = 60;

/// Durable task handlers by name, and what runs and starts them.
#[derive(Clone, Debug)]
pub struct Durable {
    client: Client,
    registry: Arc<Registry>,
}

impl Durable {
    /// Durable execution over `client`.
    pub fn new(client: Client) -> Self {
        Self { client, registry: Arc::new(Registry::default()) }
    }

    /// The client it uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `handler` for tasks named `task_name` (replacing an earlier
    /// handler of that name). It gets the run's [`TaskContext`] and the
    /// task's params decoded as `P`; its `Ok` value, encoded as JSON, is the
    /// task's result, and its error (shown with `{:#}`, so `anyhow` chains
    /// show whole) fails the run. Params that do not decode fail the run.
    ///
    /// Workers made by [`Durable::worker`] before this call do not see it.
    pub fn register<P, R, E, F, Fut>(&mut self, task_name: impl Into<String>, handler: F) -> &mut Self
    where
        F: Fn(TaskContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        P: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: Display + 'static,
    {
        Arc::make_mut(&mut self.registry).insert(task_name.into(), handler);
        self
    }

    /// A worker running the registered handlers on `queue`; configure it,
    /// then [`DurableWorker::run_until`]. A claimed task whose name has no
    /// handler fails its run, saying so.
    pub fn worker(&self, queue: impl Into<String>) -> DurableWorker {
        DurableWorker::new(self.client.clone(), Arc::clone(&self.registry), queue.into())
    }

    /// Creates a task named `task_name` in `queue` with `params`.
    pub async fn spawn<P>(
        &self,
        queue: &str,
        task_name: &str,
        params: &P,
        options: SpawnOptions,
    ) -> Result<TaskCreated, DurableError>
    where
        P: Serialize + ?Sized,
    {
        let params = serde_json::to_value(params)
            .map_err(|source| DurableError::encode(format!("the params of task {task_name:?}"), source))?;
        let create = options.into_create(task_name.to_owned(), params);
        Ok(self.client.create_task(queue, &create).await?)
    }

    /// Waits up to `timeout` (in long polls of whole seconds, woken by the
    /// task's end) for task `task_id` to end, and returns how it ended, its
    /// result decoded as `T`. [`TaskOutcome::Unfinished`] when it had not
    /// ended by then; a zero `timeout` looks once.
    pub async fn wait_result<T>(&self, task_id: Uuid, timeout: Duration) -> Result<TaskOutcome<T>, DurableError>
    where
        T: DeserializeOwned,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait_seconds = (left.as_secs() + u64::from(left.subsec_nanos() > 0)).min(MAX_RESULT_WAIT_SECONDS);
            match self.client.task_result(task_id, wait_seconds).await? {
                ResultPoll::Finished(finished) => return outcome(finished),
                ResultPoll::Unfinished { .. } if Instant::now() >= deadline => return Ok(TaskOutcome::Unfinished),
                ResultPoll::Unfinished { .. } => {}
            }
        }
    }
}

fn outcome<T: DeserializeOwned>(finished: FinishedTask) -> Result<TaskOutcome<T>, DurableError> {
    Ok(match finished.status {
        TaskStatus::Completed => {
            let result = finished.result.unwrap_or(Value::Null);
            TaskOutcome::Completed(
                serde_json::from_value(result).map_err(|source| {
                    DurableError::decode(format!("the result of task {}", finished.task_id), source)
                })?,
            )
        }
        TaskStatus::Canceled => TaskOutcome::Canceled,
        TaskStatus::Failed => TaskOutcome::Failed { error: finished.error.unwrap_or_default() },
        // Only a server bug answers 200 for a task still running.
        TaskStatus::Pending => TaskOutcome::Unfinished,
    })
}
