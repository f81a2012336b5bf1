//! `durablectl schedules …`

use durable_client::{CatchUp, CreateSchedule, CreateTask, Schedule, UpdateSchedule};
use serde_json::{Value, json};

use super::Ctx;
use crate::cli::{CatchUpArg, ScheduleTaskOptions, SchedulesCmd};
use crate::json_arg;
use crate::output::{self, details, table};

pub(super) async fn run(ctx: &Ctx, cmd: SchedulesCmd) -> anyhow::Result<()> {
    let schedule = match cmd {
        SchedulesCmd::Create { name, queue, cron, timezone, catch_up, paused, task } => {
            let body = CreateSchedule {
                name,
                queue_name: queue,
                cron,
                timezone,
                task: template(task.task_name, task.options)?,
                catch_up: catch_up.map(Into::into),
                paused: paused.then_some(true),
            };
            ctx.client.create_schedule(&body).await?
        }
        SchedulesCmd::List => {
            let schedules = ctx.client.list_schedules().await?;
            let json = json!({"schedules": schedules.iter().map(schedule_json).collect::<Vec<_>>()});
            return Ok(ctx.out.emit(&json, || {
                table(
                    &["NAME", "QUEUE", "CRON", "TIMEZONE", "TASK", "PAUSED", "NEXT TICK", "LAST TICK"],
                    schedules.iter().map(|s| {
                        vec![
                            s.name.clone(),
                            s.queue_name.clone(),
                            s.cron.clone(),
                            s.timezone.clone(),
                            s.task.task_name.clone(),
                            if s.paused { "yes" } else { "no" }.to_owned(),
                            if s.paused { output::dash() } else { output::opt_time(s.next_tick) },
                            output::opt_time(s.last_tick),
                        ]
                    }),
                )
            })?);
        }
        SchedulesCmd::Get { name } => ctx.client.get_schedule(&name).await?,
        SchedulesCmd::Update { name, cron, timezone, catch_up, task_name, task } => {
            let task = match task_name {
                Some(task_name) => Some(template(task_name, task)?),
                None if has_task_options(&task) => {
                    anyhow::bail!("--params, --header and the other task options need --task (the new template)")
                }
                None => None,
            };
            let update = UpdateSchedule { cron, timezone, task, catch_up: catch_up.map(Into::into), paused: None };
            ctx.client.update_schedule(&name, &update).await?
        }
        SchedulesCmd::Pause { name } => ctx.client.pause_schedule(&name).await?,
        SchedulesCmd::Resume { name } => ctx.client.resume_schedule(&name).await?,
        SchedulesCmd::Delete { name } => {
            ctx.client.delete_schedule(&name).await?;
            return Ok(ctx.out.emit(&json!({"name": name, "deleted": true}), || format!("deleted schedule {name}"))?);
        }
    };
    ctx.out.emit(&schedule_json(&schedule), || schedule_details(&schedule))?;
    Ok(())
}

fn template(task_name: String, options: ScheduleTaskOptions) -> anyhow::Result<CreateTask> {
    let mut task = CreateTask::new(task_name);
    task.params = json_arg::parse_opt("--params", options.params.as_deref())?;
    for (key, value) in options.headers {
        task = task.header(key, value);
    }
    task.max_attempts = options.max_attempts;
    task.priority = options.priority;
    task.concurrency_key = options.concurrency_key;
    task.execution_timeout = options.execution_timeout;
    Ok(task)
}

fn has_task_options(options: &ScheduleTaskOptions) -> bool {
    options.params.is_some()
        || !options.headers.is_empty()
        || options.max_attempts.is_some()
        || options.priority.is_some()
        || options.concurrency_key.is_some()
        || options.execution_timeout.is_some()
}

impl From<CatchUpArg> for CatchUp {
    fn from(arg: CatchUpArg) -> Self {
        match arg {
            CatchUpArg::Skip => Self::Skip,
            CatchUpArg::One => Self::One,
            CatchUpArg::All => Self::All,
        }
    }
}

fn catch_up_name(catch_up: CatchUp) -> &'static str {
    match catch_up {
        CatchUp::Skip => "skip",
        CatchUp::One => "one",
        CatchUp::All => "all",
    }
}

fn schedule_details(s: &Schedule) -> String {
    let next = if s.next_fire_times.is_empty() { output::dash() } else { s.next_fire_times.join(", ") };
    details([
        ("name", s.name.clone()),
        ("queue", s.queue_name.clone()),
        ("cron", s.cron.clone()),
        ("timezone", s.timezone.clone()),
        ("task", s.task.task_name.clone()),
        ("params", output::json_short(&s.task.params, 60)),
        ("catch up", catch_up_name(s.catch_up).to_owned()),
        ("paused", if s.paused { "yes" } else { "no" }.to_owned()),
        ("next fire times", next),
        ("last tick", output::opt_time(s.last_tick)),
        ("last task", output::opt(s.last_task_id)),
    ])
}

fn schedule_json(s: &Schedule) -> Value {
    json!({
        "name": s.name,
        "queue_name": s.queue_name,
        "cron": s.cron,
        "timezone": s.timezone,
        "task": {
            "task_name": s.task.task_name,
            "params": s.task.params,
            "headers": s.task.headers,
            "max_attempts": s.task.max_attempts,
            "priority": s.task.priority,
            "concurrency_key": s.task.concurrency_key,
            "execution_timeout": s.task.execution_timeout,
        },
        "catch_up": catch_up_name(s.catch_up),
        "paused": s.paused,
        "next_tick": output::json_opt_time(s.next_tick),
        "next_fire_times": s.next_fire_times,
        "last_tick": output::json_opt_time(s.last_tick),
        "last_task_id": s.last_task_id,
        "created_at": output::json_time(s.created_at),
        "updated_at": output::json_time(s.updated_at),
    })
}
