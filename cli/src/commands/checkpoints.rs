//! `durablectl checkpoints …`

use durable_client::{Checkpoint, PutCheckpoint};
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::CheckpointsCmd;
use crate::json_arg;
use crate::output::{self, details, table};

pub(super) async fn run(ctx: &Ctx, cmd: CheckpointsCmd) -> anyhow::Result<()> {
    match cmd {
        CheckpointsCmd::Get { task, step } => {
            let checkpoint = ctx.client.get_checkpoint(task, &step).await?;
            ctx.out.emit(&checkpoint_json(&checkpoint), || {
                details([
                    ("task", checkpoint.task_id.to_string()),
                    ("step", checkpoint.step_name.clone()),
                    ("updated", output::time(checkpoint.updated_at)),
                    ("state", output::json_full(&checkpoint.state)),
                ])
            })?;
        }
        CheckpointsCmd::List { task } => {
            let checkpoints = ctx.client.list_checkpoints(task).await?;
            let json = json!({
                "checkpoints": checkpoints.iter().map(checkpoint_json).collect::<Vec<_>>()
            });
            ctx.out.emit(&json, || {
                table(
                    &["STEP", "UPDATED", "STATE"],
                    checkpoints.iter().map(|c| {
                        vec![c.step_name.clone(), output::time(c.updated_at), output::json_short(&c.state, 60)]
                    }),
                )
            })?;
        }
        CheckpointsCmd::Set { task, step, state, run, extend } => {
            // Checked before anything is sent.
            let state = json_arg::parse("--state", &state)?;
            let mut body = PutCheckpoint::new(run, state);
            if let Some(seconds) = extend {
                body = body.extend_claim_by(seconds);
            }
            let written = ctx.client.put_checkpoint(task, &step, &body).await?;
            let json = json!({
                "task_id": written.task_id,
                "step_name": written.step_name,
                "updated_at": output::json_time(written.updated_at),
            });
            ctx.out.emit(&json, || {
                details([
                    ("task", written.task_id.to_string()),
                    ("step", written.step_name.clone()),
                    ("updated", output::time(written.updated_at)),
                ])
            })?;
        }
    }
    Ok(())
}

fn checkpoint_json(checkpoint: &Checkpoint) -> Value {
    json!({
        "task_id": checkpoint.task_id,
        "step_name": checkpoint.step_name,
        "state": checkpoint.state,
        "updated_at": output::json_time(checkpoint.updated_at),
    })
}
