//! `durablectl workflows …`

use durable_client::{CreateWorkflowRun, ListWorkflowRuns, UpdateWorkflowRun, WorkflowRun};
use futures::TryStreamExt;
use serde_json::{Value, json};

use super::Ctx;
use super::tasks::{summaries_json, summaries_table};
use crate::cli::WorkflowsCmd;
use crate::json_arg;
use crate::output::{self, details, table};

pub(super) async fn run(ctx: &Ctx, cmd: WorkflowsCmd) -> anyhow::Result<()> {
    match cmd {
        WorkflowsCmd::Create { name, version, inputs, tag, created_by } => {
            // Checked before anything is sent.
            let inputs = json_arg::parse_opt("--inputs", inputs.as_deref())?;
            let mut body = CreateWorkflowRun::new(name);
            body.workflow_version = version;
            body.inputs = inputs;
            body.created_by = created_by;
            for (key, value) in tag {
                body = body.tag(key, value);
            }
            let created = ctx.client.create_workflow_run(&body).await?;
            let json = json!({
                "workflow_run_id": created.workflow_run_id,
                "workflow_name": created.workflow_name,
                "status": created.status.as_str(),
                "created_at": output::json_time(created.created_at),
            });
            ctx.out.emit(&json, || {
                details([
                    ("workflow run", created.workflow_run_id.to_string()),
                    ("name", created.workflow_name.clone()),
                    ("status", created.status.as_str().to_owned()),
                    ("created", output::time(created.created_at)),
                ])
            })?;
        }
        WorkflowsCmd::Get { id } => {
            let run = ctx.client.get_workflow_run(id).await?;
            let mut json = workflow_json(&run);
            if let Value::Object(map) = &mut json {
                map.insert("tasks".to_owned(), summaries_json(&run.tasks));
            }
            ctx.out.emit(&json, || {
                let mut text = workflow_details(&run);
                text.push_str("\n\nTasks:\n");
                text.push_str(&summaries_table(&run.tasks));
                text
            })?;
        }
        WorkflowsCmd::List { status, name, page } => {
            let filter = ListWorkflowRuns {
                status: status.map(Into::into),
                workflow_name: name,
                cursor: page.cursor.clone(),
                limit: page.limit,
            };
            let (runs, next_cursor) = if page.all {
                let runs: Vec<WorkflowRun> = ctx.client.list_all_workflow_runs(filter).try_collect().await?;
                (runs, None)
            } else {
                let page = ctx.client.list_workflow_runs(&filter).await?;
                (page.workflow_runs, page.next_cursor)
            };
            let mut json = json!({
                "workflow_runs": runs.iter().map(workflow_json).collect::<Vec<_>>()
            });
            output::insert_some(&mut json, "next_cursor", next_cursor.clone().map(Value::from));
            ctx.out.emit(&json, || {
                let mut text = table(
                    &["ID", "NAME", "VERSION", "STATUS", "CREATED", "UPDATED"],
                    runs.iter().map(|r| {
                        vec![
                            r.workflow_run_id.to_string(),
                            r.workflow_name.clone(),
                            output::opt(r.workflow_version.as_deref()),
                            r.status.as_str().to_owned(),
                            output::time(r.created_at),
                            output::opt_time(r.updated_at),
                        ]
                    }),
                );
                if let Some(cursor) = &next_cursor {
                    text.push_str(&format!("\n\nMore: --cursor {cursor} (or --all)"));
                }
                text
            })?;
        }
        WorkflowsCmd::Update { id, status, result, started_at, completed_at } => {
            // Checked before anything is sent.
            let result = json_arg::parse_opt("--result", result.as_deref())?;
            let body = UpdateWorkflowRun { status: status.map(Into::into), result, started_at, completed_at };
            let updated = ctx.client.update_workflow_run(id, &body).await?;
            let json = json!({
                "workflow_run_id": updated.workflow_run_id,
                "status": updated.status.as_str(),
                "updated_at": output::json_time(updated.updated_at),
            });
            ctx.out.emit(&json, || {
                details([
                    ("workflow run", updated.workflow_run_id.to_string()),
                    ("status", updated.status.as_str().to_owned()),
                    ("updated", output::time(updated.updated_at)),
                ])
            })?;
        }
    }
    Ok(())
}

fn workflow_json(run: &WorkflowRun) -> Value {
    json!({
        "workflow_run_id": run.workflow_run_id,
        "workflow_name": run.workflow_name,
        "workflow_version": run.workflow_version,
        "inputs": run.inputs,
        "created_by": run.created_by,
        "tags": run.tags,
        "status": run.status.as_str(),
        "result": run.result,
        "started_at": output::json_opt_time(run.started_at),
        "completed_at": output::json_opt_time(run.completed_at),
        "created_at": output::json_time(run.created_at),
        "updated_at": output::json_opt_time(run.updated_at),
    })
}

fn workflow_details(run: &WorkflowRun) -> String {
    let tags = if run.tags.is_empty() {
        output::dash()
    } else {
        run.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    details([
        ("id", run.workflow_run_id.to_string()),
        ("name", run.workflow_name.clone()),
        ("version", output::opt(run.workflow_version.as_deref())),
        ("status", run.status.as_str().to_owned()),
        ("created by", output::opt(run.created_by.as_deref())),
        ("tags", tags),
        ("created", output::time(run.created_at)),
        ("started", output::opt_time(run.started_at)),
        ("completed", output::opt_time(run.completed_at)),
        ("updated", output::opt_time(run.updated_at)),
        ("inputs", run.inputs.as_ref().map_or_else(output::dash, output::json_full)),
        ("result", run.result.as_ref().map_or_else(output::dash, output::json_full)),
    ])
}
