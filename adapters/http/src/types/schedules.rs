use std::collections::BTreeMap;

use durable_domain::schedule::{self, NewSchedule, Schedule, ScheduleUpdate};
use durable_domain::task::TaskSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AnyJson;
use super::rules::{NameText, QueueNameText, ScheduleNameText, Text, UuidText};
use super::tasks::{CreateTaskRequest, RetryStrategyBody};
use super::wire;

/// How many coming fire times a schedule's answer lists.
pub const UPCOMING: usize = 5;

/// (ext) A cron schedule: `task` is created once per tick of `cron`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateScheduleRequest {
    /// 1–200 bytes without control characters, not `.` or `..`.
    #[schema(value_type = ScheduleNameText, example = "nightly-report")]
    pub name: String,
    #[schema(value_type = QueueNameText, example = "reports")]
    pub queue_name: String,
    /// Five fields (minute hour day-of-month month day-of-week), an optional
    /// leading seconds field, or `@yearly`, `@annually`, `@monthly`,
    /// `@weekly`, `@daily`, `@hourly`.
    #[schema(example = "0 3 * * *")]
    pub cron: String,
    /// An IANA time zone the expression is read in. Default `UTC`.
    #[serde(default)]
    #[schema(example = "Europe/Berlin")]
    pub timezone: Option<String>,
    /// A task create body, without `idempotency_key`, `run_at`,
    /// `workflow_run_id` and `parent_task_id` (each refused with a 400).
    #[schema(value_type = ScheduleTaskRequest)]
    pub task: CreateTaskRequest,
    /// Ticks missed while no server ran: `skip` fires none, `one` (the
    /// default) fires the latest once, `all` fires each.
    #[serde(default)]
    #[schema(value_type = Option<CatchUpText>)]
    pub catch_up: Option<String>,
    #[serde(default)]
    pub paused: Option<bool>,
}

impl From<CreateScheduleRequest> for NewSchedule {
    fn from(request: CreateScheduleRequest) -> Self {
        Self {
            name: request.name,
            queue_name: request.queue_name,
            cron: request.cron,
            timezone: request.timezone,
            task: request.task.into(),
            catch_up: request.catch_up,
            paused: request.paused,
        }
    }
}

/// (ext) A change of a schedule; absent fields stay as they are. A new
/// `cron` or `timezone`, or `"paused": false` on a paused schedule, starts
/// from the first tick after now.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateScheduleRequest {
    #[serde(default)]
    #[schema(example = "*/15 * * * *", min_length = 1)]
    pub cron: Option<String>,
    #[serde(default)]
    #[schema(example = "America/New_York", min_length = 1)]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "wire::opt_object")]
    #[schema(value_type = Option<ScheduleTaskRequest>)]
    pub task: Option<CreateTaskRequest>,
    #[serde(default)]
    #[schema(value_type = Option<CatchUpText>)]
    pub catch_up: Option<String>,
    #[serde(default)]
    pub paused: Option<bool>,
}

impl From<UpdateScheduleRequest> for ScheduleUpdate {
    fn from(request: UpdateScheduleRequest) -> Self {
        Self {
            cron: request.cron,
            timezone: request.timezone,
            task: request.task.map(Into::into),
            catch_up: request.catch_up,
            paused: request.paused,
        }
    }
}

/// What to do with ticks missed while no server ran.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CatchUpText {
    Skip,
    One,
    All,
}

/// The task a schedule creates per tick: a task create body without the
/// fields a schedule sets per tick (`idempotency_key`, `run_at`) or that
/// tie a task to one other task or workflow run.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScheduleTaskRequest {
    #[schema(value_type = NameText, example = "nightly-report")]
    pub task_name: String,
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub params: Option<Value>,
    #[schema(value_type = Option<BTreeMap<Text, Text>>)]
    pub headers: Option<BTreeMap<String, String>>,
    pub retry_strategy: Option<RetryStrategyBody>,
    #[schema(minimum = 1, maximum = 4_294_967_295_u64)]
    pub max_attempts: Option<i64>,
    /// Seconds after each task's creation; 0 = none.
    #[schema(minimum = 0)]
    pub start_timeout: Option<f64>,
    /// Seconds after each task's creation; 0 = none.
    #[schema(minimum = 0)]
    pub execution_timeout: Option<f64>,
    #[schema(minimum = -32768, maximum = 32767)]
    pub priority: Option<i64>,
    #[schema(value_type = Option<NameText>)]
    pub concurrency_key: Option<String>,
}

/// The task a schedule creates per tick, as a create body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleTaskBody {
    #[schema(value_type = NameText)]
    pub task_name: String,
    #[schema(value_type = AnyJson)]
    pub params: Value,
    #[schema(value_type = BTreeMap<Text, Text>)]
    pub headers: BTreeMap<String, String>,
    pub retry_strategy: Option<RetryStrategyBody>,
    pub max_attempts: u32,
    /// Seconds.
    pub start_timeout: Option<f64>,
    /// Seconds.
    pub execution_timeout: Option<f64>,
    pub priority: i16,
    #[schema(value_type = Option<NameText>)]
    pub concurrency_key: Option<String>,
}

impl From<TaskSpec> for ScheduleTaskBody {
    fn from(spec: TaskSpec) -> Self {
        Self {
            task_name: spec.task_name,
            params: spec.params,
            headers: spec.headers,
            retry_strategy: spec.retry_strategy.map(Into::into),
            max_attempts: spec.max_attempts,
            start_timeout: spec.start_timeout.map(time::Duration::as_seconds_f64),
            execution_timeout: spec.execution_timeout.map(time::Duration::as_seconds_f64),
            priority: spec.priority,
            concurrency_key: spec.concurrency_key,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleResponse {
    pub name: String,
    pub queue_name: String,
    pub cron: String,
    pub timezone: String,
    pub task: ScheduleTaskBody,
    pub catch_up: String,
    pub paused: bool,
    /// The first tick not fired yet; `null` once the expression has no more.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_tick: Option<OffsetDateTime>,
    /// The next five fire times, RFC 3339 (none while paused).
    pub next_fire_times: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_tick: Option<OffsetDateTime>,
    /// The task the last fired tick created.
    #[schema(value_type = Option<UuidText>)]
    pub last_task_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Schedule> for ScheduleResponse {
    fn from(s: Schedule) -> Self {
        let next_fire_times = s.upcoming(UPCOMING).into_iter().map(schedule::tick_text).collect();
        Self {
            name: s.name.as_str().to_owned(),
            queue_name: s.queue.as_str().to_owned(),
            cron: s.cron.as_str().to_owned(),
            timezone: s.timezone.name().to_owned(),
            task: s.task.into(),
            catch_up: s.catch_up.as_str().to_owned(),
            paused: s.paused,
            next_tick: s.next_tick,
            next_fire_times,
            last_tick: s.last_tick,
            last_task_id: s.last_task_id.map(|id| id.as_uuid()),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList {
    pub schedules: Vec<ScheduleResponse>,
}
