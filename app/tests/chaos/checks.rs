//! The end of every scenario: what the ledger says the clients were told,
//! held against what the API answers and what the database holds.

use std::collections::HashMap;
use std::time::Duration;

use durable_client::{Client, TaskStatus};
use durable_domain::task::CLAIM_EXPIRED;
use sqlx::{Connection, PgConnection, SqliteConnection};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::ledger::{Created, Snapshot};
use crate::load::Workload;
use crate::system::{QUEUE, Store};
use crate::worker::PLANNED_FAILURE;

/// One task as SQL sees it, with its runs counted.
#[derive(Clone, Debug)]
pub(crate) struct TaskRow {
    pub status: String,
    pub runs: i64,
    pub completed_runs: i64,
    pub planned_failures: i64,
    pub expired_runs: i64,
    pub completed_run: Option<Uuid>,
}

/// Per task: its status and its runs by outcome. Plain SQL that both
/// PostgreSQL and SQLite run (ids cast to text: uuid there, TEXT here).
fn rows_query() -> String {
    format!(
        "SELECT CAST(t.id AS TEXT), t.status, count(r.id), \
           sum(CASE WHEN r.status = 'completed' THEN 1 ELSE 0 END), \
           sum(CASE WHEN r.status = 'failed' AND r.error = '{PLANNED_FAILURE}' THEN 1 ELSE 0 END), \
           sum(CASE WHEN r.status = 'failed' AND r.error = '{CLAIM_EXPIRED}' THEN 1 ELSE 0 END), \
           max(CASE WHEN r.status = 'completed' THEN CAST(r.id AS TEXT) END) \
         FROM tasks t LEFT JOIN runs r ON r.task_id = t.id \
         WHERE t.queue = '{QUEUE}' GROUP BY t.id, t.status"
    )
}

type RawRow = (String, String, i64, i64, i64, i64, Option<String>);

pub(crate) async fn read_rows(store: Store, url: &str) -> Result<HashMap<Uuid, TaskRow>, String> {
    let query = rows_query();
    let raw: Vec<RawRow> = match store {
        Store::Postgres { .. } => {
            let mut conn = PgConnection::connect(url).await.map_err(|e| format!("connecting to {url}: {e}"))?;
            let rows = sqlx::query_as(&query).fetch_all(&mut conn).await;
            let _ = conn.close().await;
            rows
        }
        Store::Sqlite => {
            let mut conn = SqliteConnection::connect(url).await.map_err(|e| format!("opening {url}: {e}"))?;
            let rows = sqlx::query_as(&query).fetch_all(&mut conn).await;
            let _ = conn.close().await;
            rows
        }
    }
    .map_err(|e| format!("reading tasks and runs: {e}"))?;
    raw.into_iter()
        .map(|(id, status, runs, completed_runs, planned_failures, expired_runs, completed_run)| {
            let id = id.parse().map_err(|e| format!("task id {id}: {e}"))?;
            let completed_run = completed_run.map(|r| r.parse()).transpose().map_err(|e| format!("run id: {e}"))?;
            Ok((id, TaskRow { status, runs, completed_runs, planned_failures, expired_runs, completed_run }))
        })
        .collect()
}

/// How a task must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expected {
    completed: bool,
    planned_failures: u64,
}

fn expected(workload: Workload, created: &Created) -> Expected {
    match workload {
        Workload::Complete => Expected { completed: true, planned_failures: 0 },
        Workload::RetryStorm { max_attempts, .. } => {
            let max = u64::from(max_attempts);
            if created.fail_times < max {
                Expected { completed: true, planned_failures: created.fail_times }
            } else {
                Expected { completed: false, planned_failures: max }
            }
        }
    }
}

/// The status of every acknowledged task, through the API.
pub(crate) async fn api_statuses(client: &Client, tasks: Vec<Uuid>) -> HashMap<Uuid, Result<TaskStatus, String>> {
    let mut statuses = HashMap::new();
    for chunk in tasks.chunks(32) {
        let mut reads = JoinSet::new();
        for &task in chunk {
            let client = client.clone();
            reads.spawn(async move {
                let mut last = String::new();
                for _ in 0..5 {
                    match client.get_task(task).await {
                        Ok(found) => return (task, Ok(found.status)),
                        Err(e) if e.is_not_found() => return (task, Err("404 from GET /tasks/{id}".to_owned())),
                        Err(e) => last = e.to_string(),
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                (task, Err(last))
            });
        }
        while let Some(joined) = reads.join_next().await {
            if let Ok((task, status)) = joined {
                statuses.insert(task, status);
            }
        }
    }
    statuses
}

/// What was counted, and every broken promise found.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub acknowledged: usize,
    pub in_database: usize,
    pub lost: usize,
    pub double: usize,
    pub completions_acknowledged: usize,
    pub expired_runs: i64,
    pub violations: Vec<String>,
}

/// Holds the ledger against the API's and the database's view.
pub(crate) fn judge(
    workload: Workload,
    snapshot: &Snapshot,
    api: &HashMap<Uuid, Result<TaskStatus, String>>,
    rows: &HashMap<Uuid, TaskRow>,
) -> Verdict {
    let mut verdict = Verdict {
        acknowledged: snapshot.created.len(),
        in_database: rows.len(),
        completions_acknowledged: snapshot.completions.len(),
        expired_runs: rows.values().map(|r| r.expired_runs).sum(),
        ..Verdict::default()
    };
    let mut completion_acks: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for ack in &snapshot.completions {
        completion_acks.entry(ack.task).or_default().push(ack.run);
    }
    let mut failure_acks: HashMap<(Uuid, u32), usize> = HashMap::new();
    for ack in &snapshot.failures {
        *failure_acks.entry((ack.task, ack.attempt)).or_default() += 1;
    }

    for (task, created) in &snapshot.created {
        let want = expected(workload, created);
        let want_status = if want.completed { TaskStatus::Completed } else { TaskStatus::Failed };
        let Some(row) = rows.get(task) else {
            verdict.lost += 1;
            verdict
                .violations
                .push(format!("task {task} ({}) was acknowledged but is not in the database", created.key));
            continue;
        };
        let api_status = api.get(task).cloned().unwrap_or_else(|| Err("not read".to_owned()));
        let mut lost = false;
        if api_status.as_ref().ok() != Some(&want_status) {
            lost = true;
            verdict.violations.push(format!("task {task}: the API says {api_status:?}, expected {want_status:?}"));
        }
        if row.status != want_status.as_str() {
            lost = true;
            verdict.violations.push(format!(
                "task {task}: SQL status {}, expected {}",
                row.status,
                want_status.as_str()
            ));
        }
        let want_completed = i64::from(want.completed);
        if row.completed_runs != want_completed || row.planned_failures != want.planned_failures as i64 {
            lost |= row.completed_runs < want_completed;
            verdict.violations.push(format!(
                "task {task}: SQL has {} completed and {} planned-failed runs (of {}), expected {want_completed} and {}",
                row.completed_runs, row.planned_failures, row.runs, want.planned_failures
            ));
        }
        verdict.lost += usize::from(lost);
    }

    for (task, runs) in &completion_acks {
        if runs.len() > 1 {
            verdict.double += 1;
            verdict
                .violations
                .push(format!("task {task}: completion acknowledged {} times (runs {runs:?})", runs.len()));
        }
        match rows.get(task).and_then(|r| r.completed_run) {
            Some(completed) if runs.iter().all(|r| *r == completed) => {}
            held => verdict.violations.push(format!(
                "task {task}: a worker was told run(s) {runs:?} completed, the database holds {held:?} as completed"
            )),
        }
    }
    for ((task, attempt), times) in failure_acks {
        if times > 1 {
            verdict.double += 1;
            verdict
                .violations
                .push(format!("task {task}: the failure of attempt {attempt} was acknowledged {times} times"));
        }
    }
    for (task, row) in rows {
        if row.completed_runs > 1 {
            verdict.double += 1;
            verdict.violations.push(format!("task {task}: {} completed runs in the database", row.completed_runs));
        }
    }
    let internal = snapshot.errors_of("500");
    if internal > 0 {
        verdict.violations.push(format!("{internal} answers were 500 INTERNAL_ERROR: {:?}", snapshot.errors));
    }
    let undecodable = snapshot.errors_of("decode");
    if undecodable > 0 {
        verdict.violations.push(format!("{undecodable} success answers did not decode as the API promises"));
    }
    verdict.violations.extend(snapshot.anomalies.iter().cloned());
    verdict
}
