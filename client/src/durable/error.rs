//! What the durable-execution calls fail with.

use std::error::Error as StdError;

use uuid::Uuid;

/// Why a [`TaskContext`](super::TaskContext) call (or a [`Durable`](super::Durable)
/// call) did not produce its value.
///
/// Returning one from a handler fails the run: the task's retry strategy
/// applies, and the retried run replays the finished steps. Suspension and
/// claim loss are not errors: the handler is simply not resumed past the
/// call that suspended it, and the worker reports nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// A step name the context cannot use: empty, starting with `$`
    /// (reserved for the SDK's own checkpoints) or containing `#` (the
    /// separator of repeat suffixes).
    #[error("invalid step name {name:?}: {reason}")]
    InvalidStepName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A step's closure returned an error; nothing was recorded, so the
    /// retried run runs the step again.
    #[error("step {step:?} failed: {source}")]
    Step {
        /// The step's checkpoint name (with its repeat suffix).
        step: String,
        /// The closure's error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
    /// [`await_event`](super::TaskContext::await_event) timed out before the event arrived.
    #[error("timed out waiting for event {event_name:?}")]
    EventTimeout {
        /// The awaited event.
        event_name: String,
    },
    /// The awaited child task failed.
    #[error("child task {task_id} failed: {error}")]
    ChildFailed {
        /// The child.
        task_id: Uuid,
        /// The error of its last run.
        error: String,
    },
    /// The awaited child task was canceled.
    #[error("child task {task_id} was canceled")]
    ChildCanceled {
        /// The child.
        task_id: Uuid,
    },
    /// [`await_task_for`](super::TaskContext::await_task_for) timed out before the child ended.
    #[error("timed out waiting for child task {task_id}")]
    ChildTimeout {
        /// The child.
        task_id: Uuid,
    },
    /// A value to be stored (params, a step's result) does not serialize to JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored value (a replayed step, an event payload, a task's result)
    /// does not decode as the type asked for.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The deserializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A request to the server failed.
    #[error(transparent)]
    Client(#[from] crate::Error),
    /// The handler's own failure, made with [`DurableError::failed`].
    #[error("{0}")]
    Failed(String),
}

impl DurableError {
    /// A failure with `message`, for handlers whose error type is `DurableError`.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    pub(crate) fn decode(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Decode { what: what.into(), source }
    }

    pub(crate) fn encode(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Encode { what: what.into(), source }
    }
}
