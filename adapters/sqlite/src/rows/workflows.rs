//! The `workflow_runs` table.

use durable_domain::WorkflowRunId;
use durable_domain::workflow::{WorkflowRun, WorkflowStatus};
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{Cols, micros, opt_json, opt_micros};
use crate::errors::{self, corrupt};

pub(crate) const COLUMNS: &str = "id, workflow_name, workflow_version, inputs, created_by, tags, status, result, \
    started_at, completed_at, created_at, updated_at";

pub(crate) fn decode(row: &SqliteRow) -> Result<WorkflowRun, StoreError> {
    let c = Cols(row);
    Ok(WorkflowRun {
        id: c.parse("id")?,
        workflow_name: c.text("workflow_name")?,
        workflow_version: c.opt_text("workflow_version")?,
        inputs: c.opt_json("inputs")?,
        created_by: c.opt_text("created_by")?,
        tags: serde_json::from_value(c.json("tags")?).map_err(|e| corrupt("tags", e))?,
        status: c.named("status", WorkflowStatus::parse)?,
        result: c.opt_json("result")?,
        started_at: c.opt_time("started_at")?,
        completed_at: c.opt_time("completed_at")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
    })
}

pub(crate) async fn insert(conn: &mut SqliteConnection, run: &WorkflowRun) -> Result<(), StoreError> {
    let tags = serde_json::to_string(&run.tags).map_err(|e| StoreError::Other(e.to_string()))?;
    sqlx::query(&format!("INSERT INTO workflow_runs ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(run.id.to_string())
        .bind(&run.workflow_name)
        .bind(run.workflow_version.as_deref())
        .bind(opt_json(run.inputs.as_ref()))
        .bind(run.created_by.as_deref())
        .bind(tags)
        .bind(run.status.as_str())
        .bind(opt_json(run.result.as_ref()))
        .bind(opt_micros(run.started_at))
        .bind(opt_micros(run.completed_at))
        .bind(micros(run.created_at))
        .bind(micros(run.updated_at))
        .execute(conn)
        .await
        .map_err(errors::map_sql)?;
    Ok(())
}

/// Writes back what a patch may change.
pub(crate) async fn update(conn: &mut SqliteConnection, run: &WorkflowRun) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE workflow_runs SET status = ?, result = ?, started_at = ?, completed_at = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(run.status.as_str())
    .bind(opt_json(run.result.as_ref()))
    .bind(opt_micros(run.started_at))
    .bind(opt_micros(run.completed_at))
    .bind(micros(run.updated_at))
    .bind(run.id.to_string())
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

pub(crate) async fn get(conn: &mut SqliteConnection, id: WorkflowRunId) -> Result<Option<WorkflowRun>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM workflow_runs WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(errors::map_sql)?;
    row.as_ref().map(decode).transpose()
}

pub(crate) async fn exists(conn: &mut SqliteConnection, id: WorkflowRunId) -> Result<bool, StoreError> {
    sqlx::query_scalar::<_, i64>("SELECT EXISTS (SELECT 1 FROM workflow_runs WHERE id = ?)")
        .bind(id.to_string())
        .fetch_one(conn)
        .await
        .map(|found| found != 0)
        .map_err(errors::map_sql)
}
