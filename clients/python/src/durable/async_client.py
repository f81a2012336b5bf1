"""`AsyncDurableClient`: the asynchronous client, on `httpx.AsyncClient`; the
same methods as `DurableClient`, over the same calls."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import _calls as calls
from . import types as t
from ._calls import Call
from ._session import DEFAULT_TIMEOUT, Session
from .retry import RetryPolicy

T = TypeVar("T")


class AsyncDurableClient:
    """An asyncio client of every endpoint of the API.

    `token` is sent as `Authorization: Bearer <token>`; `request_id` as
    `x-request-id` on every request. Idempotent calls are retried on
    connection failures and 503 according to `retry`.
    """

    def __init__(
        self,
        base_url: str = "http://localhost:8080",
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._session = Session(base_url, token, timeout, retry, request_id, headers)
        self.base_url = self._session.base_url
        self._http = httpx.AsyncClient(transport=transport, **self._session.client_options())

    async def __aenter__(self) -> AsyncDurableClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: Call[T]) -> T:
        options: dict[str, Any] = self._session.request_options(call)
        policy = self._session.retry
        retry = 0
        while True:
            try:
                response = await self._http.request(**options)
            except httpx.TransportError as error:
                if not policy.should_retry(call.idempotent, retry, error):
                    raise
            else:
                if not policy.should_retry(call.idempotent, retry, response):
                    return call.parse(response)
            await asyncio.sleep(policy.delay(retry))
            retry += 1

    # Queues

    async def create_queue(self, req: t.CreateQueueRequest) -> t.CreateQueueResponse:
        return await self._run(calls.create_queue(req))

    async def list_queues(self) -> t.ListQueuesResponse:
        return await self._run(calls.list_queues())

    async def update_queue(self, queue: str, req: t.UpdateQueueRequest) -> t.QueueSummary:
        return await self._run(calls.update_queue(queue, req))

    async def delete_queue(self, queue: str, *, force: bool = False) -> None:
        return await self._run(calls.delete_queue(queue, force))

    async def get_queue_stats(self, queue: str) -> t.QueueStatsResponse:
        return await self._run(calls.get_queue_stats(queue))

    # Tasks

    async def create_task(self, queue: str, req: t.CreateTaskRequest) -> t.CreateTaskResponse:
        return await self._run(calls.create_task(queue, req))

    async def create_tasks(self, queue: str, req: t.BatchCreateTasksRequest) -> t.BatchCreateTasksResponse:
        return await self._run(calls.create_tasks(queue, req))

    async def claim_tasks(self, queue: str, req: t.ClaimTasksRequest) -> t.ClaimTasksResponse:
        return await self._run(calls.claim_tasks(queue, req))

    async def list_tasks(
        self,
        *,
        queue_name: str | None = None,
        status: t.TaskStatus | str | None = None,
        task_name: str | None = None,
        cursor: str | None = None,
        limit: int = 0,
        parent_task_id: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
    ) -> t.ListTasksResponse:
        return await self._run(
            calls.list_tasks(
                queue_name, status, task_name, cursor, limit, parent_task_id, created_after, created_before
            )
        )

    async def get_task(self, task_id: str) -> t.TaskDetail:
        return await self._run(calls.get_task(task_id))

    async def cancel_task(self, task_id: str) -> t.CancelTaskResponse:
        return await self._run(calls.cancel_task(task_id))

    async def retry_task(self, task_id: str) -> t.RetryTaskResponse:
        return await self._run(calls.retry_task(task_id))

    async def list_wait_outcomes(self, task_id: str) -> t.ListWaitsResponse:
        return await self._run(calls.list_wait_outcomes(task_id))

    async def list_events(
        self, *, event_name: str | None = None, cursor: str | None = None, limit: int = 0
    ) -> t.ListEventsResponse:
        return await self._run(calls.list_events(event_name, cursor, limit))

    async def get_queue_history(self, queue: str) -> t.QueueHistoryResponse:
        return await self._run(calls.get_queue_history(queue))

    async def get_task_result(self, task_id: str, *, wait_seconds: int = 0) -> t.TaskResultResponse:
        return await self._run(calls.get_task_result(task_id, wait_seconds))

    # Runs

    async def list_runs(
        self,
        *,
        task_id: str | None = None,
        status: t.RunStatus | str | None = None,
        cursor: str | None = None,
        limit: int = 0,
    ) -> t.ListRunsResponse:
        return await self._run(calls.list_runs(task_id, status, cursor, limit))

    async def complete_run(self, run_id: str, req: t.CompleteRunRequest) -> t.CompleteRunResponse:
        return await self._run(calls.complete_run(run_id, req))

    async def complete_runs(self, req: t.BatchCompleteRequest) -> t.BatchCompleteResponse:
        return await self._run(calls.complete_runs(req))

    async def fail_run(self, run_id: str, req: t.FailRunRequest) -> t.FailRunResponse:
        return await self._run(calls.fail_run(run_id, req))

    async def schedule_run(self, run_id: str, req: t.ScheduleRunRequest) -> t.ScheduleRunResponse:
        return await self._run(calls.schedule_run(run_id, req))

    async def heartbeat(self, run_id: str, req: t.HeartbeatRequest) -> t.HeartbeatResponse:
        return await self._run(calls.heartbeat(run_id, req))

    async def wait_for_event(self, run_id: str, req: t.WaitForEventRequest) -> t.WaitForEventResponse:
        return await self._run(calls.wait_for_event(run_id, req))

    async def wait_for_task(self, run_id: str, req: t.WaitForTaskRequest) -> t.WaitForEventResponse:
        return await self._run(calls.wait_for_task(run_id, req))

    # Checkpoints

    async def set_checkpoint(self, task_id: str, step: str, req: t.SetCheckpointRequest) -> t.SetCheckpointResponse:
        return await self._run(calls.set_checkpoint(task_id, step, req))

    async def get_checkpoint(self, task_id: str, step: str) -> t.GetCheckpointResponse:
        return await self._run(calls.get_checkpoint(task_id, step))

    async def list_checkpoints(self, task_id: str) -> t.ListCheckpointsResponse:
        return await self._run(calls.list_checkpoints(task_id))

    # Events

    async def emit_event(self, req: t.EmitEventRequest) -> t.EmitEventResponse:
        return await self._run(calls.emit_event(req))

    # Schedules

    async def create_schedule(self, req: t.CreateScheduleRequest) -> t.Schedule:
        return await self._run(calls.create_schedule(req))

    async def list_schedules(self) -> list[t.Schedule]:
        return await self._run(calls.list_schedules())

    async def get_schedule(self, name: str) -> t.Schedule:
        return await self._run(calls.get_schedule(name))

    async def update_schedule(self, name: str, req: t.UpdateScheduleRequest) -> t.Schedule:
        return await self._run(calls.update_schedule(name, req))

    async def pause_schedule(self, name: str) -> t.Schedule:
        return await self._run(calls.pause_schedule(name))

    async def resume_schedule(self, name: str) -> t.Schedule:
        return await self._run(calls.resume_schedule(name))

    async def delete_schedule(self, name: str) -> None:
        return await self._run(calls.delete_schedule(name))

    # Workflow runs

    async def create_workflow_run(self, req: t.CreateWorkflowRunRequest) -> t.CreateWorkflowRunResponse:
        return await self._run(calls.create_workflow_run(req))

    async def update_workflow_run(
        self, workflow_run_id: str, req: t.UpdateWorkflowRunRequest
    ) -> t.UpdateWorkflowRunResponse:
        return await self._run(calls.update_workflow_run(workflow_run_id, req))

    async def get_workflow_run(self, workflow_run_id: str) -> t.WorkflowRunDetail:
        return await self._run(calls.get_workflow_run(workflow_run_id))

    async def list_workflow_runs(
        self,
        *,
        status: t.WorkflowRunStatus | str | None = None,
        workflow_name: str | None = None,
        cursor: str | None = None,
        limit: int = 0,
    ) -> t.ListWorkflowRunsResponse:
        return await self._run(calls.list_workflow_runs(status, workflow_name, cursor, limit))
