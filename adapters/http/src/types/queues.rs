use durable_domain::command::{NewQueue, QueueUpdate};
use durable_domain::{CleanupPolicy, Queue, QueueStats};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::rules::{QueryFlag, QueueNameText};
use super::wire;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateQueueRequest {
    /// 1–255 bytes of any text but control characters (`emails:high`, `billing/eu`), not `.` or `..`.
    #[schema(value_type = QueueNameText, example = "emails")]
    pub name: String,
    #[serde(default, deserialize_with = "wire::opt_object")]
    pub cleanup: Option<CleanupRequest>,
    /// (ext) Runs of one `concurrency_key` claimed at once, across every
    /// worker and replica. Default 1.
    #[serde(default, deserialize_with = "wire::opt_integer")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub key_concurrency_limit: Option<i64>,
    /// (ext) Runs of the queue claimed at once, across every worker and
    /// replica; `null` (the default) = unlimited.
    #[serde(default, deserialize_with = "wire::opt_integer")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub concurrency_limit: Option<i64>,
}

/// (ext) A change of a queue's flow settings; absent fields stay as they
/// are. A limit lowered below what is claimed now takes effect as claims end.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateQueueRequest {
    #[serde(default, deserialize_with = "wire::opt_integer")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub key_concurrency_limit: Option<i64>,
    /// `null` removes the cap.
    #[serde(default, deserialize_with = "wire::present_opt_integer")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    pub concurrency_limit: Option<Option<i64>>,
}

impl From<UpdateQueueRequest> for QueueUpdate {
    fn from(request: UpdateQueueRequest) -> Self {
        Self { key_concurrency_limit: request.key_concurrency_limit, concurrency_limit: request.concurrency_limit }
    }
}

/// Retention in seconds; 0 disables that cleanup. Defaults to 3 days.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CleanupRequest {
    /// At most 3_153_600_000 (100 years); a fraction is dropped.
    #[serde(default, deserialize_with = "wire::opt_whole_seconds")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 3_153_600_000_u64)]
    pub task_ttl_seconds: Option<u64>,
    /// At most 3_153_600_000 (100 years); a fraction is dropped.
    #[serde(default, deserialize_with = "wire::opt_whole_seconds")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 3_153_600_000_u64)]
    pub event_ttl_seconds: Option<u64>,
}

impl From<CreateQueueRequest> for NewQueue {
    fn from(request: CreateQueueRequest) -> Self {
        let cleanup = request.cleanup.unwrap_or_default();
        Self {
            name: request.name,
            task_ttl_seconds: cleanup.task_ttl_seconds,
            event_ttl_seconds: cleanup.event_ttl_seconds,
            key_concurrency_limit: request.key_concurrency_limit,
            concurrency_limit: request.concurrency_limit,
        }
    }
}

/// (ext) The queue's last hour, minute by minute, as this server saw it:
/// counts of what went through this server, and the queue's depth (read
/// from the store) at each minute's last reading.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueHistoryResponse {
    pub queue_name: String,
    pub interval_seconds: u32,
    pub samples: Vec<QueueMinuteBody>,
    /// Completed runs the queue keeps, counted up to `count_cap` (equal to
    /// the cap: at least that many).
    pub completed_runs: u64,
    /// Failed runs the queue keeps, counted up to `count_cap`.
    pub failed_runs: u64,
    pub count_cap: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueMinuteBody {
    /// The minute's start.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Tasks created in the minute.
    pub created: u64,
    /// Runs claimed in the minute.
    pub claimed: u64,
    /// Runs reported failed in the minute.
    pub failed: u64,
    pub pending_due: u64,
    pub pending_scheduled: u64,
    /// Runs claimed at the minute's last reading.
    pub claimed_now: u64,
    pub sleeping: u64,
    /// Consumer lag at the minute's last reading.
    pub oldest_pending_age_seconds: Option<f64>,
}

impl From<durable_ports::metrics::QueueMinute> for QueueMinuteBody {
    fn from(m: durable_ports::metrics::QueueMinute) -> Self {
        Self {
            at: m.at,
            created: m.tasks_created,
            claimed: m.runs_claimed,
            failed: m.runs_failed,
            pending_due: m.pending_due,
            pending_scheduled: m.pending_scheduled,
            claimed_now: m.claimed,
            sleeping: m.sleeping,
            oldest_pending_age_seconds: m.oldest_pending_age_seconds,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueResponse {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub cleanup: Cleanup,
    /// (ext)
    pub key_concurrency_limit: u32,
    /// (ext) `null` = unlimited.
    pub concurrency_limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cleanup {
    pub task_ttl_seconds: u64,
    pub event_ttl_seconds: u64,
}

impl From<CleanupPolicy> for Cleanup {
    fn from(policy: CleanupPolicy) -> Self {
        Self { task_ttl_seconds: policy.task_ttl_seconds, event_ttl_seconds: policy.event_ttl_seconds }
    }
}

impl From<Queue> for QueueResponse {
    fn from(queue: Queue) -> Self {
        Self {
            name: queue.name.to_string(),
            created_at: queue.created_at,
            cleanup: queue.cleanup.into(),
            key_concurrency_limit: queue.flow.key_concurrency_limit,
            concurrency_limit: queue.flow.concurrency_limit,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueList {
    pub queues: Vec<QueueResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatsResponse {
    pub queue_name: String,
    pub pending_runs: u64,
    pub claimed_runs: u64,
    pub completed_runs: u64,
    /// Seconds since the oldest claimable pending run became due; `null` when none.
    pub oldest_pending_run_age_seconds: Option<f64>,
    pub sleeping_runs: u64,
    pub failed_runs: u64,
}

impl From<QueueStats> for QueueStatsResponse {
    fn from(stats: QueueStats) -> Self {
        Self {
            queue_name: stats.queue_name.to_string(),
            pending_runs: stats.pending_runs,
            claimed_runs: stats.claimed_runs,
            completed_runs: stats.completed_runs,
            oldest_pending_run_age_seconds: stats.oldest_pending_run_age_seconds,
            sleeping_runs: stats.sleeping_runs,
            failed_runs: stats.failed_runs,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQueueQuery {
    /// Delete the queue with everything in it, even unfinished tasks.
    #[param(value_type = Option<QueryFlag>, inline)]
    pub force: Option<String>,
}
