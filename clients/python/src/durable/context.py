"""`TaskContext`: what a durable handler can do. Every call is recorded
(as a checkpoint of the task, or by the server for waits), so a later run of
the task replays it instead of doing it again."""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

from . import names
from ._stop import RunStopped, Stop
from .async_client import AsyncDurableClient
from .errors import DurableError
from .exceptions import ChildCanceled, ChildFailed, ChildTimeout, EventTimeout
from .options import TaskOptions, as_json
from .types import (
    ClaimedTask,
    ScheduleRunRequest,
    SetCheckpointRequest,
    WaitForEventRequest,
    WaitForEventResponse,
    WaitForTaskRequest,
    WaitResult,
)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class ChildTask:
    """A task spawned by a handler; pass it to `TaskContext.await_task`."""

    task_id: str


def _claim_lost(error: DurableError) -> bool:
    return error.status_code in (404, 409)


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class TaskContext:
    """Given to a handler for one claimed run of its task.

    Calls are named in the order they are made, so a handler must make the
    same calls in the same order on every run: branch on recorded values,
    not on the clock or randomness outside a step.

    A call that must wait (a sleep not over, an event not emitted, a child
    not ended) gives the claim up and does not return in this run: the
    handler is unwound with an internal BaseException, the worker reports
    nothing, and the run comes back when the wait is over. The same happens
    when the server says the claim is lost (it expired, or the task was
    canceled). Do not catch `BaseException` around these calls.
    """

    def __init__(
        self,
        client: AsyncDurableClient,
        task: ClaimedTask,
        queue: str,
        claim_seconds: int,
        spawn_options: Callable[[str], TaskOptions | None],
    ) -> None:
        self._client = client
        self.task_id = task.task_id
        self.run_id = task.run_id
        self.attempt = task.attempt
        self.task_name = task.task_name
        self.queue = task.queue_name or queue
        self.headers: dict[str, str] = dict(task.headers or {})
        self._claim_seconds = claim_seconds
        self._spawn_options = spawn_options
        self._recorded: dict[str, Any] = {c.step_name: c.state for c in task.checkpoints or []}
        self._names = names.StepNames()
        self.stopped: Stop | None = None

    @property
    def client(self) -> AsyncDurableClient:
        """The worker's client, for calls of your own."""
        return self._client

    # Steps

    @overload
    def step(
        self, name: str, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]: ...

    @overload
    def step(self, name: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]: ...

    def step(self, name: str, fn: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, Any]:
        """Runs `fn(*args, **kwargs)` once for the task and records its result
        as checkpoint `name` (the n-th step of one name in a run is `name#n`).

        A step recorded by an earlier run returns its value without running
        `fn`. The result is stored before this returns, so code after the
        step never runs unrecorded. A process that dies while `fn` runs
        runs it again on the next run: make steps with outside effects safe
        to repeat. `fn` may be async, or sync (run in a thread). Its result
        must be JSON and comes back as JSON keeps it (tuples as lists; the
        static type is `fn`'s, the value its JSON form). An exception of
        `fn` records nothing and propagates.
        """
        # Named now, not when first awaited, so steps gathered together are
        # named in the order written.
        key = self._names.next(names.user_step(name))
        return self._step(key, functools.partial(fn, *args, **kwargs))

    async def _step(self, key: str, work: Callable[[], Any]) -> Any:
        self._halt_if_stopped()
        if key in self._recorded:
            return self._recorded[key]
        # (`iscoroutinefunction` sees through the partial.)
        if inspect.iscoroutinefunction(work):
            value = await work()
        else:
            value = await asyncio.to_thread(work)
            if inspect.isawaitable(value):
                value = await value
        state = as_json(value, f"the result of step {key!r}")
        await self._record(key, state)
        return state

    # Sleeps

    async def sleep_for(self, seconds: float) -> None:
        """Sleeps durably: the run gives its claim up and comes back when the
        time is over, across worker and server restarts. The wake-up time is
        recorded by the first run that gets here."""
        key = self._names.next(names.SLEEP)
        await self._sleep(key, lambda: datetime.now(UTC) + timedelta(seconds=seconds))

    async def sleep_until(self, wake_at: datetime) -> None:
        """Sleeps durably until `wake_at` (timezone-aware); a time past returns at once."""
        key = self._names.next(names.SLEEP)
        await self._sleep(key, lambda: wake_at)

    async def _sleep(self, key: str, wake_at: Callable[[], datetime]) -> None:
        self._halt_if_stopped()
        if key in self._recorded:
            until = datetime.fromisoformat(self._recorded[key]["wake_at"])
        else:
            until = wake_at()
            if until <= datetime.now(UTC):
                return
            await self._record(key, {"wake_at": _rfc3339(until)})
        if until <= datetime.now(UTC):
            return
        try:
            await self._client.schedule_run(self.run_id, ScheduleRunRequest(run_at=_rfc3339(until)))
        except DurableError as error:
            if _claim_lost(error):
                self._halt(Stop.CLAIM_LOST)
            raise
        self._halt(Stop.SUSPENDED)

    # Events

    async def await_event(self, event_name: str, timeout: float) -> Any:
        """Waits for event `event_name` and returns its payload; an event
        emitted before the wait counts (the latest one). The server records
        the outcome, so every later run gets the same payload. Raises
        `EventTimeout` when `timeout` seconds (rounded up) pass first."""
        key = self._names.next(names.internal("event", event_name))
        self._halt_if_stopped()
        wait = WaitForEventRequest(event_name, _whole_seconds(timeout), self.task_id, key)
        outcome = await self._wait(self._client.wait_for_event(self.run_id, wait))
        if outcome.status == WaitResult.TIMEOUT:
            raise EventTimeout(event_name)
        return outcome.payload

    # Children

    async def spawn(
        self,
        task_name: str,
        params: Any = None,
        *,
        queue: str | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        concurrency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ChildTask:
        """Creates child task `task_name`, once: its id is recorded, and the
        create carries an idempotency key made of this task's id and the
        call's name, so no replay (not even one after a crash between the
        create and the record) makes a second child. It goes to `queue`, else
        the queue its registration names, else this task's queue."""
        key = self._names.next(names.internal("spawn", task_name))
        self._halt_if_stopped()
        if key in self._recorded:
            return ChildTask(task_id=self._recorded[key]["task_id"])
        options = self._spawn_options(task_name) or TaskOptions(queue=self.queue)
        options = options.merged(
            queue=queue, max_attempts=max_attempts, priority=priority, concurrency_key=concurrency_key, headers=headers
        )
        create = options.create(
            task_name, params, idempotency_key=f"{self.task_id}/{key}", parent_task_id=self.task_id
        )
        created = await self._client.create_task(options.queue, create)
        await self._record(key, {"task_id": created.task_id})
        return ChildTask(task_id=created.task_id)

    async def await_task(self, child: ChildTask, timeout: float | None = None) -> Any:
        """Waits for `child` to end (up to `timeout` seconds, rounded up;
        `None`: no limit) and returns its result. The child's end wakes this
        run. Raises `ChildFailed`, `ChildCanceled` or `ChildTimeout`."""
        key = self._names.next(names.internal("task", child.task_id))
        self._halt_if_stopped()
        seconds = None if timeout is None else _whole_seconds(timeout)
        wait = WaitForTaskRequest(child.task_id, key, seconds)
        outcome = await self._wait(self._client.wait_for_task(self.run_id, wait))
        if outcome.status == WaitResult.TIMEOUT:
            raise ChildTimeout(child.task_id)
        finished: dict[str, Any] = outcome.payload or {}
        status = finished.get("status")
        if status == "completed":
            return finished.get("result")
        if status == "canceled":
            raise ChildCanceled(child.task_id)
        raise ChildFailed(child.task_id, finished.get("error") or "no error recorded")

    # Plumbing

    async def _wait(self, request: Awaitable[WaitForEventResponse]) -> WaitForEventResponse:
        try:
            outcome = await request
        except DurableError as error:
            if _claim_lost(error):
                self._halt(Stop.CLAIM_LOST)
            raise
        if outcome.status == WaitResult.SLEEPING:
            self._halt(Stop.SUSPENDED)
        return outcome

    async def _record(self, key: str, state: Any) -> None:
        """Writes checkpoint `key`, extending the claim; a refused write stops the run."""
        request = SetCheckpointRequest(state=state, owner_run=self.run_id, extend_claim_by=self._claim_seconds)
        try:
            await self._client.set_checkpoint(self.task_id, key, request)
        except DurableError as error:
            if _claim_lost(error):
                self._halt(Stop.CLAIM_LOST)
            raise
        self._recorded[key] = state

    def _halt(self, why: Stop) -> NoReturn:
        if self.stopped is None:
            self.stopped = why
        raise RunStopped(self.stopped)

    def _halt_if_stopped(self) -> None:
        # A handler running calls side by side may start one after another
        # call stopped the run; none may reach the server any more.
        if self.stopped is not None:
            raise RunStopped(self.stopped)
