//! Typed async client and worker runtime for the durable task queue's HTTP API v1.
//!
//! ```no_run
//! # async fn example() -> Result<(), durable_client::Error> {
//! use std::time::Duration;
//! use durable_client::{Client, ClaimRequest, CreateTask};
//!
//! let client = Client::builder("http://127.0.0.1:8080")
//!     .token("secret")
//!     .timeout(Duration::from_secs(10))
//!     .retries(3)
//!     .build()?;
//! let created = client.create_task("emails", &CreateTask::new("send").idempotency_key("welcome-42")).await?;
//! for task in client.claim("emails", &ClaimRequest::new(10, 60).long_poll_seconds(20)).await? {
//!     client.complete_run(task.run_id, None).await?;
//! }
//! # let _ = created;
//! # Ok(())
//! # }
//! ```
//!
//! Every endpoint is a method of [`Client`]; bodies are in [`types`] (and
//! re-exported here). Failures are one [`Error`] carrying the API's
//! [`ErrorCode`]. Idempotent calls are retried per [`RetryPolicy`].
//!
//! [`Durable`] (module [`durable`]) runs durable-execution handlers:
//! straight-line async code whose steps, sleeps, event waits and child
//! tasks are recorded and replayed, on top of the [`Worker`] runtime.

mod api;
mod client;
pub mod durable;
mod error;
pub mod retry;
pub mod types;
pub mod worker;

pub use client::{Client, ClientBuilder, DEFAULT_TIMEOUT};
pub use durable::{ChildTask, Durable, DurableError, DurableWorker, SpawnOptions, TaskContext, TaskOutcome};
pub use error::{Error, ErrorBody, ErrorCode};
pub use retry::RetryPolicy;
pub use types::checkpoints::{Checkpoint, CheckpointWritten, PutCheckpoint};
pub use types::events::{EmitEvent, EventEmitted};
pub use types::handoff::{FailRun, Finished, Handoff};
pub use types::queues::{Cleanup, CleanupOptions, CreateQueue, Queue, QueueStats, UpdateQueue};
pub use types::results::{FinishedTask, ResultPoll, WaitForTask};
pub use types::runs::{
    CompleteOutcome, CompleteRun, Heartbeat, ListRuns, RunCompleted, RunFailed, RunPage, RunScheduled, RunStatus,
    RunSummary, WaitForEvent, WaitOutcome,
};
pub use types::schedules::{CatchUp, CreateSchedule, Schedule, ScheduleTask, UpdateSchedule};
pub use types::tasks::{
    ClaimRequest, ClaimedTask, CreateTask, ListTasks, RetryKind, RetryStrategy, Task, TaskCanceled, TaskCreated,
    TaskPage, TaskRetried, TaskStatus, TaskSummary,
};
pub use types::workflows::{
    CreateWorkflowRun, ListWorkflowRuns, UpdateWorkflowRun, WorkflowRun, WorkflowRunCreated, WorkflowRunPage,
    WorkflowRunUpdated, WorkflowStatus,
};
pub use worker::{TaskError, TaskResult, Worker};
