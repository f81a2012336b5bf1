//! Writing domain state back. Every statement takes arrays and `unnest`s
//! them, so one round trip writes one row or a thousand alike.

use durable_domain::event::WaitOutcome;
use durable_domain::machine;
use durable_domain::{QueueName, Run, Task, TaskId, TaskState, Timestamp};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use crate::NOTIFY_CHANNEL;
use crate::errors::Result;
use crate::json_text::JsonText;
use crate::rows;

use super::admission;

/// Writes the mutable columns of tasks (the spec never changes) and of
/// runs, in one statement: two `UPDATE … FROM unnest(…)` in data-modifying
/// CTEs, so one round trip writes any number of both. A run written in any
/// state but claimed may have freed a slot of a capped queue, so the
/// statement also notifies the capped queues among the written runs'
/// (`$24` the channel): their claimers wait for room, not for a new run.
const UPDATE_SQL: &str = "\
WITH written_tasks AS ( \
    UPDATE tasks t SET status = u.status, attempts = u.attempts, failures = u.failures, \
        consecutive_expiries = u.consecutive_expiries, current_run = u.current_run, result = u.result, \
        last_error = u.last_error, first_claimed_at = u.first_claimed_at, completed_at = u.completed_at, \
        deadline = u.deadline \
    FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::uuid[], $7::json[], \
                $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[]) \
        AS u(id, status, attempts, failures, consecutive_expiries, current_run, result, last_error, \
             first_claimed_at, completed_at, deadline) \
    WHERE t.id = u.id \
    RETURNING 1 \
), written_runs AS ( \
    UPDATE runs r SET status = u.status, available_at = u.available_at, claimed_at = u.claimed_at, \
        claim_expires_at = u.claim_expires_at, worker_id = u.worker_id, wait_event_name = u.wait_event_name, \
        wait_step_name = u.wait_step_name, result = u.result, error = u.error, completed_at = u.completed_at, \
        held = u.held \
    FROM unnest($12::uuid[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::timestamptz[], \
                $17::text[], $18::text[], $19::text[], $20::json[], $21::text[], $22::timestamptz[], \
                $23::boolean[]) \
        AS u(id, status, available_at, claimed_at, claim_expires_at, worker_id, wait_event_name, \
             wait_step_name, result, error, completed_at, held) \
    WHERE r.id = u.id \
    RETURNING r.queue, r.status \
), freed AS ( \
    SELECT pg_notify($24, q.name) FROM queues q \
    WHERE q.concurrency_limit IS NOT NULL \
      AND q.name IN (SELECT w.queue FROM written_runs w WHERE w.status <> 'claimed') \
) \
SELECT (SELECT count(*) FROM written_tasks), (SELECT count(*) FROM freed)";

/// Writes a task and its run as the domain left them at `now`.
pub(crate) async fn save(conn: &mut PgConnection, state: &TaskState, now: Timestamp) -> Result<()> {
    update(conn, &[&state.task], &[&state.run], now).await
}

/// Writes tasks only.
pub(crate) async fn update_tasks(conn: &mut PgConnection, tasks: &[&Task]) -> Result<()> {
    write(conn, tasks, &[]).await
}

/// Writes runs only.
pub(crate) async fn update_runs(conn: &mut PgConnection, runs: &[&Run], now: Timestamp) -> Result<()> {
    update(conn, &[], runs, now).await
}

/// Writes tasks and runs as the domain left them at `now` (see
/// [`UPDATE_SQL`]), then re-admits the concurrency keys the runs touched.
pub(crate) async fn update(conn: &mut PgConnection, tasks: &[&Task], runs: &[&Run], now: Timestamp) -> Result<()> {
    write(conn, tasks, runs).await?;
    admission::after_write(conn, runs.iter().copied(), now).await
}

async fn write(conn: &mut PgConnection, tasks: &[&Task], runs: &[&Run]) -> Result<()> {
    if tasks.is_empty() && runs.is_empty() {
        return Ok(());
    }
    let mut t = TaskColumns::default();
    for task in tasks {
        t.push(task);
    }
    let r = RunColumns::of(runs);
    sqlx::query(UPDATE_SQL)
        .bind(t.id)
        .bind(t.status)
        .bind(t.attempts)
        .bind(t.failures)
        .bind(t.consecutive_expiries)
        .bind(t.current_run)
        .bind(t.result)
        .bind(t.last_error)
        .bind(t.first_claimed_at)
        .bind(t.completed_at)
        .bind(t.deadline)
        .bind(r.id)
        .bind(r.status)
        .bind(r.available_at)
        .bind(r.claimed_at)
        .bind(r.claim_expires_at)
        .bind(r.worker_id)
        .bind(r.wait_event_name)
        .bind(r.wait_step_name)
        .bind(r.result)
        .bind(r.error)
        .bind(r.completed_at)
        .bind(r.held)
        .bind(NOTIFY_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts new runs, then admits their concurrency keys at `now`.
pub(crate) async fn insert_runs(conn: &mut PgConnection, runs: &[&Run], now: Timestamp) -> Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let query = sqlx::query(
        "INSERT INTO runs (id, task_id, queue, attempt, status, available_at, claimed_at, claim_expires_at, \
             worker_id, wait_event_name, wait_step_name, result, error, created_at, completed_at, priority, \
             concurrency_key, held) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], \
             $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::json[], $13::text[], \
             $14::timestamptz[], $15::timestamptz[], $16::smallint[], $17::text[], $18::boolean[])",
    );
    bind_runs(query, runs).execute(&mut *conn).await?;
    admission::after_write(conn, runs.iter().copied(), now).await
}

/// Binds the columns of `runs` as eighteen arrays, in the order of the
/// `runs` table: id, task_id, queue, attempt, status, available_at,
/// claimed_at, claim_expires_at, worker_id, wait_event_name, wait_step_name,
/// result, error, created_at, completed_at, priority, concurrency_key, held.
pub(crate) fn bind_runs<'q>(
    query: Query<'q, Postgres, PgArguments>,
    runs: &[&Run],
) -> Query<'q, Postgres, PgArguments> {
    let c = RunColumns::of(runs);
    query
        .bind(c.id)
        .bind(c.task_id)
        .bind(c.queue)
        .bind(c.attempt)
        .bind(c.status)
        .bind(c.available_at)
        .bind(c.claimed_at)
        .bind(c.claim_expires_at)
        .bind(c.worker_id)
        .bind(c.wait_event_name)
        .bind(c.wait_step_name)
        .bind(c.result)
        .bind(c.error)
        .bind(c.created_at)
        .bind(c.completed_at)
        .bind(c.priority)
        .bind(c.concurrency_key)
        .bind(c.held)
}

/// Records `(task, step)` wait outcomes. An outcome, once recorded, is never
/// replaced: replays must stay deterministic.
pub(crate) async fn record_outcomes(
    conn: &mut PgConnection,
    outcomes: &[(TaskId, String, WaitOutcome)],
    now: Timestamp,
) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut task_id = Vec::with_capacity(outcomes.len());
    let mut step_name = Vec::with_capacity(outcomes.len());
    let mut outcome = Vec::with_capacity(outcomes.len());
    let mut payload: Vec<Option<JsonText>> = Vec::with_capacity(outcomes.len());
    for (task, step, recorded) in outcomes {
        let (kind, value) = rows::wait_outcome_columns(recorded);
        task_id.push(task.as_uuid());
        step_name.push(step.as_str());
        outcome.push(kind);
        payload.push(JsonText::of_opt(value));
    }
    sqlx::query(
        "INSERT INTO wait_outcomes (task_id, step_name, outcome, payload, recorded_at) \
         SELECT u.task_id, u.step_name, u.outcome, u.payload, $5 \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::json[]) AS u(task_id, step_name, outcome, payload) \
         ON CONFLICT (task_id, step_name) DO NOTHING",
    )
    .bind(task_id)
    .bind(step_name)
    .bind(outcome)
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// `NOTIFY durable_runs, '<queue>'` once per distinct queue. Sent inside the
/// caller's transaction, so PostgreSQL delivers it only if the transaction
/// commits, and only after the write is visible to every other session.
pub(crate) async fn notify<'a>(conn: &mut PgConnection, queues: impl IntoIterator<Item = &'a QueueName>) -> Result<()> {
    let mut names: Vec<&str> = queues.into_iter().map(QueueName::as_str).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, q) FROM unnest($2::text[]) AS q")
        .bind(NOTIFY_CHANNEL)
        .bind(names)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Default)]
struct TaskColumns {
    id: Vec<Uuid>,
    status: Vec<&'static str>,
    attempts: Vec<i64>,
    failures: Vec<i64>,
    consecutive_expiries: Vec<i64>,
    current_run: Vec<Uuid>,
    result: Vec<Option<JsonText>>,
    last_error: Vec<Option<String>>,
    first_claimed_at: Vec<Option<Timestamp>>,
    completed_at: Vec<Option<Timestamp>>,
    deadline: Vec<Option<Timestamp>>,
}

impl TaskColumns {
    fn push(&mut self, task: &Task) {
        self.id.push(task.id.as_uuid());
        self.status.push(task.status.as_str());
        self.attempts.push(rows::bigint(task.attempts));
        self.failures.push(rows::bigint(task.failures));
        self.consecutive_expiries.push(rows::bigint(task.consecutive_expiries));
        self.current_run.push(task.current_run.as_uuid());
        self.result.push(JsonText::of_opt(task.result.as_ref()));
        self.last_error.push(task.last_error.clone());
        self.first_claimed_at.push(task.first_claimed_at);
        self.completed_at.push(task.completed_at);
        self.deadline.push(machine::deadline(task));
    }
}

#[derive(Default)]
struct RunColumns {
    id: Vec<Uuid>,
    task_id: Vec<Uuid>,
    queue: Vec<String>,
    attempt: Vec<i64>,
    status: Vec<&'static str>,
    available_at: Vec<Timestamp>,
    claimed_at: Vec<Option<Timestamp>>,
    claim_expires_at: Vec<Option<Timestamp>>,
    worker_id: Vec<Option<String>>,
    wait_event_name: Vec<Option<String>>,
    wait_step_name: Vec<Option<String>>,
    result: Vec<Option<JsonText>>,
    error: Vec<Option<String>>,
    created_at: Vec<Timestamp>,
    completed_at: Vec<Option<Timestamp>>,
    priority: Vec<i16>,
    concurrency_key: Vec<Option<String>>,
    held: Vec<bool>,
}

impl RunColumns {
    fn of(runs: &[&Run]) -> Self {
        let mut c = Self::default();
        for run in runs {
            c.id.push(run.id.as_uuid());
            c.task_id.push(run.task_id.as_uuid());
            c.queue.push(run.queue.as_str().to_owned());
            c.attempt.push(rows::bigint(run.attempt));
            c.status.push(run.status.as_str());
            c.available_at.push(run.available_at);
            c.claimed_at.push(run.claimed_at);
            c.claim_expires_at.push(run.claim_expires_at);
            c.worker_id.push(run.worker_id.clone());
            c.wait_event_name.push(run.wait.as_ref().map(|w| w.event_name.clone()));
            c.wait_step_name.push(run.wait.as_ref().map(|w| w.step_name.clone()));
            c.result.push(JsonText::of_opt(run.result.as_ref()));
            c.error.push(run.error.clone());
            c.created_at.push(run.created_at);
            c.completed_at.push(run.completed_at);
            c.priority.push(run.priority);
            c.concurrency_key.push(run.concurrency_key.clone());
            c.held.push(run.held);
        }
        c
    }
}
