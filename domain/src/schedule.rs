//! Cron schedules **(ext)**: a task template fired once per tick of a cron
//! expression read in a time zone. The domain decides which ticks of a pass
//! fire (the catch-up policy), what each tick's task is (its idempotency key
//! and headers) and where the schedule goes next; a store keeps schedules and
//! fires one in the transaction that advances it, so a tick's task exists if
//! and only if the schedule moved past the tick.
//!
//! Parsing and iterating cron expressions, daylight-saving transitions
//! included, is `croner`'s job (with `chrono-tz`'s zone rules): a fixed-time
//! tick that falls into a spring-forward gap fires right after the gap, one
//! that falls into a fall-back overlap fires once; interval ticks fire for
//! every wall-clock time that exists.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::clock::{self, Timestamp};
use crate::command::{self, NewTask};
use crate::error::ValidationError;
use crate::ids::TaskId;
use crate::queue::QueueName;
use crate::retry::{RetryKind, RetryStrategy};
use crate::task::TaskSpec;

/// The longest schedule name, in bytes: short enough that a tick's
/// idempotency key (`schedule:<name>:<tick>`) stays a valid key.
pub const MAX_SCHEDULE_NAME_BYTES: usize = 200;
/// The header naming the schedule on every task it fires.
pub const HEADER_SCHEDULE: &str = "durable-schedule";
/// The header holding the tick (RFC 3339, UTC) on every task a schedule fires.
pub const HEADER_TICK: &str = "durable-tick";
pub const DEFAULT_TIMEZONE: &str = "UTC";
/// The most ticks one schedule fires in one pass; a longer catch-up goes on
/// in the next passes.
pub const MAX_TICKS_PER_PASS: usize = 1000;

/// A validated schedule name: addressed by a URL path segment, like a queue.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScheduleName(String);

impl ScheduleName {
    /// A queue name's rules (`QueueName::parse`), with a shorter limit.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        QueueName::parse(field, raw)?;
        if raw.len() > MAX_SCHEDULE_NAME_BYTES {
            return Err(ValidationError::invalid(field, format!("must be at most {MAX_SCHEDULE_NAME_BYTES} bytes")));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ScheduleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to do with ticks that passed while no server fired them (longer
/// ago than the grace a pass allows, see [`Schedule::due`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatchUp {
    /// Fire none of them.
    Skip,
    /// Fire the latest of them once.
    #[default]
    One,
    /// Fire every one of them, oldest first.
    All,
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::One => "one",
            Self::All => "all",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "skip" => Ok(Self::Skip),
            "one" => Ok(Self::One),
            "all" => Ok(Self::All),
            _ => Err(ValidationError::invalid(field, "must be one of \"skip\", \"one\", \"all\"")),
        }
    }
}

/// A parsed cron expression: five fields (minute hour day-of-month month
/// day-of-week), an optional leading seconds field, or a macro (`@hourly`,
/// `@daily`, `@weekly`, `@monthly`, `@yearly`).
#[derive(Clone, Debug)]
pub struct CronExpr {
    text: String,
    cron: croner::Cron,
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl CronExpr {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        command::non_empty(field, raw)?;
        let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
        let cron = parser
            .parse(raw)
            .map_err(|e| ValidationError::invalid(field, format!("is not a valid cron expression: {e}")))?;
        let expr = Self { text: raw.trim().to_owned(), cron };
        // A pattern with no tick at all (`0 0 30 2 *`) is a mistake, not a schedule.
        if expr.next_after(Tz::UTC, OffsetDateTime::UNIX_EPOCH).is_none() {
            return Err(ValidationError::invalid(field, "never fires"));
        }
        Ok(expr)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, zone: Tz, t: Timestamp) -> Option<Timestamp> {
        let from = in_zone(whole_second(t), zone)?;
        let next = self.cron.find_next_occurrence(&from, false).ok()?;
        from_zone(&next)
    }

    /// The first tick at `t` or after.
    fn at_or_after(&self, zone: Tz, t: Timestamp) -> Option<Timestamp> {
        let second = whole_second(t);
        let from = in_zone(if second == t { t } else { second + Duration::SECOND }, zone)?;
        let next = self.cron.find_next_occurrence(&from, true).ok()?;
        from_zone(&next)
    }

    /// The last tick strictly before `t`.
    fn latest_before(&self, zone: Tz, t: Timestamp) -> Option<Timestamp> {
        let second = whole_second(t);
        let from = in_zone(second, zone)?;
        let previous = self.cron.find_previous_occurrence(&from, second != t).ok()?;
        from_zone(&previous)
    }
}

/// An IANA time zone name (`Europe/Berlin`), read by `chrono-tz`.
pub fn parse_timezone(field: &str, raw: &str) -> Result<Tz, ValidationError> {
    Tz::from_str(raw).map_err(|_| {
        ValidationError::invalid(
            field,
            format!("unknown time zone {raw:?}; use an IANA name such as \"Europe/Berlin\""),
        )
    })
}

fn whole_second(t: Timestamp) -> Timestamp {
    t.replace_nanosecond(0).expect("0 is a valid nanosecond")
}

fn in_zone(t: Timestamp, zone: Tz) -> Option<DateTime<Tz>> {
    DateTime::<Utc>::from_timestamp(t.unix_timestamp(), t.nanosecond()).map(|utc| utc.with_timezone(&zone))
}

fn from_zone(t: &DateTime<Tz>) -> Option<Timestamp> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.timestamp_micros()) * 1000).ok()
}

/// A tick as its header and idempotency key spell it: RFC 3339 in UTC.
pub fn tick_text(tick: Timestamp) -> String {
    tick.to_offset(time::UtcOffset::UTC).format(&Rfc3339).expect("a UTC instant formats as RFC 3339")
}

#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub name: ScheduleName,
    pub queue: QueueName,
    pub cron: CronExpr,
    pub timezone: Tz,
    /// What each tick creates; never has an idempotency key, a due time, a
    /// workflow run or a parent (the schedule sets the first two per tick).
    pub task: TaskSpec,
    pub catch_up: CatchUp,
    pub paused: bool,
    /// The first tick not fired yet; `None` once the expression has no more.
    pub next_tick: Option<Timestamp>,
    pub last_tick: Option<Timestamp>,
    /// The task the last fired tick created (or found, if it existed).
    pub last_task_id: Option<TaskId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The ticks one pass fires, oldest first, and where the schedule goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firing {
    pub ticks: Vec<Timestamp>,
    pub next_tick: Option<Timestamp>,
}

impl Schedule {
    /// The ticks to fire at `now`, or `None` when nothing is due (paused, or
    /// the next tick is still ahead). A tick no older than `grace` is on time
    /// and always fires; older ones were missed (no server ran) and fire as
    /// `catch_up` says. At most `limit` ticks; the rest stay due.
    pub fn due(&self, now: Timestamp, grace: Duration, limit: usize) -> Option<Firing> {
        if self.paused {
            return None;
        }
        let first = self.next_tick.filter(|t| *t <= now)?;
        let limit = limit.max(1);
        let on_time_from = now - grace;
        let mut ticks = Vec::new();
        let mut next = Some(first);
        if first < on_time_from {
            match self.catch_up {
                CatchUp::All => {}
                CatchUp::One => {
                    let latest =
                        self.cron.latest_before(self.timezone, on_time_from).filter(|t| *t >= first).unwrap_or(first);
                    ticks.push(latest);
                    next = self.cron.next_after(self.timezone, latest);
                }
                CatchUp::Skip => next = self.cron.at_or_after(self.timezone, on_time_from),
            }
        }
        while let Some(tick) = next {
            if tick > now || ticks.len() >= limit {
                break;
            }
            ticks.push(tick);
            next = self.cron.next_after(self.timezone, tick);
        }
        Some(Firing { ticks, next_tick: next })
    }

    /// Records a pass: the schedule moves to `firing.next_tick`, and the
    /// last fired tick and its task are kept.
    pub fn fired(&mut self, firing: &Firing, last_task: Option<TaskId>) {
        self.next_tick = firing.next_tick;
        if let Some(tick) = firing.ticks.last() {
            self.last_tick = Some(*tick);
            self.last_task_id = last_task;
        }
    }

    /// The task a tick creates: the template with the tick's idempotency key
    /// (so two replicas firing one tick create one task) and headers naming
    /// the schedule and the tick.
    pub fn tick_task(&self, tick: Timestamp) -> TaskSpec {
        let tick = tick_text(tick);
        let mut spec = self.task.clone();
        spec.idempotency_key = Some(format!("schedule:{}:{tick}", self.name));
        spec.headers.insert(HEADER_SCHEDULE.to_owned(), self.name.0.clone());
        spec.headers.insert(HEADER_TICK.to_owned(), tick);
        spec
    }

    /// The next `n` fire times; none while paused.
    pub fn upcoming(&self, n: usize) -> Vec<Timestamp> {
        if self.paused {
            return Vec::new();
        }
        std::iter::successors(self.next_tick, |t| self.cron.next_after(self.timezone, *t)).take(n).collect()
    }

    /// Applies a change at `now`. A different expression or zone, or a
    /// resume, starts from the first tick after `now`: ticks that passed while the
    /// schedule was paused are not missed ticks, and never fire.
    pub fn apply(&mut self, patch: SchedulePatch, now: Timestamp) {
        // Only a real change restarts: a patch sent twice (a client's retry)
        // must not skip the tick that came due between the two.
        let restart = patch.cron.as_ref().is_some_and(|c| *c != self.cron)
            || patch.timezone.is_some_and(|z| z != self.timezone)
            || (patch.paused == Some(false) && self.paused);
        if let Some(cron) = patch.cron {
            self.cron = cron;
        }
        if let Some(zone) = patch.timezone {
            self.timezone = zone;
        }
        if let Some(task) = patch.task {
            self.task = task;
        }
        if let Some(catch_up) = patch.catch_up {
            self.catch_up = catch_up;
        }
        if let Some(paused) = patch.paused {
            self.paused = paused;
        }
        if restart {
            self.next_tick = self.cron.next_after(self.timezone, now);
        }
        self.updated_at = now;
    }
}

/// A schedule as it arrives at `POST /schedules`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSchedule {
    pub name: String,
    pub queue_name: String,
    pub cron: String,
    pub timezone: Option<String>,
    pub task: NewTask,
    pub catch_up: Option<String>,
    pub paused: Option<bool>,
}

impl NewSchedule {
    /// The schedule, starting at the first tick after `now`.
    pub fn validate(self, now: Timestamp) -> Result<Schedule, ValidationError> {
        let name = ScheduleName::parse("name", &self.name)?;
        let queue = QueueName::parse("queue_name", &self.queue_name)?;
        let cron = CronExpr::parse("cron", &self.cron)?;
        let timezone = parse_timezone("timezone", self.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE))?;
        let task = template(self.task)?;
        let catch_up = self.catch_up.as_deref().map(|c| CatchUp::parse("catch_up", c)).transpose()?.unwrap_or_default();
        let now = clock::truncate(now);
        let next_tick = cron.next_after(timezone, now);
        Ok(Schedule {
            name,
            queue,
            cron,
            timezone,
            task,
            catch_up,
            paused: self.paused.unwrap_or(false),
            next_tick,
            last_tick: None,
            last_task_id: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// A change of a schedule as it arrives at `PATCH /schedules/{name}`:
/// absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScheduleUpdate {
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub task: Option<NewTask>,
    pub catch_up: Option<String>,
    pub paused: Option<bool>,
}

/// A validated [`ScheduleUpdate`], for [`Schedule::apply`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchedulePatch {
    pub cron: Option<CronExpr>,
    pub timezone: Option<Tz>,
    pub task: Option<TaskSpec>,
    pub catch_up: Option<CatchUp>,
    pub paused: Option<bool>,
}

impl ScheduleUpdate {
    pub fn validate(self) -> Result<SchedulePatch, ValidationError> {
        Ok(SchedulePatch {
            cron: self.cron.as_deref().map(|c| CronExpr::parse("cron", c)).transpose()?,
            timezone: self.timezone.as_deref().map(|z| parse_timezone("timezone", z)).transpose()?,
            task: self.task.map(template).transpose()?,
            catch_up: self.catch_up.as_deref().map(|c| CatchUp::parse("catch_up", c)).transpose()?,
            paused: self.paused,
        })
    }
}

/// Validates a task create body as a schedule's template: the fields a
/// schedule sets per tick, and the ones that tie a task to one other
/// task or workflow run, are refused by name.
fn template(task: NewTask) -> Result<TaskSpec, ValidationError> {
    let set_per_tick = [
        ("task.idempotency_key", task.idempotency_key.is_some(), "is set by the schedule for each tick"),
        ("task.run_at", task.run_at.is_some(), "is set by the schedule for each tick"),
        ("task.workflow_run_id", task.workflow_run_id.is_some(), "cannot be given to a schedule's tasks"),
        ("task.parent_task_id", task.parent_task_id.is_some(), "cannot be given to a schedule's tasks"),
    ];
    if let Some((field, _, why)) = set_per_tick.into_iter().find(|(_, present, _)| *present) {
        return Err(ValidationError::invalid(field, why));
    }
    if task.headers.contains_key(HEADER_SCHEDULE) || task.headers.contains_key(HEADER_TICK) {
        return Err(ValidationError::invalid(
            "task.headers",
            format!("{HEADER_SCHEDULE} and {HEADER_TICK} are set by the schedule"),
        ));
    }
    task.validate().map_err(|e| ValidationError::new(format!("task.{}", e.field), format!("task.{}", e.message)))
}

/// The stored form of a schedule's task template: one JSON document every
/// store keeps as it is, read back with [`template_from_document`].
pub fn template_document(spec: &TaskSpec) -> Value {
    let doc = StoredTemplate {
        task_name: spec.task_name.clone(),
        params: spec.params.clone(),
        headers: spec.headers.clone(),
        retry_strategy: spec.retry_strategy.map(|r| StoredRetry {
            kind: r.kind.as_str().to_owned(),
            base_seconds: r.base_seconds,
            factor: r.factor,
            max_seconds: r.max_seconds,
        }),
        max_attempts: spec.max_attempts,
        start_timeout_us: spec.start_timeout.map(|d| d.whole_microseconds() as i64),
        execution_timeout_us: spec.execution_timeout.map(|d| d.whole_microseconds() as i64),
        priority: spec.priority,
        concurrency_key: spec.concurrency_key.clone(),
    };
    serde_json::to_value(doc).expect("a template serializes")
}

/// A stored template back as a spec; an error for a document that is not
/// one (the store skips such a schedule and says so).
pub fn template_from_document(doc: Value) -> Result<TaskSpec, String> {
    let doc: StoredTemplate = serde_json::from_value(doc).map_err(|e| e.to_string())?;
    let retry_strategy = doc
        .retry_strategy
        .map(|r| {
            let kind = RetryKind::parse(&r.kind).ok_or_else(|| format!("unknown retry kind {:?}", r.kind))?;
            Ok::<_, String>(RetryStrategy {
                kind,
                base_seconds: r.base_seconds,
                factor: r.factor,
                max_seconds: r.max_seconds,
            })
        })
        .transpose()?;
    Ok(TaskSpec {
        task_name: doc.task_name,
        params: doc.params,
        headers: doc.headers,
        retry_strategy,
        max_attempts: doc.max_attempts,
        start_timeout: doc.start_timeout_us.map(Duration::microseconds),
        execution_timeout: doc.execution_timeout_us.map(Duration::microseconds),
        workflow_run_id: None,
        parent_task_id: None,
        idempotency_key: None,
        run_at: None,
        priority: doc.priority,
        concurrency_key: doc.concurrency_key,
    })
}

#[derive(Serialize, Deserialize)]
struct StoredTemplate {
    task_name: String,
    params: Value,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    retry_strategy: Option<StoredRetry>,
    max_attempts: u32,
    #[serde(default)]
    start_timeout_us: Option<i64>,
    #[serde(default)]
    execution_timeout_us: Option<i64>,
    #[serde(default)]
    priority: i16,
    #[serde(default)]
    concurrency_key: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredRetry {
    kind: String,
    base_seconds: f64,
    factor: Option<f64>,
    max_seconds: Option<f64>,
}

#[cfg(test)]
mod tests;
