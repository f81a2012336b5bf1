//! Retry backoff after a failure reported by a worker.

use time::Duration;

use crate::clock;
use crate::error::ValidationError;

/// Delay used when a task has no retry strategy.
pub const DEFAULT_RETRY_DELAY_SECONDS: f64 = 1.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryKind {
    Fixed,
    Exponential,
}

impl RetryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Exponential => "exponential",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "fixed" => Some(Self::Fixed),
            "exponential" => Some(Self::Exponential),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryStrategy {
    pub kind: RetryKind,
    pub base_seconds: f64,
    /// Growth per attempt for exponential backoff (default 2).
    pub factor: Option<f64>,
    /// Upper bound of any single delay.
    pub max_seconds: Option<f64>,
}

impl RetryStrategy {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(self.base_seconds.is_finite() && self.base_seconds >= 0.0) {
            return Err(ValidationError::invalid("retry_strategy.base_seconds", "must be a number >= 0"));
        }
        if let Some(factor) = self.factor
            && !(factor.is_finite() && factor >= 1.0)
        {
            return Err(ValidationError::invalid("retry_strategy.factor", "must be a number >= 1"));
        }
        if let Some(max) = self.max_seconds
            && !(max.is_finite() && max >= 0.0)
        {
            return Err(ValidationError::invalid("retry_strategy.max_seconds", "must be a number >= 0"));
        }
        Ok(())
    }

    /// Delay before the retry that follows the failure of `attempt` (1-based).
    pub fn delay_seconds(&self, attempt: u32) -> f64 {
        let raw = match self.kind {
            RetryKind::Fixed => self.base_seconds,
            RetryKind::Exponential => {
                let exponent = attempt.saturating_sub(1).min(i32::MAX as u32) as i32;
                let growth = self.factor.unwrap_or(2.0).powi(exponent);
                // Once the growth overflows to infinity, 0 × ∞ is NaN: a zero base stays zero.
                if self.base_seconds == 0.0 { 0.0 } else { self.base_seconds * growth }
            }
        };
        let capped = match self.max_seconds {
            Some(max) => raw.min(max),
            None => raw,
        };
        if capped.is_finite() { capped } else { f64::MAX }
    }
}

/// The backoff before the next run after `attempt` failed.
pub fn backoff(strategy: Option<&RetryStrategy>, attempt: u32) -> Duration {
    let seconds = strategy.map_or(DEFAULT_RETRY_DELAY_SECONDS, |s| s.delay_seconds(attempt));
    clock::seconds(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(base: f64, factor: Option<f64>, max: Option<f64>) -> RetryStrategy {
        RetryStrategy { kind: RetryKind::Exponential, base_seconds: base, factor, max_seconds: max }
    }

    #[test]
    fn fixed_is_constant() {
        let s = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 5.0, factor: None, max_seconds: None };
        assert_eq!(s.delay_seconds(1), 5.0);
        assert_eq!(s.delay_seconds(9), 5.0);
    }

    #[test]
    fn exponential_grows_by_factor_and_is_capped() {
        let s = exp(2.0, Some(3.0), Some(50.0));
        assert_eq!(s.delay_seconds(1), 2.0);
        assert_eq!(s.delay_seconds(2), 6.0);
        assert_eq!(s.delay_seconds(3), 18.0);
        assert_eq!(s.delay_seconds(5), 50.0);
        assert_eq!(exp(1.0, None, None).delay_seconds(4), 8.0);
    }

    #[test]
    fn no_strategy_waits_one_second() {
        assert_eq!(backoff(None, 7), Duration::seconds(1));
    }

    #[test]
    fn huge_exponents_saturate() {
        let d = backoff(Some(&exp(1.0, Some(10.0), None)), u32::MAX);
        assert!(d > Duration::days(365));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(exp(-1.0, None, None).validate().unwrap_err().field, "retry_strategy.base_seconds");
        assert_eq!(exp(1.0, Some(0.5), None).validate().unwrap_err().field, "retry_strategy.factor");
        assert_eq!(exp(1.0, None, Some(-2.0)).validate().unwrap_err().field, "retry_strategy.max_seconds");
    }
}
