"""`DurableClient`: the synchronous client, on `httpx.Client`."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import _calls as calls
from . import types as t
from ._calls import Call
from ._session import DEFAULT_TIMEOUT, Session
from .retry import RetryPolicy

T = TypeVar("T")


class DurableClient:
    """A client of every endpoint of the API.

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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._session = Session(base_url, token, timeout, retry, request_id, headers)
        self.base_url = self._session.base_url
        self._http = httpx.Client(transport=transport, **self._session.client_options())

    def __enter__(self) -> DurableClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: Call[T]) -> T:
        options: dict[str, Any] = self._session.request_options(call)
        policy = self._session.retry
        retry = 0
        while True:
            try:
                response = self._http.request(**options)
            except httpx.TransportError as error:
                if not policy.should_retry(call.idempotent, retry, error):
                    raise
            else:
                if not policy.should_retry(call.idempotent, retry, response):
                    return call.parse(response)
            time.sleep(policy.delay(retry))
            retry += 1

    # Queues

    def create_queue(self, req: t.CreateQueueRequest) -> t.CreateQueueResponse:
        return self._run(calls.create_queue(req))

    def list_queues(self) -> t.ListQueuesResponse:
        return self._run(calls.list_queues())

    def update_queue(self, queue: str, req: t.UpdateQueueRequest) -> t.QueueSummary:
        return self._run(calls.update_queue(queue, req))

    def delete_queue(self, queue: str, *, force: bool = False) -> None:
        return self._run(calls.delete_queue(queue, force))

    def get_queue_stats(self, queue: str) -> t.QueueStatsResponse:
        return self._run(calls.get_queue_stats(queue))

    # Tasks

    def create_task(self, queue: str, req: t.CreateTaskRequest) -> t.CreateTaskResponse:
        return self._run(calls.create_task(queue, req))

    def create_tasks(self, queue: str, req: t.BatchCreateTasksRequest) -> t.BatchCreateTasksResponse:
        return self._run(calls.create_tasks(queue, req))

    def claim_tasks(self, queue: str, req: t.ClaimTasksRequest) -> t.ClaimTasksResponse:
        return self._run(calls.claim_tasks(queue, req))

    def list_tasks(
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
        return self._run(
            calls.list_tasks(
                queue_name, status, task_name, cursor, limit, parent_task_id, created_after, created_before
            )
        )

    def get_task(self, task_id: str) -> t.TaskDetail:
        return self._run(calls.get_task(task_id))

    def cancel_task(self, task_id: str) -> t.CancelTaskResponse:
        return self._run(calls.cancel_task(task_id))

    def retry_task(self, task_id: str) -> t.RetryTaskResponse:
        return self._run(calls.retry_task(task_id))

    def list_wait_outcomes(self, task_id: str) -> t.ListWaitsResponse:
        return self._run(calls.list_wait_outcomes(task_id))

    def list_events(
        self, *, event_name: str | None = None, cursor: str | None = None, limit: int = 0
    ) -> t.ListEventsResponse:
        return self._run(calls.list_events(event_name, cursor, limit))

    def get_queue_history(self, queue: str) -> t.QueueHistoryResponse:
        return self._run(calls.get_queue_history(queue))

    def get_task_result(self, task_id: str, *, wait_seconds: int = 0) -> t.TaskResultResponse:
        return self._run(calls.get_task_result(task_id, wait_seconds))

    # Runs

    def list_runs(
        self,
        *,
        task_id: str | None = None,
        status: t.RunStatus | str | None = None,
        cursor: str | None = None,
        limit: int = 0,
    ) -> t.ListRunsResponse:
        return self._run(calls.list_runs(task_id, status, cursor, limit))

    def complete_run(self, run_id: str, req: t.CompleteRunRequest) -> t.CompleteRunResponse:
        return self._run(calls.complete_run(run_id, req))

    def complete_runs(self, req: t.BatchCompleteRequest) -> t.BatchCompleteResponse:
        return self._run(calls.complete_runs(req))

    def fail_run(self, run_id: str, req: t.FailRunRequest) -> t.FailRunResponse:
        return self._run(calls.fail_run(run_id, req))

    def schedule_run(self, run_id: str, req: t.ScheduleRunRequest) -> t.ScheduleRunResponse:
        return self._run(calls.schedule_run(run_id, req))

    def heartbeat(self, run_id: str, req: t.HeartbeatRequest) -> t.HeartbeatResponse:
        return self._run(calls.heartbeat(run_id, req))

    def wait_for_event(self, run_id: str, req: t.WaitForEventRequest) -> t.WaitForEventResponse:
        return self._run(calls.wait_for_event(run_id, req))

    def wait_for_task(self, run_id: str, req: t.WaitForTaskRequest) -> t.WaitForEventResponse:
        return self._run(calls.wait_for_task(run_id, req))

    # Checkpoints

    def set_checkpoint(self, task_id: str, step: str, req: t.SetCheckpointRequest) -> t.SetCheckpointResponse:
        return self._run(calls.set_checkpoint(task_id, step, req))

    def get_checkpoint(self, task_id: str, step: str) -> t.GetCheckpointResponse:
        return self._run(calls.get_checkpoint(task_id, step))

    def list_checkpoints(self, task_id: str) -> t.ListCheckpointsResponse:
        return self._run(calls.list_checkpoints(task_id))

    # Events

    def emit_event(self, req: t.EmitEventRequest) -> t.EmitEventResponse:
        return self._run(calls.emit_event(req))

    # Schedules

    def create_schedule(self, req: t.CreateScheduleRequest) -> t.Schedule:
        return self._run(calls.create_schedule(req))

    def list_schedules(self) -> list[t.Schedule]:
        return self._run(calls.list_schedules())

    def get_schedule(self, name: str) -> t.Schedule:
        return self._run(calls.get_schedule(name))

    def update_schedule(self, name: str, req: t.UpdateScheduleRequest) -> t.Schedule:
        return self._run(calls.update_schedule(name, req))

    def pause_schedule(self, name: str) -> t.Schedule:
        return self._run(calls.pause_schedule(name))

    def resume_schedule(self, name: str) -> t.Schedule:
        return self._run(calls.resume_schedule(name))

    def delete_schedule(self, name: str) -> None:
        return self._run(calls.delete_schedule(name))

    # Workflow runs

    def create_workflow_run(self, req: t.CreateWorkflowRunRequest) -> t.CreateWorkflowRunResponse:
        return self._run(calls.create_workflow_run(req))

    def update_workflow_run(
        self, workflow_run_id: str, req: t.UpdateWorkflowRunRequest
    ) -> t.UpdateWorkflowRunResponse:
        return self._run(calls.update_workflow_run(workflow_run_id, req))

    def get_workflow_run(self, workflow_run_id: str) -> t.WorkflowRunDetail:
        return self._run(calls.get_workflow_run(workflow_run_id))

    def list_workflow_runs(
        self,
        *,
        status: t.WorkflowRunStatus | str | None = None,
        workflow_name: str | None = None,
        cursor: str | None = None,
        limit: int = 0,
    ) -> t.ListWorkflowRunsResponse:
        return self._run(calls.list_workflow_runs(status, workflow_name, cursor, limit))
