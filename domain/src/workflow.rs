//! Workflow runs: a grouping of related tasks, for tracking.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::clock::Timestamp;
use crate::ids::WorkflowRunId;
use crate::task::Task;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkflowStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl WorkflowStatus {
    pub const ALL: [Self; 5] = [Self::Pending, Self::Running, Self::Completed, Self::Failed, Self::Canceled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewWorkflowRun {
    pub workflow_name: String,
    pub workflow_version: Option<String>,
    pub inputs: Option<Value>,
    pub created_by: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkflowPatch {
    pub status: Option<WorkflowStatus>,
    pub result: Option<Value>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowRun {
    pub id: WorkflowRunId,
    pub workflow_name: String,
    pub workflow_version: Option<String>,
    pub inputs: Option<Value>,
    pub created_by: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub status: WorkflowStatus,
    pub result: Option<Value>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WorkflowRun {
    pub fn create(new: NewWorkflowRun, now: Timestamp) -> Self {
        Self {
            id: WorkflowRunId::new(),
            workflow_name: new.workflow_name,
            workflow_version: new.workflow_version,
            inputs: new.inputs,
            created_by: new.created_by,
            tags: new.tags,
            status: WorkflowStatus::Pending,
            result: None,
            started_at: None,
            completed_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn apply(&mut self, patch: WorkflowPatch, now: Timestamp) {
        if let Some(status) = patch.status {
            self.status = status;
        }
        if let Some(result) = patch.result {
            self.result = Some(result);
        }
        if let Some(started_at) = patch.started_at {
            self.started_at = Some(started_at);
        }
        if let Some(completed_at) = patch.completed_at {
            self.completed_at = Some(completed_at);
        }
        self.updated_at = now;
    }
}

/// A workflow run with summaries of its tasks (oldest first): what reading
/// one run answers.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowWithTasks {
    pub run: WorkflowRun,
    pub tasks: Vec<Task>,
}
