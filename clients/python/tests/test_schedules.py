"""(ext) Cron schedules, against a real server, through the sync and the async client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import eventually, unique

from durable import DurableError
from durable import _calls as calls
from durable._codec import from_json
from durable.types import (
    CatchUp,
    ClaimTasksRequest,
    CreateQueueRequest,
    CreateScheduleRequest,
    CreateTaskRequest,
    RetryStrategy,
    RetryStrategyKind,
    Schedule,
    ScheduleTask,
    UpdateScheduleRequest,
)

# The tests share one server per backend: every name is unique, and every
# schedule made is deleted again, so none keeps firing into later tests.


@pytest.fixture
async def made(api: Any) -> AsyncIterator[list[str]]:
    """Names of schedules to delete after the test, whatever became of it."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            await api.delete_schedule(name)
        except DurableError as error:
            if error.status_code != 404:
                raise


async def new_queue(api: Any) -> str:
    name = unique()
    await api.create_queue(CreateQueueRequest(name))
    return name


def parse(when: str) -> datetime:
    parsed = datetime.fromisoformat(when)
    assert parsed.tzinfo is not None, when
    return parsed


def expect_error(error: pytest.ExceptionInfo[DurableError], status: int, code: str) -> None:
    assert (error.value.status_code, error.value.body.code) == (status, code), error.value
    assert error.value.request_id


async def test_create_get_list_update_pause_resume_delete(api: Any, made: list[str]) -> None:
    queue = await new_queue(api)
    # A name that must be percent-encoded in the path.
    name = unique("nightly/report #1?")
    made.append(name)
    created = await api.create_schedule(
        CreateScheduleRequest(
            name,
            queue,
            "0 3 * * *",
            CreateTaskRequest(
                "report",
                params={"kind": "daily", "none": None},
                headers={"team": "data"},
                retry_strategy=RetryStrategy(RetryStrategyKind.EXPONENTIAL, 2, factor=3, max_seconds=60),
                max_attempts=4,
                start_timeout=100,
                execution_timeout=200,
                priority=5,
                concurrency_key="reports",
            ),
            timezone="Europe/Berlin",
            catch_up=CatchUp.ALL,
        )
    )
    assert isinstance(created, Schedule)
    assert (created.name, created.queue_name, created.cron, created.timezone) == (
        name,
        queue,
        "0 3 * * *",
        "Europe/Berlin",
    )
    assert (created.catch_up, created.paused) == (CatchUp.ALL, False)
    assert created.task == ScheduleTask(
        "report",
        params={"kind": "daily", "none": None},
        headers={"team": "data"},
        retry_strategy=RetryStrategy(RetryStrategyKind.EXPONENTIAL, 2.0, 3.0, 60.0),
        max_attempts=4,
        start_timeout=100,
        execution_timeout=200,
        priority=5,
        concurrency_key="reports",
    )
    assert (created.last_tick, created.last_task_id) == (None, None)
    assert created.next_tick is not None
    fire_times = [parse(when) for when in created.next_fire_times]
    assert len(fire_times) == 5 and fire_times == sorted(fire_times) and fire_times[0] > datetime.now(UTC)
    berlin = ZoneInfo("Europe/Berlin")
    assert {(when.astimezone(berlin).hour, when.astimezone(berlin).minute) for when in fire_times} == {(3, 0)}
    assert parse(created.next_tick) == fire_times[0]
    parse(created.created_at)
    parse(created.updated_at)

    assert await api.get_schedule(name) == created

    # The defaults: UTC, catch up one, a task of one attempt.
    other = unique("a-first-by-name")
    made.append(other)
    plain = await api.create_schedule(CreateScheduleRequest(other, queue, "@hourly", CreateTaskRequest("tick")))
    assert (plain.timezone, plain.catch_up, plain.paused) == ("UTC", CatchUp.ONE, False)
    assert plain.task == ScheduleTask("tick", max_attempts=1)
    assert [parse(when).minute for when in plain.next_fire_times] == [0] * 5

    listed = await api.list_schedules()
    assert all(isinstance(s, Schedule) for s in listed)
    mine = [s for s in listed if s.name in (name, other)]
    assert [s.name for s in mine] == [other, name], "listed by name"
    assert mine[1] == created

    updated = await api.update_schedule(name, UpdateScheduleRequest(cron="30 4 * * 1-5", catch_up=CatchUp.SKIP))
    assert (updated.cron, updated.catch_up) == ("30 4 * * 1-5", CatchUp.SKIP)
    assert (updated.timezone, updated.task, updated.paused) == ("Europe/Berlin", created.task, False), "absent stay"
    weekdays = [parse(when).astimezone(berlin) for when in updated.next_fire_times]
    assert len(weekdays) == 5 and all((w.hour, w.minute) == (4, 30) and w.weekday() < 5 for w in weekdays)
    retasked = await api.update_schedule(name, UpdateScheduleRequest(task=CreateTaskRequest("other", params=[1])))
    assert retasked.task == ScheduleTask("other", params=[1]), "a new task replaces the whole template"
    assert retasked.cron == "30 4 * * 1-5"

    paused = await api.pause_schedule(name)
    assert paused.paused and paused.next_fire_times == []
    assert (await api.get_schedule(name)).paused
    assert (await api.pause_schedule(name)).paused, "pausing twice is pausing once"
    resumed = await api.resume_schedule(name)
    assert not resumed.paused and len(resumed.next_fire_times) == 5
    created_paused = unique("paused")
    made.append(created_paused)
    asleep = await api.create_schedule(
        CreateScheduleRequest(created_paused, queue, "* * * * *", CreateTaskRequest("t"), paused=True)
    )
    assert asleep.paused and asleep.next_fire_times == []

    assert await api.delete_schedule(name) is None
    with pytest.raises(DurableError) as gone:
        await api.get_schedule(name)
    expect_error(gone, 404, "NOT_FOUND")
    assert name not in [s.name for s in await api.list_schedules()]


async def test_errors_name_their_cause(api: Any, made: list[str]) -> None:
    queue = await new_queue(api)
    name = unique("s")
    made.append(name)
    await api.create_schedule(CreateScheduleRequest(name, queue, "@hourly", CreateTaskRequest("t")))

    with pytest.raises(DurableError) as taken:
        await api.create_schedule(CreateScheduleRequest(name, queue, "@daily", CreateTaskRequest("t")))
    expect_error(taken, 409, "CONFLICT")
    assert (await api.get_schedule(name)).cron == "@hourly", "the first one stays"

    unknown = unique("nope")
    with pytest.raises(DurableError) as no_schedule:
        await api.get_schedule(unknown)
    expect_error(no_schedule, 404, "NOT_FOUND")
    for method, args in (
        ("update_schedule", (unknown, UpdateScheduleRequest(cron="@daily"))),
        ("pause_schedule", (unknown,)),
        ("resume_schedule", (unknown,)),
        ("delete_schedule", (unknown,)),
    ):
        with pytest.raises(DurableError) as missing:
            await getattr(api, method)(*args)
        expect_error(missing, 404, "NOT_FOUND")

    with pytest.raises(DurableError) as no_queue:
        await api.create_schedule(CreateScheduleRequest(unique("s"), unique(), "@hourly", CreateTaskRequest("t")))
    expect_error(no_queue, 404, "NOT_FOUND")

    with pytest.raises(DurableError) as bad_cron:
        await api.create_schedule(CreateScheduleRequest(unique("s"), queue, "61 * * * *", CreateTaskRequest("t")))
    expect_error(bad_cron, 400, "VALIDATION_ERROR")
    assert "cron" in str(bad_cron.value) and "cron" in bad_cron.value.body.error
    with pytest.raises(DurableError) as bad_patch:
        await api.update_schedule(name, UpdateScheduleRequest(cron="not a cron"))
    expect_error(bad_patch, 400, "VALIDATION_ERROR")
    assert "cron" in bad_patch.value.body.error
    with pytest.raises(DurableError) as bad_zone:
        await api.update_schedule(name, UpdateScheduleRequest(timezone="Mars/Base"))
    expect_error(bad_zone, 400, "VALIDATION_ERROR")
    assert "timezone" in bad_zone.value.body.error
    with pytest.raises(DurableError) as keyed:
        await api.create_schedule(
            CreateScheduleRequest(unique("s"), queue, "@hourly", CreateTaskRequest("t", idempotency_key="k"))
        )
    expect_error(keyed, 400, "VALIDATION_ERROR")
    assert "task.idempotency_key" in keyed.value.body.error
    assert (await api.get_schedule(name)).cron == "@hourly", "refused patches change nothing"


async def test_a_schedule_fires_tasks_naming_schedule_and_tick(api: Any, made: list[str]) -> None:
    queue = await new_queue(api)
    name = unique("every-second")
    made.append(name)
    await api.create_schedule(
        CreateScheduleRequest(
            name,
            queue,
            "* * * * * *",
            CreateTaskRequest("ping", params={"n": 1}, headers={"mine": "yes"}),
            catch_up=CatchUp.SKIP,
        )
    )

    async def claim() -> Any:
        claimed = await api.claim_tasks(queue, ClaimTasksRequest(1, 30, long_poll_seconds=2))
        return claimed.tasks[0] if claimed.tasks else None

    task = await eventually(claim, timeout=10)
    assert (task.task_name, task.params, task.queue_name) == ("ping", {"n": 1}, queue)
    assert task.headers["durable-schedule"] == name
    assert task.headers["mine"] == "yes"
    tick = task.headers["durable-tick"]
    assert tick.endswith("Z"), tick
    assert parse(tick).microsecond == 0 and parse(tick) <= datetime.now(UTC)

    detail = await api.get_task(task.task_id)
    assert detail.idempotency_key == f"schedule:{name}:{tick}"
    assert detail.headers == task.headers

    async def recorded() -> Schedule | None:
        schedule: Schedule = await api.get_schedule(name)
        return schedule if schedule.last_task_id is not None else None

    fired = await eventually(recorded, timeout=10)
    assert fired.last_tick is not None and parse(fired.last_tick) >= parse(tick)
    assert fired.next_tick is not None and parse(fired.next_tick) > parse(fired.last_tick)
    assert (await api.get_task(fired.last_task_id)).headers["durable-schedule"] == name

    paused = await api.pause_schedule(name)
    assert paused.paused and paused.next_fire_times == []

    async def count() -> int:
        return len((await api.list_tasks(queue_name=queue, limit=1000)).tasks)

    # A sweep that started before the pause may still finish its tick.
    await asyncio.sleep(0.5)
    before = await count()
    await asyncio.sleep(1.5)
    assert await count() == before, "a paused schedule fires nothing"

    await api.delete_schedule(name)
    assert (await api.get_task(task.task_id)).id == task.task_id, "the tasks a schedule fired stay"


def test_calls_encode_names_and_retry_only_what_is_safe_to_repeat() -> None:
    request = CreateScheduleRequest("s", "q", "@daily", CreateTaskRequest("t", params={"keep": None}))
    create = calls.create_schedule(request)
    assert (create.method, create.path, create.idempotent) == ("POST", "/api/v1/schedules", False)
    assert create.body == {
        "name": "s",
        "queue_name": "q",
        "cron": "@daily",
        "task": {"task_name": "t", "params": {"keep": None}},
    }
    listed = calls.list_schedules()
    assert (listed.method, listed.path, listed.idempotent) == ("GET", "/api/v1/schedules", True)
    path = "/api/v1/schedules/eu%2Fbilling%20%231%3F"
    for call, method in (
        (calls.get_schedule("eu/billing #1?"), "GET"),
        (calls.update_schedule("eu/billing #1?", UpdateScheduleRequest()), "PATCH"),
        (calls.pause_schedule("eu/billing #1?"), "PATCH"),
        (calls.resume_schedule("eu/billing #1?"), "PATCH"),
        (calls.delete_schedule("eu/billing #1?"), "DELETE"),
    ):
        assert (call.method, call.path, call.idempotent) == (method, path, True)
    assert calls.pause_schedule("s").body == {"paused": True}
    assert calls.resume_schedule("s").body == {"paused": False}
    patch = UpdateScheduleRequest(cron="@hourly", catch_up=CatchUp.ALL, task=CreateTaskRequest("u", max_attempts=2))
    assert calls.update_schedule("s", patch).body == {
        "cron": "@hourly",
        "task": {"task_name": "u", "max_attempts": 2},
        "catch_up": "all",
    }


def test_schedules_decode_ignoring_what_they_do_not_know() -> None:
    data = {
        "name": "s",
        "queue_name": "q",
        "cron": "@daily",
        "timezone": "UTC",
        "task": {
            "task_name": "t",
            "params": None,
            "headers": {},
            "retry_strategy": {"kind": "fixed", "base_seconds": 5.0},
            "max_attempts": 3,
            "start_timeout": None,
            "execution_timeout": 60.0,
            "priority": 0,
            "concurrency_key": None,
            "from_the_future": 1,
        },
        "catch_up": "sometimes",
        "paused": False,
        "next_tick": "2030-01-02T00:00:00Z",
        "next_fire_times": ["2030-01-02T00:00:00Z"],
        "last_tick": None,
        "last_task_id": None,
        "created_at": "2030-01-01T00:00:00Z",
        "updated_at": "2030-01-01T00:00:00Z",
        "shard": 7,
    }
    [schedule] = calls.parse_schedules(httpx.Response(200, json={"schedules": [data]}))
    assert schedule == from_json(Schedule, data)
    assert schedule.task.retry_strategy == RetryStrategy(RetryStrategyKind.FIXED, 5.0)
    assert (schedule.task.max_attempts, schedule.task.execution_timeout) == (3, 60.0)
    # A policy this client does not know yet is kept as text, not refused.
    assert schedule.catch_up == "sometimes"
    assert from_json(Schedule, {**data, "catch_up": "all"}).catch_up is CatchUp.ALL
