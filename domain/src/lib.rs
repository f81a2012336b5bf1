//! The pure core of durable: entities, the task/run state machine, retry
//! backoff and input validation. No IO, no async, no drivers: adapters and
//! the engine call into this crate, never the other way round.

pub mod child;
pub mod clock;
pub mod command;
pub mod error;
pub mod event;
pub mod flow;
pub mod ids;
pub mod machine;
pub mod queue;
pub mod retry;
pub mod schedule;
pub mod task;
pub mod wake;
pub mod workflow;

pub use clock::Timestamp;
pub use error::{NotFound, Rejection, ValidationError};
pub use ids::{EventId, RunId, TaskId, WorkflowRunId};
pub use queue::{CleanupPolicy, Queue, QueueName, QueueStats};
pub use task::{Run, RunStatus, Task, TaskSpec, TaskState, TaskStatus};
