//! Queues: named channels of tasks with their own retention policy.

use std::fmt;

use time::Duration;

use crate::clock::Timestamp;
use crate::error::ValidationError;
use crate::flow::FlowLimits;
use crate::task::RunStatus;

/// Default time finished tasks and events are kept: 3 days.
pub const DEFAULT_TTL_SECONDS: u64 = 259_200;
/// Default maximum number of queues a server accepts.
pub const DEFAULT_MAX_QUEUES: usize = 128;
/// The longest queue name, in bytes of UTF-8.
pub const MAX_QUEUE_NAME_BYTES: usize = 255;

/// A validated queue name: 1–255 bytes of any text a percent-encoded URL
/// path segment can carry (`emails:high`, `billing/eu`, `tâches`), since
/// every queue is addressed by one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueName(String);

impl QueueName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::required(field));
        }
        if raw.len() > MAX_QUEUE_NAME_BYTES {
            return Err(ValidationError::invalid(field, format!("must be at most {MAX_QUEUE_NAME_BYTES} bytes")));
        }
        // Control characters (NUL included) are lost or mangled on the way
        // through URLs, logs and metric labels.
        if raw.chars().any(char::is_control) {
            return Err(ValidationError::invalid(field, "must not contain control characters"));
        }
        // URL parsers resolve these segments (even percent-encoded) as "this"
        // and "parent" directory, so no client could address such a queue.
        if matches!(raw, "." | "..") {
            return Err(ValidationError::invalid(field, "must not be \".\" or \"..\""));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long finished work is kept. Zero disables that cleanup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub task_ttl_seconds: u64,
    pub event_ttl_seconds: u64,
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        Self { task_ttl_seconds: DEFAULT_TTL_SECONDS, event_ttl_seconds: DEFAULT_TTL_SECONDS }
    }
}

impl CleanupPolicy {
    pub fn task_ttl(&self) -> Option<Duration> {
        ttl(self.task_ttl_seconds)
    }
}

fn ttl(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX)))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    pub name: QueueName,
    pub created_at: Timestamp,
    pub cleanup: CleanupPolicy,
    pub flow: FlowLimits,
}

/// Counts of a queue's runs by state, for dashboards and alerts.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueStats {
    pub queue_name: QueueName,
    /// Pending runs, due now or scheduled for later.
    pub pending_runs: u64,
    pub claimed_runs: u64,
    pub completed_runs: u64,
    pub sleeping_runs: u64,
    pub failed_runs: u64,
    /// Seconds since the oldest claimable pending run became due.
    pub oldest_pending_run_age_seconds: Option<f64>,
}

impl QueueStats {
    /// The statistics of a queue from its runs counted by status (a status
    /// may come several times; its counts add up) and the due time of its
    /// oldest claimable run.
    pub fn tally(
        queue_name: QueueName,
        counts: impl IntoIterator<Item = (RunStatus, u64)>,
        oldest_due: Option<Timestamp>,
        now: Timestamp,
    ) -> Self {
        let mut stats = Self {
            queue_name,
            pending_runs: 0,
            claimed_runs: 0,
            completed_runs: 0,
            sleeping_runs: 0,
            failed_runs: 0,
            oldest_pending_run_age_seconds: oldest_due.map(|due| (now - due).as_seconds_f64()),
        };
        for (status, n) in counts {
            let count = match status {
                RunStatus::Pending => &mut stats.pending_runs,
                RunStatus::Claimed => &mut stats.claimed_runs,
                RunStatus::Completed => &mut stats.completed_runs,
                RunStatus::Sleeping => &mut stats.sleeping_runs,
                RunStatus::Failed => &mut stats.failed_runs,
                // Not reported: a canceled run only ever ends a canceled task.
                RunStatus::Canceled => continue,
            };
            *count += n;
        }
        stats
    }
}

/// Event retention: the largest `event_ttl_seconds` of any queue; `None`
/// (keep forever) when any queue disables it.
pub fn event_retention<'a>(policies: impl IntoIterator<Item = &'a CleanupPolicy>) -> Option<Duration> {
    let mut largest = None::<u64>;
    for policy in policies {
        if policy.event_ttl_seconds == 0 {
            return None;
        }
        largest = Some(largest.map_or(policy.event_ttl_seconds, |l| l.max(policy.event_ttl_seconds)));
    }
    ttl(largest.unwrap_or(DEFAULT_TTL_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        for good in ["emails.v2_high-prio", "emails:high", "billing/eu", "tâches", "a b", "100%", "?#&=+", "..."] {
            assert_eq!(QueueName::parse("name", good).unwrap().as_str(), good);
        }
        assert!(QueueName::parse("name", &"a".repeat(MAX_QUEUE_NAME_BYTES)).is_ok());
        assert_eq!(QueueName::parse("name", "").unwrap_err().message, "name is required");
    }

    #[test]
    fn queue_name_rejections_name_the_field() {
        let message = |raw: &str| QueueName::parse("name", raw).unwrap_err().message;
        assert_eq!(message(&"a".repeat(MAX_QUEUE_NAME_BYTES + 1)), "name must be at most 255 bytes");
        // 128 two-byte characters: 128 characters, but 256 bytes.
        assert_eq!(message(&"é".repeat(128)), "name must be at most 255 bytes");
        for control in ["a\0b", "tab\there", "line\n", "\u{7f}", "\u{85}"] {
            assert_eq!(message(control), "name must not contain control characters", "{control:?}");
        }
        assert_eq!(message("."), "name must not be \".\" or \"..\"");
        assert_eq!(message(".."), "name must not be \".\" or \"..\"");
    }

    #[test]
    fn stats_add_up_counts_by_status_and_age_the_oldest_due_run() {
        use time::macros::datetime;
        let now = datetime!(2026-12-01 10:00:00 UTC);
        let counts = [
            (RunStatus::Pending, 2),
            (RunStatus::Claimed, 1),
            (RunStatus::Pending, 1),
            (RunStatus::Canceled, 7),
            (RunStatus::Sleeping, 4),
            (RunStatus::Completed, 5),
            (RunStatus::Failed, 6),
        ];
        let name = QueueName::parse("queue", "q").unwrap();
        let stats = QueueStats::tally(name.clone(), counts, Some(now - Duration::seconds(3)), now);
        assert_eq!(
            stats,
            QueueStats {
                queue_name: name.clone(),
                pending_runs: 3,
                claimed_runs: 1,
                completed_runs: 5,
                sleeping_runs: 4,
                failed_runs: 6,
                oldest_pending_run_age_seconds: Some(3.0),
            }
        );
        assert_eq!(QueueStats::tally(name, [], None, now).oldest_pending_run_age_seconds, None);
    }

    #[test]
    fn event_retention_takes_the_largest_ttl_and_zero_keeps_forever() {
        let a = CleanupPolicy { task_ttl_seconds: 1, event_ttl_seconds: 10 };
        let b = CleanupPolicy { task_ttl_seconds: 1, event_ttl_seconds: 20 };
        let off = CleanupPolicy { task_ttl_seconds: 1, event_ttl_seconds: 0 };
        assert_eq!(event_retention([&a, &b]), Some(Duration::seconds(20)));
        assert_eq!(event_retention([&a, &off]), None);
        assert_eq!(event_retention([]), Some(Duration::seconds(DEFAULT_TTL_SECONDS as i64)));
    }
}
