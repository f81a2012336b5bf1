//! Workflow runs: a grouping of related tasks, for tracking.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::tasks::TaskSummary;

/// The status of a workflow run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WorkflowStatus {
    /// Created, not started.
    Pending,
    /// Started.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with a failure.
    Failed,
    /// Canceled.
    Canceled,
}

impl WorkflowStatus {
    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

/// The body of `POST /workflow-runs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateWorkflowRun {
    /// The workflow's name.
    pub workflow_name: String,
    /// Its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<String>,
    /// Its inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// Who started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Free-form string tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

impl CreateWorkflowRun {
    /// A run of `workflow_name` with nothing else set.
    pub fn new(workflow_name: impl Into<String>) -> Self {
        Self { workflow_name: workflow_name.into(), ..Self::default() }
    }

    /// Sets `workflow_version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.workflow_version = Some(version.into());
        self
    }

    /// Sets `inputs`.
    pub fn inputs(mut self, inputs: Value) -> Self {
        self.inputs = Some(inputs);
        self
    }

    /// Sets `created_by`.
    pub fn created_by(mut self, created_by: impl Into<String>) -> Self {
        self.created_by = Some(created_by.into());
        self
    }

    /// Adds one tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.get_or_insert_with(BTreeMap::new).insert(key.into(), value.into());
        self
    }
}

/// The answer of `POST /workflow-runs`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WorkflowRunCreated {
    /// The new workflow run.
    pub workflow_run_id: Uuid,
    /// Its workflow's name.
    pub workflow_name: String,
    /// Always [`WorkflowStatus::Pending`].
    pub status: WorkflowStatus,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The body of `PATCH /workflow-runs/{id}`; fields left `None` are unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UpdateWorkflowRun {
    /// The new status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<WorkflowStatus>,
    /// The result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// When it started.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<OffsetDateTime>,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<OffsetDateTime>,
}

impl UpdateWorkflowRun {
    /// Sets `status`.
    pub fn status(mut self, status: WorkflowStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets `result`.
    pub fn result(mut self, result: Value) -> Self {
        self.result = Some(result);
        self
    }

    /// Sets `started_at`.
    pub fn started_at(mut self, at: OffsetDateTime) -> Self {
        self.started_at = Some(at);
        self
    }

    /// Sets `completed_at`.
    pub fn completed_at(mut self, at: OffsetDateTime) -> Self {
        self.completed_at = Some(at);
        self
    }
}

/// The answer of `PATCH /workflow-runs/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WorkflowRunUpdated {
    /// The workflow run.
    pub workflow_run_id: Uuid,
    /// Its status now.
    pub status: WorkflowStatus,
    /// When it was changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// (ext) A workflow run with all its fields; from `GET /workflow-runs/{id}`
/// also the summaries of its tasks.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WorkflowRun {
    /// The workflow run (also accepted as `id`).
    #[serde(alias = "id")]
    pub workflow_run_id: Uuid,
    /// Its workflow's name.
    pub workflow_name: String,
    /// Its version.
    #[serde(default)]
    pub workflow_version: Option<String>,
    /// Its inputs.
    #[serde(default)]
    pub inputs: Option<Value>,
    /// Who started it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Its status.
    pub status: WorkflowStatus,
    /// Its result.
    #[serde(default)]
    pub result: Option<Value>,
    /// When it started.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// Its tasks (from the single-run GET; empty in listings).
    #[serde(default)]
    pub tasks: Vec<TaskSummary>,
}

/// (ext) Filters and paging of `GET /workflow-runs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListWorkflowRuns {
    /// Only runs in this status.
    pub status: Option<WorkflowStatus>,
    /// Only runs of this workflow.
    pub workflow_name: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

impl ListWorkflowRuns {
    /// Only runs in `status`.
    pub fn status(mut self, status: WorkflowStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only runs of `workflow_name`.
    pub fn workflow_name(mut self, name: impl Into<String>) -> Self {
        self.workflow_name = Some(name.into());
        self
    }

    /// Pages of `limit` runs.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn query(&self) -> [(&'static str, Option<String>); 4] {
        [
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("workflow_name", self.workflow_name.clone()),
            ("cursor", self.cursor.clone()),
            ("limit", self.limit.map(|l| l.to_string())),
        ]
    }
}

/// (ext) One page of `GET /workflow-runs`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WorkflowRunPage {
    /// The workflow runs.
    pub workflow_runs: Vec<WorkflowRun>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn patch_body_carries_only_what_changes() {
        let body =
            UpdateWorkflowRun::default().status(WorkflowStatus::Running).started_at(datetime!(2030-01-01 00:00 UTC));
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({"status": "running", "started_at": "2030-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn workflow_run_accepts_id_or_workflow_run_id() {
        let id = "0192b9d4-5e3a-7f00-8000-000000000001";
        for key in ["id", "workflow_run_id"] {
            let run: WorkflowRun = serde_json::from_value(json!({
                key: id, "workflow_name": "w", "status": "pending", "created_at": "2030-01-01T00:00:00Z"
            }))
            .unwrap();
            assert_eq!(run.workflow_run_id.to_string(), id);
            assert!(run.tasks.is_empty());
        }
    }
}
