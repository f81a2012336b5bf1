//! `durablectl runs …`

use durable_client::{ListRuns, RunSummary};
use futures::TryStreamExt;
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::RunsCmd;
use crate::json_arg;
use crate::output::{self, details, table};

pub(super) async fn run(ctx: &Ctx, cmd: RunsCmd) -> anyhow::Result<()> {
    match cmd {
        RunsCmd::List { task, status, page } => {
            let filter = ListRuns {
                task_id: task,
                status: status.map(Into::into),
                cursor: page.cursor.clone(),
                limit: page.limit,
            };
            let (runs, next_cursor) = if page.all {
                let runs: Vec<RunSummary> = ctx.client.list_all_runs(filter).try_collect().await?;
                (runs, None)
            } else {
                let page = ctx.client.list_runs(&filter).await?;
                (page.runs, page.next_cursor)
            };
            let mut json = json!({"runs": runs.iter().map(run_json).collect::<Vec<_>>()});
            output::insert_some(&mut json, "next_cursor", next_cursor.clone().map(Value::from));
            ctx.out.emit(&json, || {
                let mut text = runs_table(&runs);
                if let Some(cursor) = &next_cursor {
                    text.push_str(&format!("\n\nMore: --cursor {cursor} (or --all)"));
                }
                text
            })?;
        }
        RunsCmd::Complete { id, result } => {
            // Checked before anything is sent.
            let result = json_arg::parse_opt("--result", result.as_deref())?;
            let done = ctx.client.complete_run(id, result.as_ref()).await?;
            let json = json!({"run_id": done.run_id, "status": done.status.as_str()});
            ctx.out.emit(&json, || {
                details([("run", done.run_id.to_string()), ("status", done.status.as_str().to_owned())])
            })?;
        }
        RunsCmd::Fail { id, error } => {
            let failed = ctx.client.fail_run(id, &error).await?;
            let mut json = json!({
                "run_id": failed.run_id,
                "status": failed.status.as_str(),
                "attempt": failed.attempt,
            });
            output::insert_some(&mut json, "next_run_id", failed.next_run_id.map(|id| json!(id)));
            output::insert_some(&mut json, "next_attempt_at", failed.next_attempt_at.map(output::json_time));
            ctx.out.emit(&json, || {
                details([
                    ("run", failed.run_id.to_string()),
                    ("status", failed.status.as_str().to_owned()),
                    ("attempt", failed.attempt.to_string()),
                    (
                        "next run",
                        failed.next_run_id.map_or_else(|| "none (the task failed)".to_owned(), |id| id.to_string()),
                    ),
                    ("next attempt at", output::opt_time(failed.next_attempt_at)),
                ])
            })?;
        }
        RunsCmd::Schedule { id, at } => {
            let scheduled = ctx.client.schedule_run(id, at).await?;
            let json = json!({
                "run_id": scheduled.run_id,
                "scheduled_at": output::json_time(scheduled.scheduled_at),
            });
            ctx.out.emit(&json, || {
                details([("run", scheduled.run_id.to_string()), ("scheduled at", output::time(scheduled.scheduled_at))])
            })?;
        }
        RunsCmd::Heartbeat { id, extend } => {
            let beat = ctx.client.heartbeat(id, extend).await?;
            let json = json!({
                "run_id": beat.run_id,
                "claim_expires_at": output::json_time(beat.claim_expires_at),
            });
            ctx.out.emit(&json, || {
                details([("run", beat.run_id.to_string()), ("claim expires", output::time(beat.claim_expires_at))])
            })?;
        }
    }
    Ok(())
}

fn run_json(run: &RunSummary) -> Value {
    let mut json = json!({
        "id": run.id,
        "task_id": run.task_id,
        "attempt": run.attempt,
        "status": run.status.as_str(),
        "created_at": output::json_time(run.created_at),
    });
    output::insert_some(&mut json, "error", run.error.clone().map(Value::from));
    output::insert_some(&mut json, "completed_at", run.completed_at.map(output::json_time));
    json
}

fn runs_table(runs: &[RunSummary]) -> String {
    table(
        &["ID", "TASK ID", "ATTEMPT", "STATUS", "CREATED", "COMPLETED", "ERROR"],
        runs.iter().map(|r| {
            vec![
                r.id.to_string(),
                r.task_id.to_string(),
                r.attempt.to_string(),
                r.status.as_str().to_owned(),
                output::time(r.created_at),
                output::opt_time(r.completed_at),
                output::opt(r.error.as_deref()),
            ]
        }),
    )
}
