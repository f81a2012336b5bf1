use serde_json::json;
use time::macros::datetime;

use super::*;

fn schedule(cron: &str, zone: &str, created: Timestamp) -> Schedule {
    NewSchedule {
        name: "nightly".into(),
        queue_name: "default".into(),
        cron: cron.into(),
        timezone: Some(zone.into()),
        task: NewTask { task_name: "report".into(), ..NewTask::default() },
        catch_up: None,
        paused: None,
    }
    .validate(created)
    .expect("valid schedule")
}

/// Fires `s` as a sweeper would, one pass every `step` from `from` to `to`,
/// and answers every tick it fired.
fn simulate(s: &mut Schedule, from: Timestamp, to: Timestamp, step: Duration) -> Vec<Timestamp> {
    let mut fired = Vec::new();
    let mut now = from;
    while now <= to {
        if let Some(firing) = s.due(now, Duration::seconds(5), MAX_TICKS_PER_PASS) {
            fired.extend(&firing.ticks);
            s.fired(&firing, None);
        }
        now += step;
    }
    fired
}

#[test]
fn a_minute_schedule_fires_1440_times_a_day_each_tick_once() {
    let start = datetime!(2027-01-10 00:00 UTC);
    let mut s = schedule("* * * * *", "UTC", start);
    let fired = simulate(&mut s, start, start + Duration::days(1), Duration::seconds(20));
    assert_eq!(fired.len(), 1440);
    assert_eq!(fired.first(), Some(&datetime!(2027-01-10 00:01 UTC)));
    assert_eq!(fired.last(), Some(&datetime!(2027-01-11 00:00 UTC)));
    assert!(fired.windows(2).all(|w| w[1] - w[0] == Duration::MINUTE), "one tick per minute, none twice");
}

#[test]
fn spring_forward_a_fixed_time_in_the_gap_fires_once_right_after_it() {
    // New York skips 02:00–03:00 local on 2027-03-14.
    let start = datetime!(2027-03-13 12:00 UTC);
    let mut s = schedule("30 2 * * *", "America/New_York", start);
    let fired = simulate(&mut s, start, start + Duration::days(3), Duration::MINUTE);
    assert_eq!(
        fired,
        vec![
            datetime!(2027-03-14 07:00 UTC), // 03:00 EDT, the first minute after the gap
            datetime!(2027-03-15 06:30 UTC), // 02:30 EDT
            datetime!(2027-03-16 06:30 UTC),
        ]
    );
}

#[test]
fn spring_forward_an_hourly_schedule_has_23_ticks_that_day() {
    let start = datetime!(2027-03-14 05:00 UTC); // 00:00 EST
    let mut s = schedule("0 * * * *", "America/New_York", start - Duration::SECOND);
    let fired = simulate(&mut s, start, start + Duration::hours(23) - Duration::SECOND, Duration::MINUTE);
    assert_eq!(fired.len(), 23, "{fired:?}");
}

#[test]
fn fall_back_a_fixed_time_in_the_repeated_hour_fires_once() {
    // New York repeats 01:00–02:00 local on 2027-11-07.
    let start = datetime!(2027-11-06 12:00 UTC);
    let mut s = schedule("30 1 * * *", "America/New_York", start);
    let fired = simulate(&mut s, start, start + Duration::days(2), Duration::MINUTE);
    assert_eq!(
        fired,
        vec![
            datetime!(2027-11-07 05:30 UTC), // 01:30 EDT, the first of the two
            datetime!(2027-11-08 06:30 UTC), // 01:30 EST
        ]
    );
}

#[test]
fn fall_back_each_wall_clock_time_fires_once() {
    // croner walks local wall-clock time, so the repeated hour's times fire
    // in their first pass only: an hourly schedule has 24 ticks that day, and
    // nothing fires between 01:59 EDT and 02:00 EST.
    let start = datetime!(2027-11-07 04:00 UTC); // 00:00 EDT
    let mut s = schedule("0 * * * *", "America/New_York", start - Duration::SECOND);
    let fired = simulate(&mut s, start, start + Duration::hours(25) - Duration::SECOND, Duration::MINUTE);
    assert_eq!(fired.len(), 24, "{fired:?}");
    assert!(fired.contains(&datetime!(2027-11-07 05:00 UTC)), "01:00 EDT fires");
    assert!(!fired.contains(&datetime!(2027-11-07 06:00 UTC)), "01:00 EST, the same wall-clock time, does not");
    let mut s = schedule("* * * * *", "America/New_York", start - Duration::SECOND);
    let fired = simulate(&mut s, start, start + Duration::hours(25) - Duration::SECOND, Duration::seconds(20));
    assert_eq!(fired.len(), 1440);
}

fn missed(catch_up: CatchUp, grace: Duration) -> Firing {
    let mut s = schedule("* * * * *", "UTC", datetime!(2027-01-10 00:00 UTC));
    s.catch_up = catch_up;
    s.due(datetime!(2027-01-10 01:00:30 UTC), grace, MAX_TICKS_PER_PASS).expect("due")
}

#[test]
fn catch_up_all_fires_every_missed_tick() {
    let firing = missed(CatchUp::All, Duration::seconds(5));
    assert_eq!(firing.ticks.len(), 60);
    assert_eq!(firing.ticks[0], datetime!(2027-01-10 00:01 UTC));
    assert_eq!(firing.next_tick, Some(datetime!(2027-01-10 01:01 UTC)));
}

#[test]
fn catch_up_one_fires_the_latest_missed_tick_and_every_tick_on_time() {
    let firing = missed(CatchUp::One, Duration::seconds(5));
    assert_eq!(firing.ticks, vec![datetime!(2027-01-10 01:00 UTC)]);
    assert_eq!(firing.next_tick, Some(datetime!(2027-01-10 01:01 UTC)));
    let firing = missed(CatchUp::One, Duration::MINUTE);
    assert_eq!(firing.ticks, vec![datetime!(2027-01-10 00:59 UTC), datetime!(2027-01-10 01:00 UTC)]);
}

#[test]
fn catch_up_skip_fires_only_ticks_on_time() {
    let firing = missed(CatchUp::Skip, Duration::seconds(5));
    assert!(firing.ticks.is_empty());
    assert_eq!(firing.next_tick, Some(datetime!(2027-01-10 01:01 UTC)));
    let firing = missed(CatchUp::Skip, Duration::MINUTE);
    assert_eq!(firing.ticks, vec![datetime!(2027-01-10 01:00 UTC)]);
}

#[test]
fn a_pass_fires_at_most_its_limit_and_the_rest_stay_due() {
    let mut s = schedule("* * * * *", "UTC", datetime!(2027-01-10 00:00 UTC));
    s.catch_up = CatchUp::All;
    let now = datetime!(2027-01-10 01:00:30 UTC);
    let firing = s.due(now, Duration::ZERO, 10).expect("due");
    assert_eq!(firing.ticks.len(), 10);
    assert_eq!(firing.next_tick, Some(datetime!(2027-01-10 00:11 UTC)));
    s.fired(&firing, None);
    assert_eq!(s.due(now, Duration::ZERO, 100).expect("still due").ticks.len(), 50);
}

#[test]
fn nothing_is_due_before_the_next_tick_or_while_paused() {
    let mut s = schedule("0 * * * *", "UTC", datetime!(2027-01-10 00:00 UTC));
    assert_eq!(s.next_tick, Some(datetime!(2027-01-10 01:00 UTC)));
    assert_eq!(s.due(datetime!(2027-01-10 00:59:59 UTC), Duration::ZERO, 10), None);
    s.paused = true;
    assert_eq!(s.due(datetime!(2027-01-10 05:00 UTC), Duration::ZERO, 10), None);
    assert!(s.upcoming(3).is_empty());
}

#[test]
fn resuming_starts_after_now_so_paused_ticks_never_fire() {
    let mut s = schedule("0 * * * *", "UTC", datetime!(2027-01-10 00:00 UTC));
    s.apply(SchedulePatch { paused: Some(true), ..SchedulePatch::default() }, datetime!(2027-01-10 00:10 UTC));
    s.apply(SchedulePatch { paused: Some(false), ..SchedulePatch::default() }, datetime!(2027-01-10 05:10 UTC));
    assert_eq!(s.next_tick, Some(datetime!(2027-01-10 06:00 UTC)));
    assert_eq!(s.updated_at, datetime!(2027-01-10 05:10 UTC));
    let patch = ScheduleUpdate { cron: Some("*/15 * * * *".into()), ..ScheduleUpdate::default() }.validate().unwrap();
    s.apply(patch.clone(), datetime!(2027-01-10 05:20 UTC));
    assert_eq!(s.upcoming(2), vec![datetime!(2027-01-10 05:30 UTC), datetime!(2027-01-10 05:45 UTC)]);
    // The same patch again, after 05:30 came due: the 05:30 tick stays due.
    s.apply(patch, datetime!(2027-01-10 05:30:01 UTC));
    assert_eq!(s.next_tick, Some(datetime!(2027-01-10 05:30 UTC)));
}

#[test]
fn a_ticks_task_carries_the_schedule_and_the_tick() {
    let s = schedule("0 * * * *", "UTC", datetime!(2027-01-10 00:00 UTC));
    let spec = s.tick_task(datetime!(2027-01-10 01:00 UTC));
    assert_eq!(spec.idempotency_key.as_deref(), Some("schedule:nightly:2027-01-10T01:00:00Z"));
    assert_eq!(spec.headers.get(HEADER_SCHEDULE).map(String::as_str), Some("nightly"));
    assert_eq!(spec.headers.get(HEADER_TICK).map(String::as_str), Some("2027-01-10T01:00:00Z"));
    assert_eq!(spec.task_name, "report");
}

#[test]
fn expressions_with_seconds_and_macros_parse() {
    let s = schedule("*/10 * * * * *", "UTC", datetime!(2027-01-10 00:00 UTC));
    assert_eq!(s.upcoming(2), vec![datetime!(2027-01-10 00:00:10 UTC), datetime!(2027-01-10 00:00:20 UTC)]);
    for macro_ in ["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually"] {
        CronExpr::parse("cron", macro_).unwrap_or_else(|e| panic!("{macro_}: {e}"));
    }
    let s = schedule("@daily", "Europe/Berlin", datetime!(2027-01-10 12:00 UTC));
    assert_eq!(s.next_tick, Some(datetime!(2027-01-10 23:00 UTC)));
}

fn field_of(result: Result<Schedule, ValidationError>) -> String {
    result.expect_err("refused").field
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let base = NewSchedule {
        name: "s".into(),
        queue_name: "q".into(),
        cron: "* * * * *".into(),
        timezone: None,
        task: NewTask { task_name: "t".into(), ..NewTask::default() },
        catch_up: None,
        paused: None,
    };
    let now = datetime!(2027-01-10 00:00 UTC);
    let with = |f: fn(&mut NewSchedule)| {
        let mut s = base.clone();
        f(&mut s);
        field_of(s.validate(now))
    };
    assert_eq!(with(|s| s.name = String::new()), "name");
    assert_eq!(with(|s| s.name = "a\nb".into()), "name");
    assert_eq!(with(|s| s.name = "x".repeat(201)), "name");
    assert_eq!(with(|s| s.queue_name = String::new()), "queue_name");
    assert_eq!(with(|s| s.cron = "61 * * * *".into()), "cron");
    assert_eq!(with(|s| s.cron = "* * * *".into()), "cron");
    assert_eq!(with(|s| s.cron = "0 0 30 2 *".into()), "cron");
    assert_eq!(with(|s| s.cron = "0 0 1 1 * 2030".into()), "cron");
    assert_eq!(with(|s| s.timezone = Some("Mars/Olympus".into())), "timezone");
    assert_eq!(with(|s| s.catch_up = Some("some".into())), "catch_up");
    assert_eq!(with(|s| s.task.task_name = String::new()), "task.task_name");
    assert_eq!(with(|s| s.task.idempotency_key = Some("k".into())), "task.idempotency_key");
    assert_eq!(with(|s| s.task.run_at = Some(datetime!(2027-01-10 00:00 UTC))), "task.run_at");
    assert_eq!(with(|s| s.task.max_attempts = Some(0)), "task.max_attempts");
    assert_eq!(
        with(|s| {
            s.task.headers.insert(HEADER_TICK.into(), "x".into());
        }),
        "task.headers"
    );
    let ok = base.validate(now).expect("valid");
    assert_eq!((ok.timezone, ok.catch_up, ok.paused), (Tz::UTC, CatchUp::One, false));
}

#[test]
fn the_stored_template_reads_back_as_it_was_written() {
    let spec = NewTask {
        task_name: "t".into(),
        params: json!({"a": [1, 2]}),
        headers: [("h".to_owned(), "v".to_owned())].into(),
        retry_strategy: Some(RetryStrategy {
            kind: RetryKind::Exponential,
            base_seconds: 1.5,
            factor: Some(3.0),
            max_seconds: None,
        }),
        max_attempts: Some(4),
        start_timeout: Some(2.25),
        execution_timeout: None,
        priority: Some(-7),
        concurrency_key: Some("customer:1".into()),
        ..NewTask::default()
    }
    .validate()
    .unwrap();
    assert_eq!(template_from_document(template_document(&spec)), Ok(spec));
    assert!(template_from_document(json!({"task_name": 3})).is_err());
}
