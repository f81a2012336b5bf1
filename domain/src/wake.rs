//! Which long-polling claimers a write must wake: those of every queue in
//! which it left a run claimable. Each store answers its writes with this
//! list; the engine notifies exactly it, and PostgreSQL NOTIFYs exactly it,
//! so the decision is made once.

use crate::clock::Timestamp;
use crate::queue::QueueName;
use crate::task::Run;

/// The distinct queues (in name order) of the runs among `written` that are
/// claimable at `now`.
pub fn queues_to_wake<'a>(written: impl IntoIterator<Item = &'a Run>, now: Timestamp) -> Vec<QueueName> {
    let mut queues: Vec<QueueName> =
        written.into_iter().filter(|run| run.is_claimable(now)).map(|run| run.queue.clone()).collect();
    queues.sort_unstable();
    queues.dedup();
    queues
}

#[cfg(test)]
mod tests {

    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::task::{self, RunStatus, TaskSpec};

    fn run(queue: &str, run_at: Option<Timestamp>, now: Timestamp) -> Run {
        let spec = TaskSpec { run_at, ..TaskSpec::named("t") };
        task::create(QueueName::parse("queue", queue).unwrap(), spec, now).run
    }

    #[test]
    fn only_queues_with_a_run_claimable_now_wake_each_once() {
        let now = datetime!(2026-12-01 10:00:00 UTC);
        let later = Some(now + Duration::seconds(5));
        let mut claimed = run("c", None, now);
        claimed.status = RunStatus::Claimed;
        let written = [run("b", None, now), run("a", None, now), run("b", None, now), run("d", later, now), claimed];
        let names: Vec<String> = queues_to_wake(&written, now).iter().map(std::string::ToString::to_string).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(queues_to_wake(&[], now).is_empty());
    }
}
