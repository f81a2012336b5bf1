//! The last hour of every queue, minute by minute: what this server counted
//! (tasks created, runs claimed, runs failed) from the engine's own
//! observations, and the depth of the queue at each minute's last gauge
//! reading. Kept in memory, bounded (60 minutes per queue), lost on restart:
//! it feeds the dashboard's chart, not an audit.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use durable_domain::{QueueName, Timestamp};
use durable_ports::Observation;
use durable_ports::metrics::QueueMinute;

/// Minutes kept per queue.
pub(crate) const MINUTES: usize = 60;

#[derive(Debug, Default)]
pub(crate) struct QueueHistory {
    queues: Mutex<BTreeMap<QueueName, VecDeque<QueueMinute>>>,
}

impl QueueHistory {
    pub(crate) fn observe(&self, observation: &Observation, now: Timestamp) {
        let mut queues = self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match observation {
            Observation::TasksCreated { queue, n } => {
                minute_of(queues.entry(queue.clone()).or_default(), now).tasks_created += n;
            }
            Observation::RunsClaimed { queue, latencies_seconds } => {
                minute_of(queues.entry(queue.clone()).or_default(), now).runs_claimed += latencies_seconds.len() as u64;
            }
            Observation::RunFailed { queue, .. } => {
                minute_of(queues.entry(queue.clone()).or_default(), now).runs_failed += 1;
            }
            Observation::QueueDepths(depths) => {
                // A queue absent from a reading is gone, and its history with it.
                queues.retain(|name, _| depths.iter().any(|d| &d.queue == name));
                for depth in depths {
                    let m = minute_of(queues.entry(depth.queue.clone()).or_default(), now);
                    m.pending_due = depth.pending_due;
                    m.pending_scheduled = depth.pending_scheduled;
                    m.claimed = depth.claimed;
                    m.sleeping = depth.sleeping;
                    m.oldest_pending_age_seconds = depth.oldest_pending_age_seconds;
                }
            }
            _ => {}
        }
    }

    /// The queue's minutes of the last hour, oldest first, one per minute
    /// from the first one seen: a minute with nothing counted has zeros and
    /// the depth last read before it.
    pub(crate) fn of(&self, queue: &QueueName, now: Timestamp) -> Vec<QueueMinute> {
        let queues = self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(kept) = queues.get(queue) else { return Vec::new() };
        let end = minute_start(now);
        let first = end - time::Duration::minutes(MINUTES as i64 - 1);
        let mut out: Vec<QueueMinute> = Vec::with_capacity(MINUTES);
        let mut next = kept.iter().peekable();
        let mut last_depth: Option<QueueMinute> = None;
        let mut at = kept.front().map_or(end, |m| m.at.max(first));
        while at <= end {
            while next.peek().is_some_and(|m| m.at < at) {
                last_depth = next.next().cloned();
            }
            let minute = match next.next_if(|m| m.at == at) {
                Some(kept) => kept.clone(),
                None => QueueMinute::after(last_depth.as_ref(), at),
            };
            last_depth = Some(minute.clone());
            out.push(minute);
            at += time::Duration::MINUTE;
        }
        out
    }
}

/// The current minute's entry of a queue, dropping minutes over the hour.
fn minute_of(minutes: &mut VecDeque<QueueMinute>, now: Timestamp) -> &mut QueueMinute {
    let at = minute_start(now);
    if minutes.back().is_none_or(|m| m.at < at) {
        // A new minute starts from the depth last read.
        let minute = QueueMinute::after(minutes.back(), at);
        minutes.push_back(minute);
        while minutes.len() > MINUTES {
            minutes.pop_front();
        }
    }
    minutes.back_mut().expect("a minute was just pushed")
}

fn minute_start(t: Timestamp) -> Timestamp {
    t.replace_second(0).and_then(|t| t.replace_nanosecond(0)).expect("0 is a valid second and nanosecond")
}

#[cfg(test)]
mod tests {
    use durable_ports::metrics::QueueDepth;
    use time::macros::datetime;

    use super::*;

    fn q(name: &str) -> QueueName {
        QueueName::parse("q", name).unwrap()
    }

    fn depth(queue: &str, pending_due: u64) -> Observation {
        Observation::QueueDepths(vec![QueueDepth {
            queue: q(queue),
            pending_due,
            pending_scheduled: 0,
            claimed: 1,
            sleeping: 0,
            oldest_pending_age_seconds: None,
        }])
    }

    #[test]
    fn counts_by_minute_and_carries_the_depth_over_quiet_minutes() {
        let history = QueueHistory::default();
        let t0 = datetime!(2030-01-01 10:00:10 UTC);
        history.observe(&depth("a", 7), t0);
        history.observe(&Observation::TasksCreated { queue: q("a"), n: 3 }, t0);
        history.observe(&Observation::RunsClaimed { queue: q("a"), latencies_seconds: vec![0.1, 0.2] }, t0);
        history.observe(
            &Observation::RunsClaimed { queue: q("a"), latencies_seconds: vec![0.1] },
            t0 + time::Duration::MINUTE,
        );
        let minutes = history.of(&q("a"), t0 + time::Duration::minutes(3));
        let counts: Vec<(u64, u64, u64)> =
            minutes.iter().map(|m| (m.tasks_created, m.runs_claimed, m.pending_due)).collect();
        assert_eq!(counts, vec![(3, 2, 7), (0, 1, 7), (0, 0, 7), (0, 0, 7)]);
        assert_eq!(minutes[0].at, datetime!(2030-01-01 10:00 UTC));
        assert!(history.of(&q("b"), t0).is_empty());
    }

    #[test]
    fn keeps_an_hour_and_forgets_deleted_queues() {
        let history = QueueHistory::default();
        let t0 = datetime!(2030-01-01 10:00 UTC);
        for m in 0..90 {
            history.observe(&Observation::TasksCreated { queue: q("a"), n: 1 }, t0 + time::Duration::minutes(m));
        }
        let minutes = history.of(&q("a"), t0 + time::Duration::minutes(89));
        assert_eq!(minutes.len(), MINUTES);
        assert_eq!(minutes[0].at, t0 + time::Duration::minutes(30));
        history.observe(&depth("other", 0), t0 + time::Duration::minutes(90));
        assert!(history.of(&q("a"), t0 + time::Duration::minutes(90)).is_empty(), "a is gone");
    }
}
