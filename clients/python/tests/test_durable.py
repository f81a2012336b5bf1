"""Durable execution against a real server: replay, waits, children, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conftest import eventually, unique

from durable import (
    ChildFailed,
    ChildTimeout,
    Durable,
    DurableError,
    EventTimeout,
    TaskCanceled,
    TaskContext,
    TaskFailed,
)
from durable.types import CreateQueueRequest, EmitEventRequest, RetryStrategy, RetryStrategyKind, RunStatus

NO_BACKOFF = RetryStrategy(RetryStrategyKind.FIXED, 0)


@pytest.fixture
async def app(base_url: str) -> AsyncIterator[Durable]:
    async with Durable(base_url) as durable:
        yield durable


@pytest.fixture
async def queue(app: Durable) -> str:
    name = unique()
    await app.client.create_queue(CreateQueueRequest(name))
    return name


@contextlib.asynccontextmanager
async def working(app: Durable, queue: str, **options: Any) -> AsyncIterator[None]:
    stop = asyncio.Event()
    options.setdefault("long_poll_seconds", 2)
    worker = asyncio.create_task(app.run_worker(queue, stop=stop, handle_signals=False, **options))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)


async def step_names(app: Durable, task_id: str) -> list[str]:
    return sorted(c.step_name for c in (await app.client.list_checkpoints(task_id)).checkpoints)


async def test_finished_steps_are_replayed_not_rerun(app: Durable, queue: str) -> None:
    ran: Counter[str] = Counter()

    def count(name: str) -> str:
        ran[name] += 1
        return name.upper()

    @app.task("replay", queue=queue, max_attempts=2, retry_strategy=NO_BACKOFF)
    async def replay(ctx: TaskContext, params: dict[str, int]) -> list[str]:
        a = await ctx.step("a", count, "a")
        if ctx.attempt == 1:
            raise RuntimeError("the first run fails after step a")
        b = await ctx.step("b", count, "b")
        return [a, b, str(params["n"])]

    async with working(app, queue):
        handle = await app.spawn("replay", {"n": 5})
        assert await handle.result(timeout=20) == ["A", "B", "5"]
    assert ran == {"a": 1, "b": 1}
    runs = (await app.client.list_runs(task_id=handle.task_id)).runs
    assert [(r.attempt, r.status, r.error) for r in runs] == [
        (2, RunStatus.COMPLETED, None),
        (1, RunStatus.FAILED, "RuntimeError: the first run fails after step a"),
    ]


async def test_steps_of_one_name_in_a_loop(app: Durable, queue: str) -> None:
    ran: Counter[int] = Counter()

    @app.task("loop", queue=queue, max_attempts=2, retry_strategy=NO_BACKOFF)
    async def loop(ctx: TaskContext, _: None) -> list[int]:
        out = []
        for i in range(3):

            async def work(i: int = i) -> int:
                ran[i] += 1
                return i * 10

            out.append(await ctx.step("item", work))
        if ctx.attempt == 1:
            raise RuntimeError("retry me")
        return out

    async with working(app, queue):
        handle = await app.spawn("loop")
        assert await handle.result(timeout=20) == [0, 10, 20]
    assert ran == {0: 1, 1: 1, 2: 1}
    assert await step_names(app, handle.task_id) == ["item", "item#2", "item#3"]


async def test_a_failed_step_runs_again_on_the_retry(app: Durable, queue: str) -> None:
    ran: Counter[str] = Counter()

    def first() -> int:
        ran["first"] += 1
        return 1

    def flaky() -> int:
        ran["flaky"] += 1
        if ran["flaky"] == 1:
            raise ConnectionError("the payment provider is down")
        return 2

    @app.task("flaky", queue=queue, max_attempts=3, retry_strategy=NO_BACKOFF)
    async def task(ctx: TaskContext, _: None) -> int:
        return await ctx.step("first", first) + await ctx.step("flaky", flaky)

    async with working(app, queue):
        assert await (await app.spawn("flaky")).result(timeout=20) == 3
    assert ran == {"first": 1, "flaky": 2}


async def test_a_task_out_of_attempts_fails_with_the_handlers_error(app: Durable, queue: str) -> None:
    @app.task("doomed", queue=queue)
    async def doomed(ctx: TaskContext, _: None) -> None:
        raise ValueError("nope")

    async with working(app, queue):
        with pytest.raises(TaskFailed) as failed:
            await (await app.spawn("doomed")).result(timeout=20)
    assert failed.value.error == "ValueError: nope"


async def test_an_event_emitted_before_the_wait(app: Durable, queue: str) -> None:
    event = unique("packed")
    await app.client.emit_event(EmitEventRequest(event, {"tracking": "T1"}))

    @app.task("early", queue=queue)
    async def early(ctx: TaskContext, _: None) -> Any:
        return await ctx.await_event(event, timeout=60)

    async with working(app, queue):
        assert await (await app.spawn("early")).result(timeout=20) == {"tracking": "T1"}


async def test_an_event_emitted_after_the_wait(app: Durable, queue: str) -> None:
    event = unique("packed")
    ran: Counter[str] = Counter()

    def before() -> str:
        ran["before"] += 1
        return "b"

    @app.task("late", queue=queue)
    async def late(ctx: TaskContext, _: None) -> Any:
        b = await ctx.step("before", before)
        payload = await ctx.await_event(event, timeout=60)
        return [b, payload]

    async with working(app, queue):
        handle = await app.spawn("late")

        async def sleeping() -> bool:
            runs = (await app.client.list_runs(task_id=handle.task_id)).runs
            return runs[0].status == RunStatus.SLEEPING

        await eventually(sleeping)
        await app.client.emit_event(EmitEventRequest(event, {"tracking": "T2"}))
        assert await handle.result(timeout=20) == ["b", {"tracking": "T2"}]
    assert ran == {"before": 1}
    runs = (await app.client.list_runs(task_id=handle.task_id)).runs
    assert [r.attempt for r in runs] == [1], "a wait is not a failure: the same run resumes"
    assert await step_names(app, handle.task_id) == ["before"]


async def test_an_event_wait_times_out(app: Durable, queue: str) -> None:
    never = unique("never")

    @app.task("impatient", queue=queue)
    async def impatient(ctx: TaskContext, _: None) -> str:
        try:
            await ctx.await_event(never, timeout=1)
        except EventTimeout as timeout:
            return f"gave up on {timeout.event_name.split('-')[0]}"
        return "resolved"

    async with working(app, queue):
        assert await (await app.spawn("impatient")).result(timeout=20) == "gave up on never"


async def test_a_child_wait_times_out(app: Durable, queue: str) -> None:
    idle = unique("idle")
    await app.client.create_queue(CreateQueueRequest(idle))

    @app.task("parent-times-out", queue=queue)
    async def parent(ctx: TaskContext, _: None) -> str:
        child = await ctx.spawn("never-worked", {}, queue=idle)
        try:
            await ctx.await_task(child, timeout=1)
        except ChildTimeout as timeout:
            assert timeout.task_id == child.task_id
            return "timed out"
        return "finished"

    async with working(app, queue):
        assert await (await app.spawn("parent-times-out")).result(timeout=20) == "timed out"


async def test_a_durable_sleep(app: Durable, queue: str) -> None:
    ran: Counter[str] = Counter()

    def mark(name: str) -> float:
        ran[name] += 1
        return time.time()

    @app.task("napper", queue=queue)
    async def napper(ctx: TaskContext, _: None) -> float:
        start = await ctx.step("before", mark, "before")
        await ctx.sleep_for(1)
        end = await ctx.step("after", mark, "after")
        return end - start

    async with working(app, queue):
        handle = await app.spawn("napper")
        slept = await handle.result(timeout=20)
    assert slept >= 1.0
    assert ran == {"before": 1, "after": 1}
    assert await step_names(app, handle.task_id) == ["$sleep", "after", "before"]
    assert [r.attempt for r in (await app.client.list_runs(task_id=handle.task_id)).runs] == [1]


async def test_spawn_and_await_a_child(app: Durable, queue: str) -> None:
    @app.task("send-email", queue=queue)
    async def send_email(ctx: TaskContext, params: dict[str, str]) -> dict[str, str]:
        return {"sent_to": params["to"]}

    @app.task("parent", queue=queue, max_attempts=2, retry_strategy=NO_BACKOFF)
    async def parent(ctx: TaskContext, _: None) -> Any:
        child = await ctx.spawn("send-email", {"to": "ada@example.com"})
        sent = await ctx.await_task(child)
        if ctx.attempt == 1:
            raise RuntimeError("the replay must not spawn a second child")
        return sent

    async with working(app, queue):
        handle = await app.spawn("parent")
        assert await handle.result(timeout=20) == {"sent_to": "ada@example.com"}
    children = (await app.client.list_tasks(parent_task_id=handle.task_id)).tasks
    assert [c.task_name for c in children] == ["send-email"]
    assert (await app.client.get_task(children[0].id)).parent_task_id == handle.task_id


async def test_a_failed_child(app: Durable, queue: str) -> None:
    @app.task("bad-child", queue=queue)
    async def bad_child(ctx: TaskContext, _: None) -> None:
        raise KeyError("missing")

    @app.task("parent-of-bad", queue=queue)
    async def parent(ctx: TaskContext, _: None) -> str:
        try:
            await ctx.await_task(await ctx.spawn("bad-child"))
        except ChildFailed as failed:
            return failed.error
        return "ok"

    async with working(app, queue):
        assert await (await app.spawn("parent-of-bad")).result(timeout=20) == "KeyError: 'missing'"


async def test_cancel_during_a_step_stops_the_handler(app: Durable, queue: str) -> None:
    log: list[str] = []
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("step cancelled")
            raise
        log.append("step finished")
        return "done"

    @app.task("cancelable", queue=queue)
    async def cancelable(ctx: TaskContext, _: None) -> str:
        result = await ctx.step("slow", slow)
        log.append("after the step")
        return result

    async with working(app, queue, claim_timeout=2):
        handle = await app.spawn("cancelable")
        await asyncio.wait_for(started.wait(), 10)
        await handle.cancel()
        # The next heartbeat (at most half a claim timeout away) is refused.
        await eventually(lambda: log, timeout=5)
        with pytest.raises(TaskCanceled):
            await handle.result(timeout=5)
    assert log == ["step cancelled"]
    assert await step_names(app, handle.task_id) == []


async def test_values_must_be_json(app: Durable, queue: str) -> None:
    @app.task("not-json", queue=queue)
    async def not_json(ctx: TaskContext, _: None) -> Any:
        return await ctx.step("set", lambda: {1, 2})

    async with working(app, queue):
        with pytest.raises(TaskFailed) as failed:
            await (await app.spawn("not-json")).result(timeout=20)
    assert "is not JSON" in failed.value.error


async def test_step_results_come_back_as_json_keeps_them(app: Durable, queue: str) -> None:
    @app.task("tuples", queue=queue)
    async def tuples(ctx: TaskContext, _: None) -> Any:
        # Typed as the function's result; at run time it is its JSON form.
        value: Any = await ctx.step("pair", lambda: (1, {2: "x"}))
        assert value == [1, {"2": "x"}], "the first run sees what a replay would"
        return value

    async with working(app, queue):
        assert await (await app.spawn("tuples")).result(timeout=20) == [1, {"2": "x"}]


async def test_invalid_step_names_fail_the_run(app: Durable, queue: str) -> None:
    @app.task("bad-name", queue=queue)
    async def bad_name(ctx: TaskContext, _: None) -> Any:
        return await ctx.step("item#2", lambda: 1)

    async with working(app, queue):
        with pytest.raises(TaskFailed) as failed:
            await (await app.spawn("bad-name")).result(timeout=20)
    assert "InvalidStepName" in failed.value.error and "#" in failed.value.error


async def test_an_unregistered_task_name_fails_its_run(app: Durable, queue: str) -> None:
    @app.task("known", queue=queue)
    async def known(ctx: TaskContext, _: None) -> None:
        return None

    async with working(app, queue):
        handle = await app.spawn("unknown", queue=queue)
        with pytest.raises(TaskFailed) as failed:
            await handle.result(timeout=20)
    assert "no handler is registered for task name 'unknown'" in failed.value.error


async def test_sync_steps_run_in_a_thread_and_gathered_steps_are_named_in_call_order(
    app: Durable, queue: str
) -> None:
    loop_thread = threading.get_ident()

    def blocking() -> bool:
        time.sleep(0.2)
        return threading.get_ident() != loop_thread

    async def quick() -> str:
        return "quick"

    @app.task("gathered", queue=queue)
    async def gathered(ctx: TaskContext, _: None) -> Any:
        return list(await asyncio.gather(ctx.step("g", blocking), ctx.step("g", quick)))

    async with working(app, queue):
        handle = await app.spawn("gathered")
        assert await handle.result(timeout=20) == [True, "quick"]
    states = {c.step_name: c.state for c in (await app.client.list_checkpoints(handle.task_id)).checkpoints}
    assert states == {"g": True, "g#2": "quick"}


async def test_stopping_the_worker_lets_running_handlers_finish(app: Durable, queue: str) -> None:
    started = asyncio.Event()

    @app.task("finishing", queue=queue)
    async def finishing(ctx: TaskContext, _: None) -> str:
        started.set()
        await asyncio.sleep(0.5)
        return "finished"

    stop = asyncio.Event()
    worker = asyncio.create_task(app.run_worker(queue, stop=stop, handle_signals=False, long_poll_seconds=2))
    handle = await app.spawn("finishing")
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    await asyncio.wait_for(worker, 10)
    done = await app.client.get_task_result(handle.task_id)
    assert (done.finished, done.result) == (True, "finished")


async def test_result_timeout(app: Durable, queue: str) -> None:
    handle = await app.spawn("nobody-works-on-it", queue=queue)
    with pytest.raises(TimeoutError):
        await handle.result(timeout=1)


def record_requests(app: Durable) -> list[str]:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(f"{request.method} {request.url.path}")

    app.client._http.event_hooks["request"] = [hook]
    return seen


async def test_replays_read_checkpoints_from_the_claim(app: Durable, queue: str) -> None:
    @app.task("cheap-replay", queue=queue, max_attempts=2, retry_strategy=NO_BACKOFF)
    async def cheap(ctx: TaskContext, _: None) -> int:
        value = await ctx.step("one", lambda: 1)
        if ctx.attempt == 1:
            raise RuntimeError("again")
        return value

    seen = record_requests(app)
    async with working(app, queue):
        assert await (await app.spawn("cheap-replay")).result(timeout=20) == 1
    assert [r for r in seen if r.startswith("GET") and "/checkpoints" in r] == []
    assert len([r for r in seen if r.startswith("PUT") and "/checkpoints/" in r]) == 1


async def test_outcomes_ride_on_the_next_claim(app: Durable, queue: str) -> None:
    @app.task("quick", queue=queue)
    async def quick(ctx: TaskContext, n: int) -> int:
        return n * 2

    handles = [await app.spawn("quick", n) for n in range(3)]
    seen = record_requests(app)
    # One slot: each finished run is reported by the claim for the next.
    async with working(app, queue, concurrency=1):
        assert [await h.result(timeout=20) for h in handles] == [0, 2, 4]
    assert [r for r in seen if r.endswith("/complete") or r.endswith("/fail")] == []


async def test_heartbeats_keep_a_long_step_claimed(app: Durable, queue: str) -> None:
    @app.task("long-step", queue=queue)
    async def long_step(ctx: TaskContext, _: None) -> str:
        await ctx.step("slow", asyncio.sleep, 3.5)
        return "done"

    async with working(app, queue, claim_timeout=2):
        handle = await app.spawn("long-step")
        assert await handle.result(timeout=20) == "done"
    runs = (await app.client.list_runs(task_id=handle.task_id)).runs
    assert [(r.attempt, r.status) for r in runs] == [(1, RunStatus.COMPLETED)], "the claim never expired"


async def test_handlers_run_concurrently(app: Durable, queue: str) -> None:
    together = asyncio.Barrier(4)

    @app.task("meet", queue=queue)
    async def meet(ctx: TaskContext, _: None) -> str:
        # Passes only when four handlers are running at once.
        await asyncio.wait_for(together.wait(), 10)
        return "met"

    handles = [await app.spawn("meet") for _ in range(4)]
    async with working(app, queue, concurrency=4):
        assert [await h.result(timeout=20) for h in handles] == ["met"] * 4


async def test_a_step_returning_none_is_recorded_and_replayed(app: Durable, queue: str) -> None:
    ran: list[int] = []

    @app.task("returns-none", queue=queue, max_attempts=2, retry_strategy=NO_BACKOFF)
    async def returns_none(ctx: TaskContext, _: None) -> Any:
        value = await ctx.step("nothing", lambda: ran.append(1))
        if ctx.attempt == 1:
            raise RuntimeError("again")
        return {"value": value}

    async with working(app, queue):
        assert await (await app.spawn("returns-none")).result(timeout=20) == {"value": None}
    assert ran == [1]


async def test_a_worker_of_an_unknown_queue_stops_with_the_error(app: Durable) -> None:
    with pytest.raises(DurableError) as refused:
        await asyncio.wait_for(app.run_worker(unique("missing"), handle_signals=False, long_poll_seconds=1), 10)
    assert refused.value.status_code == 404
