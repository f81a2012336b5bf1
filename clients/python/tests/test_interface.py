"""The public interface existing programs use (the original client's), kept
exactly: method parameters, dataclass fields in order with their defaults."""

from __future__ import annotations

import dataclasses
import inspect
from enum import StrEnum
from typing import Any

import pytest

import durable
from durable import AsyncDurableClient, DurableClient, DurableError
from durable import types as t

# name -> positional parameters, keyword-only parameters (with defaults)
METHODS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "create_queue": (["req"], {}),
    "list_queues": ([], {}),
    "delete_queue": (["queue"], {}),
    "get_queue_stats": (["queue"], {}),
    "create_task": (["queue", "req"], {}),
    "claim_tasks": (["queue", "req"], {}),
    "list_tasks": ([], {"queue_name": None, "status": None, "task_name": None, "cursor": None, "limit": 0}),
    "list_runs": ([], {"task_id": None, "status": None, "cursor": None, "limit": 0}),
    "complete_run": (["run_id", "req"], {}),
    "fail_run": (["run_id", "req"], {}),
    "schedule_run": (["run_id", "req"], {}),
    "wait_for_event": (["run_id", "req"], {}),
    "set_checkpoint": (["task_id", "step", "req"], {}),
    "get_checkpoint": (["task_id", "step"], {}),
    "emit_event": (["req"], {}),
    "create_workflow_run": (["req"], {}),
    "update_workflow_run": (["workflow_run_id", "req"], {}),
}

MISSING = dataclasses.MISSING
# class -> the original fields in order; (name, default) where MISSING means required
FIELDS: dict[type, list[tuple[str, Any]]] = {
    t.RetryStrategy: [("kind", MISSING), ("base_seconds", MISSING), ("factor", None), ("max_seconds", None)],
    t.CleanupPolicy: [("task_ttl_seconds", None), ("event_ttl_seconds", None)],
    t.ErrorResponse: [("error", ""), ("code", "")],
    t.CreateQueueRequest: [("name", MISSING), ("cleanup", None)],
    t.CreateQueueResponse: [("name", MISSING), ("created_at", MISSING), ("cleanup", None)],
    t.QueueSummary: [("name", MISSING), ("created_at", MISSING), ("cleanup", None)],
    t.ListQueuesResponse: [("queues", [])],
    t.QueueStatsResponse: [
        ("queue_name", MISSING), ("pending_runs", MISSING), ("claimed_runs", MISSING),
        ("completed_runs", MISSING), ("oldest_pending_run_age_seconds", None),
    ],
    t.CreateTaskRequest: [
        ("task_name", MISSING), ("params", None), ("headers", None), ("retry_strategy", None),
        ("max_attempts", None), ("start_timeout", None), ("execution_timeout", None), ("workflow_run_id", None),
    ],
    t.CreateTaskResponse: [("task_id", MISSING), ("run_id", MISSING), ("workflow_run_id", None)],
    t.ClaimTasksRequest: [("limit", MISSING), ("claim_timeout", MISSING), ("long_poll_seconds", None)],
    t.ClaimedTask: [
        ("run_id", MISSING), ("task_id", MISSING), ("attempt", MISSING), ("task_name", MISSING),
        ("max_attempts", MISSING), ("params", None), ("headers", None), ("retry_strategy", None),
    ],
    t.ClaimTasksResponse: [("tasks", [])],
    t.TaskSummary: [
        ("id", MISSING), ("task_name", MISSING), ("status", MISSING), ("queue_name", MISSING),
        ("max_attempts", MISSING), ("created_at", MISSING), ("completed_at", None),
    ],
    t.ListTasksResponse: [("tasks", []), ("next_cursor", None)],
    t.RunSummary: [
        ("id", MISSING), ("task_id", MISSING), ("attempt", MISSING), ("status", MISSING),
        ("created_at", MISSING), ("error", None), ("completed_at", None),
    ],
    t.ListRunsResponse: [("runs", []), ("next_cursor", None)],
    t.CompleteRunRequest: [("result", None)],
    t.CompleteRunResponse: [("run_id", MISSING), ("status", MISSING)],
    t.FailRunRequest: [("error", MISSING)],
    t.FailRunResponse: [
        ("run_id", MISSING), ("status", MISSING), ("attempt", MISSING), ("next_run_id", None),
        ("next_attempt_at", None),
    ],
    t.ScheduleRunRequest: [("run_at", MISSING)],
    t.ScheduleRunResponse: [("run_id", MISSING), ("scheduled_at", MISSING)],
    t.WaitForEventRequest: [
        ("event_name", MISSING), ("timeout_seconds", MISSING), ("task_id", MISSING), ("step_name", MISSING),
    ],
    t.WaitForEventResponse: [("status", MISSING), ("payload", None), ("message", None)],
    t.SetCheckpointRequest: [("state", MISSING), ("owner_run", MISSING), ("extend_claim_by", None)],
    t.SetCheckpointResponse: [("task_id", MISSING), ("step_name", MISSING), ("updated_at", MISSING)],
    t.GetCheckpointResponse: [
        ("task_id", MISSING), ("step_name", MISSING), ("state", MISSING), ("updated_at", MISSING),
    ],
    t.EmitEventRequest: [("event_name", MISSING), ("payload", None)],
    t.EmitEventResponse: [("event_id", MISSING), ("event_name", MISSING), ("created_at", MISSING)],
    t.CreateWorkflowRunRequest: [
        ("workflow_name", MISSING), ("workflow_version", None), ("inputs", None), ("created_by", None), ("tags", None),
    ],
    t.CreateWorkflowRunResponse: [
        ("workflow_run_id", MISSING), ("workflow_name", MISSING), ("status", MISSING), ("created_at", MISSING),
    ],
    t.UpdateWorkflowRunRequest: [("status", None), ("result", None), ("started_at", None), ("completed_at", None)],
    t.UpdateWorkflowRunResponse: [("workflow_run_id", MISSING), ("status", MISSING), ("updated_at", MISSING)],
}

ENUMS: dict[type, list[str]] = {
    t.TaskStatus: ["pending", "completed", "failed", "canceled"],
    t.RunStatus: ["pending", "claimed", "completed", "failed", "sleeping", "canceled"],
    t.WorkflowRunStatus: ["pending", "running", "completed", "failed", "canceled"],
    t.WaitResult: ["resolved", "sleeping", "timeout"],
    t.RetryStrategyKind: ["fixed", "exponential"],
}


@pytest.mark.parametrize("cls", [DurableClient, AsyncDurableClient])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_parameters(cls: type, name: str) -> None:
    positional, keyword = METHODS[name]
    params = list(inspect.signature(getattr(cls, name)).parameters.values())[1:]
    assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    keyword_only = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}
    # Additions are allowed only as keyword-only parameters with defaults.
    assert {k: keyword_only[k] for k in keyword} == keyword
    assert all(d is not inspect.Parameter.empty for d in keyword_only.values())


@pytest.mark.parametrize("cls", list(FIELDS), ids=lambda c: c.__name__)
def test_dataclass_fields_keep_their_order_and_defaults(cls: type) -> None:
    fields = dataclasses.fields(cls)
    original = FIELDS[cls]
    got = []
    for f in fields[: len(original)]:
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        got.append((f.name, default))
    assert got == original
    # Anything added comes after, with a default, so positional calls still work.
    assert all(f.default is not MISSING or f.default_factory is not MISSING for f in fields[len(original) :])


@pytest.mark.parametrize("cls", list(ENUMS), ids=lambda c: c.__name__)
def test_enums(cls: type[StrEnum]) -> None:
    assert issubclass(cls, StrEnum)
    assert [m.value for m in cls] == ENUMS[cls]


def test_module_exports() -> None:
    assert durable.DurableClient is DurableClient and durable.DurableError is DurableError
    assert issubclass(DurableError, Exception)
    error = DurableError(409, t.ErrorResponse("taken", "CONFLICT"))
    assert (error.status_code, error.body, str(error)) == (409, t.ErrorResponse("taken", "CONFLICT"), "409: taken")
