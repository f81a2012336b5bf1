//! When and how long to wait before sending a request again.
//!
//! Only calls that are safe to repeat are retried: reads, `DELETE`, the
//! checkpoint `PUT`, the workflow-run `PATCH`, and task creation when every
//! task carries an `idempotency_key`. A `complete`, `fail`, `claim` or event
//! emit is never sent twice: the first one may have been applied even though
//! its answer was lost.

use std::time::Duration;

use crate::Error;

/// Whether a call may be sent again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating the call has the same effect as sending it once.
    Idempotent,
    /// Repeating the call could apply it twice.
    NonIdempotent,
}

impl Idempotency {
    /// Idempotent when `safe` holds.
    pub(crate) fn when(safe: bool) -> Self {
        if safe { Self::Idempotent } else { Self::NonIdempotent }
    }
}

/// Retries with jittered exponential backoff, for connection failures and
/// HTTP 503 on idempotent calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a call is sent again after its first try; 0 disables retries.
    pub max_retries: u32,
    /// The delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// No delay is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 100 ms doubling up to 5 s.
    fn default() -> Self {
        Self { max_retries: 3, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// The wait before retry number `retry` (0 for the first): the base
    /// delay doubled per retry, capped, then a uniformly random point in its
    /// upper half, so that many clients do not retry in lockstep.
    pub fn delay(&self, retry: u32) -> Duration {
        let doubled = self.base_delay.saturating_mul(2u32.saturating_pow(retry.min(30)));
        let ceiling = doubled.min(self.max_delay);
        let half = ceiling / 2;
        half + ceiling.saturating_sub(half).mul_f64(fastrand::f64())
    }

    /// Whether a call that failed with `error` on its `retry`-th retry
    /// (0 = the first try) should be sent again.
    pub(crate) fn should_retry(&self, idempotency: Idempotency, retry: u32, error: &Error) -> bool {
        idempotency == Idempotency::Idempotent && retry < self.max_retries && is_retryable(error)
    }
}

/// Failures where the server most likely did not act, or said to try again:
/// a connection that could not be made or broke, a timeout, and HTTP 503.
fn is_retryable(error: &Error) -> bool {
    match error {
        Error::Transport(e) => e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
        Error::Api { status, .. } => *status == 503,
        Error::Decode { .. } | Error::Config(_) | Error::InvalidArgument(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn api(status: u16) -> Error {
        Error::Api { status, code: ErrorCode::from_status(status), message: String::new() }
    }

    #[test]
    fn delays_grow_exponentially_within_jitter_bounds_and_cap() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let first = policy.delay(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let third = policy.delay(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            let late = policy.delay(40);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000), "{late:?}");
        }
    }

    #[test]
    fn only_idempotent_calls_retry_and_only_on_503() {
        let policy = RetryPolicy::default();
        assert!(policy.should_retry(Idempotency::Idempotent, 0, &api(503)));
        assert!(!policy.should_retry(Idempotency::NonIdempotent, 0, &api(503)));
        for status in [400, 401, 404, 409, 413, 500] {
            assert!(!policy.should_retry(Idempotency::Idempotent, 0, &api(status)), "{status}");
        }
        assert!(!policy.should_retry(Idempotency::Idempotent, 3, &api(503)), "retries are bounded");
        assert!(!RetryPolicy::none().should_retry(Idempotency::Idempotent, 0, &api(503)));
    }

    #[test]
    fn idempotency_from_a_condition() {
        assert_eq!(Idempotency::when(true), Idempotency::Idempotent);
        assert_eq!(Idempotency::when(false), Idempotency::NonIdempotent);
    }
}
