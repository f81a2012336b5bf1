"""`Durable`: registers durable task handlers, runs workers for them, and
starts tasks and waits for their results."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .async_client import AsyncDurableClient
from .context import TaskContext
from .errors import DurableError
from .exceptions import TaskCanceled, TaskFailed
from .options import TaskOptions
from .retry import RetryPolicy
from .types import CreateQueueRequest, RetryStrategy, TaskResultResponse, TaskStatus
from .worker import Handler, Worker

H = TypeVar("H", bound=Handler)

# The longest single wait `GET /tasks/{id}/result` takes.
MAX_RESULT_WAIT = 60


@dataclass(frozen=True)
class Registration:
    handler: Handler
    options: TaskOptions


class TaskHandle:
    """A created task: wait for its result, look at it, cancel it."""

    def __init__(self, client: AsyncDurableClient, task_id: str, run_id: str | None = None) -> None:
        self._client = client
        self.task_id = task_id
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"TaskHandle(task_id={self.task_id!r})"

    async def result(self, timeout: float | None = None) -> Any:
        """The task's result once it completes, waiting up to `timeout`
        seconds (`None`: as long as it takes) in long polls the task's end
        wakes. Raises `TaskFailed`, `TaskCanceled`, or `TimeoutError` when it
        had not ended in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = MAX_RESULT_WAIT if deadline is None else deadline - time.monotonic()
            wait = min(MAX_RESULT_WAIT, max(0, math.ceil(left)))
            answer = await self._client.get_task_result(self.task_id, wait_seconds=wait)
            if answer.finished:
                return _outcome(answer)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"task {self.task_id} had not ended after {timeout} s")

    async def status(self) -> TaskStatus | str:
        return (await self._client.get_task(self.task_id)).status

    async def cancel(self) -> None:
        await self._client.cancel_task(self.task_id)


def _outcome(answer: TaskResultResponse) -> Any:
    if answer.status == TaskStatus.COMPLETED:
        return answer.result
    if answer.status == TaskStatus.CANCELED:
        raise TaskCanceled(answer.task_id)
    raise TaskFailed(answer.task_id, answer.error or "")


class Durable:
    """Durable execution over one server.

    ```python
    app = Durable("http://localhost:8080")

    @app.task("greet", queue="greetings")
    async def greet(ctx: TaskContext, name: str) -> str:
        return await ctx.step("compose", lambda: f"hello {name}")
    ```
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8080",
        *,
        token: str | None = None,
        client: AsyncDurableClient | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = client or AsyncDurableClient(base_url, token=token, retry=retry)
        self._registry: dict[str, Registration] = {}

    async def __aenter__(self) -> Durable:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    # Registration

    def task(
        self,
        name: str,
        *,
        queue: str = "default",
        max_attempts: int | None = None,
        retry_strategy: RetryStrategy | None = None,
        headers: dict[str, str] | None = None,
        start_timeout: float | None = None,
        execution_timeout: float | None = None,
        priority: int | None = None,
        concurrency_key: str | None = None,
    ) -> Callable[[H], H]:
        """Registers the decorated `async def handler(ctx, params)` for tasks
        named `name`; the options are the defaults of the tasks `spawn`
        creates. Its return value (JSON) is the task's result; an exception
        fails the run, and the task's retry strategy applies."""
        options = TaskOptions(
            queue=queue,
            max_attempts=max_attempts,
            retry_strategy=retry_strategy,
            headers=dict(headers or {}),
            start_timeout=start_timeout,
            execution_timeout=execution_timeout,
            priority=priority,
            concurrency_key=concurrency_key,
        )

        def register(handler: H) -> H:
            self.register(name, handler, options)
            return handler

        return register

    def register(self, name: str, handler: Handler, options: TaskOptions | None = None) -> None:
        if not inspect.iscoroutinefunction(handler):
            raise TypeError(f"the handler of task {name!r} must be an `async def` function")
        self._registry[name] = Registration(handler, options or TaskOptions())

    def registration(self, name: str) -> Registration | None:
        return self._registry.get(name)

    def task_names(self) -> list[str]:
        return sorted(self._registry)

    def spawn_options(self, name: str) -> TaskOptions | None:
        registration = self._registry.get(name)
        return None if registration is None else registration.options

    # Starting tasks

    async def spawn(
        self,
        task_name: str,
        params: Any = None,
        *,
        queue: str | None = None,
        idempotency_key: str | None = None,
        run_at: str | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        concurrency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> TaskHandle:
        """Creates a task named `task_name` with `params`, with the options of
        its registration (when this app has one) and those given here."""
        options = (self.spawn_options(task_name) or TaskOptions()).merged(
            queue=queue, max_attempts=max_attempts, priority=priority, concurrency_key=concurrency_key, headers=headers
        )
        create = options.create(task_name, params, idempotency_key=idempotency_key, run_at=run_at)
        created = await self.client.create_task(options.queue, create)
        return TaskHandle(self.client, created.task_id, created.run_id)

    def handle(self, task_id: str) -> TaskHandle:
        """A handle on an existing task."""
        return TaskHandle(self.client, task_id)

    async def ensure_queue(self, name: str, **settings: Any) -> None:
        """Creates queue `name` unless it exists."""
        try:
            await self.client.create_queue(CreateQueueRequest(name, **settings))
        except DurableError as error:
            if error.status_code != 409:
                raise

    # Working

    def worker(
        self,
        queue: str,
        *,
        concurrency: int = 4,
        claim_timeout: int = 60,
        long_poll_seconds: int = 30,
        worker_id: str | None = None,
    ) -> Worker:
        """A worker of `queue` running this app's handlers; `await worker.run(stop)`.

        Handlers heartbeat every half `claim_timeout`, so a lost claim (a
        canceled task) stops its handler within half a claim timeout.
        """
        return Worker(
            self,
            queue,
            concurrency=concurrency,
            claim_timeout=claim_timeout,
            long_poll_seconds=long_poll_seconds,
            worker_id=worker_id,
        )

    async def run_worker(
        self,
        queue: str,
        *,
        concurrency: int = 4,
        claim_timeout: int = 60,
        long_poll_seconds: int = 30,
        worker_id: str | None = None,
        stop: asyncio.Event | None = None,
        handle_signals: bool = True,
    ) -> None:
        """Works on `queue` until `stop` is set or, with `handle_signals`,
        until SIGINT or SIGTERM: then claims no more and lets the running
        handlers finish."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                # Not available off the main thread or on some platforms.
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, stop.set)
                    installed.append(signum)
        try:
            await self.worker(
                queue,
                concurrency=concurrency,
                claim_timeout=claim_timeout,
                long_poll_seconds=long_poll_seconds,
                worker_id=worker_id,
            ).run(stop)
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)


__all__ = ["Durable", "TaskContext", "TaskHandle"]
