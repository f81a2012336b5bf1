//! Workflow runs: a grouping of tasks, for tracking.

use durable_domain::command::{self, Page, WorkflowFilter};
use durable_domain::workflow::{WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{NotFound, Timestamp, WorkflowRunId};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::tx::in_transaction;
use crate::errors::Result;
use crate::json_text::JsonText;
use crate::rows::{self, task_columns, workflow_columns};

pub(crate) async fn create(pool: &PgPool, run: WorkflowRun) -> Result<WorkflowRun> {
    sqlx::query(
        "INSERT INTO workflow_runs (id, workflow_name, workflow_version, inputs, created_by, tags, status, result, \
             started_at, completed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(run.id.as_uuid())
    .bind(&run.workflow_name)
    .bind(&run.workflow_version)
    .bind(JsonText::of_opt(run.inputs.as_ref()))
    .bind(&run.created_by)
    .bind(rows::string_map(&run.tags))
    .bind(run.status.as_str())
    .bind(JsonText::of_opt(run.result.as_ref()))
    .bind(run.started_at)
    .bind(run.completed_at)
    .bind(run.created_at)
    .bind(run.updated_at)
    .execute(pool)
    .await?;
    Ok(run)
}

pub(crate) async fn update(
    pool: &PgPool,
    id: WorkflowRunId,
    patch: WorkflowPatch,
    now: Timestamp,
) -> Result<WorkflowRun> {
    in_transaction(pool, async |tx| {
        let row = sqlx::query(concat!("SELECT ", workflow_columns!(), " FROM workflow_runs WHERE id = $1 FOR UPDATE"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NotFound::WorkflowRun(id))?;
        let mut run = rows::workflow(&row)?;
        run.apply(patch, now);
        sqlx::query(
            "UPDATE workflow_runs SET status = $2, result = $3, started_at = $4, completed_at = $5, updated_at = $6 \
         WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(run.status.as_str())
        .bind(JsonText::of_opt(run.result.as_ref()))
        .bind(run.started_at)
        .bind(run.completed_at)
        .bind(run.updated_at)
        .execute(&mut *tx)
        .await?;
        Ok(run)
    })
    .await
}

pub(crate) async fn get(pool: &PgPool, id: WorkflowRunId) -> Result<WorkflowWithTasks> {
    let row = sqlx::query(concat!("SELECT ", workflow_columns!(), " FROM workflow_runs WHERE id = $1"))
        .bind(id.as_uuid())
        .fetch_optional(pool)
        .await?
        .ok_or(NotFound::WorkflowRun(id))?;
    let run = rows::workflow(&row)?;
    let tasks =
        sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE t.workflow_run_id = $1 ORDER BY t.id"))
            .bind(id.as_uuid())
            .fetch_all(pool)
            .await?;
    let tasks = tasks.iter().map(rows::task).collect::<Result<Vec<_>>>()?;
    Ok(WorkflowWithTasks { run, tasks })
}

pub(crate) async fn list(pool: &PgPool, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>> {
    let mut query =
        QueryBuilder::<Postgres>::new(concat!("SELECT ", workflow_columns!(), " FROM workflow_runs WHERE true"));
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(name) = &filter.workflow_name {
        query.push(" AND workflow_name = ").push_bind(name.as_str());
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND id < ").push_bind(cursor.as_uuid());
    }
    query.push(" ORDER BY id DESC LIMIT ").push_bind(command::fetch_limit(filter.limit));
    let rows = query.build().fetch_all(pool).await?;
    let runs = rows.iter().map(rows::workflow).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_fetched(runs, filter.limit, |w| w.id))
}
