//! Queues: `GET/POST /queues`, `PATCH/DELETE /queues/{name}`, `GET /queues/{name}/stats`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A queue as the server describes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Queue {
    /// 1–255 bytes of any text but control characters, not `.` or `..`.
    pub name: String,
    /// When the queue was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its retention settings.
    pub cleanup: Cleanup,
    /// (ext) Runs of one concurrency key claimed at once (1 from servers
    /// without flow control).
    #[serde(default = "one")]
    pub key_concurrency_limit: u32,
    /// (ext) Runs of the queue claimed at once; `None` = unlimited.
    #[serde(default)]
    pub concurrency_limit: Option<u32>,
}

fn one() -> u32 {
    1
}

/// Retention of a queue, in seconds; 0 means that cleanup is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Cleanup {
    /// Finished tasks older than this are deleted.
    pub task_ttl_seconds: u64,
    /// Events older than the largest such TTL of any queue are deleted.
    pub event_ttl_seconds: u64,
}

/// The body of `POST /queues`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CreateQueue {
    /// The new queue's name.
    pub name: String,
    /// Retention; the server defaults each TTL to 3 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupOptions>,
    /// (ext) Runs of one concurrency key claimed at once (server default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_concurrency_limit: Option<u32>,
    /// (ext) Runs of the queue claimed at once (server default unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<u32>,
}

/// (ext) The body of `PATCH /queues/{name}`: absent settings stay as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateQueue {
    /// A new key limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_concurrency_limit: Option<u32>,
    /// `Some(None)` removes the cap; `None` leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<Option<u32>>,
}

/// Retention settings of a new queue; `None` keeps the server default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CleanupOptions {
    /// Seconds a finished task is kept; 0 keeps it forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_ttl_seconds: Option<u64>,
    /// Seconds an event is kept; 0 keeps events forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_ttl_seconds: Option<u64>,
}

impl CreateQueue {
    /// A queue named `name` with the default retention.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), ..Self::default() }
    }

    /// (ext) Runs of one concurrency key claimed at once.
    pub fn key_concurrency_limit(mut self, limit: u32) -> Self {
        self.key_concurrency_limit = Some(limit);
        self
    }

    /// (ext) Runs of the queue claimed at once.
    pub fn concurrency_limit(mut self, limit: u32) -> Self {
        self.concurrency_limit = Some(limit);
        self
    }

    /// Keeps finished tasks this many seconds (0 = forever).
    pub fn task_ttl_seconds(mut self, seconds: u64) -> Self {
        self.cleanup.get_or_insert_with(CleanupOptions::default).task_ttl_seconds = Some(seconds);
        self
    }

    /// Keeps events this many seconds (0 = forever).
    pub fn event_ttl_seconds(mut self, seconds: u64) -> Self {
        self.cleanup.get_or_insert_with(CleanupOptions::default).event_ttl_seconds = Some(seconds);
        self
    }
}

/// `GET /queues/{name}/stats`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct QueueStats {
    /// The queue.
    pub queue_name: String,
    /// Runs waiting to be claimed (due or deferred).
    pub pending_runs: u64,
    /// Runs held by a worker.
    pub claimed_runs: u64,
    /// Runs that completed.
    pub completed_runs: u64,
    /// Seconds since the oldest claimable pending run became due; `None` when none is.
    pub oldest_pending_run_age_seconds: Option<f64>,
    /// (ext) Runs sleeping until a time or an event; `None` from servers without it.
    #[serde(default)]
    pub sleeping_runs: Option<u64>,
    /// (ext) Runs that failed; `None` from servers without it.
    #[serde(default)]
    pub failed_runs: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct QueueList {
    pub(crate) queues: Vec<Queue>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn create_body_leaves_out_what_is_not_set() {
        assert_eq!(serde_json::to_value(CreateQueue::new("q")).unwrap(), json!({"name": "q"}));
        let body = CreateQueue::new("q").task_ttl_seconds(0);
        assert_eq!(serde_json::to_value(body).unwrap(), json!({"name": "q", "cleanup": {"task_ttl_seconds": 0}}));
    }

    #[test]
    fn stats_without_the_extension_fields_decode() {
        let stats: QueueStats = serde_json::from_value(json!({
            "queue_name": "q", "pending_runs": 1, "claimed_runs": 2, "completed_runs": 3,
            "oldest_pending_run_age_seconds": null, "unknown": true
        }))
        .unwrap();
        assert_eq!((stats.pending_runs, stats.sleeping_runs, stats.oldest_pending_run_age_seconds), (1, None, None));
    }
}
