"""Request and response bodies of the HTTP API v1.

The names, field order and defaults of the original client's types are kept
as they were, so programs written against it run unchanged; fields and types
marked (ext) are additions of this server. Times are RFC 3339 strings, ids
are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


class RunStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    FAILED = "failed"
    SLEEPING = "sleeping"
    CANCELED = "canceled"


class WorkflowRunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


class WaitResult(StrEnum):
    RESOLVED = "resolved"
    SLEEPING = "sleeping"
    TIMEOUT = "timeout"


class RetryStrategyKind(StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


@dataclass
class RetryStrategy:
    kind: RetryStrategyKind
    base_seconds: float
    factor: float | None = None
    max_seconds: float | None = None


@dataclass
class CleanupPolicy:
    task_ttl_seconds: int | None = None
    event_ttl_seconds: int | None = None


@dataclass
class ErrorResponse:
    error: str = ""
    code: str = ""


# Queues


@dataclass
class CreateQueueRequest:
    name: str
    cleanup: CleanupPolicy | None = None
    key_concurrency_limit: int | None = None  # (ext)
    concurrency_limit: int | None = None  # (ext)


@dataclass
class CreateQueueResponse:
    name: str
    created_at: str
    cleanup: CleanupPolicy | None = None
    key_concurrency_limit: int | None = None  # (ext)
    concurrency_limit: int | None = None  # (ext)


@dataclass
class QueueSummary:
    name: str
    created_at: str
    cleanup: CleanupPolicy | None = None
    key_concurrency_limit: int | None = None  # (ext)
    concurrency_limit: int | None = None  # (ext)


@dataclass
class ListQueuesResponse:
    queues: list[QueueSummary] = field(default_factory=list)


@dataclass
class UpdateQueueRequest:
    """(ext) `PATCH /queues/{name}`: fields left `None` stay as they are.

    `concurrency_limit=None` cannot say "remove the cap", since `None` means
    "leave it"; set `remove_concurrency_limit=True` for that.
    """

    key_concurrency_limit: int | None = None
    concurrency_limit: int | None = None
    remove_concurrency_limit: bool = False


@dataclass
class QueueStatsResponse:
    queue_name: str
    pending_runs: int
    claimed_runs: int
    completed_runs: int
    oldest_pending_run_age_seconds: float | None = None
    sleeping_runs: int | None = None  # (ext)
    failed_runs: int | None = None  # (ext)


# Tasks


@dataclass
class CreateTaskRequest:
    task_name: str
    params: Any = None
    headers: dict[str, str] | None = None
    retry_strategy: RetryStrategy | None = None
    max_attempts: int | None = None
    start_timeout: float | None = None
    execution_timeout: float | None = None
    workflow_run_id: str | None = None
    idempotency_key: str | None = None  # (ext)
    run_at: str | None = None  # (ext)
    parent_task_id: str | None = None  # (ext)
    priority: int | None = None  # (ext)
    concurrency_key: str | None = None  # (ext)


@dataclass
class CreateTaskResponse:
    task_id: str
    run_id: str
    workflow_run_id: str | None = None
    deduplicated: bool = False  # (ext)


@dataclass
class BatchCreateTasksRequest:
    """(ext) `POST /queues/{q}/tasks/batch`: 1–1000 tasks in one transaction."""

    tasks: list[CreateTaskRequest] = field(default_factory=list)


@dataclass
class BatchCreateTasksResponse:
    tasks: list[CreateTaskResponse] = field(default_factory=list)


@dataclass
class CompleteItem:
    """(ext) One run to complete, in a batch or carried by a claim."""

    run_id: str
    result: Any = None


@dataclass
class FailItem:
    """(ext) One run to fail, carried by a claim."""

    run_id: str
    error: str


@dataclass
class ClaimTasksRequest:
    limit: int
    claim_timeout: int
    long_poll_seconds: int | None = None
    worker_id: str | None = None  # (ext)
    include_checkpoints: bool | None = None  # (ext)
    complete: list[CompleteItem] | None = None  # (ext) acknowledged before claiming
    fail: list[FailItem] | None = None  # (ext) acknowledged before claiming


@dataclass
class Checkpoint:
    task_id: str
    step_name: str
    state: Any
    updated_at: str
    owner_run: str | None = None  # (ext)


@dataclass
class ClaimedTask:
    run_id: str
    task_id: str
    attempt: int
    task_name: str
    max_attempts: int
    params: Any = None
    headers: dict[str, str] | None = None
    retry_strategy: RetryStrategy | None = None
    queue_name: str | None = None  # (ext)
    claim_expires_at: str | None = None  # (ext)
    workflow_run_id: str | None = None  # (ext)
    parent_task_id: str | None = None  # (ext)
    priority: int = 0  # (ext)
    concurrency_key: str | None = None  # (ext)
    checkpoints: list[Checkpoint] | None = None  # (ext) with include_checkpoints


@dataclass
class CompleteOutcome:
    """(ext) What became of one completion: `status`, or `error` when refused."""

    run_id: str
    status: RunStatus | None = None
    error: ErrorResponse | None = None


@dataclass
class FailOutcome:
    """(ext) What became of one failure carried by a claim, or `error` when refused."""

    run_id: str
    status: RunStatus | None = None
    attempt: int | None = None
    next_run_id: str | None = None
    next_attempt_at: str | None = None
    error: ErrorResponse | None = None


@dataclass
class ClaimTasksResponse:
    tasks: list[ClaimedTask] = field(default_factory=list)
    completed: list[CompleteOutcome] | None = None  # (ext)
    failed: list[FailOutcome] | None = None  # (ext)


@dataclass
class TaskSummary:
    id: str
    task_name: str
    status: TaskStatus
    queue_name: str
    max_attempts: int
    created_at: str
    completed_at: str | None = None


@dataclass
class ListTasksResponse:
    tasks: list[TaskSummary] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass
class TaskDetail:
    """(ext) `GET /tasks/{id}`: the summary fields and everything the task was created with."""

    id: str
    task_name: str
    status: TaskStatus
    queue_name: str
    max_attempts: int
    created_at: str
    completed_at: str | None = None
    params: Any = None
    headers: dict[str, str] | None = None
    retry_strategy: RetryStrategy | None = None
    attempts: int = 0
    result: Any = None
    last_error: str | None = None
    workflow_run_id: str | None = None
    start_timeout: float | None = None
    execution_timeout: float | None = None
    current_run_id: str | None = None
    idempotency_key: str | None = None
    parent_task_id: str | None = None
    priority: int = 0
    concurrency_key: str | None = None


@dataclass
class CancelTaskResponse:
    """(ext)"""

    task_id: str
    status: TaskStatus


@dataclass
class TaskResultResponse:
    """(ext) `GET /tasks/{id}/result`. `finished` is False when the wait ran out first (HTTP 202)."""

    task_id: str
    status: TaskStatus
    result: Any = None
    error: str | None = None
    finished: bool = False


# Runs


@dataclass
class RunSummary:
    id: str
    task_id: str
    attempt: int
    status: RunStatus
    created_at: str
    error: str | None = None
    completed_at: str | None = None
    queue_name: str | None = None  # (ext)
    available_at: str | None = None  # (ext)
    claim_expires_at: str | None = None  # (ext)
    worker_id: str | None = None  # (ext)


@dataclass
class ListRunsResponse:
    runs: list[RunSummary] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass
class CompleteRunRequest:
    result: Any = None


@dataclass
class CompleteRunResponse:
    run_id: str
    status: RunStatus


@dataclass
class BatchCompleteRequest:
    """(ext) `POST /runs/complete`: each item fenced on its own, one transaction."""

    runs: list[CompleteItem] = field(default_factory=list)


@dataclass
class BatchCompleteResponse:
    runs: list[CompleteOutcome] = field(default_factory=list)


@dataclass
class FailRunRequest:
    error: str


@dataclass
class FailRunResponse:
    run_id: str
    status: RunStatus
    attempt: int
    next_run_id: str | None = None
    next_attempt_at: str | None = None


@dataclass
class ScheduleRunRequest:
    run_at: str


@dataclass
class ScheduleRunResponse:
    run_id: str
    scheduled_at: str


@dataclass
class HeartbeatRequest:
    """(ext)"""

    extend_by_seconds: int


@dataclass
class HeartbeatResponse:
    run_id: str
    claim_expires_at: str


@dataclass
class WaitForEventRequest:
    event_name: str
    timeout_seconds: int
    task_id: str
    step_name: str


@dataclass
class WaitForEventResponse:
    status: WaitResult
    payload: Any = None
    message: str | None = None


@dataclass
class WaitForTaskRequest:
    """(ext) `POST /runs/{id}/wait-for-task`; no timeout when `timeout_seconds` is None.

    The answer is a `WaitForEventResponse` whose payload, when resolved, is
    `{"task_id", "status", "result"?, "error"?}` of the child.
    """

    task_id: str
    step_name: str
    timeout_seconds: int | None = None


# Checkpoints


@dataclass
class SetCheckpointRequest:
    state: Any
    owner_run: str
    extend_claim_by: int | None = None


@dataclass
class SetCheckpointResponse:
    task_id: str
    step_name: str
    updated_at: str


@dataclass
class GetCheckpointResponse:
    task_id: str
    step_name: str
    state: Any
    updated_at: str
    owner_run: str | None = None  # (ext)


@dataclass
class ListCheckpointsResponse:
    """(ext)"""

    checkpoints: list[Checkpoint] = field(default_factory=list)


# Events


@dataclass
class EmitEventRequest:
    event_name: str
    payload: Any = None


@dataclass
class EmitEventResponse:
    event_id: str
    event_name: str
    created_at: str


# Schedules


class CatchUp(StrEnum):
    """(ext) What a schedule does with ticks that passed while no server ran."""

    SKIP = "skip"  # fire none of them
    ONE = "one"  # fire the latest of them once
    ALL = "all"  # fire every one of them


@dataclass
class CreateScheduleRequest:
    """(ext) `POST /schedules`: a cron schedule creating `task` in `queue_name` on every tick.

    `cron` has five fields, an optional leading seconds field, or is a macro
    (`@hourly`, …); `timezone` is an IANA zone (server default `UTC`);
    `catch_up` defaults to `CatchUp.ONE`. The task may not carry
    `idempotency_key`, `run_at`, `workflow_run_id` or `parent_task_id`: each
    tick's task gets the key `schedule:<name>:<tick>` and the headers
    `durable-schedule` (the name) and `durable-tick` (the tick, RFC 3339 UTC).
    """

    name: str
    queue_name: str
    cron: str
    task: CreateTaskRequest
    timezone: str | None = None
    catch_up: CatchUp | None = None
    paused: bool | None = None


@dataclass
class UpdateScheduleRequest:
    """(ext) `PATCH /schedules/{name}`: fields left `None` stay as they are.

    A new `task` replaces the whole template; `paused=False` resumes from the
    first tick after now.
    """

    cron: str | None = None
    timezone: str | None = None
    task: CreateTaskRequest | None = None
    catch_up: CatchUp | None = None
    paused: bool | None = None


@dataclass
class ScheduleTask:
    """(ext) The task a schedule creates on every tick, with the server's defaults applied."""

    task_name: str
    params: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_strategy: RetryStrategy | None = None
    max_attempts: int = 1
    start_timeout: float | None = None
    execution_timeout: float | None = None
    priority: int = 0
    concurrency_key: str | None = None


@dataclass
class Schedule:
    """(ext) A cron schedule as the server describes it.

    `next_tick` is the first tick not fired yet; `next_fire_times` the next
    five (none while paused); `last_task_id` the task the last fired tick
    created.
    """

    name: str
    queue_name: str
    cron: str
    timezone: str
    task: ScheduleTask
    catch_up: CatchUp
    paused: bool
    created_at: str
    updated_at: str
    next_tick: str | None = None
    next_fire_times: list[str] = field(default_factory=list)
    last_tick: str | None = None
    last_task_id: str | None = None


@dataclass
class ListSchedulesResponse:
    """(ext) `GET /schedules`: every schedule, by name."""

    schedules: list[Schedule] = field(default_factory=list)


# Workflow runs


@dataclass
class CreateWorkflowRunRequest:
    workflow_name: str
    workflow_version: str | None = None
    inputs: Any = None
    created_by: str | None = None
    tags: dict[str, str] | None = None


@dataclass
class CreateWorkflowRunResponse:
    workflow_run_id: str
    workflow_name: str
    status: WorkflowRunStatus
    created_at: str


@dataclass
class UpdateWorkflowRunRequest:
    status: WorkflowRunStatus | None = None
    result: Any = None
    started_at: str | None = None
    completed_at: str | None = None


@dataclass
class UpdateWorkflowRunResponse:
    workflow_run_id: str
    status: WorkflowRunStatus
    updated_at: str


@dataclass
class WorkflowRun:
    """(ext) A workflow run as `GET /workflow-runs` lists it."""

    workflow_run_id: str
    workflow_name: str
    status: WorkflowRunStatus
    created_at: str
    updated_at: str | None = None
    workflow_version: str | None = None
    inputs: Any = None
    created_by: str | None = None
    tags: dict[str, str] | None = None
    result: Any = None
    started_at: str | None = None
    completed_at: str | None = None


@dataclass
class WorkflowRunDetail(WorkflowRun):
    """(ext) `GET /workflow-runs/{id}`: the run and summaries of its tasks."""

    tasks: list[TaskSummary] = field(default_factory=list)


@dataclass
class ListWorkflowRunsResponse:
    """(ext)"""

    workflow_runs: list[WorkflowRun] = field(default_factory=list)
    next_cursor: str | None = None


# Dashboard endpoints (ext)


@dataclass
class RetryTaskResponse:
    """(ext) `POST /tasks/{id}/retry`: the retried task's new run, due now."""

    task_id: str
    run_id: str
    attempt: int
    status: TaskStatus


@dataclass
class EventDetail:
    """(ext) An event with its payload, as `GET /events` lists it."""

    event_id: str
    event_name: str
    created_at: str
    payload: Any = None


@dataclass
class ListEventsResponse:
    """(ext) Newest first."""

    events: list[EventDetail] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass
class WaitOutcome:
    """(ext) The recorded outcome of one of a task's waits; `payload` is
    absent for a timeout."""

    step_name: str
    outcome: str
    payload: Any = None


@dataclass
class ListWaitsResponse:
    """(ext) `GET /tasks/{id}/waits`, by step name."""

    waits: list[WaitOutcome] = field(default_factory=list)


@dataclass
class QueueMinute:
    """(ext) One minute of a queue as one server saw it."""

    at: str
    created: int
    claimed: int
    failed: int
    pending_due: int
    pending_scheduled: int
    claimed_now: int
    sleeping: int
    oldest_pending_age_seconds: float | None = None


@dataclass
class QueueHistoryResponse:
    """(ext) `GET /queues/{name}/history`: the last hour minute by minute,
    and the finished runs counted up to `count_cap` (equal: at least that)."""

    queue_name: str
    interval_seconds: int
    completed_runs: int
    failed_runs: int
    count_cap: int
    samples: list[QueueMinute] = field(default_factory=list)
