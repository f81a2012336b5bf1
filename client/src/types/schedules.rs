//! (ext) Cron schedules: `GET/POST /schedules`, `GET/PATCH/DELETE /schedules/{name}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::tasks::{CreateTask, RetryStrategy};

/// The body of `POST /schedules`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateSchedule {
    /// 1–200 bytes, unique.
    pub name: String,
    /// The queue its tasks go to.
    pub queue_name: String,
    /// Five fields, an optional leading seconds field, or a macro (`@hourly`, …).
    pub cron: String,
    /// An IANA time zone (server default `UTC`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// What each tick creates; without idempotency key, `run_at`, workflow run or parent.
    pub task: CreateTask,
    /// Ticks missed while no server ran (server default [`CatchUp::One`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUp>,
    /// Created paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// The body of `PATCH /schedules/{name}`: absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UpdateSchedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<CreateTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// What to do with ticks that passed while no server ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Fire none of them.
    Skip,
    /// Fire the latest of them once.
    One,
    /// Fire every one of them.
    All,
}

/// A schedule as the server describes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Schedule {
    pub name: String,
    pub queue_name: String,
    pub cron: String,
    pub timezone: String,
    pub task: ScheduleTask,
    pub catch_up: CatchUp,
    pub paused: bool,
    /// The first tick not fired yet.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_tick: Option<OffsetDateTime>,
    /// The next five fire times, RFC 3339 (none while paused).
    pub next_fire_times: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_tick: Option<OffsetDateTime>,
    /// The task the last fired tick created.
    pub last_task_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The task a schedule creates per tick.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ScheduleTask {
    pub task_name: String,
    pub params: Value,
    pub headers: BTreeMap<String, String>,
    pub retry_strategy: Option<RetryStrategy>,
    pub max_attempts: u32,
    pub start_timeout: Option<f64>,
    pub execution_timeout: Option<f64>,
    pub priority: i16,
    pub concurrency_key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ScheduleList {
    pub(crate) schedules: Vec<Schedule>,
}
