//! Queues: named channels of tasks with their own retention policy.

use std::fmt;

use time::Duration;

use crate::clock::Timestamp;
use crate::error::ValidationError;

/// Default time finished tasks and events are kept: 3 days.
pub const DEFAULT_TTL_SECONDS: u64 = 259_200;
/// Default maximum number of queues a server accepts.
pub const DEFAULT_MAX_QUEUES: usize = 128;
const MAX_NAME_LEN: usize = 64;

/// A validated queue name: 1–64 of letters, digits, `_`, `-`, `.`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueName(String);

impl QueueName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::required(field));
        }
        let valid_chars = raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if raw.len() > MAX_NAME_LEN || !valid_chars {
            return Err(ValidationError::invalid(field, "must be 1-64 characters of letters, digits, '_', '-' or '.'"));
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
        assert!(QueueName::parse("name", "emails.v2_high-prio").is_ok());
        assert_eq!(QueueName::parse("name", "").unwrap_err().message, "name is required");
        assert!(QueueName::parse("name", "has space").is_err());
        assert!(QueueName::parse("name", "ümlaut").is_err());
        assert!(QueueName::parse("name", &"a".repeat(64)).is_ok());
        assert!(QueueName::parse("name", &"a".repeat(65)).is_err());
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
