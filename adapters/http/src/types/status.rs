//! Status and kind enums as they appear on the wire, so the OpenAPI document
//! lists their values.

use durable_domain as domain;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Pending,
    Completed,
    Failed,
    Canceled,
}

impl From<domain::TaskStatus> for TaskStatus {
    fn from(status: domain::TaskStatus) -> Self {
        match status {
            domain::TaskStatus::Pending => Self::Pending,
            domain::TaskStatus::Completed => Self::Completed,
            domain::TaskStatus::Failed => Self::Failed,
            domain::TaskStatus::Canceled => Self::Canceled,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Pending,
    Claimed,
    Sleeping,
    Completed,
    Failed,
    Canceled,
}

impl From<domain::RunStatus> for RunStatus {
    fn from(status: domain::RunStatus) -> Self {
        match status {
            domain::RunStatus::Pending => Self::Pending,
            domain::RunStatus::Claimed => Self::Claimed,
            domain::RunStatus::Sleeping => Self::Sleeping,
            domain::RunStatus::Completed => Self::Completed,
            domain::RunStatus::Failed => Self::Failed,
            domain::RunStatus::Canceled => Self::Canceled,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl From<domain::workflow::WorkflowStatus> for WorkflowStatus {
    fn from(status: domain::workflow::WorkflowStatus) -> Self {
        use domain::workflow::WorkflowStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Running => Self::Running,
            S::Completed => Self::Completed,
            S::Failed => Self::Failed,
            S::Canceled => Self::Canceled,
        }
    }
}

impl From<WorkflowStatus> for domain::workflow::WorkflowStatus {
    fn from(status: WorkflowStatus) -> Self {
        match status {
            WorkflowStatus::Pending => Self::Pending,
            WorkflowStatus::Running => Self::Running,
            WorkflowStatus::Completed => Self::Completed,
            WorkflowStatus::Failed => Self::Failed,
            WorkflowStatus::Canceled => Self::Canceled,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetryKind {
    Fixed,
    Exponential,
}

impl From<domain::retry::RetryKind> for RetryKind {
    fn from(kind: domain::retry::RetryKind) -> Self {
        match kind {
            domain::retry::RetryKind::Fixed => Self::Fixed,
            domain::retry::RetryKind::Exponential => Self::Exponential,
        }
    }
}

impl From<RetryKind> for domain::retry::RetryKind {
    fn from(kind: RetryKind) -> Self {
        match kind {
            RetryKind::Fixed => Self::Fixed,
            RetryKind::Exponential => Self::Exponential,
        }
    }
}
