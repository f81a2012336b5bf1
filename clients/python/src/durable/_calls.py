"""Every endpoint as a `Call`: what to send and how to read the answer.

The sync and the async client both execute these, so each request is built
and each response parsed in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from . import types as t
from ._codec import from_json, to_json
from .errors import DurableError

T = TypeVar("T")

API = "/api/v1"
# Long polls are answered by the server after at most their wait; the read
# timeout leaves this much more for the answer to arrive.
LONG_POLL_MARGIN = 5.0


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    body: Any = None
    query: dict[str, str] | None = None
    # Whether sending it twice has the effect of sending it once, so a lost
    # answer may be retried.
    idempotent: bool = False
    # Overrides the client's read timeout (long polls).
    read_timeout: float | None = None


def seg(value: str) -> str:
    """A path segment, percent-encoded (queue names may hold `/`)."""
    return quote(value, safe="")


def error_of(response: httpx.Response) -> DurableError:
    body = t.ErrorResponse()
    try:
        data = response.json()
        if isinstance(data, dict):
            body = from_json(t.ErrorResponse, data)
            body.error = body.error or ""
            body.code = body.code or ""
    except ValueError:
        pass
    return DurableError(response.status_code, body, response.headers.get("x-request-id"))


def parse_as(cls: type[T]) -> Callable[[httpx.Response], T]:
    def parse(response: httpx.Response) -> T:
        if response.status_code >= 400:
            raise error_of(response)
        return from_json(cls, response.json())

    return parse


def parse_nothing(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_of(response)


def parse_wait(response: httpx.Response) -> t.WaitForEventResponse:
    # The 408 of a wait is its timeout outcome, not a failure of the request.
    if response.status_code == 408:
        data = response.json()
        return t.WaitForEventResponse(status=t.WaitResult.TIMEOUT, message=data.get("message"))
    return parse_as(t.WaitForEventResponse)(response)


def parse_result(response: httpx.Response) -> t.TaskResultResponse:
    result = parse_as(t.TaskResultResponse)(response)
    result.finished = response.status_code == 200
    return result


def _query(**values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _limit(limit: int) -> int | None:
    return limit if limit > 0 else None


# Queues


def create_queue(req: t.CreateQueueRequest) -> Call[t.CreateQueueResponse]:
    return Call("POST", f"{API}/queues", parse_as(t.CreateQueueResponse), to_json(req))


def list_queues() -> Call[t.ListQueuesResponse]:
    return Call("GET", f"{API}/queues", parse_as(t.ListQueuesResponse), idempotent=True)


def update_queue(queue: str, req: t.UpdateQueueRequest) -> Call[t.QueueSummary]:
    body: dict[str, Any] = {}
    if req.key_concurrency_limit is not None:
        body["key_concurrency_limit"] = req.key_concurrency_limit
    if req.remove_concurrency_limit:
        body["concurrency_limit"] = None
    elif req.concurrency_limit is not None:
        body["concurrency_limit"] = req.concurrency_limit
    return Call("PATCH", f"{API}/queues/{seg(queue)}", parse_as(t.QueueSummary), body, idempotent=True)


def delete_queue(queue: str, force: bool = False) -> Call[None]:
    query = _query(force=True) if force else None
    return Call("DELETE", f"{API}/queues/{seg(queue)}", parse_nothing, query=query, idempotent=True)


def get_queue_stats(queue: str) -> Call[t.QueueStatsResponse]:
    return Call("GET", f"{API}/queues/{seg(queue)}/stats", parse_as(t.QueueStatsResponse), idempotent=True)


# Tasks


def create_task(queue: str, req: t.CreateTaskRequest) -> Call[t.CreateTaskResponse]:
    return Call(
        "POST",
        f"{API}/queues/{seg(queue)}/tasks",
        parse_as(t.CreateTaskResponse),
        to_json(req),
        # With a key, a repeat finds the task the first request made.
        idempotent=req.idempotency_key is not None,
    )


def create_tasks(queue: str, req: t.BatchCreateTasksRequest) -> Call[t.BatchCreateTasksResponse]:
    return Call(
        "POST",
        f"{API}/queues/{seg(queue)}/tasks/batch",
        parse_as(t.BatchCreateTasksResponse),
        to_json(req),
        idempotent=bool(req.tasks) and all(task.idempotency_key is not None for task in req.tasks),
    )


def claim_tasks(queue: str, req: t.ClaimTasksRequest) -> Call[t.ClaimTasksResponse]:
    wait = float(req.long_poll_seconds or 0)
    return Call(
        "POST",
        f"{API}/queues/{seg(queue)}/tasks/claim",
        parse_as(t.ClaimTasksResponse),
        to_json(req),
        read_timeout=wait + LONG_POLL_MARGIN,
    )


def list_tasks(
    queue_name: str | None,
    status: t.TaskStatus | str | None,
    task_name: str | None,
    cursor: str | None,
    limit: int,
    parent_task_id: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
) -> Call[t.ListTasksResponse]:
    query = _query(
        queue_name=queue_name,
        status=status,
        task_name=task_name,
        parent_task_id=parent_task_id,
        created_after=created_after,
        created_before=created_before,
        cursor=cursor,
        limit=_limit(limit),
    )
    return Call("GET", f"{API}/tasks", parse_as(t.ListTasksResponse), query=query, idempotent=True)


def get_task(task_id: str) -> Call[t.TaskDetail]:
    return Call("GET", f"{API}/tasks/{seg(task_id)}", parse_as(t.TaskDetail), idempotent=True)


def cancel_task(task_id: str) -> Call[t.CancelTaskResponse]:
    # A repeat of a cancel that was applied answers 409 (already finished),
    # so it is not retried blindly.
    return Call("POST", f"{API}/tasks/{seg(task_id)}/cancel", parse_as(t.CancelTaskResponse))


def retry_task(task_id: str) -> Call[t.RetryTaskResponse]:
    # A repeat of a retry that was applied answers 409 (the task is pending
    # again), so it is not retried blindly.
    return Call("POST", f"{API}/tasks/{seg(task_id)}/retry", parse_as(t.RetryTaskResponse))


def list_wait_outcomes(task_id: str) -> Call[t.ListWaitsResponse]:
    return Call("GET", f"{API}/tasks/{seg(task_id)}/waits", parse_as(t.ListWaitsResponse), idempotent=True)


def list_events(event_name: str | None, cursor: str | None, limit: int) -> Call[t.ListEventsResponse]:
    query = _query(event_name=event_name, cursor=cursor, limit=_limit(limit))
    return Call("GET", f"{API}/events", parse_as(t.ListEventsResponse), query=query, idempotent=True)


def get_queue_history(queue: str) -> Call[t.QueueHistoryResponse]:
    return Call("GET", f"{API}/queues/{seg(queue)}/history", parse_as(t.QueueHistoryResponse), idempotent=True)


def get_task_result(task_id: str, wait_seconds: int = 0) -> Call[t.TaskResultResponse]:
    query = _query(wait_seconds=wait_seconds) if wait_seconds > 0 else None
    return Call(
        "GET",
        f"{API}/tasks/{seg(task_id)}/result",
        parse_result,
        query=query,
        idempotent=True,
        read_timeout=wait_seconds + LONG_POLL_MARGIN,
    )


# Runs


def list_runs(
    task_id: str | None, status: t.RunStatus | str | None, cursor: str | None, limit: int
) -> Call[t.ListRunsResponse]:
    query = _query(task_id=task_id, status=status, cursor=cursor, limit=_limit(limit))
    return Call("GET", f"{API}/runs", parse_as(t.ListRunsResponse), query=query, idempotent=True)


def complete_run(run_id: str, req: t.CompleteRunRequest) -> Call[t.CompleteRunResponse]:
    return Call("POST", f"{API}/runs/{seg(run_id)}/complete", parse_as(t.CompleteRunResponse), to_json(req))


def complete_runs(req: t.BatchCompleteRequest) -> Call[t.BatchCompleteResponse]:
    return Call("POST", f"{API}/runs/complete", parse_as(t.BatchCompleteResponse), to_json(req))


def fail_run(run_id: str, req: t.FailRunRequest) -> Call[t.FailRunResponse]:
    return Call("POST", f"{API}/runs/{seg(run_id)}/fail", parse_as(t.FailRunResponse), to_json(req))


def schedule_run(run_id: str, req: t.ScheduleRunRequest) -> Call[t.ScheduleRunResponse]:
    return Call("POST", f"{API}/runs/{seg(run_id)}/schedule", parse_as(t.ScheduleRunResponse), to_json(req))


def heartbeat(run_id: str, req: t.HeartbeatRequest) -> Call[t.HeartbeatResponse]:
    return Call(
        "POST", f"{API}/runs/{seg(run_id)}/heartbeat", parse_as(t.HeartbeatResponse), to_json(req), idempotent=True
    )


def wait_for_event(run_id: str, req: t.WaitForEventRequest) -> Call[t.WaitForEventResponse]:
    return Call("POST", f"{API}/runs/{seg(run_id)}/wait-for-event", parse_wait, to_json(req))


def wait_for_task(run_id: str, req: t.WaitForTaskRequest) -> Call[t.WaitForEventResponse]:
    return Call("POST", f"{API}/runs/{seg(run_id)}/wait-for-task", parse_wait, to_json(req))


# Checkpoints


def set_checkpoint(task_id: str, step: str, req: t.SetCheckpointRequest) -> Call[t.SetCheckpointResponse]:
    body = to_json(req)
    # `state` is required, and a step's result may well be null: None here
    # is that JSON value, not "leave it out".
    body.setdefault("state", None)
    return Call(
        "PUT",
        f"{API}/tasks/{seg(task_id)}/checkpoints/{seg(step)}",
        parse_as(t.SetCheckpointResponse),
        body,
        idempotent=True,
    )


def get_checkpoint(task_id: str, step: str) -> Call[t.GetCheckpointResponse]:
    return Call(
        "GET",
        f"{API}/tasks/{seg(task_id)}/checkpoints/{seg(step)}",
        parse_as(t.GetCheckpointResponse),
        idempotent=True,
    )


def list_checkpoints(task_id: str) -> Call[t.ListCheckpointsResponse]:
    return Call(
        "GET", f"{API}/tasks/{seg(task_id)}/checkpoints", parse_as(t.ListCheckpointsResponse), idempotent=True
    )


# Events


def emit_event(req: t.EmitEventRequest) -> Call[t.EmitEventResponse]:
    return Call("POST", f"{API}/events", parse_as(t.EmitEventResponse), to_json(req))


# Schedules


def parse_schedules(response: httpx.Response) -> list[t.Schedule]:
    return parse_as(t.ListSchedulesResponse)(response).schedules


def create_schedule(req: t.CreateScheduleRequest) -> Call[t.Schedule]:
    # A repeat of a create that was applied answers 409 (the name is taken).
    return Call("POST", f"{API}/schedules", parse_as(t.Schedule), to_json(req))


def list_schedules() -> Call[list[t.Schedule]]:
    return Call("GET", f"{API}/schedules", parse_schedules, idempotent=True)


def get_schedule(name: str) -> Call[t.Schedule]:
    return Call("GET", f"{API}/schedules/{seg(name)}", parse_as(t.Schedule), idempotent=True)


def update_schedule(name: str, req: t.UpdateScheduleRequest) -> Call[t.Schedule]:
    # The same patch twice leaves the same schedule: the server restarts the
    # ticks only for a different expression or zone, or a resume.
    return Call("PATCH", f"{API}/schedules/{seg(name)}", parse_as(t.Schedule), to_json(req), idempotent=True)


def pause_schedule(name: str) -> Call[t.Schedule]:
    return update_schedule(name, t.UpdateScheduleRequest(paused=True))


def resume_schedule(name: str) -> Call[t.Schedule]:
    return update_schedule(name, t.UpdateScheduleRequest(paused=False))


def delete_schedule(name: str) -> Call[None]:
    return Call("DELETE", f"{API}/schedules/{seg(name)}", parse_nothing, idempotent=True)


# Workflow runs


def create_workflow_run(req: t.CreateWorkflowRunRequest) -> Call[t.CreateWorkflowRunResponse]:
    return Call("POST", f"{API}/workflow-runs", parse_as(t.CreateWorkflowRunResponse), to_json(req))


def update_workflow_run(
    workflow_run_id: str, req: t.UpdateWorkflowRunRequest
) -> Call[t.UpdateWorkflowRunResponse]:
    return Call(
        "PATCH",
        f"{API}/workflow-runs/{seg(workflow_run_id)}",
        parse_as(t.UpdateWorkflowRunResponse),
        to_json(req),
        idempotent=True,
    )


def get_workflow_run(workflow_run_id: str) -> Call[t.WorkflowRunDetail]:
    return Call(
        "GET", f"{API}/workflow-runs/{seg(workflow_run_id)}", parse_as(t.WorkflowRunDetail), idempotent=True
    )


def list_workflow_runs(
    status: t.WorkflowRunStatus | str | None, workflow_name: str | None, cursor: str | None, limit: int
) -> Call[t.ListWorkflowRunsResponse]:
    query = _query(status=status, workflow_name=workflow_name, cursor=cursor, limit=_limit(limit))
    return Call(
        "GET", f"{API}/workflow-runs", parse_as(t.ListWorkflowRunsResponse), query=query, idempotent=True
    )
