//! Workflow runs: create, patch, get with its tasks, list.

use durable_domain::command::{self, Page, WorkflowFilter};
use durable_domain::workflow::{WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{NotFound, Timestamp, WorkflowRunId};
use durable_ports::StoreError;
use sqlx::{QueryBuilder, Sqlite};

use crate::db::Db;
use crate::errors;
use crate::rows;

pub(super) async fn create(db: &Db, run: WorkflowRun) -> Result<WorkflowRun, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            rows::workflows::insert(tx, &run).await?;
            Ok(run)
        })
    })
    .await
}

pub(super) async fn update(
    db: &Db,
    id: WorkflowRunId,
    patch: WorkflowPatch,
    now: Timestamp,
) -> Result<WorkflowRun, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let mut run = rows::workflows::get(tx, id).await?.ok_or(NotFound::WorkflowRun(id))?;
            run.apply(patch, now);
            rows::workflows::update(tx, &run).await?;
            Ok(run)
        })
    })
    .await
}

pub(super) async fn get(db: &Db, id: WorkflowRunId) -> Result<WorkflowWithTasks, StoreError> {
    let mut tx = db.begin_read().await?;
    let run = rows::workflows::get(&mut tx, id).await?.ok_or(NotFound::WorkflowRun(id))?;
    let tasks =
        sqlx::query(&format!("SELECT {} FROM tasks t WHERE t.workflow_run_id = ? ORDER BY t.id", rows::tasks::COLUMNS))
            .bind(id.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(errors::map_sql)?;
    let tasks = tasks.iter().map(rows::tasks::decode).collect::<Result<Vec<_>, _>>()?;
    Ok(WorkflowWithTasks { run, tasks })
}

pub(super) async fn list(db: &Db, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>, StoreError> {
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT {} FROM workflow_runs WHERE 1 = 1", rows::workflows::COLUMNS));
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(name) = &filter.workflow_name {
        query.push(" AND workflow_name = ").push_bind(name.clone());
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND id < ").push_bind(cursor.to_string());
    }
    query.push(" ORDER BY id DESC LIMIT ").push_bind(command::fetch_limit(filter.limit));
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    let rows = query.build().fetch_all(&mut *conn).await.map_err(errors::map_sql)?;
    let runs = rows.iter().map(rows::workflows::decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_fetched(runs, filter.limit, |w| w.id))
}
