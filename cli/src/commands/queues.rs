//! `durablectl queues …`

use std::io::IsTerminal;
use std::time::Duration;

use durable_client::{CreateQueue, Queue, QueueStats, UpdateQueue};
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::{OutputFormat, QueuesCmd};
use crate::output::{self, details, table};

/// How often `stats --watch` refreshes.
const WATCH_EVERY: Duration = Duration::from_secs(2);

pub(super) async fn run(ctx: &Ctx, cmd: QueuesCmd) -> anyhow::Result<()> {
    match cmd {
        QueuesCmd::Create { name, task_ttl, event_ttl, key_concurrency_limit, concurrency_limit } => {
            let mut body = CreateQueue::new(name);
            body.key_concurrency_limit = key_concurrency_limit;
            body.concurrency_limit = concurrency_limit;
            if let Some(ttl) = task_ttl {
                body = body.task_ttl_seconds(ttl);
            }
            if let Some(ttl) = event_ttl {
                body = body.event_ttl_seconds(ttl);
            }
            let queue = ctx.client.create_queue(&body).await?;
            ctx.out.emit(&queue_json(&queue), || queue_details(&queue))?;
        }
        QueuesCmd::Update { name, key_concurrency_limit, concurrency_limit, no_concurrency_limit } => {
            let cap = if no_concurrency_limit { Some(None) } else { concurrency_limit.map(Some) };
            let update = UpdateQueue { key_concurrency_limit, concurrency_limit: cap };
            let queue = ctx.client.update_queue(&name, &update).await?;
            ctx.out.emit(&queue_json(&queue), || queue_details(&queue))?;
        }
        QueuesCmd::List => {
            let queues = ctx.client.list_queues().await?;
            let json = json!({"queues": queues.iter().map(queue_json).collect::<Vec<_>>()});
            ctx.out.emit(&json, || {
                table(
                    &["NAME", "CREATED", "TASK TTL", "EVENT TTL", "KEY LIMIT", "CAP"],
                    queues.iter().map(|q| {
                        vec![
                            q.name.clone(),
                            output::time(q.created_at),
                            output::ttl(q.cleanup.task_ttl_seconds),
                            output::ttl(q.cleanup.event_ttl_seconds),
                            q.key_concurrency_limit.to_string(),
                            output::opt(q.concurrency_limit),
                        ]
                    }),
                )
            })?;
        }
        QueuesCmd::Delete { name, force } => {
            if force {
                ctx.client.force_delete_queue(&name).await?;
            } else {
                ctx.client.delete_queue(&name).await?;
            }
            ctx.out.emit(&json!({"name": name, "deleted": true}), || format!("deleted queue {name}"))?;
        }
        QueuesCmd::Stats { name, watch } => {
            if watch {
                watch_stats(ctx, &name).await?;
            } else {
                let stats = ctx.client.queue_stats(&name).await?;
                ctx.out.emit(&stats_json(&stats), || stats_table(&stats))?;
            }
        }
    }
    Ok(())
}

/// Prints the stats every [`WATCH_EVERY`] until Ctrl-C: redrawn in place on
/// a terminal, one snapshot after another (JSON: one object per line) otherwise.
async fn watch_stats(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let redraw = ctx.out.format() == OutputFormat::Table && std::io::stdout().is_terminal();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let stats = ctx.client.queue_stats(name).await?;
        if redraw {
            // Clear the screen and go home, then a `watch`-style header.
            output::raw("\x1b[2J\x1b[H")?;
            output::line(&format!(
                "Every {}s: queue {name}    {}    (Ctrl-C to stop)\n",
                WATCH_EVERY.as_secs(),
                output::time(time::OffsetDateTime::now_utc())
            ))?;
        }
        ctx.out.emit_line(&stats_json(&stats), || stats_table(&stats))?;
        tokio::select! {
            () = tokio::time::sleep(WATCH_EVERY) => {}
            _ = &mut ctrl_c => return Ok(()),
        }
    }
}

fn queue_details(queue: &Queue) -> String {
    details([
        ("name", queue.name.clone()),
        ("created", output::time(queue.created_at)),
        ("task ttl", output::ttl(queue.cleanup.task_ttl_seconds)),
        ("event ttl", output::ttl(queue.cleanup.event_ttl_seconds)),
        ("key limit", queue.key_concurrency_limit.to_string()),
        ("cap", queue.concurrency_limit.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())),
    ])
}

fn queue_json(queue: &Queue) -> Value {
    json!({
        "name": queue.name,
        "created_at": output::json_time(queue.created_at),
        "cleanup": {
            "task_ttl_seconds": queue.cleanup.task_ttl_seconds,
            "event_ttl_seconds": queue.cleanup.event_ttl_seconds,
        },
        "key_concurrency_limit": queue.key_concurrency_limit,
        "concurrency_limit": queue.concurrency_limit,
    })
}

fn stats_json(stats: &QueueStats) -> Value {
    let mut json = json!({
        "queue_name": stats.queue_name,
        "pending_runs": stats.pending_runs,
        "claimed_runs": stats.claimed_runs,
        "completed_runs": stats.completed_runs,
        "oldest_pending_run_age_seconds": stats.oldest_pending_run_age_seconds,
    });
    output::insert_some(&mut json, "sleeping_runs", stats.sleeping_runs.map(Value::from));
    output::insert_some(&mut json, "failed_runs", stats.failed_runs.map(Value::from));
    json
}

fn stats_table(stats: &QueueStats) -> String {
    table(
        &["QUEUE", "PENDING", "CLAIMED", "SLEEPING", "COMPLETED", "FAILED", "OLDEST PENDING"],
        [vec![
            stats.queue_name.clone(),
            stats.pending_runs.to_string(),
            stats.claimed_runs.to_string(),
            output::opt(stats.sleeping_runs),
            stats.completed_runs.to_string(),
            output::opt(stats.failed_runs),
            stats.oldest_pending_run_age_seconds.map_or_else(output::dash, output::seconds),
        ]],
    )
}
