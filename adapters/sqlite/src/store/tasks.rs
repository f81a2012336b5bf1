//! Tasks: create (with idempotency), get, list, cancel.

use durable_domain::command::{self, Page, TaskFilter};
use durable_domain::{NotFound, QueueName, Task, TaskId, TaskSpec, Timestamp, machine, task, wake};
use durable_ports::StoreError;
use durable_ports::store::{CreatedTask, CreatedTasks, RetriedTask};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::events;
use crate::db::Db;
use crate::errors;
use crate::rows::{self, Cols};

pub(super) async fn create(
    db: &Db,
    queue: &QueueName,
    specs: Vec<TaskSpec>,
    now: Timestamp,
) -> Result<CreatedTasks, StoreError> {
    let queue = queue.clone();
    db.write(move |tx| Box::pin(async move { create_in(tx, &queue, specs, now).await })).await
}

/// Creates tasks with their first runs inside the caller's transaction: the
/// body of [`create`], and what a schedule's tick does.
pub(super) async fn create_in(
    tx: &mut SqliteConnection,
    queue: &QueueName,
    specs: Vec<TaskSpec>,
    now: Timestamp,
) -> Result<CreatedTasks, StoreError> {
    rows::queues::get(tx, queue).await?;
    for spec in &specs {
        if let Some(wf) = spec.workflow_run_id
            && !rows::workflows::exists(tx, wf).await?
        {
            return Err(NotFound::WorkflowRun(wf).into());
        }
        if let Some(parent) = spec.parent_task_id
            && !rows::tasks::exists(tx, parent).await?
        {
            return Err(NotFound::Task(parent).into());
        }
    }
    let mut created = Vec::with_capacity(specs.len());
    let mut new_runs = Vec::with_capacity(specs.len());
    for spec in specs {
        if let Some(key) = &spec.idempotency_key
            && let Some(existing) = by_idempotency_key(tx, queue, key).await?
        {
            created.push(existing);
            continue;
        }
        let new = task::create(queue.clone(), spec, now);
        rows::tasks::insert(tx, &new.task).await?;
        rows::runs::insert(tx, &new.run, now).await?;
        created.push(CreatedTask {
            task_id: new.task.id,
            run_id: new.run.id,
            workflow_run_id: new.task.spec.workflow_run_id,
            deduplicated: false,
        });
        new_runs.push(new.run);
    }
    Ok(CreatedTasks { tasks: created, wake: wake::queues_to_wake(&new_runs, now) })
}

/// The task already holding this key in the queue (inserted earlier in the
/// same transaction included), as a deduplicated answer.
async fn by_idempotency_key(
    conn: &mut SqliteConnection,
    queue: &QueueName,
    key: &str,
) -> Result<Option<CreatedTask>, StoreError> {
    let row = sqlx::query(
        "SELECT id, current_run, workflow_run_id FROM tasks \
         WHERE queue = ? AND idempotency_key = ? AND idempotency_key IS NOT NULL",
    )
    .bind(queue.as_str())
    .bind(key)
    .fetch_optional(conn)
    .await
    .map_err(errors::map_sql)?;
    let Some(row) = row else { return Ok(None) };
    let c = Cols(&row);
    Ok(Some(CreatedTask {
        task_id: c.parse("id")?,
        run_id: c.parse("current_run")?,
        workflow_run_id: c.opt_parse("workflow_run_id")?,
        deduplicated: true,
    }))
}

pub(super) async fn get(db: &Db, id: TaskId) -> Result<Task, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    find(&mut conn, id).await?.ok_or_else(|| NotFound::Task(id).into())
}

/// The task, if it exists.
pub(super) async fn find(conn: &mut SqliteConnection, id: TaskId) -> Result<Option<Task>, StoreError> {
    let row = sqlx::query(&format!("SELECT {} FROM tasks t WHERE t.id = ?", rows::tasks::COLUMNS))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(errors::map_sql)?;
    row.as_ref().map(rows::tasks::decode).transpose()
}

/// `NotFound` unless the task exists.
pub(super) async fn ensure_exists(conn: &mut SqliteConnection, id: TaskId) -> Result<(), StoreError> {
    let found: i64 = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ?)")
        .bind(id.to_string())
        .fetch_one(conn)
        .await
        .map_err(errors::map_sql)?;
    if found == 0 { Err(NotFound::Task(id).into()) } else { Ok(()) }
}

pub(super) async fn list(db: &Db, filter: &TaskFilter) -> Result<Page<Task, TaskId>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {} FROM tasks t WHERE 1 = 1", rows::tasks::COLUMNS));
    if let Some(queue) = &filter.queue_name {
        query.push(" AND t.queue = ").push_bind(queue.clone());
    }
    if let Some(status) = filter.status {
        // Literal, so SQLite can use the partial index of failed and
        // canceled tasks (`tasks_unsuccessful`); a domain name, never input.
        query.push(format_args!(" AND t.status = '{}'", status.as_str()));
    }
    if let Some(name) = &filter.task_name {
        query.push(" AND t.task_name = ").push_bind(name.clone());
    }
    if let Some(parent) = filter.parent_task_id {
        query.push(" AND t.parent_task_id = ").push_bind(parent.to_string());
    }
    if let Some(after) = filter.created_after {
        query.push(" AND t.created_at >= ").push_bind(rows::micros(after));
    }
    if let Some(before) = filter.created_before {
        query.push(" AND t.created_at < ").push_bind(rows::micros(before));
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND t.id < ").push_bind(cursor.to_string());
    }
    // Ids are UUID v7 in text form: their order is creation order.
    query.push(" ORDER BY t.id DESC LIMIT ").push_bind(command::fetch_limit(filter.limit));
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    let rows = query.build().fetch_all(&mut *conn).await.map_err(errors::map_sql)?;
    let tasks = rows.iter().map(rows::tasks::decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_fetched(tasks, filter.limit, |t| t.id))
}

/// Marks the result watched and answers the task after the mark (the
/// single writer orders it against the transaction that ends the task).
pub(super) async fn watch_result(db: &Db, id: TaskId) -> Result<Task, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let marked = sqlx::query("UPDATE tasks SET result_watched = 1 WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(errors::map_sql)?
                .rows_affected();
            if marked == 0 {
                return Err(NotFound::Task(id).into());
            }
            Ok(rows::state::by_task(tx, id).await?.ok_or(NotFound::Task(id))?.task)
        })
    })
    .await
}

/// Answers the queues to wake (parents waiting for the task).
pub(super) async fn retry(db: &Db, id: TaskId, now: Timestamp) -> Result<RetriedTask, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = rows::state::by_task(tx, id).await?.ok_or(NotFound::Task(id))?;
            let run = machine::retry(&mut state, now)?;
            rows::state::save(tx, &state, now).await?;
            rows::runs::insert(tx, &run, now).await?;
            Ok(RetriedTask {
                task_id: id,
                run_id: run.id,
                attempt: run.attempt,
                wake: wake::queues_to_wake([&run], now),
            })
        })
    })
    .await
}

pub(super) async fn cancel(db: &Db, id: TaskId, now: Timestamp) -> Result<Vec<QueueName>, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = rows::state::by_task(tx, id).await?.ok_or(NotFound::Task(id))?;
            machine::cancel(&mut state, None, now)?;
            rows::state::save(tx, &state, now).await?;
            events::announce_ends(tx, &[&state.task], now).await
        })
    })
    .await
}
