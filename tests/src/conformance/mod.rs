//! The Store conformance suite: one set of cases every storage adapter must
//! pass (memory, SQLite, PostgreSQL).
//!
//! Every case drives the real [`Engine`] (the `Service` use cases) over the
//! adapter's store and notifier, with a [`ManualClock`], so each rule of
//! `API.md` is checked through the use cases and time moves only when a case
//! moves it. Long polls still wait on real time, so those cases use short
//! waits.
//!
//! An adapter runs the whole suite with one line in its test file:
//!
//! ```text
//! durable_tests::conformance_suite!(backend);
//! ```
//!
//! where `backend` is an `async fn() -> Backend` that returns a fresh,
//! isolated store (its own database or schema) on every call: cases count
//! queues and events, which only holds when no other case shares the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use durable_app::{Engine, EngineConfig};
use durable_domain::command::{ClaimRequest, NewQueue, NewTask, RunFilter};
use durable_domain::event::Checkpoint;
use durable_domain::{Run, RunId, Task, TaskId, TaskState, Timestamp, clock};
use durable_ports::service::CreatedTask;
use durable_ports::{Clock, ManualClock, Notifier, Service, ServiceError, Store};
use time::Duration;

/// Asserts that a `Result` is an `Err` matching the pattern, printing what
/// came back otherwise.
macro_rules! assert_err {
    ($result:expr, $pattern:pat if $guard:expr $(,)?) => {
        match $result {
            Err($pattern) if $guard => {}
            other => panic!("expected Err({} if {}), got {:?}", stringify!($pattern), stringify!($guard), other),
        }
    };
    ($result:expr, $pattern:pat $(,)?) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}

pub mod cancel;
pub mod checkpoints;
pub mod children;
pub mod claims;
pub mod concurrency;
pub mod events;
pub mod expiry;
pub mod fencing;
pub mod flow;
pub mod listing;
pub mod long_poll;
pub mod queues;
pub mod retention;
pub mod retries;
pub mod retry;
pub mod runs;
pub mod schedules;
pub mod sleep;
pub mod tasks;
pub mod timeouts;
pub mod wakes;
pub mod workflows;

/// What an adapter under test provides.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

/// One microsecond, the finest step every store keeps: "just before" a due
/// time is `due - JUST`.
pub const JUST: Duration = Duration::microseconds(1);

/// The claim timeout the helpers use, in seconds.
pub const CLAIM_TIMEOUT: f64 = 30.0;

/// A fresh name with the given prefix, unique across cases and processes.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// A create-task request with only a name.
pub fn new_task(name: &str) -> NewTask {
    NewTask { task_name: name.to_owned(), ..NewTask::default() }
}

/// A task, its runs (oldest first) and its checkpoints: what fencing cases
/// compare before and after a rejected call.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub task: Task,
    pub runs: Vec<Run>,
    pub checkpoints: Vec<Checkpoint>,
}

/// The harness of one case: an engine over the backend, a manual clock.
pub struct Ctx {
    pub clock: ManualClock,
    pub engine: Arc<Engine>,
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    /// The clock's time when the case started; `at(s)` is `start + s`.
    pub start: Timestamp,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("clock", &self.clock).field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl Ctx {
    pub fn new(backend: Backend) -> Self {
        Self::with_config(backend, EngineConfig::default())
    }

    pub fn with_config(backend: Backend, config: EngineConfig) -> Self {
        let clock = ManualClock::starting_now();
        let start = clock.now();
        let engine = Engine::new(backend.store.clone(), backend.notifier.clone(), Arc::new(clock.clone()), config);
        Self { clock, engine: Arc::new(engine), store: backend.store, notifier: backend.notifier, start }
    }

    /// Another engine over the same store, notifier and clock: a second
    /// server replica.
    pub fn replica(&self) -> Arc<Engine> {
        let config = self.engine.config().clone();
        Arc::new(Engine::new(self.store.clone(), self.notifier.clone(), Arc::new(self.clock.clone()), config))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// `seconds` after the case started.
    pub fn at(&self, seconds: f64) -> Timestamp {
        clock::add(self.start, clock::seconds(seconds))
    }

    /// Moves the clock to `t` (forward only).
    pub fn set(&self, t: Timestamp) {
        assert!(t >= self.now(), "the clock must not go back");
        self.clock.set(t);
    }

    /// Moves the clock to `seconds` after the start.
    pub fn set_at(&self, seconds: f64) {
        self.set(self.at(seconds));
    }

    pub fn advance(&self, seconds: f64) {
        self.clock.advance(clock::seconds(seconds));
    }

    /// A queue with a unique name and the default cleanup policy.
    pub async fn queue(&self) -> String {
        self.queue_with(None, None).await
    }

    /// A queue with a unique name and the given TTLs.
    pub async fn queue_with(&self, task_ttl: Option<u64>, event_ttl: Option<u64>) -> String {
        let name = unique("q");
        let new = NewQueue {
            name: name.clone(),
            task_ttl_seconds: task_ttl,
            event_ttl_seconds: event_ttl,
            ..NewQueue::default()
        };
        self.engine.create_queue(new).await.expect("create queue");
        name
    }

    pub async fn create(&self, queue: &str, task: NewTask) -> CreatedTask {
        self.engine.create_task(queue.to_owned(), task).await.expect("create task")
    }

    /// A task named "job" with defaults.
    pub async fn task(&self, queue: &str) -> CreatedTask {
        self.create(queue, new_task("job")).await
    }

    pub async fn claim_with(&self, queue: &str, limit: i64, claim_timeout: f64) -> Vec<TaskState> {
        let request =
            ClaimRequest { limit, claim_timeout, long_poll_seconds: None, worker_id: Some("worker-1".to_owned()) };
        self.engine.claim(queue.to_owned(), request).await.expect("claim")
    }

    pub async fn claim(&self, queue: &str, limit: i64) -> Vec<TaskState> {
        self.claim_with(queue, limit, CLAIM_TIMEOUT).await
    }

    /// Claims exactly one run (panics on none or more).
    pub async fn claim_one(&self, queue: &str) -> TaskState {
        let mut claimed = self.claim(queue, 10).await;
        assert_eq!(claimed.len(), 1, "expected exactly one claimable run, got {claimed:?}");
        claimed.remove(0)
    }

    /// Asserts that nothing is claimable (and claims nothing).
    pub async fn claim_none(&self, queue: &str) {
        let claimed = self.claim(queue, 10).await;
        assert!(claimed.is_empty(), "expected nothing claimable, got {claimed:?}");
    }

    /// Creates a task with `task` and claims its first run with `claim_timeout`.
    pub async fn started_with(&self, queue: &str, task: NewTask, claim_timeout: f64) -> TaskState {
        let created = self.create(queue, task).await;
        let mut claimed = self.claim_with(queue, 10, claim_timeout).await;
        assert_eq!(claimed.len(), 1, "expected the new run to be claimable, got {claimed:?}");
        let state = claimed.remove(0);
        assert_eq!(state.run.id, created.run_id);
        state
    }

    /// Creates a default task and claims its first run: a worker holds it.
    pub async fn started(&self, queue: &str) -> TaskState {
        self.started_with(queue, new_task("job"), CLAIM_TIMEOUT).await
    }

    pub async fn sweep(&self) {
        self.engine.sweep_once().await.expect("sweep");
    }

    pub async fn get(&self, task: TaskId) -> Task {
        self.engine.get_task(task).await.expect("get task")
    }

    /// All runs of a task, oldest first.
    pub async fn runs(&self, task: TaskId) -> Vec<Run> {
        let filter = RunFilter { task_id: Some(task), status: None, cursor: None, limit: 1000 };
        let page = self.engine.list_runs(filter).await.expect("list runs");
        let mut runs = page.items;
        runs.reverse();
        runs
    }

    /// One run of a task.
    pub async fn run(&self, task: TaskId, run: RunId) -> Run {
        let runs = self.runs(task).await;
        runs.into_iter().find(|r| r.id == run).unwrap_or_else(|| panic!("run {run} of task {task} not listed"))
    }

    pub async fn snapshot(&self, task: TaskId) -> Snapshot {
        Snapshot {
            task: self.get(task).await,
            runs: self.runs(task).await,
            checkpoints: self.engine.list_checkpoints(task).await.expect("list checkpoints"),
        }
    }

    pub async fn complete(&self, run: RunId) {
        self.engine.complete_run(run, None).await.expect("complete run");
    }
}

/// Headers from pairs.
pub fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Whether the call was answered with a 409.
pub fn is_conflict<T: std::fmt::Debug>(result: &Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::Conflict(_)))
}

/// Defines one `#[tokio::test]` per conformance case, each calling the case
/// with a fresh backend from `$factory` (an `async fn() -> Backend`).
///
/// ```text
/// durable_tests::conformance_suite!(backend);
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@modules $factory;
            queues {
                name_is_validated,
                any_valid_name_round_trips,
                impossible_name_is_not_found,
                duplicate_name_conflicts,
                queue_limit_is_enforced,
                cleanup_policy_defaults_and_overrides,
                delete_refuses_unfinished_tasks,
                delete_unknown_is_not_found,
                force_delete_removes_everything,
                stats_count_runs_by_state,
                stats_age_counts_from_when_the_oldest_run_became_due,
                stats_age_is_null_when_nothing_is_claimable,
                stats_of_unknown_queue_is_not_found,
                finished_runs_are_counted_up_to_a_cap,
            }
            tasks {
                create_stores_the_spec_and_a_first_run,
                create_in_unknown_queue_is_not_found,
                create_with_unknown_workflow_run_is_not_found,
                create_validates_input,
                idempotency_key_returns_the_existing_task,
                idempotency_key_dedups_within_a_batch,
                batch_answers_in_request_order,
                batch_is_all_or_nothing,
                run_at_defers_the_first_run,
                get_unknown_task_is_not_found,
            }
            claims {
                claim_hands_out_oldest_due_first,
                claim_respects_the_limit,
                claim_over_the_maximum_takes_the_maximum,
                claim_returns_the_task_and_sets_the_claim,
                claim_validates_input,
                claim_in_unknown_queue_is_not_found,
                claim_only_takes_runs_of_its_queue,
            }
            long_poll {
                long_poll_returns_at_once_when_work_is_due,
                long_poll_ends_when_a_task_is_created,
                long_poll_ends_when_a_retry_is_created,
                long_poll_ends_when_a_retry_becomes_due,
                long_poll_ends_when_a_deferred_run_becomes_due,
                long_poll_ends_when_a_sleeper_wakes,
                long_poll_ends_when_an_event_wakes_a_waiter,
                long_poll_returns_empty_when_time_is_up,
                long_poll_returns_empty_at_once_on_shutdown,
                long_poll_ends_when_a_key_slot_frees,
                long_poll_ends_when_a_capped_queue_has_room_again,
            }
            runs {
                complete_records_the_result,
                complete_requires_a_held_claim,
                fail_requires_a_held_claim,
                batch_complete_fences_each_item,
                handoff_completes_each_item_then_claims,
            }
            retries {
                fixed_backoff_is_exact,
                exponential_backoff_grows_and_is_capped,
                exponential_factor_defaults_to_two,
                no_strategy_retries_after_one_second,
                max_attempts_bounds_worker_failures,
                one_attempt_by_default,
            }
            expiry {
                expired_claim_fails_the_run_and_requeues_at_once,
                expiries_do_not_use_up_attempts,
                ten_expiries_in_a_row_fail_the_task,
                other_outcomes_reset_the_expiry_streak,
                expiry_limit_is_configurable,
                a_requeued_run_keeps_its_place_ahead_of_a_later_backlog,
            }
            fencing {
                stale_worker_is_fenced_before_the_sweep,
                stale_worker_is_fenced_after_takeover,
                heartbeat_sets_the_claim_end,
                heartbeat_requires_a_held_claim,
            }
            sleep {
                schedule_defers_a_pending_run,
                schedule_puts_a_claimed_run_to_sleep,
                schedule_to_the_past_makes_the_run_claimable,
                schedule_of_a_finished_run_conflicts,
                schedule_of_unknown_run_is_not_found,
            }
            checkpoints {
                checkpoint_upsert_get_and_list,
                checkpoints_are_shared_by_all_runs_of_a_task,
                checkpoint_not_found,
                checkpoint_write_requires_a_held_claim_on_the_task,
                checkpoint_extend_claim_by_moves_the_claim_end,
                checkpoints_of_many_tasks_come_in_one_answer,
            }
            events {
                wait_sleeps_until_an_emit_resolves_it,
                wait_resolves_from_the_latest_existing_event,
                wait_times_out_and_replays_the_timeout,
                outcome_is_shared_by_a_reclaimed_run,
                emit_wakes_every_waiter_of_that_name_only,
                emit_returns_the_event,
                wait_validation_and_not_found,
                wait_requires_the_claim_on_a_run_of_the_task,
                events_are_listed_newest_first_by_name_and_page,
                a_tasks_wait_outcomes_are_listed_by_step,
            }
            children {
                a_child_records_its_parent_and_is_listed_by_it,
                a_child_of_an_unknown_parent_is_not_found,
                canceling_a_parent_leaves_its_children_running,
                a_parent_sleeps_until_its_child_ends_then_replays_the_end,
                a_child_that_ended_before_the_wait_resolves_it_at_once,
                a_canceled_child_wakes_its_waiting_parent,
                a_wait_for_a_task_times_out_and_replays_the_timeout,
                only_a_parent_may_wait_for_a_task,
                a_task_result_is_its_end,
                reserved_event_names_cannot_be_emitted,
                the_end_of_a_watched_task_signals_its_queue,
            }
            cancel {
                cancel_pending_task,
                cancel_claimed_task_fences_the_worker,
                cancel_sleeping_task_is_never_woken,
                cancel_of_finished_task_conflicts,
                cancel_unknown_task_is_not_found,
            }
            timeouts {
                start_timeout_cancels_unclaimed_task,
                start_timeout_spares_a_claimed_task,
                execution_timeout_cancels_across_retries,
                execution_timeout_spares_a_completed_task,
            }
            retry {
                a_failed_task_is_retried_with_a_new_run,
                a_canceled_task_is_retried,
                only_failed_or_canceled_tasks_are_retried,
                a_retried_keyed_task_waits_for_its_key,
            }
            schedules {
                create_get_list_update_delete,
                bad_schedules_are_refused,
                a_minute_schedule_fires_1440_tasks_over_a_day,
                a_ticks_task_names_its_schedule_and_tick,
                two_replicas_fire_each_tick_once,
                a_tick_whose_task_exists_creates_no_second_one,
                catch_up_policies_after_downtime,
                a_paused_schedule_fires_nothing_and_resumes_after_now,
                daylight_saving_transitions_follow_the_zone,
                deleting_a_queue_deletes_its_schedules,
            }
            retention {
                finished_tasks_are_deleted_after_their_ttl,
                failed_and_canceled_tasks_are_deleted_too,
                unfinished_tasks_are_kept,
                zero_task_ttl_keeps_forever,
                events_expire_after_the_largest_event_ttl,
                zero_event_ttl_anywhere_keeps_events,
                sweeps_work_in_bounded_batches,
            }
            workflows {
                workflow_create_get_and_patch,
                workflow_lists_its_tasks,
                workflow_not_found,
                workflow_list_filters_and_pages,
            }
            listing {
                tasks_newest_first_with_filters,
                tasks_paginate_without_gaps_or_duplicates,
                runs_by_task_and_status,
                runs_paginate_without_gaps_or_duplicates,
                tasks_are_filtered_by_creation_time,
            }
            wakes {
                a_create_wakes_its_queue_only_for_a_new_claimable_run,
                a_failure_wakes_its_queue_only_for_a_retry_due_now,
                a_schedule_wakes_its_queue_only_when_the_run_is_claimable_now,
            }
            concurrency {
                racing_claimers_hand_out_each_run_once,
                emit_racing_wait_never_loses_the_wake_up,
                racing_completes_have_one_winner,
                racing_sweepers_expire_each_claim_once,
            }
            flow {
                claims_take_higher_priority_first_then_due_order,
                a_retry_keeps_its_task_priority,
                flow_inputs_are_validated_naming_the_field,
                queue_settings_default_and_round_trip,
                a_key_at_its_limit_is_passed_over_for_other_keys,
                the_key_limit_is_a_queue_setting,
                every_end_of_a_claim_frees_its_key_slot,
                a_sleeper_woken_waits_for_its_key_slot,
                a_due_run_of_a_key_goes_before_one_scheduled_later,
                a_higher_priority_arrival_goes_first_within_its_key,
                the_queue_cap_bounds_claims_across_workers,
                racing_claimers_never_exceed_a_key_limit,
                racing_claimers_never_exceed_the_queue_cap,
                a_canceled_waiting_run_gives_way_to_the_next,
            }
        );
    };
    (@modules $factory:path; $($module:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        $crate::conformance::$module::$case($factory().await).await
                    }
                )*
            }
        )*
    };
}
