//! `durablectl events …`

use durable_client::EmitEvent;
use serde_json::json;

use super::Ctx;
use crate::cli::EventsCmd;
use crate::json_arg;
use crate::output::{self, details};

pub(super) async fn run(ctx: &Ctx, cmd: EventsCmd) -> anyhow::Result<()> {
    match cmd {
        EventsCmd::Emit { name, payload } => {
            // Checked before anything is sent.
            let payload = json_arg::parse_opt("--payload", payload.as_deref())?;
            let event = ctx.client.emit_event(&EmitEvent::new(name, payload)).await?;
            let json = json!({
                "event_id": event.event_id,
                "event_name": event.event_name,
                "created_at": output::json_time(event.created_at),
            });
            ctx.out.emit(&json, || {
                details([
                    ("event", event.event_id.to_string()),
                    ("name", event.event_name.clone()),
                    ("created", output::time(event.created_at)),
                ])
            })?;
        }
    }
    Ok(())
}
