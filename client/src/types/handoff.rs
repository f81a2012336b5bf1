//! (ext) Finish and claim in one request: the runs a worker finished ride
//! along with its next claim.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::runs::{CompleteOutcome, CompleteRun, RunFailed};
use super::tasks::{ClaimRequest, ClaimedTask};
use crate::Error;
use crate::error::ErrorBody;

/// What a worker finished since its last claim.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Finished {
    /// Runs completed, with their results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub complete: Vec<CompleteRun>,
    /// Runs that failed, with their errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail: Vec<FailRun>,
}

impl Finished {
    /// Nothing finished.
    pub fn is_empty(&self) -> bool {
        self.complete.is_empty() && self.fail.is_empty()
    }
}

/// One failed run of [`Finished`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailRun {
    /// The claimed run.
    pub run_id: Uuid,
    /// Why it failed.
    pub error: String,
}

impl FailRun {
    /// Fails `run_id` with `error`.
    pub fn new(run_id: Uuid, error: impl Into<String>) -> Self {
        Self { run_id, error: error.into() }
    }
}

/// The body: a claim request with what was finished beside it.
#[derive(Serialize)]
pub(crate) struct HandoffBody<'a> {
    #[serde(flatten)]
    pub(crate) claim: &'a ClaimRequest,
    #[serde(flatten)]
    pub(crate) finished: &'a Finished,
}

/// The answer: per finished item in request order, then the claimed runs.
#[derive(Debug)]
pub struct Handoff {
    /// One outcome per [`Finished::complete`] item.
    pub completed: Vec<CompleteOutcome>,
    /// One outcome per [`Finished::fail`] item: the failure as
    /// `POST /runs/{id}/fail` answers it, or why it was refused.
    pub failed: Vec<Result<RunFailed, Error>>,
    /// The runs claimed after them.
    pub tasks: Vec<ClaimedTask>,
}

#[derive(Deserialize)]
pub(crate) struct HandoffResponse {
    tasks: Vec<ClaimedTask>,
    #[serde(default)]
    completed: Vec<CompleteOutcome>,
    #[serde(default)]
    failed: Vec<Value>,
}

impl HandoffResponse {
    /// `status` is the HTTP status of the answer, for decode errors.
    pub(crate) fn into_handoff(self, status: u16) -> Result<Handoff, Error> {
        let decode = |source| Error::Decode { status, source };
        let failed =
            self.failed.into_iter().map(|item| fail_outcome(item).map_err(decode)).collect::<Result<_, _>>()?;
        Ok(Handoff { completed: self.completed, failed, tasks: self.tasks })
    }
}

/// An item is either the failure or `{"run_id", "error": {...}}`; told
/// apart by the `error` object, without serde's untagged enums (which read
/// numbers badly when serde_json keeps their digits).
fn fail_outcome(item: Value) -> Result<Result<RunFailed, Error>, serde_json::Error> {
    if let Some(error) = item.get("error").filter(|e| e.is_object()) {
        let body: ErrorBody = serde_json::from_value(error.clone())?;
        return Ok(Err(body.into_error()));
    }
    Ok(Ok(serde_json::from_value(item)?))
}
