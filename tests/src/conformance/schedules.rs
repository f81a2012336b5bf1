//! Cron schedules: each tick creates exactly one task, by whichever replica
//! sweeps first; the clock is the manual one, so a simulated day takes no
//! real time.

use std::collections::BTreeSet;

use durable_app::Engine;
use durable_domain::command::{NewTask, TaskFilter};
use durable_domain::schedule::{HEADER_SCHEDULE, HEADER_TICK, NewSchedule, ScheduleUpdate, tick_text};
use durable_domain::{NotFound, Rejection, Task, Timestamp};
use durable_ports::{Service, ServiceError};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

use super::{Backend, Ctx, new_task, unique};

fn schedule(name: &str, queue: &str, cron: &str) -> NewSchedule {
    NewSchedule {
        name: name.to_owned(),
        queue_name: queue.to_owned(),
        cron: cron.to_owned(),
        timezone: None,
        task: new_task("tick"),
        catch_up: None,
        paused: None,
    }
}

/// The first whole minute after the clock's time: ticks of minute
/// schedules fall on it.
fn next_minute(t: Timestamp) -> Timestamp {
    let whole = t.replace_second(0).unwrap().replace_nanosecond(0).unwrap();
    whole + Duration::MINUTE
}

/// Every task of the queue, oldest first.
async fn tasks_of(ctx: &Ctx, queue: &str) -> Vec<Task> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let filter = TaskFilter { queue_name: Some(queue.to_owned()), cursor, limit: 1000, ..TaskFilter::default() };
        let page = ctx.engine.list_tasks(filter).await.expect("list tasks");
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    all.reverse();
    all
}

/// The ticks the queue's tasks were fired for, checking each was fired once.
async fn fired_ticks(ctx: &Ctx, queue: &str) -> Vec<String> {
    let tasks = tasks_of(ctx, queue).await;
    let ticks: Vec<String> = tasks.iter().map(|t| t.spec.headers[HEADER_TICK].clone()).collect();
    let distinct: BTreeSet<&String> = ticks.iter().collect();
    assert_eq!(distinct.len(), ticks.len(), "a tick fired twice: {ticks:?}");
    let mut ticks = ticks;
    ticks.sort();
    ticks
}

pub async fn create_get_list_update_delete(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let name = unique("s");
    let mut new = schedule(&name, &queue, "0 3 * * *");
    new.timezone = Some("Europe/Berlin".into());
    new.task = NewTask { params: json!({"report": "daily"}), priority: Some(5), ..new_task("report") };
    let created = ctx.engine.create_schedule(new).await.expect("create");
    assert_eq!(created.name.as_str(), name);
    assert_eq!(created.timezone.name(), "Europe/Berlin");
    assert!(created.next_tick.is_some_and(|t| t > ctx.now()));
    assert_eq!(ctx.engine.get_schedule(name.clone()).await.unwrap(), created, "read back as stored");
    let listed = ctx.engine.list_schedules().await.unwrap();
    assert!(listed.iter().any(|s| s.name.as_str() == name));

    ctx.advance(10.0);
    let update = ScheduleUpdate { cron: Some("*/5 * * * *".into()), paused: Some(true), ..ScheduleUpdate::default() };
    let updated = ctx.engine.update_schedule(name.clone(), update).await.unwrap();
    assert_eq!((updated.cron.as_str(), updated.paused), ("*/5 * * * *", true));
    assert_eq!(updated.task, created.task, "what the patch leaves out stays");
    assert_eq!(updated.updated_at, ctx.now());
    assert_eq!(ctx.engine.get_schedule(name.clone()).await.unwrap(), updated);

    ctx.engine.delete_schedule(name.clone()).await.unwrap();
    assert_err!(ctx.engine.get_schedule(name.clone()).await, ServiceError::NotFound(NotFound::Schedule(_)));
    assert_err!(ctx.engine.delete_schedule(name.clone()).await, ServiceError::NotFound(NotFound::Schedule(_)));
    let patch = ScheduleUpdate { paused: Some(false), ..ScheduleUpdate::default() };
    assert_err!(ctx.engine.update_schedule(name, patch).await, ServiceError::NotFound(NotFound::Schedule(_)));
}

pub async fn bad_schedules_are_refused(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let name = unique("s");
    ctx.engine.create_schedule(schedule(&name, &queue, "@hourly")).await.unwrap();
    assert_err!(
        ctx.engine.create_schedule(schedule(&name, &queue, "@daily")).await,
        ServiceError::Conflict(Rejection::ScheduleExists(_))
    );
    assert_err!(
        ctx.engine.create_schedule(schedule(&unique("s"), &unique("nowhere"), "@daily")).await,
        ServiceError::NotFound(NotFound::Queue(_))
    );
    assert_err!(
        ctx.engine.create_schedule(schedule(&unique("s"), &queue, "every day")).await,
        ServiceError::Validation(e) if e.field == "cron"
    );
    let mut zoned = schedule(&unique("s"), &queue, "@daily");
    zoned.timezone = Some("Europe/Atlantis".into());
    assert_err!(ctx.engine.create_schedule(zoned).await, ServiceError::Validation(e) if e.field == "timezone");
    let bad_update = ScheduleUpdate { cron: Some("* * *".into()), ..ScheduleUpdate::default() };
    assert_err!(
        ctx.engine.update_schedule(name.clone(), bad_update).await,
        ServiceError::Validation(e) if e.field == "cron"
    );
    assert_eq!(
        ctx.engine.get_schedule(name).await.unwrap().cron.as_str(),
        "@hourly",
        "a refused patch changes nothing"
    );
}

pub async fn a_minute_schedule_fires_1440_tasks_over_a_day(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue_with(Some(0), None).await;
    let t0 = next_minute(ctx.now());
    ctx.set(t0);
    let name = unique("s");
    ctx.engine.create_schedule(schedule(&name, &queue, "* * * * *")).await.unwrap();
    for minute in 1..=1440 {
        // A sweep lands somewhere within each minute, as a real one would.
        ctx.set(t0 + Duration::minutes(minute) + Duration::milliseconds(250));
        ctx.sweep().await;
    }
    let ticks = fired_ticks(&ctx, &queue).await;
    assert_eq!(ticks.len(), 1440);
    let expected: Vec<String> = (1..=1440).map(|m| tick_text(t0 + Duration::minutes(m))).collect();
    assert_eq!(ticks, expected, "every minute of the day, once");
    let after = ctx.engine.get_schedule(name).await.unwrap();
    assert_eq!(after.last_tick, Some(t0 + Duration::days(1)));
    assert_eq!(after.next_tick, Some(t0 + Duration::days(1) + Duration::MINUTE));
}

pub async fn a_ticks_task_names_its_schedule_and_tick(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let t0 = next_minute(ctx.now());
    ctx.set(t0);
    let name = unique("s");
    let mut new = schedule(&name, &queue, "* * * * *");
    new.task = NewTask {
        params: json!({"n": 1}),
        headers: [("team".to_owned(), "ops".to_owned())].into(),
        max_attempts: Some(3),
        priority: Some(7),
        ..new_task("report")
    };
    ctx.engine.create_schedule(new).await.unwrap();
    ctx.set(t0 + Duration::MINUTE);
    ctx.sweep().await;
    let tasks = tasks_of(&ctx, &queue).await;
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.spec.task_name, "report");
    assert_eq!(task.spec.params, json!({"n": 1}));
    assert_eq!((task.spec.max_attempts, task.spec.priority), (3, 7));
    assert_eq!(task.spec.headers["team"], "ops");
    assert_eq!(task.spec.headers[HEADER_SCHEDULE], name);
    assert_eq!(task.spec.headers[HEADER_TICK], tick_text(t0 + Duration::MINUTE));
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!(claimed.task.id, task.id, "the tick's task is claimable at once");
    let after = ctx.engine.get_schedule(name).await.unwrap();
    assert_eq!((after.last_tick, after.last_task_id), (Some(t0 + Duration::MINUTE), Some(task.id)));
}

pub async fn two_replicas_fire_each_tick_once(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let t0 = next_minute(ctx.now());
    ctx.set(t0);
    for _ in 0..3 {
        ctx.engine.create_schedule(schedule(&unique("s"), &queue, "* * * * *")).await.unwrap();
    }
    let replicas: Vec<std::sync::Arc<Engine>> = vec![ctx.engine.clone(), ctx.replica(), ctx.replica()];
    for minute in 1..=20 {
        ctx.set(t0 + Duration::minutes(minute));
        let sweeps = replicas.iter().map(|r| {
            let r = r.clone();
            tokio::spawn(async move { r.sweep_once().await.expect("sweep") })
        });
        for sweep in sweeps.collect::<Vec<_>>() {
            sweep.await.unwrap();
        }
    }
    let tasks = tasks_of(&ctx, &queue).await;
    assert_eq!(tasks.len(), 3 * 20, "three schedules, twenty ticks each, however many replicas swept");
    let keys: BTreeSet<(String, String)> =
        tasks.iter().map(|t| (t.spec.headers[HEADER_SCHEDULE].clone(), t.spec.headers[HEADER_TICK].clone())).collect();
    assert_eq!(keys.len(), 60, "no (schedule, tick) twice");
}

pub async fn a_tick_whose_task_exists_creates_no_second_one(backend: Backend) {
    // What a replica that created the tick's task but died before moving the
    // schedule would leave (a store that does both in one transaction never
    // leaves it; the key is the second line of defence).
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let t0 = next_minute(ctx.now());
    ctx.set(t0);
    let name = unique("s");
    ctx.engine.create_schedule(schedule(&name, &queue, "* * * * *")).await.unwrap();
    let tick = t0 + Duration::MINUTE;
    let key = format!("schedule:{name}:{}", tick_text(tick));
    let earlier = ctx.create(&queue, NewTask { idempotency_key: Some(key), ..new_task("tick") }).await;
    ctx.set(tick);
    ctx.sweep().await;
    let tasks = tasks_of(&ctx, &queue).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let after = ctx.engine.get_schedule(name).await.unwrap();
    assert_eq!(after.last_task_id, Some(earlier.task_id));
    assert_eq!(after.next_tick, Some(tick + Duration::MINUTE));
}

/// Creates one minute schedule per policy, stops sweeping for ten and a
/// half minutes, then sweeps once.
async fn after_downtime(ctx: &Ctx, catch_up: &str) -> (String, String) {
    let queue = ctx.queue().await;
    let name = unique("s");
    let mut new = schedule(&name, &queue, "* * * * *");
    new.catch_up = Some(catch_up.into());
    ctx.engine.create_schedule(new).await.unwrap();
    (queue, name)
}

pub async fn catch_up_policies_after_downtime(backend: Backend) {
    let ctx = Ctx::new(backend);
    let t0 = next_minute(ctx.now());
    ctx.set(t0);
    let skip = after_downtime(&ctx, "skip").await;
    let one = after_downtime(&ctx, "one").await;
    let all = after_downtime(&ctx, "all").await;
    // No server ran for ten and a half minutes; the default grace (60 s)
    // makes the tick at +10 min, 30 s ago, on time.
    ctx.set(t0 + Duration::minutes(10) + Duration::seconds(30));
    ctx.sweep().await;
    let at = |m: i64| tick_text(t0 + Duration::minutes(m));
    assert_eq!(fired_ticks(&ctx, &skip.0).await, vec![at(10)], "skip: only the tick on time");
    assert_eq!(fired_ticks(&ctx, &one.0).await, vec![at(9), at(10)], "one: the latest missed, and the tick on time");
    assert_eq!(fired_ticks(&ctx, &all.0).await, (1..=10).map(at).collect::<Vec<_>>(), "all: every tick");
    for (_, name) in [skip, one, all] {
        let s = ctx.engine.get_schedule(name).await.unwrap();
        assert_eq!(s.next_tick, Some(t0 + Duration::minutes(11)));
    }
}

pub async fn a_paused_schedule_fires_nothing_and_resumes_after_now(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let t0 = next_minute(ctx.now());
    ctx.set(t0);
    let name = unique("s");
    let mut new = schedule(&name, &queue, "* * * * *");
    new.paused = Some(true);
    let created = ctx.engine.create_schedule(new).await.unwrap();
    assert!(created.paused);
    for minute in 1..=5 {
        ctx.set(t0 + Duration::minutes(minute));
        ctx.sweep().await;
    }
    assert!(tasks_of(&ctx, &queue).await.is_empty(), "paused: nothing fires");
    ctx.set(t0 + Duration::minutes(5) + Duration::seconds(10));
    let resume = ScheduleUpdate { paused: Some(false), ..ScheduleUpdate::default() };
    let resumed = ctx.engine.update_schedule(name.clone(), resume).await.unwrap();
    assert_eq!(resumed.next_tick, Some(t0 + Duration::minutes(6)), "the ticks of the pause never fire");
    ctx.sweep().await;
    assert!(tasks_of(&ctx, &queue).await.is_empty());
    ctx.set(t0 + Duration::minutes(6));
    ctx.sweep().await;
    assert_eq!(fired_ticks(&ctx, &queue).await, vec![tick_text(t0 + Duration::minutes(6))]);
    let pause = ScheduleUpdate { paused: Some(true), ..ScheduleUpdate::default() };
    ctx.engine.update_schedule(name, pause).await.unwrap();
    ctx.set(t0 + Duration::minutes(9));
    ctx.sweep().await;
    assert_eq!(fired_ticks(&ctx, &queue).await.len(), 1, "paused again: nothing more");
}

/// Sweeps every `step` from the clock's time to `to`; answers the ticks fired.
async fn sweep_through(ctx: &Ctx, queue: &str, to: Timestamp, step: Duration) -> Vec<String> {
    while ctx.now() + step <= to {
        ctx.set(ctx.now() + step);
        ctx.sweep().await;
    }
    fired_ticks(ctx, queue).await
}

pub async fn daylight_saving_transitions_follow_the_zone(backend: Backend) {
    let ctx = Ctx::new(backend);
    // New York skips 02:00–03:00 on 2027-03-14 and repeats 01:00–02:00 on 2027-11-07.
    ctx.set(datetime!(2027-03-13 12:00 UTC));
    let zoned = |cron: &str, queue: &str| NewSchedule {
        timezone: Some("America/New_York".into()),
        ..schedule(&unique("s"), queue, cron)
    };
    let gap = ctx.queue().await;
    let hourly_spring = ctx.queue().await;
    ctx.engine.create_schedule(zoned("30 2 * * *", &gap)).await.unwrap();
    ctx.engine.create_schedule(zoned("0 * * * *", &hourly_spring)).await.unwrap();
    sweep_through(&ctx, &gap, datetime!(2027-03-16 12:00 UTC), Duration::minutes(30)).await;
    assert_eq!(
        fired_ticks(&ctx, &gap).await,
        vec!["2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z"],
        "02:30 does not exist on the 14th: it fires at 03:00 EDT, once"
    );
    let spring_day: Vec<String> = fired_ticks(&ctx, &hourly_spring)
        .await
        .into_iter()
        .filter(|t| ("2027-03-14T05:00:00Z".."2027-03-15T04:00:00Z").contains(&t.as_str()))
        .collect();
    assert_eq!(spring_day.len(), 23, "the local day of the 14th has 23 hours: {spring_day:?}");

    ctx.set(datetime!(2027-11-06 12:00 UTC));
    let overlap = ctx.queue().await;
    let hourly_fall = ctx.queue().await;
    ctx.engine.create_schedule(zoned("30 1 * * *", &overlap)).await.unwrap();
    ctx.engine.create_schedule(zoned("0 * * * *", &hourly_fall)).await.unwrap();
    sweep_through(&ctx, &overlap, datetime!(2027-11-08 12:00 UTC), Duration::minutes(30)).await;
    assert_eq!(
        fired_ticks(&ctx, &overlap).await,
        vec!["2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"],
        "01:30 happens twice on the 7th: it fires once, the first time"
    );
    let fall_day: Vec<String> = fired_ticks(&ctx, &hourly_fall)
        .await
        .into_iter()
        .filter(|t| ("2027-11-07T04:00:00Z".."2027-11-08T05:00:00Z").contains(&t.as_str()))
        .collect();
    assert_eq!(fall_day.len(), 24, "each wall-clock hour of the 25-hour day fires once: {fall_day:?}");
}

pub async fn deleting_a_queue_deletes_its_schedules(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let name = unique("s");
    ctx.engine.create_schedule(schedule(&name, &queue, "@hourly")).await.unwrap();
    ctx.engine.delete_queue(queue, false).await.unwrap();
    assert_err!(ctx.engine.get_schedule(name).await, ServiceError::NotFound(NotFound::Schedule(_)));
}
