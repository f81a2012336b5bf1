"""The worker of durable tasks: long-polls a queue, runs each claimed task's
handler with a fresh `TaskContext`, heartbeats while it runs, and reports
the outcome, riding on the next claim when one is about to be sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from ._stop import RunStopped, Stop
from .async_client import AsyncDurableClient
from .context import TaskContext
from .errors import DurableError
from .exceptions import NotJSON
from .options import as_json
from .retry import RetryPolicy
from .types import (
    ClaimedTask,
    ClaimTasksRequest,
    CompleteItem,
    CompleteRunRequest,
    FailItem,
    FailRunRequest,
    HeartbeatRequest,
)

if TYPE_CHECKING:
    from .app import Durable

log = logging.getLogger("durable.worker")

# `async def handler(ctx: TaskContext, params) -> result`
Handler = Callable[..., Coroutine[Any, Any, Any]]

# A claim that came back empty sooner than this waits out the rest, so a
# server that does not long-poll is not asked in a tight loop.
MIN_EMPTY_POLL = 0.5


@dataclass
class _Outbox:
    """Outcomes waiting for the next claim. While the loop long-polls (or
    has stopped) they would wait for the poll to end, so handlers report
    them themselves then."""

    complete: list[CompleteItem] = field(default_factory=list)
    fail: list[FailItem] = field(default_factory=list)
    direct: bool = False
    closed: bool = False

    def take(self) -> tuple[list[CompleteItem], list[FailItem]]:
        taken = (self.complete, self.fail)
        self.complete, self.fail = [], []
        return taken

    def put_back(self, complete: list[CompleteItem], fail: list[FailItem]) -> None:
        self.complete[:0] = complete
        self.fail[:0] = fail


def _transient(error: Exception) -> bool:
    if isinstance(error, DurableError):
        return error.status_code >= 500
    return isinstance(error, httpx.TransportError)


class Worker:
    """Runs the handlers of a `Durable` app for the tasks of one queue."""

    def __init__(
        self,
        app: Durable,
        queue: str,
        *,
        concurrency: int = 4,
        claim_timeout: int = 60,
        long_poll_seconds: int = 30,
        worker_id: str | None = None,
    ) -> None:
        self._app = app
        self._client: AsyncDurableClient = app.client
        self.queue = queue
        self.concurrency = max(1, min(concurrency, 1000))
        self.claim_timeout = max(1, claim_timeout)
        self.long_poll_seconds = max(1, min(long_poll_seconds, 60))
        self.worker_id = worker_id
        self._outbox = _Outbox()
        self._free = self.concurrency
        self._slot_freed = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Works until `stop` is set, then stops claiming (abandoning an open
        long poll) and waits for the running handlers to report.

        Transient claim failures (transport, 5xx) are retried with backoff;
        another refusal (unknown queue, bad token) ends the worker with it,
        after the running handlers finish.
        """
        backoff = RetryPolicy(max_retries=1 << 30, base_delay=0.2, max_delay=10.0)
        failures = 0
        running: set[asyncio.Task[None]] = set()
        stopping = asyncio.create_task(stop.wait())
        failure: Exception | None = None
        try:
            while not stop.is_set():
                if self._free == 0:
                    self._slot_freed.clear()
                    freed = asyncio.create_task(self._slot_freed.wait())
                    await asyncio.wait({freed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    freed.cancel()
                    continue
                complete, fail = self._outbox.take()
                carrying = bool(complete or fail)
                request = ClaimTasksRequest(
                    limit=self._free,
                    claim_timeout=self.claim_timeout,
                    # A claim carrying outcomes answers at once, so they are
                    # confirmed now and not after a long wait.
                    long_poll_seconds=None if carrying else self.long_poll_seconds,
                    worker_id=self.worker_id,
                    include_checkpoints=True,
                    complete=complete or None,
                    fail=fail or None,
                )
                started = time.monotonic()
                self._outbox.direct = not carrying
                claim = asyncio.create_task(self._client.claim_tasks(self.queue, request))
                if not carrying:
                    await asyncio.wait({claim, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not claim.done():
                        claim.cancel()
                        with contextlib.suppress(BaseException):
                            await claim
                        break
                try:
                    claimed = await claim
                except Exception as error:
                    self._outbox.direct = False
                    # Whether the server recorded the outcomes is unknown:
                    # they go again, and a repeat is refused as a conflict.
                    self._outbox.put_back(complete, fail)
                    if not _transient(error):
                        log.error("claim on %r failed; stopping the worker: %s", self.queue, error)
                        failure = error
                        break
                    delay = backoff.delay(failures)
                    failures += 1
                    log.warning("claim on %r failed, retrying in %.1fs: %s", self.queue, delay, error)
                    await self._pause(delay, stopping)
                    continue
                self._outbox.direct = False
                failures = 0
                answered = (len(claimed.completed or []), len(claimed.failed or []))
                if answered != (len(complete), len(fail)):
                    # A server that does not take outcomes with claims.
                    await self._report_each(complete, fail)
                refused = [(o.run_id, o.error) for o in claimed.completed or [] if o.error is not None]
                refused += [(o.run_id, o.error) for o in claimed.failed or [] if o.error is not None]
                for run_id, refusal in refused:
                    log.warning("could not report run %s: %s", run_id, refusal)
                for task in claimed.tasks:
                    self._free -= 1
                    job = asyncio.create_task(self._execute(task))
                    running.add(job)
                    job.add_done_callback(running.discard)
                if not claimed.tasks:
                    await self._pause(MIN_EMPTY_POLL - (time.monotonic() - started), stopping)
        finally:
            stopping.cancel()
            self._outbox.closed = True
            await self._report_each(*self._outbox.take())
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if failure is not None:
            raise failure

    async def _pause(self, seconds: float, stopping: asyncio.Task[Any]) -> None:
        if seconds > 0:
            await asyncio.wait({stopping}, timeout=seconds)

    async def _execute(self, task: ClaimedTask) -> None:
        try:
            outcome = await self._outcome(task)
        except Exception:
            log.exception("run %s: the worker failed to run it", task.run_id)
            outcome = None
        finally:
            self._free += 1
            self._slot_freed.set()
        if outcome is None:
            return
        if self._outbox.direct or self._outbox.closed:
            await self._report_each(*outcome)
        else:
            self._outbox.complete.extend(outcome[0])
            self._outbox.fail.extend(outcome[1])

    async def _outcome(self, task: ClaimedTask) -> tuple[list[CompleteItem], list[FailItem]] | None:
        """What to report for the run, or None (suspended, or claim lost)."""
        registration = self._app.registration(task.task_name)
        if registration is None:
            known = ", ".join(self._app.task_names())
            message = f"no handler is registered for task name {task.task_name!r} on this worker (registered: {known})"
            return [], [FailItem(task.run_id, message)]
        if task.checkpoints is None:
            # A server that does not hand checkpoints out with the claim.
            listed = await self._client.list_checkpoints(task.task_id)
            task.checkpoints = listed.checkpoints
        ctx = TaskContext(self._client, task, self.queue, self.claim_timeout, self._app.spawn_options)
        handler = asyncio.create_task(registration.handler(ctx, task.params))
        keeper = asyncio.create_task(self._keep_claim(task.run_id))
        await asyncio.wait({handler, keeper}, return_when=asyncio.FIRST_COMPLETED)
        if not handler.done():
            # The heartbeat found the claim lost: the handler must not go on.
            ctx.stopped = Stop.CLAIM_LOST
            handler.cancel()
            with contextlib.suppress(BaseException):
                await handler
            log.warning("run %s: claim lost; abandoning it", task.run_id)
            return None
        keeper.cancel()
        try:
            result = handler.result()
        except RunStopped as stopped:
            if stopped.why is Stop.CLAIM_LOST:
                log.warning("run %s: claim lost; abandoning it", task.run_id)
            return None
        except asyncio.CancelledError:
            return None
        except Exception as error:
            # A handler running calls side by side may fail after one of them
            # stopped the run: nothing may be reported for it then.
            if ctx.stopped is not None:
                return None
            return [], [FailItem(task.run_id, f"{type(error).__name__}: {error}")]
        if ctx.stopped is not None:
            return None
        try:
            result = as_json(result, f"the result of task {task.task_name!r}")
        except NotJSON as error:
            return [], [FailItem(task.run_id, str(error))]
        return [CompleteItem(task.run_id, result)], []

    async def _keep_claim(self, run_id: str) -> None:
        """Heartbeats every half claim timeout; returns only when the claim is lost."""
        while True:
            await asyncio.sleep(self.claim_timeout / 2)
            try:
                await self._client.heartbeat(run_id, HeartbeatRequest(extend_by_seconds=self.claim_timeout))
            except DurableError as error:
                if error.status_code in (404, 409):
                    return
                log.warning("run %s: heartbeat failed, trying again: %s", run_id, error)
            except httpx.TransportError as error:
                log.warning("run %s: heartbeat failed, trying again: %s", run_id, error)

    async def _report_each(self, complete: list[CompleteItem], fail: list[FailItem]) -> None:
        for item in complete:
            await self._report(self._client.complete_run(item.run_id, CompleteRunRequest(item.result)), item.run_id)
        for failed in fail:
            await self._report(self._client.fail_run(failed.run_id, FailRunRequest(failed.error)), failed.run_id)

    async def _report(self, call: Awaitable[Any], run_id: str) -> None:
        try:
            await call
        except (DurableError, httpx.TransportError) as error:
            log.warning("could not report run %s: %s", run_id, error)
