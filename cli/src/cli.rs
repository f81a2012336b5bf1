//! The command line, as clap types. Parsing only: the commands live in
//! [`crate::commands`].

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use durable_client::{RetryKind, RunStatus, TaskStatus, WorkflowStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::time_arg;

const AFTER_HELP: &str = "\
Server: --server, else $DURABLE_SERVER, else `server` in the config file \
(see `durablectl config path`; $DURABLE_CONFIG_DIR overrides its folder), \
else http://localhost:8080.

JSON arguments (--params, --result, --state, --payload, --inputs) are checked \
before anything is sent; `@FILE` reads the JSON from a file and `@-` from stdin.

TIME arguments: RFC 3339 (2030-01-02T03:04:05Z), `now`, or relative to now: \
+30s, +5m, +2h, +1d, +1h30m.

Exit status: 0 on success; 1 when the server refuses the request or cannot be \
reached, or (tasks wait) the task failed, was canceled or the wait timed out; \
2 on a usage error, including a JSON argument that is not valid JSON.";

/// Admin command line of the durable task queue server.
#[derive(Debug, Parser)]
#[command(name = "durablectl", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Server URL, e.g. http://localhost:8080 [env: DURABLE_SERVER]
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,

    /// Output format [default: table when stdout is a terminal, else json]
    #[arg(long, short = 'o', global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// Bearer token sent with every request
    #[arg(long, global = true, env = "DURABLE_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns, for people.
    Table,
    /// The API's JSON, for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Queues: create, list, delete, stats [--watch]
    #[command(subcommand)]
    Queues(QueuesCmd),
    /// Tasks: create, claim, list, get, cancel, wait
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Runs: list, complete, fail, schedule, heartbeat
    #[command(subcommand)]
    Runs(RunsCmd),
    /// Checkpoints of a task: get, list, set
    #[command(subcommand)]
    Checkpoints(CheckpointsCmd),
    /// Events: emit (wakes the runs waiting on its name)
    #[command(subcommand)]
    Events(EventsCmd),
    /// Workflow runs: create, get, list, update
    #[command(subcommand)]
    Workflows(WorkflowsCmd),
    /// Cron schedules: create, list, get, update, pause, resume, delete
    #[command(subcommand)]
    Schedules(SchedulesCmd),
    /// CLI configuration: set-server, get-server, path
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Print a shell completion script: completions bash|zsh|fish|elvish|powershell
    Completions {
        /// The shell to generate the script for
        #[arg(value_enum)]
        shell: Shell,
    },
}

// ---------------------------------------------------------------- queues

#[derive(Debug, Subcommand)]
pub(crate) enum QueuesCmd {
    /// Create a queue
    Create {
        /// Queue name: 1-255 bytes of any text but control characters (`emails:high`, `billing/eu`)
        #[arg(long)]
        name: String,
        /// Seconds finished tasks are kept (0 = forever; server default 3 days)
        #[arg(long, value_name = "SECONDS")]
        task_ttl: Option<u64>,
        /// Seconds events are kept (0 = forever; server default 3 days)
        #[arg(long, value_name = "SECONDS")]
        event_ttl: Option<u64>,
        /// Runs of one concurrency key claimed at once, across every worker (server default 1)
        #[arg(long, value_name = "N")]
        key_concurrency_limit: Option<u32>,
        /// Runs of the queue claimed at once, across every worker (default unlimited)
        #[arg(long, value_name = "N")]
        concurrency_limit: Option<u32>,
    },
    /// Change a queue's flow settings (a lowered limit applies as claims end)
    Update {
        /// The queue
        name: String,
        /// Runs of one concurrency key claimed at once
        #[arg(long, value_name = "N")]
        key_concurrency_limit: Option<u32>,
        /// Runs of the queue claimed at once
        #[arg(long, value_name = "N", conflicts_with = "no_concurrency_limit")]
        concurrency_limit: Option<u32>,
        /// Remove the queue's cap
        #[arg(long)]
        no_concurrency_limit: bool,
    },
    /// List every queue
    List,
    /// Delete a queue (refused while it holds unfinished tasks, unless --force)
    Delete {
        /// The queue
        name: String,
        /// Delete it with every task, run and checkpoint in it
        #[arg(long)]
        force: bool,
    },
    /// Show a queue's run counts
    Stats {
        /// The queue
        name: String,
        /// Refresh every 2 seconds until Ctrl-C (JSON: one object per line)
        #[arg(long)]
        watch: bool,
    },
}

// ---------------------------------------------------------------- tasks

#[derive(Debug, Subcommand)]
pub(crate) enum TasksCmd {
    /// Create a task (and its first run)
    Create(TaskCreateArgs),
    /// Claim due runs of a queue, as a worker would
    Claim {
        /// The queue
        #[arg(long)]
        queue: String,
        /// At most this many runs (1-1000)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Seconds the claim lasts (>= 1)
        #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        /// Wait up to this many seconds (1-60) for a run when none is due
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=60))]
        poll: Option<u64>,
        /// Worker id recorded on the claimed runs
        #[arg(long)]
        worker_id: Option<String>,
    },
    /// List tasks, newest first
    List {
        /// Only tasks of this queue
        #[arg(long)]
        queue: Option<String>,
        /// Only tasks in this status
        #[arg(long, value_enum)]
        status: Option<TaskStatusArg>,
        /// Only tasks with this name
        #[arg(long)]
        name: Option<String>,
        /// Only tasks created at this time or later (TIME)
        #[arg(long, value_name = "TIME", value_parser = time_arg::parse)]
        created_after: Option<OffsetDateTime>,
        /// Only tasks created before this time (TIME)
        #[arg(long, value_name = "TIME", value_parser = time_arg::parse)]
        created_before: Option<OffsetDateTime>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a task with everything it was created with
    Get {
        /// The task id
        id: Uuid,
    },
    /// Cancel a task; its unfinished runs end as canceled
    Cancel {
        /// The task id
        id: Uuid,
    },
    /// Retry a failed or canceled task: a new run, due now
    Retry {
        /// The task id
        id: Uuid,
    },
    /// Wait until a task finishes; exit 0 when it completed, 1 when it failed,
    /// was canceled or the wait timed out
    Wait {
        /// The task id
        id: Uuid,
        /// Give up after this many seconds (default: wait forever)
        #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
        timeout: Option<f64>,
        /// Milliseconds between two looks at the task
        #[arg(long, value_name = "MS", default_value_t = 500, hide = true,
              value_parser = clap::value_parser!(u64).range(10..))]
        interval_ms: u64,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TaskCreateArgs {
    /// The queue
    #[arg(long)]
    pub queue: String,
    /// The task name workers dispatch on
    #[arg(long)]
    pub name: String,
    /// Params, any JSON (or @FILE, @-)
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Headers as KEY=VALUE (repeatable; several after one flag)
    #[arg(long, alias = "header", value_name = "KEY=VALUE", num_args = 1.., value_parser = key_value)]
    pub headers: Vec<(String, String)>,
    /// How many runs may fail before the task fails (>= 1; server default 1)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: Option<u32>,
    /// Backoff between failed runs (default fixed when --retry-delay is given)
    #[arg(long, value_enum)]
    pub retry_strategy: Option<RetryKindArg>,
    /// Seconds before the first retry (the base of the strategy; default 1)
    #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub retry_delay: Option<f64>,
    /// Exponential growth per attempt (>= 1; server default 2)
    #[arg(long, value_parser = factor)]
    pub retry_factor: Option<f64>,
    /// Upper bound of one retry delay, in seconds
    #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub retry_max_delay: Option<f64>,
    /// When the first run becomes claimable (TIME; default now)
    #[arg(long, value_name = "TIME", value_parser = time_arg::parse)]
    pub run_at: Option<OffsetDateTime>,
    /// Deduplication key: if a task with it exists in the queue, its ids come back
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Claimed before lower priorities (-32768..=32767, default 0)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i16>,
    /// Runs sharing the key are claimed at most the queue's key limit at a time (e.g. customer:42)
    #[arg(long, value_name = "KEY")]
    pub concurrency_key: Option<String>,
    /// Cancel the task if no run was claimed this many seconds after creation
    #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub start_timeout: Option<f64>,
    /// Cancel the task if not completed this many seconds after creation
    #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub execution_timeout: Option<f64>,
    /// An existing workflow run the task belongs to
    #[arg(long, value_name = "ID")]
    pub workflow: Option<Uuid>,
}

// ------------------------------------------------------------- schedules

#[derive(Debug, Subcommand)]
pub(crate) enum SchedulesCmd {
    /// Create a schedule: its task is created once per tick of the cron expression
    Create {
        /// The schedule's name (unique)
        #[arg(long)]
        name: String,
        /// The queue its tasks go to
        #[arg(long)]
        queue: String,
        /// Five fields (min hour day month weekday), an optional leading seconds field, or @hourly, @daily, ...
        #[arg(long)]
        cron: String,
        /// IANA time zone the expression is read in (server default UTC)
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
        /// Ticks missed while no server ran: skip, one (server default) or all
        #[arg(long, value_enum)]
        catch_up: Option<CatchUpArg>,
        /// Create it paused
        #[arg(long)]
        paused: bool,
        #[command(flatten)]
        task: ScheduleTaskArgs,
    },
    /// List every schedule
    List,
    /// Show a schedule with its next fire times and the last task it fired
    Get {
        /// The schedule's name
        name: String,
    },
    /// Change a schedule's expression, zone, catch-up policy or task
    Update {
        /// The schedule's name
        name: String,
        #[arg(long)]
        cron: Option<String>,
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
        #[arg(long, value_enum)]
        catch_up: Option<CatchUpArg>,
        /// A new task template (replaces the whole template; --params and the rest go with it)
        #[arg(long = "task", value_name = "TASK_NAME")]
        task_name: Option<String>,
        #[command(flatten)]
        task: ScheduleTaskOptions,
    },
    /// Pause a schedule: nothing fires until it is resumed
    Pause {
        /// The schedule's name
        name: String,
    },
    /// Resume a schedule from its first tick after now
    Resume {
        /// The schedule's name
        name: String,
    },
    /// Delete a schedule (the tasks it fired stay)
    Delete {
        /// The schedule's name
        name: String,
    },
}

/// The task a schedule creates per tick.
#[derive(Debug, Args)]
pub(crate) struct ScheduleTaskArgs {
    /// The task name workers dispatch on
    #[arg(long = "task", value_name = "TASK_NAME")]
    pub task_name: String,
    #[command(flatten)]
    pub options: ScheduleTaskOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ScheduleTaskOptions {
    /// Params of each task, any JSON (or @FILE, @-)
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Headers as KEY=VALUE (repeatable)
    #[arg(long, alias = "header", value_name = "KEY=VALUE", num_args = 1.., value_parser = key_value)]
    pub headers: Vec<(String, String)>,
    /// How many runs of each task may fail before it fails (>= 1)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: Option<u32>,
    /// Claimed before lower priorities (-32768..=32767)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i16>,
    /// Concurrency key of each task
    #[arg(long, value_name = "KEY")]
    pub concurrency_key: Option<String>,
    /// Cancel each task if not completed this many seconds after creation
    #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub execution_timeout: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CatchUpArg {
    /// Fire none of the missed ticks
    Skip,
    /// Fire the latest missed tick once
    One,
    /// Fire every missed tick
    All,
}

/// Cursor paging of a listing.
#[derive(Debug, Args)]
pub(crate) struct PageArgs {
    /// Start at this `next_cursor` of an earlier page
    #[arg(long)]
    pub cursor: Option<String>,
    /// Page size (1-1000; server default 50)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
    /// Follow the cursors and list every page
    #[arg(long)]
    pub all: bool,
}

// ---------------------------------------------------------------- runs

#[derive(Debug, Subcommand)]
pub(crate) enum RunsCmd {
    /// List runs, newest first
    List {
        /// Only runs of this task
        #[arg(long, value_name = "ID")]
        task: Option<Uuid>,
        /// Only runs in this status
        #[arg(long, value_enum)]
        status: Option<RunStatusArg>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Complete a claimed run
    Complete {
        /// The run id
        id: Uuid,
        /// The result, any JSON (or @FILE, @-)
        #[arg(long, value_name = "JSON")]
        result: Option<String>,
    },
    /// Fail a claimed run; the task retries or fails when out of attempts
    Fail {
        /// The run id
        id: Uuid,
        /// What went wrong
        #[arg(long, value_name = "MESSAGE")]
        error: String,
    },
    /// Defer a pending run, or put a claimed run to sleep, until a time
    Schedule {
        /// The run id
        id: Uuid,
        /// When it becomes claimable again (TIME)
        #[arg(long, value_name = "TIME", value_parser = time_arg::parse)]
        at: OffsetDateTime,
    },
    /// Extend the claim on a run to now + SECONDS
    Heartbeat {
        /// The run id
        id: Uuid,
        /// Seconds from now the claim lasts (>= 1)
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        extend: u64,
    },
}

// ---------------------------------------------------------------- checkpoints

#[derive(Debug, Subcommand)]
pub(crate) enum CheckpointsCmd {
    /// Show one step's checkpoint
    Get {
        /// The task id
        task: Uuid,
        /// The step name
        step: String,
    },
    /// List every checkpoint of a task
    List {
        /// The task id
        task: Uuid,
    },
    /// Write (replace) a step's checkpoint as the claimed run RUN
    Set {
        /// The task id
        task: Uuid,
        /// The step name
        step: String,
        /// The state, any JSON (or @FILE, @-)
        #[arg(long, value_name = "JSON")]
        state: String,
        /// The claimed run of the task that writes it
        #[arg(long, value_name = "RUN_ID")]
        run: Uuid,
        /// Also extend the run's claim to now + SECONDS
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        extend: Option<u64>,
    },
}

// ---------------------------------------------------------------- events

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCmd {
    /// Emit an event; every run waiting on its name wakes
    Emit {
        /// The event name
        #[arg(long)]
        name: String,
        /// The payload waiters receive, any JSON (or @FILE, @-)
        #[arg(long, value_name = "JSON")]
        payload: Option<String>,
    },
}

// ---------------------------------------------------------------- workflows

#[derive(Debug, Subcommand)]
pub(crate) enum WorkflowsCmd {
    /// Start tracking a workflow run
    Create {
        /// The workflow's name
        #[arg(long)]
        name: String,
        /// The workflow's version
        #[arg(long)]
        version: Option<String>,
        /// Its inputs, any JSON (or @FILE, @-)
        #[arg(long, value_name = "JSON")]
        inputs: Option<String>,
        /// Tags as KEY=VALUE (repeatable; several after one flag)
        #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = key_value)]
        tag: Vec<(String, String)>,
        /// Who started it
        #[arg(long)]
        created_by: Option<String>,
    },
    /// Show a workflow run and its tasks
    Get {
        /// The workflow run id
        id: Uuid,
    },
    /// List workflow runs
    List {
        /// Only runs in this status
        #[arg(long, value_enum)]
        status: Option<WorkflowStatusArg>,
        /// Only runs of this workflow
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Change a workflow run's status, result or times
    #[command(group(ArgGroup::new("change").required(true).multiple(true)
        .args(["status", "result", "started_at", "completed_at"])))]
    Update {
        /// The workflow run id
        id: Uuid,
        /// The new status
        #[arg(long, value_enum)]
        status: Option<WorkflowStatusArg>,
        /// The result, any JSON (or @FILE, @-)
        #[arg(long, value_name = "JSON")]
        result: Option<String>,
        /// When it started (TIME)
        #[arg(long, value_name = "TIME", value_parser = time_arg::parse)]
        started_at: Option<OffsetDateTime>,
        /// When it finished (TIME)
        #[arg(long, value_name = "TIME", value_parser = time_arg::parse)]
        completed_at: Option<OffsetDateTime>,
    },
}

// ---------------------------------------------------------------- config

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCmd {
    /// Store the server URL in the config file
    SetServer {
        /// http:// or https:// URL of the server
        url: String,
    },
    /// Show the server URL in use and where it comes from
    GetServer,
    /// Print the config file's path
    Path,
}

// ---------------------------------------------------------------- value types

/// A task status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskStatusArg {
    Pending,
    Completed,
    Failed,
    Canceled,
}

impl From<TaskStatusArg> for TaskStatus {
    fn from(status: TaskStatusArg) -> Self {
        match status {
            TaskStatusArg::Pending => Self::Pending,
            TaskStatusArg::Completed => Self::Completed,
            TaskStatusArg::Failed => Self::Failed,
            TaskStatusArg::Canceled => Self::Canceled,
        }
    }
}

/// A run status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunStatusArg {
    Pending,
    Claimed,
    Sleeping,
    Completed,
    Failed,
    Canceled,
}

impl From<RunStatusArg> for RunStatus {
    fn from(status: RunStatusArg) -> Self {
        match status {
            RunStatusArg::Pending => Self::Pending,
            RunStatusArg::Claimed => Self::Claimed,
            RunStatusArg::Sleeping => Self::Sleeping,
            RunStatusArg::Completed => Self::Completed,
            RunStatusArg::Failed => Self::Failed,
            RunStatusArg::Canceled => Self::Canceled,
        }
    }
}

/// A workflow run status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkflowStatusArg {
    Pending,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl From<WorkflowStatusArg> for WorkflowStatus {
    fn from(status: WorkflowStatusArg) -> Self {
        match status {
            WorkflowStatusArg::Pending => Self::Pending,
            WorkflowStatusArg::Running => Self::Running,
            WorkflowStatusArg::Completed => Self::Completed,
            WorkflowStatusArg::Failed => Self::Failed,
            WorkflowStatusArg::Canceled => Self::Canceled,
        }
    }
}

/// The shape of a retry strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetryKindArg {
    /// The same delay every time
    Fixed,
    /// delay × factor^(attempt-1), capped by --retry-max-delay
    Exponential,
}

impl From<RetryKindArg> for RetryKind {
    fn from(kind: RetryKindArg) -> Self {
        match kind {
            RetryKindArg::Fixed => Self::Fixed,
            RetryKindArg::Exponential => Self::Exponential,
        }
    }
}

/// `KEY=VALUE`, with a non-empty key; the value may contain `=`.
fn key_value(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("expected KEY=VALUE".to_owned()),
    }
}

/// A finite number of seconds, >= 0.
fn non_negative_seconds(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds),
        _ => Err("expected a number of seconds >= 0".to_owned()),
    }
}

/// A finite growth factor, >= 1.
fn factor(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor >= 1.0 => Ok(factor),
        _ => Err("expected a number >= 1".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_key_values_and_numbers() {
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(key_value("a=").unwrap(), ("a".into(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
        assert_eq!(non_negative_seconds("1.5").unwrap(), 1.5);
        assert!(non_negative_seconds("-1").is_err());
        assert!(non_negative_seconds("inf").is_err());
        assert!(factor("0.5").is_err());
        assert_eq!(factor("3").unwrap(), 3.0);
    }

    #[test]
    fn headers_accept_several_values_after_one_flag() {
        let cli = Cli::try_parse_from([
            "durablectl",
            "tasks",
            "create",
            "--queue",
            "q",
            "--name",
            "n",
            "--headers",
            "a=1",
            "b=2",
            "--header",
            "c=3",
        ])
        .unwrap();
        let Command::Tasks(TasksCmd::Create(args)) = cli.command else {
            panic!("not tasks create");
        };
        assert_eq!(args.headers.len(), 3);
    }

    #[test]
    fn workflow_update_needs_a_change() {
        let id = "0192b9d4-5e3a-7f00-8000-000000000001";
        assert!(Cli::try_parse_from(["durablectl", "workflows", "update", id]).is_err());
        assert!(Cli::try_parse_from(["durablectl", "workflows", "update", id, "--status", "running"]).is_ok());
    }
}
