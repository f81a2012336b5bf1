//! `durablectl tasks …`

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::bail;
use durable_client::{
    ClaimRequest, ClaimedTask, CreateTask, ListRuns, ListTasks, RetryKind, RetryStrategy, Task, TaskCreated,
    TaskStatus, TaskSummary,
};
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Ctx;
use crate::cli::{PageArgs, TaskCreateArgs, TasksCmd};
use crate::json_arg;
use crate::output::{self, details, table};

pub(super) async fn run(ctx: &Ctx, cmd: TasksCmd) -> anyhow::Result<()> {
    match cmd {
        TasksCmd::Create(args) => create(ctx, args).await,
        TasksCmd::Claim { queue, limit, timeout, poll, worker_id } => {
            let mut request = ClaimRequest::new(limit, timeout);
            if let Some(poll) = poll {
                request = request.long_poll_seconds(poll);
            }
            if let Some(worker_id) = worker_id {
                request = request.worker_id(worker_id);
            }
            let claimed = ctx.client.claim(&queue, &request).await?;
            let json = json!({"tasks": claimed.iter().map(claimed_json).collect::<Vec<_>>()});
            ctx.out.emit(&json, || claimed_table(&claimed))?;
            Ok(())
        }
        TasksCmd::List { queue, status, name, created_after, created_before, page } => {
            let filter = ListTasks {
                queue_name: queue,
                status: status.map(Into::into),
                task_name: name,
                created_after,
                created_before,
                cursor: page.cursor.clone(),
                limit: page.limit,
            };
            list(ctx, filter, &page).await
        }
        TasksCmd::Get { id } => {
            let task = ctx.client.get_task(id).await?;
            ctx.out.emit(&task_json(&task), || task_details(&task))?;
            Ok(())
        }
        TasksCmd::Cancel { id } => {
            let canceled = ctx.client.cancel_task(id).await?;
            let json = json!({"task_id": canceled.task_id, "status": canceled.status.as_str()});
            ctx.out.emit(&json, || {
                details([("task", canceled.task_id.to_string()), ("status", canceled.status.as_str().to_owned())])
            })?;
            Ok(())
        }
        TasksCmd::Retry { id } => {
            let retried = ctx.client.retry_task(id).await?;
            let json = json!({
                "task_id": retried.task_id,
                "run_id": retried.run_id,
                "attempt": retried.attempt,
                "status": retried.status.as_str(),
            });
            ctx.out.emit(&json, || {
                details([
                    ("task", retried.task_id.to_string()),
                    ("run", retried.run_id.to_string()),
                    ("attempt", retried.attempt.to_string()),
                    ("status", retried.status.as_str().to_owned()),
                ])
            })?;
            Ok(())
        }
        TasksCmd::Wait { id, timeout, interval_ms } => {
            let timeout = timeout.map(Duration::from_secs_f64);
            wait(ctx, id, timeout, Duration::from_millis(interval_ms)).await
        }
    }
}

async fn create(ctx: &Ctx, args: TaskCreateArgs) -> anyhow::Result<()> {
    // Checked before anything is sent.
    let params = json_arg::parse_opt("--params", args.params.as_deref())?;
    let mut body = CreateTask::new(args.name);
    body.params = params;
    for (key, value) in args.headers {
        body = body.header(key, value);
    }
    body.max_attempts = args.max_attempts;
    let kind = args.retry_strategy.map(RetryKind::from).or_else(|| args.retry_delay.map(|_| RetryKind::Fixed));
    if let Some(kind) = kind {
        let base = args.retry_delay.unwrap_or(1.0);
        body = body.retry_strategy(match kind {
            RetryKind::Fixed => RetryStrategy { max_seconds: args.retry_max_delay, ..RetryStrategy::fixed(base) },
            RetryKind::Exponential => RetryStrategy::exponential(base, args.retry_factor, args.retry_max_delay),
        });
    }
    body.run_at = args.run_at;
    body.idempotency_key = args.idempotency_key;
    body.priority = args.priority;
    body.concurrency_key = args.concurrency_key;
    body.start_timeout = args.start_timeout;
    body.execution_timeout = args.execution_timeout;
    body.workflow_run_id = args.workflow;
    let created = ctx.client.create_task(&args.queue, &body).await?;
    ctx.out.emit(&created_json(&created), || created_details(&created))?;
    Ok(())
}

async fn list(ctx: &Ctx, filter: ListTasks, page: &PageArgs) -> anyhow::Result<()> {
    let (tasks, next_cursor) = if page.all {
        let tasks: Vec<TaskSummary> = ctx.client.list_all_tasks(filter).try_collect().await?;
        (tasks, None)
    } else {
        let page = ctx.client.list_tasks(&filter).await?;
        (page.tasks, page.next_cursor)
    };
    let mut json = json!({"tasks": tasks.iter().map(summary_json).collect::<Vec<_>>()});
    output::insert_some(&mut json, "next_cursor", next_cursor.clone().map(Value::from));
    ctx.out.emit(&json, || {
        let mut text = summaries_table(&tasks);
        if let Some(cursor) = &next_cursor {
            text.push_str(&format!("\n\nMore: --cursor {cursor} (or --all)"));
        }
        text
    })?;
    Ok(())
}

/// Polls the task until it finishes; a spinner on stderr shows its state
/// when stderr is a terminal. Completed → Ok; failed, canceled or out of
/// time → an error (exit 1), after printing the task.
async fn wait(ctx: &Ctx, id: Uuid, timeout: Option<Duration>, interval: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_message(format!("task {id}: waiting"));
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    let finish = |spinner: &Option<ProgressBar>| {
        if let Some(spinner) = spinner {
            spinner.finish_and_clear();
        }
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let task = loop {
        let task = match ctx.client.get_task(id).await {
            Ok(task) => task,
            Err(error) => {
                finish(&spinner);
                return Err(error.into());
            }
        };
        if task.status != TaskStatus::Pending {
            break task;
        }
        if let Some(spinner) = &spinner {
            spinner.set_message(format!("task {id}: {}", pending_state(ctx, &task).await));
        }
        let left = match timeout {
            Some(timeout) => match timeout.checked_sub(started.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => {
                    finish(&spinner);
                    bail!(
                        "timed out after {} waiting for task {id} (still {})",
                        output::seconds(timeout.as_secs_f64()),
                        task.status.as_str()
                    );
                }
            },
            None => interval,
        };
        tokio::select! {
            () = until_it_may_have_ended(ctx, id, left, interval) => {}
            _ = &mut ctrl_c => {
                finish(&spinner);
                bail!("interrupted while waiting for task {id}");
            }
        }
    };
    finish(&spinner);
    ctx.out.emit(&task_json(&task), || task_details(&task))?;
    match task.status {
        TaskStatus::Completed => Ok(()),
        status => match &task.last_error {
            Some(error) => bail!("task {id} {}: {error}", status.as_str()),
            None => bail!("task {id} {}", status.as_str()),
        },
    }
}

/// Returns once the task may have ended: a long poll of its result **(ext)**
/// (answered as soon as the task ends) of up to ten seconds, so the spinner
/// stays current; a plain pause of `interval` when less than a second is
/// left or the server has no such endpoint.
async fn until_it_may_have_ended(ctx: &Ctx, id: Uuid, left: Duration, interval: Duration) {
    let poll = left.min(Duration::from_secs(10)).as_secs();
    if poll == 0 || ctx.client.task_result(id, poll).await.is_err() {
        tokio::time::sleep(interval.min(left)).await;
    }
}

/// What a pending task is doing, from its newest run: `run 2 claimed`.
async fn pending_state(ctx: &Ctx, task: &Task) -> String {
    let newest = ListRuns::default().task(task.id).limit(1);
    match ctx.client.list_runs(&newest).await {
        Ok(page) => match page.runs.first() {
            Some(run) => format!("pending, run {} {}", run.attempt, run.status.as_str()),
            None => "pending".to_owned(),
        },
        Err(_) => "pending".to_owned(),
    }
}

fn created_json(created: &TaskCreated) -> Value {
    let mut json = json!({"task_id": created.task_id, "run_id": created.run_id});
    output::insert_some(&mut json, "workflow_run_id", created.workflow_run_id.map(|id| json!(id)));
    output::insert_some(&mut json, "deduplicated", created.deduplicated.then_some(Value::Bool(true)));
    json
}

fn created_details(created: &TaskCreated) -> String {
    let mut fields = vec![("task", created.task_id.to_string()), ("run", created.run_id.to_string())];
    if let Some(workflow) = created.workflow_run_id {
        fields.push(("workflow run", workflow.to_string()));
    }
    if created.deduplicated {
        fields.push(("deduplicated", "yes (a task with this key exists)".to_owned()));
    }
    details(fields)
}

fn claimed_json(task: &ClaimedTask) -> Value {
    let mut json = json!({
        "run_id": task.run_id,
        "task_id": task.task_id,
        "attempt": task.attempt,
        "task_name": task.task_name,
        "params": task.params,
        "headers": task.headers,
        "retry_strategy": task.retry_strategy,
        "max_attempts": task.max_attempts,
        "workflow_run_id": task.workflow_run_id,
    });
    output::insert_some(&mut json, "queue_name", task.queue_name.clone().map(Value::from));
    output::insert_some(&mut json, "claim_expires_at", task.claim_expires_at.map(output::json_time));
    json
}

fn claimed_table(claimed: &[ClaimedTask]) -> String {
    table(
        &["RUN ID", "TASK ID", "NAME", "ATTEMPT", "CLAIM EXPIRES", "PARAMS"],
        claimed.iter().map(|t| {
            vec![
                t.run_id.to_string(),
                t.task_id.to_string(),
                t.task_name.clone(),
                format!("{}/{}", t.attempt, t.max_attempts),
                output::opt_time(t.claim_expires_at),
                output::json_short(&t.params, 40),
            ]
        }),
    )
}

fn summary_json(task: &TaskSummary) -> Value {
    let mut json = json!({
        "id": task.id,
        "task_name": task.task_name,
        "status": task.status.as_str(),
        "queue_name": task.queue_name,
        "max_attempts": task.max_attempts,
        "created_at": output::json_time(task.created_at),
    });
    output::insert_some(&mut json, "completed_at", task.completed_at.map(output::json_time));
    json
}

/// A table of task summaries (also used for a workflow run's tasks).
pub(super) fn summaries_table(tasks: &[TaskSummary]) -> String {
    table(
        &["ID", "QUEUE", "NAME", "STATUS", "MAX ATTEMPTS", "CREATED", "COMPLETED"],
        tasks.iter().map(|t| {
            vec![
                t.id.to_string(),
                t.queue_name.clone(),
                t.task_name.clone(),
                t.status.as_str().to_owned(),
                t.max_attempts.to_string(),
                output::time(t.created_at),
                output::opt_time(t.completed_at),
            ]
        }),
    )
}

/// The summaries as the API's JSON (also used for a workflow run's tasks).
pub(super) fn summaries_json(tasks: &[TaskSummary]) -> Value {
    Value::Array(tasks.iter().map(summary_json).collect())
}

fn task_json(task: &Task) -> Value {
    let mut json = json!({
        "id": task.id,
        "task_name": task.task_name,
        "status": task.status.as_str(),
        "queue_name": task.queue_name,
        "max_attempts": task.max_attempts,
        "created_at": output::json_time(task.created_at),
        "params": task.params,
        "headers": task.headers,
        "retry_strategy": task.retry_strategy,
        "attempts": task.attempts,
        "result": task.result,
        "last_error": task.last_error,
        "workflow_run_id": task.workflow_run_id,
        "start_timeout": task.start_timeout,
        "execution_timeout": task.execution_timeout,
        "priority": task.priority,
        "concurrency_key": task.concurrency_key,
    });
    output::insert_some(&mut json, "completed_at", task.completed_at.map(output::json_time));
    json
}

fn task_details(task: &Task) -> String {
    let headers = if task.headers.is_empty() {
        output::dash()
    } else {
        task.headers.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    details([
        ("id", task.id.to_string()),
        ("queue", task.queue_name.clone()),
        ("name", task.task_name.clone()),
        ("status", task.status.as_str().to_owned()),
        ("attempts", format!("{} (max {})", task.attempts, task.max_attempts)),
        ("retry", task.retry_strategy.as_ref().map_or_else(output::dash, retry_text)),
        ("created", output::time(task.created_at)),
        ("completed", output::opt_time(task.completed_at)),
        ("start timeout", output::opt(task.start_timeout.map(output::seconds))),
        ("execution timeout", output::opt(task.execution_timeout.map(output::seconds))),
        ("workflow run", output::opt(task.workflow_run_id)),
        ("priority", task.priority.to_string()),
        ("concurrency key", output::opt(task.concurrency_key.as_deref())),
        ("headers", headers),
        ("params", output::json_full(&task.params)),
        ("result", task.result.as_ref().map_or_else(output::dash, output::json_full)),
        ("last error", output::opt(task.last_error.as_deref())),
    ])
}

/// `fixed 5s`, `exponential 1s ×2 ≤ 1m00s`.
fn retry_text(strategy: &RetryStrategy) -> String {
    let mut text = match strategy.kind {
        RetryKind::Fixed => format!("fixed {}", output::seconds(strategy.base_seconds)),
        RetryKind::Exponential => {
            format!("exponential {} ×{}", output::seconds(strategy.base_seconds), strategy.factor.unwrap_or(2.0))
        }
    };
    if let Some(max) = strategy.max_seconds {
        text.push_str(&format!(" ≤ {}", output::seconds(max)));
    }
    text
}
