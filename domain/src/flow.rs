//! Flow control: priorities, per-key concurrency limits and queue caps.
//!
//! A run with a concurrency key is *held* (invisible to claims) unless
//! admission exposed it. After any write that may change a key's
//! occupancy (a keyed run created, ended, put back to pending, put to
//! sleep), the store re-admits that key with [`admit`]: the first runs of
//! the key in [`contender_order`], as many as its free slots, are exposed,
//! the rest held. Claims then never look at keys at all: they take exposed
//! runs in priority order, and a key with 100 000 waiting runs puts at most
//! its limit of them in front of the claimers, so other keys are never
//! blocked behind it. A claim turns an exposed run into a claimed one, so
//! it leaves the key's occupancy (exposed + claimed) unchanged and needs no
//! re-admission.
//!
//! The queue cap is counted when claiming instead: a capped queue's claims
//! take at most [`claim_room`] runs.

use std::cmp::{Ordering, Reverse};

use crate::clock::Timestamp;
use crate::error::ValidationError;
use crate::ids::RunId;
use crate::queue::QueueName;
use crate::task::{Run, RunStatus};

/// The default priority; higher is claimed first.
pub const DEFAULT_PRIORITY: i16 = 0;
/// Runs of one key that may be claimed at once unless the queue says otherwise.
pub const DEFAULT_KEY_CONCURRENCY_LIMIT: u32 = 1;
/// The largest limit either setting accepts.
pub const MAX_CONCURRENCY_LIMIT: u32 = 1_000_000;

/// A task's priority as the API takes it: an integer from -32768 to 32767.
pub fn priority(field: &str, raw: Option<i64>) -> Result<i16, ValidationError> {
    match raw {
        None => Ok(DEFAULT_PRIORITY),
        Some(n) => i16::try_from(n)
            .map_err(|_| ValidationError::invalid(field, format!("must be between {} and {}", i16::MIN, i16::MAX))),
    }
}

/// A queue's flow settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLimits {
    /// Runs of one concurrency key that may be claimed at once.
    pub key_concurrency_limit: u32,
    /// Runs of the queue that may be claimed at once; `None` = unlimited.
    pub concurrency_limit: Option<u32>,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self { key_concurrency_limit: DEFAULT_KEY_CONCURRENCY_LIMIT, concurrency_limit: None }
    }
}

/// A limit as the API takes it: 1 to [`MAX_CONCURRENCY_LIMIT`].
pub fn limit(field: &str, raw: i64) -> Result<u32, ValidationError> {
    u32::try_from(raw)
        .ok()
        .filter(|n| (1..=MAX_CONCURRENCY_LIMIT).contains(n))
        .ok_or_else(|| ValidationError::invalid(field, format!("must be between 1 and {MAX_CONCURRENCY_LIMIT}")))
}

/// A change to a queue's flow settings: `None` leaves a setting as it is;
/// `concurrency_limit: Some(None)` removes the cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowPatch {
    pub key_concurrency_limit: Option<u32>,
    pub concurrency_limit: Option<Option<u32>>,
}

impl FlowPatch {
    pub fn apply(self, limits: FlowLimits) -> FlowLimits {
        FlowLimits {
            key_concurrency_limit: self.key_concurrency_limit.unwrap_or(limits.key_concurrency_limit),
            concurrency_limit: self.concurrency_limit.unwrap_or(limits.concurrency_limit),
        }
    }

    /// Whether the change can alter which keyed runs are exposed.
    pub fn changes_keys(self, before: FlowLimits) -> bool {
        self.key_concurrency_limit.is_some_and(|l| l != before.key_concurrency_limit)
    }
}

/// How many runs a claim of a capped queue may take, with `claimed` runs
/// of the queue holding live claims now. A cap lowered below what is
/// claimed leaves no room until enough claims end.
pub fn claim_room(cap: Option<u32>, claimed: u64, wanted: u32) -> u32 {
    match cap {
        None => wanted,
        Some(cap) => {
            let room = u64::from(cap).saturating_sub(claimed);
            wanted.min(u32::try_from(room).unwrap_or(u32::MAX))
        }
    }
}

/// A queue and concurrency key: the unit of admission.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeySlot {
    pub queue: QueueName,
    pub key: String,
}

impl KeySlot {
    /// The key of a run, when it has one.
    pub fn of(run: &Run) -> Option<Self> {
        run.concurrency_key.as_ref().map(|key| Self { queue: run.queue.clone(), key: key.clone() })
    }
}

/// The keys whose admission a write of `written` runs may have changed:
/// every keyed run written in any state but claimed (a claim, a heartbeat
/// or a checkpoint leaves a key's occupancy as it was). Sorted and
/// distinct, which is also the order stores lock them in.
pub fn keys_to_admit<'a>(written: impl IntoIterator<Item = &'a Run>) -> Vec<KeySlot> {
    let mut keys: Vec<KeySlot> =
        written.into_iter().filter(|run| run.status != RunStatus::Claimed).filter_map(KeySlot::of).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A pending run of one key, as admission sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contender {
    pub run: RunId,
    pub priority: i16,
    pub available_at: Timestamp,
    pub held: bool,
}

impl Contender {
    pub fn of(run: &Run) -> Self {
        Self { run: run.id, priority: run.priority, available_at: run.available_at, held: run.held }
    }
}

/// The order a key's pending runs are exposed in: runs due at `now` first,
/// by priority (higher first), then due time, then id, as claims take them;
/// then runs due later, by due time, then priority, then id, so that the
/// next one to come due is the one waiting in front.
pub fn contender_order(a: &Contender, b: &Contender, now: Timestamp) -> Ordering {
    let rank = |c: &Contender| {
        let due = c.available_at <= now;
        (!due, if due { Reverse(c.priority) } else { Reverse(i16::MIN) }, c.available_at, Reverse(c.priority), c.run)
    };
    rank(a).cmp(&rank(b))
}

/// What admission changes: the runs to expose and the runs to hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admission {
    pub release: Vec<RunId>,
    pub hold: Vec<RunId>,
}

impl Admission {
    pub fn is_empty(&self) -> bool {
        self.release.is_empty() && self.hold.is_empty()
    }
}

/// Re-admits one key: of its pending `contenders`, the first in
/// [`contender_order`] are exposed, as many as `limit` leaves beside the
/// `occupied` slots (its claimed runs, and exposed runs another
/// transaction is taking); every other contender is held.
///
/// `contenders` need not hold every pending run of the key: every exposed
/// one, and the first `limit` held runs due at `now` and the first `limit`
/// due later (each in [`contender_order`]), give the same answer, so stores
/// load only those.
pub fn admit(limit: u32, occupied: u64, contenders: &[Contender], now: Timestamp) -> Admission {
    let free = usize::try_from(u64::from(limit).saturating_sub(occupied)).unwrap_or(usize::MAX);
    let mut ordered: Vec<&Contender> = contenders.iter().collect();
    ordered.sort_by(|a, b| contender_order(a, b, now));
    ordered.dedup_by_key(|c| c.run);
    let mut admission = Admission::default();
    for (i, contender) in ordered.into_iter().enumerate() {
        match (i < free, contender.held) {
            (true, true) => admission.release.push(contender.run),
            (false, false) => admission.hold.push(contender.run),
            _ => {}
        }
    }
    admission
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    const NOW: Timestamp = datetime!(2026-12-01 10:00:00 UTC);

    fn contender(priority: i16, due_in: i64, held: bool) -> Contender {
        Contender { run: RunId::new(), priority, available_at: NOW + Duration::seconds(due_in), held }
    }

    #[test]
    fn priorities_and_limits_parse_naming_the_field() {
        assert_eq!(priority("priority", None).unwrap(), 0);
        assert_eq!(priority("priority", Some(-32768)).unwrap(), i16::MIN);
        assert_eq!(
            priority("priority", Some(40_000)).unwrap_err().message,
            "priority must be between -32768 and 32767"
        );
        assert_eq!(limit("concurrency_limit", 0).unwrap_err().field, "concurrency_limit");
        assert_eq!(limit("concurrency_limit", 20).unwrap(), 20);
        assert!(limit("x", i64::from(MAX_CONCURRENCY_LIMIT) + 1).is_err());
    }

    #[test]
    fn free_slots_expose_the_best_due_runs_and_hold_the_rest() {
        let low = contender(0, -5, true);
        let high = contender(5, -1, true);
        let later = contender(9, 60, true);
        let admission = admit(1, 0, &[low, high, later], NOW);
        assert_eq!(admission, Admission { release: vec![high.run], hold: vec![] });
        let admission = admit(2, 0, &[low, high, later], NOW);
        assert_eq!(admission.release, vec![high.run, low.run]);
    }

    #[test]
    fn a_better_arrival_displaces_an_exposed_run_and_claims_occupy_slots() {
        let exposed = contender(0, -5, false);
        let urgent = contender(3, 0, true);
        assert_eq!(
            admit(1, 0, &[exposed, urgent], NOW),
            Admission { release: vec![urgent.run], hold: vec![exposed.run] }
        );
        // One run claimed: nothing more may be exposed, and what is exposed goes back.
        assert_eq!(admit(1, 1, &[exposed, urgent], NOW), Admission { release: vec![], hold: vec![exposed.run] });
        // A limit lowered below the claimed count exposes nothing.
        assert!(admit(1, 3, &[urgent], NOW).is_empty());
    }

    #[test]
    fn runs_due_later_wait_in_due_order_behind_every_due_run() {
        let soon = contender(0, 10, true);
        let later_but_urgent = contender(9, 20, true);
        let due = contender(-9, 0, true);
        assert_eq!(admit(1, 0, &[soon, later_but_urgent, due], NOW).release, vec![due.run]);
        assert_eq!(admit(1, 0, &[soon, later_but_urgent], NOW).release, vec![soon.run]);
    }

    #[test]
    fn claim_room_respects_the_cap() {
        assert_eq!(claim_room(None, 100, 10), 10);
        assert_eq!(claim_room(Some(20), 15, 10), 5);
        assert_eq!(claim_room(Some(20), 25, 10), 0);
    }

    #[test]
    fn a_keyed_run_starts_held_and_comes_back_held() {
        let queue = QueueName::parse("queue", "q").unwrap();
        let spec = crate::TaskSpec { concurrency_key: Some("k".into()), ..crate::TaskSpec::named("t") };
        let mut state = crate::task::create(queue.clone(), spec, NOW);
        assert!(state.run.held && !state.run.is_claimable(NOW), "held until admitted");
        state.run.held = false;
        let claim =
            crate::command::Claim { limit: 1, claim_timeout: Duration::seconds(30), long_poll: None, worker_id: None };
        crate::machine::claim(&mut state, &claim, NOW).unwrap();
        crate::machine::schedule(&mut state, NOW, NOW).unwrap();
        assert!(state.run.held, "put back: admission decides again");
        let plain = crate::task::create(queue, crate::TaskSpec::named("t"), NOW).run;
        assert!(!plain.held && plain.is_claimable(NOW));
    }

    #[test]
    fn only_keyed_runs_written_outside_a_claim_are_admitted_again() {
        let queue = QueueName::parse("queue", "q").unwrap();
        let spec = crate::TaskSpec { concurrency_key: Some("k".into()), ..crate::TaskSpec::named("t") };
        let state = crate::task::create(queue.clone(), spec, NOW);
        let plain = crate::task::create(queue.clone(), crate::TaskSpec::named("t"), NOW).run;
        let mut claimed = state.run.clone();
        claimed.status = RunStatus::Claimed;
        assert_eq!(keys_to_admit([&state.run, &plain, &state.run]), vec![KeySlot { queue, key: "k".into() }]);
        assert!(keys_to_admit([&claimed]).is_empty());
    }
}
