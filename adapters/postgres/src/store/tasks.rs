//! Tasks: create (with idempotency keys), get, list, cancel.

use std::collections::{HashMap, HashSet};

use durable_domain::command::{self, Page, TaskFilter};
use durable_domain::task;
use durable_domain::{
    NotFound, QueueName, Run, RunId, Task, TaskId, TaskSpec, TaskState, Timestamp, WorkflowRunId, machine, wake,
};
use durable_ports::StoreError;
use durable_ports::store::{CreatedTask, CreatedTasks, RetriedTask};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::tx::in_transaction;
use super::{admission, events, load, write};
use crate::NOTIFY_CHANNEL;
use crate::errors::{Error, Result, corrupt};
use crate::json_text::JsonText;
use crate::rows::{self, task_columns};
use crate::skipped::SkippedRows;

pub(crate) async fn create(
    pool: &PgPool,
    queue: &QueueName,
    specs: Vec<TaskSpec>,
    now: Timestamp,
) -> Result<CreatedTasks> {
    let plain = |s: &TaskSpec| {
        s.idempotency_key.is_none()
            && s.workflow_run_id.is_none()
            && s.parent_task_id.is_none()
            && s.concurrency_key.is_none()
    };
    if specs.iter().all(plain) {
        return create_plain(pool, queue, specs, now).await;
    }
    in_transaction(pool, async |tx| create_in(tx, queue, specs, now).await).await
}

/// Creates tasks with their first runs inside the caller's transaction, with
/// idempotency keys, workflow runs, parents and keys checked: the body of
/// [`create`] for such tasks, and what a schedule's tick does.
pub(crate) async fn create_in(
    tx: &mut PgConnection,
    queue: &QueueName,
    specs: Vec<TaskSpec>,
    now: Timestamp,
) -> Result<CreatedTasks> {
    // Key-share locks, as foreign keys take them: the queue and workflow
    // runs cannot be deleted before we commit, and we learn which exist.
    let queue_found = sqlx::query("SELECT 1 FROM queues WHERE name = $1 FOR KEY SHARE")
        .bind(queue.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if queue_found.is_none() {
        return Err(NotFound::Queue(queue.to_string()).into());
    }
    ensure_workflows(tx, &specs).await?;
    ensure_parents(tx, &specs).await?;

    let keys: Vec<&str> = specs.iter().filter_map(|s| s.idempotency_key.as_deref()).collect();
    let mut known = existing_keys(tx, queue, &keys).await?;
    let mut answers = Vec::with_capacity(specs.len());
    let mut new = Vec::new();
    for spec in specs {
        if let Some(existing) = spec.idempotency_key.as_ref().and_then(|k| known.get(k)) {
            answers.push(CreatedTask { deduplicated: true, ..existing.clone() });
            continue;
        }
        let state = task::create(queue.clone(), spec, now);
        let created = CreatedTask {
            task_id: state.task.id,
            run_id: state.run.id,
            workflow_run_id: state.task.spec.workflow_run_id,
            deduplicated: false,
        };
        // A later item with the same key gets this task back.
        if let Some(key) = &state.task.spec.idempotency_key {
            known.insert(key.clone(), created.clone());
        }
        answers.push(created);
        new.push(state);
    }

    // Only the inserted runs count: a key lost to a concurrent create
    // makes none. So the wake-up is sent once they are known.
    let inserted = insert(&mut *tx, queue, &new, false).await?.ok_or_else(|| NotFound::Queue(queue.to_string()))?;
    let runs: Vec<&Run> = new.iter().filter(|s| inserted.contains(&s.task.id.as_uuid())).map(|s| &s.run).collect();
    let wake = wake::queues_to_wake(runs.iter().copied(), now);
    write::notify(tx, &wake).await?;
    // New keyed runs are held until their keys admit them.
    admission::after_write(tx, runs, now).await?;
    if inserted.len() < new.len() {
        // A concurrent create committed one of our keys between our look-up
        // and our insert: answer with its task, and create no run for ours.
        let lost: HashMap<Uuid, String> = new
            .iter()
            .filter(|s| !inserted.contains(&s.task.id.as_uuid()))
            .filter_map(|s| Some((s.task.id.as_uuid(), s.task.spec.idempotency_key.clone()?)))
            .collect();
        let keys: Vec<&str> = lost.values().map(String::as_str).collect();
        let winners = existing_keys(tx, queue, &keys).await?;
        for answer in &mut answers {
            if let Some(key) = lost.get(&answer.task_id.as_uuid()) {
                let winner = winners.get(key).ok_or_else(|| {
                    Error::Store(StoreError::Other(format!("idempotency key {key:?} conflicted but no task holds it")))
                })?;
                *answer = CreatedTask { deduplicated: true, ..winner.clone() };
            }
        }
    }
    Ok(CreatedTasks { tasks: answers, wake })
}

/// Tasks without idempotency keys or workflow runs need no look-up before
/// they are written: one statement, committed on its own, creates them.
async fn create_plain(pool: &PgPool, queue: &QueueName, specs: Vec<TaskSpec>, now: Timestamp) -> Result<CreatedTasks> {
    let new: Vec<TaskState> = specs.into_iter().map(|spec| task::create(queue.clone(), spec, now)).collect();
    // Every run is inserted (or the statement fails), so the wake-up is
    // decided before and sent by the statement itself.
    let wake = wake::queues_to_wake(new.iter().map(|s| &s.run), now);
    let inserted =
        insert(pool, queue, &new, !wake.is_empty()).await?.ok_or_else(|| NotFound::Queue(queue.to_string()))?;
    if inserted.len() != new.len() {
        return Err(Error::Store(StoreError::Other(format!(
            "{} of {} new tasks were not inserted",
            new.len() - inserted.len(),
            new.len()
        ))));
    }
    let tasks = new
        .iter()
        .map(|s| CreatedTask {
            task_id: s.task.id,
            run_id: s.run.id,
            workflow_run_id: s.task.spec.workflow_run_id,
            deduplicated: false,
        })
        .collect();
    Ok(CreatedTasks { tasks, wake })
}

async fn ensure_workflows(conn: &mut PgConnection, specs: &[TaskSpec]) -> Result<()> {
    let mut wanted: Vec<Uuid> = specs.iter().filter_map(|s| s.workflow_run_id).map(|w| w.as_uuid()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort_unstable();
    wanted.dedup();
    let found: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM workflow_runs WHERE id = ANY($1) FOR KEY SHARE")
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await?;
    // Report the first missing one in request order, as callers expect.
    match specs.iter().filter_map(|s| s.workflow_run_id).find(|w| !found.contains(&w.as_uuid())) {
        Some(missing) => Err(NotFound::WorkflowRun(missing).into()),
        None => Ok(()),
    }
}

/// Every parent named must exist (it is not locked: a parent is a record of
/// where a child came from, and retention may delete it later anyway).
async fn ensure_parents(conn: &mut PgConnection, specs: &[TaskSpec]) -> Result<()> {
    let mut wanted: Vec<Uuid> = specs.iter().filter_map(|s| s.parent_task_id).map(|p| p.as_uuid()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort_unstable();
    wanted.dedup();
    let found: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM tasks WHERE id = ANY($1)").bind(&wanted).fetch_all(&mut *conn).await?;
    match specs.iter().filter_map(|s| s.parent_task_id).find(|p| !found.contains(&p.as_uuid())) {
        Some(missing) => Err(NotFound::Task(missing).into()),
        None => Ok(()),
    }
}

/// The tasks that already hold these idempotency keys in the queue.
async fn existing_keys(
    conn: &mut PgConnection,
    queue: &QueueName,
    keys: &[&str],
) -> Result<HashMap<String, CreatedTask>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT idempotency_key, id, current_run, workflow_run_id FROM tasks \
         WHERE queue = $1 AND idempotency_key = ANY($2)",
    )
    .bind(queue.as_str())
    .bind(keys)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let created = CreatedTask {
                task_id: TaskId::from_uuid(row.try_get("id")?),
                run_id: RunId::from_uuid(row.try_get("current_run")?),
                workflow_run_id: row.try_get::<Option<Uuid>, _>("workflow_run_id")?.map(WorkflowRunId::from_uuid),
                deduplicated: true,
            };
            Ok((row.try_get("idempotency_key")?, created))
        })
        .collect()
}

/// The statement of [`INSERT_SQL`], with the given `ON CONFLICT` clause.
macro_rules! insert_sql {
    ($on_conflict:literal) => {
        concat!(
            "\
WITH q AS ( \
    SELECT 1 FROM queues WHERE name = $1 FOR KEY SHARE \
), t AS ( \
    INSERT INTO tasks (id, queue, task_name, params, headers, retry_kind, retry_base_seconds, retry_factor, \
        retry_max_seconds, max_attempts, start_timeout_us, execution_timeout_us, workflow_run_id, \
        idempotency_key, run_at, status, attempts, failures, consecutive_expiries, current_run, created_at, \
        deadline, parent_task_id, priority, concurrency_key) \
    SELECT u.id, u.queue, u.task_name, u.params, u.headers, u.retry_kind, u.retry_base_seconds, \
        u.retry_factor, u.retry_max_seconds, u.max_attempts, u.start_timeout_us, u.execution_timeout_us, \
        u.workflow_run_id, u.idempotency_key, u.run_at, 'pending', 1, 0, 0, u.current_run, u.created_at, \
        u.deadline, u.parent_task_id, u.priority, u.concurrency_key \
    FROM unnest($4::uuid[], $5::text[], $6::text[], $7::json[], $8::jsonb[], $9::text[], \
        $10::float8[], $11::float8[], $12::float8[], $13::bigint[], $14::bigint[], $15::bigint[], $16::uuid[], \
        $17::text[], $18::timestamptz[], $19::uuid[], $20::timestamptz[], $21::timestamptz[], $22::uuid[], \
        $23::smallint[], $24::text[]) \
        AS u(id, queue, task_name, params, headers, retry_kind, retry_base_seconds, retry_factor, \
             retry_max_seconds, max_attempts, start_timeout_us, execution_timeout_us, workflow_run_id, \
             idempotency_key, run_at, current_run, created_at, deadline, parent_task_id, priority, \
             concurrency_key) \
    WHERE EXISTS (SELECT 1 FROM q) ",
            $on_conflict,
            " \
    RETURNING id, queue, current_run, run_at, created_at, priority, concurrency_key \
), r AS ( \
    INSERT INTO runs (id, task_id, queue, attempt, status, available_at, created_at, priority, concurrency_key, \
        held) \
    SELECT t.current_run, t.id, t.queue, 1, 'pending', coalesce(t.run_at, t.created_at), t.created_at, \
        t.priority, t.concurrency_key, t.concurrency_key IS NOT NULL FROM t \
    RETURNING 1 \
), n AS ( \
    SELECT pg_notify($3, $1) WHERE $2::boolean AND EXISTS (SELECT 1 FROM r) \
) \
SELECT s.queue_exists, s.notified, t.id \
FROM (SELECT EXISTS (SELECT 1 FROM q) AS queue_exists, (SELECT count(*) FROM n) AS notified) s \
LEFT JOIN t ON true"
        )
    };
}

/// Inserts new tasks and their first runs in one statement: checks the
/// queue (key-share lock, as a foreign key takes it), inserts the tasks,
/// skipping any whose idempotency key a concurrent create took, inserts the
/// runs of the tasks inserted, and notifies the queue when told to and a
/// task was inserted.
///
/// The runs are made from the rows the task insert returns, so the
/// statement needs no join (a join of the inserted tasks to a second set of
/// arrays was planned as a nested loop re-reading every array once per
/// task on a fresh table: quadratic, 1.5 s for a batch of 1 000). It states
/// `task::create`'s first run in SQL: pending, attempt 1, due at `run_at`
/// or creation; [`first_run_as_stated`] checks every new run against it
/// before the statement is sent, so the domain cannot drift from it.
///
/// Parameters: `$1` queue; `$2` whether to notify (the domain's wake-up
/// decision, see `durable_domain::wake`); `$3` the
/// notify channel; `$4`–`$24` the task columns ([`NewTaskColumns`]). The
/// answer has one row saying whether the queue exists, plus one per
/// inserted task. It names `notified`: a plain `SELECT` in `WITH` runs only
/// if the answer needs it, and the planner drops subquery columns nobody
/// reads.
const INSERT_SQL: &str =
    insert_sql!("ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING");

/// [`INSERT_SQL`] for tasks without idempotency keys: nothing can conflict,
/// and an insert without `ON CONFLICT` skips the speculative insertion
/// (its WAL record and its check of the unique index) per task.
const INSERT_PLAIN_SQL: &str = insert_sql!("");

/// [`INSERT_SQL`] when a task of `new` has an idempotency key, else
/// [`INSERT_PLAIN_SQL`].
fn insert_sql_for(new: &[TaskState]) -> &'static str {
    if new.iter().any(|s| s.task.spec.idempotency_key.is_some()) { INSERT_SQL } else { INSERT_PLAIN_SQL }
}

/// Whether `state.run` is the run [`INSERT_SQL`] makes for `state.task`.
fn first_run_as_stated(state: &TaskState) -> bool {
    let task = &state.task;
    let due = task.spec.run_at.unwrap_or(task.created_at);
    let stated = Run { id: task.current_run, ..Run::pending(task, 1, due, task.created_at) };
    state.run == stated
}

/// Runs [`INSERT_SQL`], notifying the queue when `notify` says and a task
/// was inserted: the ids of the tasks inserted, or `None` when the queue
/// does not exist.
async fn insert<'e>(
    conn: impl PgExecutor<'e>,
    queue: &QueueName,
    new: &[TaskState],
    notify: bool,
) -> Result<Option<HashSet<Uuid>>> {
    if let Some(state) = new.iter().find(|s| !first_run_as_stated(s)) {
        return Err(corrupt(format!("the new run {:?} is not the one the insert statement makes", state.run)));
    }
    let rows = bind_insert(sqlx::query(insert_sql_for(new)), queue, new, notify).fetch_all(conn).await?;
    if !rows.first().map(|row| row.try_get::<bool, _>("queue_exists")).transpose()?.unwrap_or(false) {
        return Ok(None);
    }
    let ids = rows
        .iter()
        .filter_map(|row| row.try_get::<Option<Uuid>, _>("id").transpose())
        .collect::<std::result::Result<_, _>>()?;
    Ok(Some(ids))
}

/// `EXPLAIN ANALYZE` of [`INSERT_SQL`] creating `new`, in a transaction that
/// is rolled back: for tests of its plan.
pub(crate) async fn explain_insert(
    pool: &PgPool,
    queue: &QueueName,
    new: &[TaskState],
    now: Timestamp,
) -> Result<String> {
    let mut tx = pool.begin().await?;
    let explain = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {}", insert_sql_for(new));
    let notify = !wake::queues_to_wake(new.iter().map(|s| &s.run), now).is_empty();
    let lines: Vec<String> = bind_insert(sqlx::query(&explain), queue, new, notify)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    tx.rollback().await?;
    Ok(lines.join("\n"))
}

fn bind_insert<'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    queue: &QueueName,
    new: &[TaskState],
    notify: bool,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    let mut c = NewTaskColumns::default();
    for state in new {
        c.push(&state.task);
    }
    query
        .bind(queue.as_str().to_owned())
        .bind(notify)
        .bind(NOTIFY_CHANNEL)
        .bind(c.id)
        .bind(c.queue)
        .bind(c.task_name)
        .bind(c.params)
        .bind(c.headers)
        .bind(c.retry_kind)
        .bind(c.retry_base_seconds)
        .bind(c.retry_factor)
        .bind(c.retry_max_seconds)
        .bind(c.max_attempts)
        .bind(c.start_timeout_us)
        .bind(c.execution_timeout_us)
        .bind(c.workflow_run_id)
        .bind(c.idempotency_key)
        .bind(c.run_at)
        .bind(c.current_run)
        .bind(c.created_at)
        .bind(c.deadline)
        .bind(c.parent_task_id)
        .bind(c.priority)
        .bind(c.concurrency_key)
}

#[derive(Default)]
struct NewTaskColumns {
    id: Vec<Uuid>,
    queue: Vec<String>,
    task_name: Vec<String>,
    params: Vec<JsonText>,
    headers: Vec<Value>,
    retry_kind: Vec<Option<&'static str>>,
    retry_base_seconds: Vec<Option<f64>>,
    retry_factor: Vec<Option<f64>>,
    retry_max_seconds: Vec<Option<f64>>,
    max_attempts: Vec<i64>,
    start_timeout_us: Vec<Option<i64>>,
    execution_timeout_us: Vec<Option<i64>>,
    workflow_run_id: Vec<Option<Uuid>>,
    idempotency_key: Vec<Option<String>>,
    run_at: Vec<Option<Timestamp>>,
    current_run: Vec<Uuid>,
    created_at: Vec<Timestamp>,
    deadline: Vec<Option<Timestamp>>,
    parent_task_id: Vec<Option<Uuid>>,
    priority: Vec<i16>,
    concurrency_key: Vec<Option<String>>,
}

impl NewTaskColumns {
    fn push(&mut self, task: &Task) {
        let spec = &task.spec;
        let retry = spec.retry_strategy.as_ref();
        self.id.push(task.id.as_uuid());
        self.queue.push(task.queue.as_str().to_owned());
        self.task_name.push(spec.task_name.clone());
        self.params.push(JsonText::of(&spec.params));
        self.headers.push(rows::string_map(&spec.headers));
        self.retry_kind.push(retry.map(|r| r.kind.as_str()));
        self.retry_base_seconds.push(retry.map(|r| r.base_seconds));
        self.retry_factor.push(retry.and_then(|r| r.factor));
        self.retry_max_seconds.push(retry.and_then(|r| r.max_seconds));
        self.max_attempts.push(rows::bigint(spec.max_attempts));
        self.start_timeout_us.push(spec.start_timeout.map(rows::micros));
        self.execution_timeout_us.push(spec.execution_timeout.map(rows::micros));
        self.workflow_run_id.push(spec.workflow_run_id.map(|w| w.as_uuid()));
        self.idempotency_key.push(spec.idempotency_key.clone());
        self.run_at.push(spec.run_at);
        self.current_run.push(task.current_run.as_uuid());
        self.created_at.push(task.created_at);
        self.deadline.push(machine::deadline(task));
        self.parent_task_id.push(spec.parent_task_id.map(|p| p.as_uuid()));
        self.priority.push(spec.priority);
        self.concurrency_key.push(spec.concurrency_key.clone());
    }
}

pub(crate) async fn get(pool: &PgPool, id: TaskId) -> Result<Task> {
    let row = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE t.id = $1"))
        .bind(id.as_uuid())
        .fetch_optional(pool)
        .await?
        .ok_or(NotFound::Task(id))?;
    rows::task(&row)
}

pub(crate) async fn list(pool: &PgPool, filter: &TaskFilter) -> Result<Page<Task, TaskId>> {
    let mut query = QueryBuilder::<Postgres>::new(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE true"));
    if let Some(queue) = &filter.queue_name {
        query.push(" AND t.queue = ").push_bind(queue.as_str());
    }
    if let Some(status) = filter.status {
        // Literal, so the plan can use the partial index of failed and
        // canceled tasks (`tasks_unsuccessful`); a domain name, never input.
        query.push(format_args!(" AND t.status = '{}'", status.as_str()));
    }
    if let Some(name) = &filter.task_name {
        query.push(" AND t.task_name = ").push_bind(name.as_str());
    }
    if let Some(parent) = filter.parent_task_id {
        query.push(" AND t.parent_task_id = ").push_bind(parent.as_uuid());
    }
    if let Some(after) = filter.created_after {
        query.push(" AND t.created_at >= ").push_bind(after);
    }
    if let Some(before) = filter.created_before {
        query.push(" AND t.created_at < ").push_bind(before);
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND t.id < ").push_bind(cursor.as_uuid());
    }
    query.push(" ORDER BY t.id DESC LIMIT ").push_bind(command::fetch_limit(filter.limit));
    let rows = query.build().fetch_all(pool).await?;
    let tasks = rows.iter().map(rows::task).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_fetched(tasks, filter.limit, |t| t.id))
}

/// Marks the result watched, then reads the task: a concurrent end either
/// committed before the mark (and is read here) or locks the row after it
/// (and sees the mark).
pub(crate) async fn watch_result(pool: &PgPool, id: TaskId) -> Result<Task> {
    in_transaction(pool, async |tx| {
        let marked = sqlx::query("UPDATE tasks SET result_watched = true WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if marked == 0 {
            return Err(NotFound::Task(id).into());
        }
        let row = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE t.id = $1"))
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        rows::task(&row)
    })
    .await
}

pub(crate) async fn retry(pool: &PgPool, id: TaskId, now: Timestamp) -> Result<RetriedTask> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_task(tx, id).await?.ok_or(NotFound::Task(id))?;
        let run = machine::retry(&mut state, now)?;
        write::save(tx, &state, now).await?;
        write::insert_runs(tx, &[&run], now).await?;
        let wake = wake::queues_to_wake([&run], now);
        write::notify(tx, &wake).await?;
        Ok(RetriedTask { task_id: id, run_id: run.id, attempt: run.attempt, wake })
    })
    .await
}

pub(crate) async fn cancel(pool: &PgPool, id: TaskId, now: Timestamp, skipped: &SkippedRows) -> Result<()> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_task(tx, id).await?.ok_or(NotFound::Task(id))?;
        machine::cancel(&mut state, None, now)?;
        write::save(tx, &state, now).await?;
        events::announce_ends(tx, &[&state.task], now, skipped).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use durable_domain::{QueueName, TaskSpec, task};
    use time::macros::datetime;

    use super::first_run_as_stated;

    fn spec(run_at: Option<time::OffsetDateTime>) -> TaskSpec {
        TaskSpec { run_at, ..TaskSpec::named("t") }
    }

    #[test]
    fn the_insert_statement_makes_the_domains_first_run() {
        let queue = QueueName::parse("queue", "q").unwrap();
        let now = datetime!(2026-12-01 10:00:00 UTC);
        for run_at in [None, Some(now + time::Duration::hours(1)), Some(now - time::Duration::hours(1))] {
            let mut state = task::create(queue.clone(), spec(run_at), now);
            assert!(first_run_as_stated(&state), "{state:?}");
            state.run.attempt = 2;
            assert!(!first_run_as_stated(&state));
        }
    }
}
