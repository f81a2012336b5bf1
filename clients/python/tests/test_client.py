"""Every client method, against a real server, through the sync and the async client."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import eventually, unique

from durable import DurableClient, DurableError
from durable.types import (
    BatchCompleteRequest,
    BatchCreateTasksRequest,
    ClaimTasksRequest,
    CleanupPolicy,
    CompleteItem,
    CompleteRunRequest,
    CreateQueueRequest,
    CreateTaskRequest,
    CreateWorkflowRunRequest,
    EmitEventRequest,
    FailItem,
    FailRunRequest,
    HeartbeatRequest,
    RetryStrategy,
    RetryStrategyKind,
    RunStatus,
    ScheduleRunRequest,
    SetCheckpointRequest,
    TaskStatus,
    UpdateQueueRequest,
    UpdateWorkflowRunRequest,
    WaitForEventRequest,
    WaitForTaskRequest,
    WaitResult,
    WorkflowRunStatus,
)


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def new_queue(api: Any, **settings: Any) -> str:
    name = unique()
    await api.create_queue(CreateQueueRequest(name, **settings))
    return name


async def claim_one(api: Any, queue: str, **extra: Any) -> Any:
    claimed = await api.claim_tasks(queue, ClaimTasksRequest(1, 30, long_poll_seconds=5, **extra))
    assert len(claimed.tasks) == 1, claimed
    return claimed.tasks[0]


async def test_queues_create_list_stats_update_delete(api: Any) -> None:
    name = unique()
    created = await api.create_queue(
        CreateQueueRequest(name, cleanup=CleanupPolicy(task_ttl_seconds=60), key_concurrency_limit=2)
    )
    assert created.name == name
    assert created.cleanup.task_ttl_seconds == 60
    assert created.cleanup.event_ttl_seconds == 259200
    assert created.key_concurrency_limit == 2
    assert created.concurrency_limit is None

    listed = await api.list_queues()
    assert name in [q.name for q in listed.queues]

    capped = await api.update_queue(name, UpdateQueueRequest(concurrency_limit=5))
    assert (capped.key_concurrency_limit, capped.concurrency_limit) == (2, 5)
    kept = await api.update_queue(name, UpdateQueueRequest(key_concurrency_limit=3))
    assert (kept.key_concurrency_limit, kept.concurrency_limit) == (3, 5), "absent fields stay"
    uncapped = await api.update_queue(name, UpdateQueueRequest(remove_concurrency_limit=True))
    assert uncapped.concurrency_limit is None

    await api.create_task(name, CreateTaskRequest("t"))
    stats = await api.get_queue_stats(name)
    assert (stats.queue_name, stats.pending_runs, stats.claimed_runs, stats.completed_runs) == (name, 1, 0, 0)
    assert stats.sleeping_runs == 0 and stats.failed_runs == 0
    assert stats.oldest_pending_run_age_seconds is not None

    with pytest.raises(DurableError) as busy:
        await api.delete_queue(name)
    assert busy.value.status_code == 409
    assert await api.delete_queue(name, force=True) is None
    with pytest.raises(DurableError) as gone:
        await api.get_queue_stats(name)
    assert gone.value.status_code == 404

    empty = await new_queue(api)
    assert await api.delete_queue(empty) is None


async def test_create_task_with_every_option_and_get_it(api: Any) -> None:
    queue = await new_queue(api)
    workflow = await api.create_workflow_run(CreateWorkflowRunRequest("wf"))
    parent = await api.create_task(queue, CreateTaskRequest("parent"))
    created = await api.create_task(
        queue,
        CreateTaskRequest(
            "full",
            params={"n": 1, "none": None, "nested": [1, {"x": None}]},
            headers={"h": "v"},
            retry_strategy=RetryStrategy(RetryStrategyKind.EXPONENTIAL, 2, factor=3, max_seconds=10),
            max_attempts=4,
            start_timeout=100,
            execution_timeout=200,
            workflow_run_id=workflow.workflow_run_id,
            idempotency_key="key-1",
            parent_task_id=parent.task_id,
            priority=7,
            concurrency_key="customer:1",
        ),
    )
    assert created.workflow_run_id == workflow.workflow_run_id
    assert created.deduplicated is False
    again = await api.create_task(queue, CreateTaskRequest("full", idempotency_key="key-1"))
    assert (again.task_id, again.deduplicated) == (created.task_id, True)

    task = await api.get_task(created.task_id)
    assert task.id == created.task_id
    assert task.status == TaskStatus.PENDING
    # Our params are sent as given: a null inside them is kept.
    assert task.params == {"n": 1, "none": None, "nested": [1, {"x": None}]}
    assert task.headers == {"h": "v"}
    assert task.retry_strategy == RetryStrategy(RetryStrategyKind.EXPONENTIAL, 2.0, 3.0, 10.0)
    assert (task.max_attempts, task.start_timeout, task.execution_timeout) == (4, 100, 200)
    assert task.parent_task_id == parent.task_id
    assert (task.priority, task.concurrency_key, task.idempotency_key) == (7, "customer:1", "key-1")
    assert task.current_run_id == created.run_id

    children = await api.list_tasks(parent_task_id=parent.task_id)
    assert [t.id for t in children.tasks] == [created.task_id]


async def test_run_at_defers_the_first_run(api: Any) -> None:
    queue = await new_queue(api)
    await api.create_task(queue, CreateTaskRequest("later", run_at=later(3600)))
    claimed = await api.claim_tasks(queue, ClaimTasksRequest(10, 30))
    assert claimed.tasks == []


async def test_batch_create_and_list_tasks_with_filters_and_pages(api: Any) -> None:
    queue = await new_queue(api)
    batch = await api.create_tasks(
        queue,
        BatchCreateTasksRequest([CreateTaskRequest("a", params=i) for i in range(3)] + [CreateTaskRequest("b")]),
    )
    assert len(batch.tasks) == 4
    everything = await api.list_tasks(queue_name=queue)
    assert {t.id for t in everything.tasks} == {t.task_id for t in batch.tasks}
    named = await api.list_tasks(queue_name=queue, task_name="b", status=TaskStatus.PENDING)
    assert [t.id for t in named.tasks] == [batch.tasks[3].task_id]
    page = await api.list_tasks(queue_name=queue, limit=2)
    assert len(page.tasks) == 2 and page.next_cursor
    rest = await api.list_tasks(queue_name=queue, limit=2, cursor=page.next_cursor)
    assert {t.id for t in page.tasks + rest.tasks} == {t.task_id for t in batch.tasks}
    summary = everything.tasks[0]
    assert summary.queue_name == queue and summary.status == TaskStatus.PENDING and summary.max_attempts == 1


async def test_claim_complete_and_result(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("job", params={"x": 1}, headers={"k": "v"}))
    pending = await api.get_task_result(created.task_id, wait_seconds=1)
    assert (pending.finished, pending.status) == (False, TaskStatus.PENDING)

    task = await claim_one(api, queue, worker_id="w1", include_checkpoints=True)
    assert (task.run_id, task.task_id, task.attempt) == (created.run_id, created.task_id, 1)
    assert (task.task_name, task.params, task.headers, task.max_attempts) == ("job", {"x": 1}, {"k": "v"}, 1)
    assert task.queue_name == queue and task.claim_expires_at and task.checkpoints == []

    beat = await api.heartbeat(task.run_id, HeartbeatRequest(extend_by_seconds=60))
    assert beat.run_id == task.run_id and beat.claim_expires_at

    done = await api.complete_run(task.run_id, CompleteRunRequest(result={"ok": True}))
    assert (done.run_id, done.status) == (task.run_id, RunStatus.COMPLETED)
    result = await api.get_task_result(created.task_id, wait_seconds=5)
    assert (result.finished, result.status, result.result) == (True, TaskStatus.COMPLETED, {"ok": True})

    with pytest.raises(DurableError) as twice:
        await api.complete_run(task.run_id, CompleteRunRequest())
    assert (twice.value.status_code, twice.value.body.code) == (409, "CONFLICT")
    with pytest.raises(DurableError) as lost:
        await api.heartbeat(task.run_id, HeartbeatRequest(extend_by_seconds=5))
    assert lost.value.status_code == 409


async def test_fail_retries_and_list_runs(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(
        queue, CreateTaskRequest("flaky", max_attempts=2, retry_strategy=RetryStrategy(RetryStrategyKind.FIXED, 0))
    )
    first = await claim_one(api, queue)
    failed = await api.fail_run(first.run_id, FailRunRequest("boom"))
    assert (failed.status, failed.attempt) == (RunStatus.FAILED, 1)
    assert failed.next_run_id and failed.next_attempt_at
    second = await claim_one(api, queue)
    assert (second.run_id, second.attempt) == (failed.next_run_id, 2)
    final = await api.fail_run(second.run_id, FailRunRequest("boom again"))
    assert final.next_run_id is None
    result = await api.get_task_result(created.task_id)
    assert (result.status, result.error) == (TaskStatus.FAILED, "boom again")

    runs = await api.list_runs(task_id=created.task_id)
    assert [(r.attempt, r.status, r.error) for r in runs.runs] == [
        (2, RunStatus.FAILED, "boom again"),
        (1, RunStatus.FAILED, "boom"),
    ]
    assert (await api.list_runs(task_id=created.task_id, status=RunStatus.FAILED, limit=1)).next_cursor


async def test_claim_carries_acknowledgements(api: Any) -> None:
    queue = await new_queue(api)
    a = await api.create_task(queue, CreateTaskRequest("a"))
    b = await api.create_task(queue, CreateTaskRequest("b"))
    claimed = await api.claim_tasks(queue, ClaimTasksRequest(2, 30))
    assert {t.task_id for t in claimed.tasks} == {a.task_id, b.task_id}
    c = await api.create_task(queue, CreateTaskRequest("c"))
    handoff = await api.claim_tasks(
        queue,
        ClaimTasksRequest(
            5,
            30,
            complete=[CompleteItem(a.run_id, {"done": "a"}), CompleteItem("00000000-0000-7000-8000-000000000000")],
            fail=[FailItem(b.run_id, "nope")],
        ),
    )
    assert [t.task_id for t in handoff.tasks] == [c.task_id]
    assert handoff.completed[0].status == RunStatus.COMPLETED
    assert handoff.completed[1].error.code == "NOT_FOUND"
    assert handoff.failed[0].status == RunStatus.FAILED and handoff.failed[0].attempt == 1
    assert (await api.get_task_result(a.task_id)).result == {"done": "a"}
    assert (await api.get_task(b.task_id)).status == TaskStatus.FAILED


async def test_batch_complete(api: Any) -> None:
    queue = await new_queue(api)
    await api.create_tasks(queue, BatchCreateTasksRequest([CreateTaskRequest("x"), CreateTaskRequest("y")]))
    tasks = (await api.claim_tasks(queue, ClaimTasksRequest(2, 30))).tasks
    answer = await api.complete_runs(
        BatchCompleteRequest(
            [CompleteItem(tasks[0].run_id, 1), CompleteItem(tasks[1].run_id), CompleteItem(tasks[0].run_id)]
        )
    )
    assert [o.status for o in answer.runs[:2]] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    assert answer.runs[2].status is None and answer.runs[2].error.code == "CONFLICT"


async def test_schedule_puts_a_claimed_run_to_sleep(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("nap"))
    task = await claim_one(api, queue)
    scheduled = await api.schedule_run(task.run_id, ScheduleRunRequest(run_at=later(1)))
    assert scheduled.run_id == task.run_id and scheduled.scheduled_at
    runs = await api.list_runs(task_id=created.task_id)
    assert runs.runs[0].status == RunStatus.SLEEPING
    again = await claim_one(api, queue)
    assert (again.run_id, again.attempt) == (task.run_id, 1), "a durable sleep keeps run and attempt"


async def test_checkpoints(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("cp"))
    task = await claim_one(api, queue)
    written = await api.set_checkpoint(
        task.task_id, "render/1 #x", SetCheckpointRequest({"html": "<p>"}, task.run_id, extend_claim_by=30)
    )
    assert (written.task_id, written.step_name) == (created.task_id, "render/1 #x")
    got = await api.get_checkpoint(task.task_id, "render/1 #x")
    assert (got.state, got.owner_run) == ({"html": "<p>"}, task.run_id)
    await api.set_checkpoint(task.task_id, "two", SetCheckpointRequest([1, 2], task.run_id))
    # A null state is a value, sent as such.
    await api.set_checkpoint(task.task_id, "null", SetCheckpointRequest(None, task.run_id))
    assert (await api.get_checkpoint(task.task_id, "null")).state is None
    listed = await api.list_checkpoints(task.task_id)
    assert {c.step_name: c.state for c in listed.checkpoints} == {
        "render/1 #x": {"html": "<p>"},
        "two": [1, 2],
        "null": None,
    }
    with pytest.raises(DurableError) as missing:
        await api.get_checkpoint(task.task_id, "nope")
    assert missing.value.status_code == 404

    # A claim with include_checkpoints hands them out.
    await api.fail_run(task.run_id, FailRunRequest("retry me"))
    await api.create_task(queue, CreateTaskRequest("noise"))
    created_max = await api.create_task(queue, CreateTaskRequest("cp2", max_attempts=2))
    first = await claim_one(api, queue)
    await api.complete_run(first.run_id, CompleteRunRequest())
    second = await claim_one(api, queue)
    assert second.task_id == created_max.task_id
    await api.set_checkpoint(second.task_id, "s", SetCheckpointRequest(5, second.run_id))
    await api.fail_run(second.run_id, FailRunRequest("again"))
    retried = await api.claim_tasks(queue, ClaimTasksRequest(1, 30, long_poll_seconds=5, include_checkpoints=True))
    assert [(c.step_name, c.state) for c in retried.tasks[0].checkpoints] == [("s", 5)]
    with pytest.raises(DurableError) as fenced:
        await api.set_checkpoint(second.task_id, "s", SetCheckpointRequest(6, second.run_id))
    assert fenced.value.status_code == 409


async def test_wait_for_event_sleeps_resolves_and_replays(api: Any) -> None:
    queue = await new_queue(api)
    event = unique("evt")
    created = await api.create_task(queue, CreateTaskRequest("waiter"))
    task = await claim_one(api, queue)
    wait = WaitForEventRequest(event, 60, created.task_id, "step-1")
    sleeping = await api.wait_for_event(task.run_id, wait)
    assert sleeping.status == WaitResult.SLEEPING and sleeping.message
    emitted = await api.emit_event(EmitEventRequest(event, {"v": 1}))
    assert emitted.event_name == event and emitted.event_id and emitted.created_at
    woken = await claim_one(api, queue)
    resolved = await api.wait_for_event(woken.run_id, wait)
    assert (resolved.status, resolved.payload) == (WaitResult.RESOLVED, {"v": 1})
    replay = await api.wait_for_event(woken.run_id, wait)
    assert (replay.status, replay.payload) == (WaitResult.RESOLVED, {"v": 1})


async def test_wait_for_event_timeout_is_an_answer_not_an_error(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("waiter"))
    task = await claim_one(api, queue)
    wait = WaitForEventRequest(unique("never"), 1, created.task_id, "w")
    assert (await api.wait_for_event(task.run_id, wait)).status == WaitResult.SLEEPING
    woken = await claim_one(api, queue)
    timed_out = await api.wait_for_event(woken.run_id, wait)
    assert timed_out.status == WaitResult.TIMEOUT
    assert timed_out.payload is None and timed_out.message


async def test_wait_for_task(api: Any) -> None:
    queue = await new_queue(api)
    parent = await api.create_task(queue, CreateTaskRequest("parent"))
    held = await claim_one(api, queue)
    child = await api.create_task(queue, CreateTaskRequest("child", parent_task_id=parent.task_id))
    wait = WaitForTaskRequest(child.task_id, "$task:c")
    assert (await api.wait_for_task(held.run_id, wait)).status == WaitResult.SLEEPING
    child_run = await claim_one(api, queue)
    assert child_run.task_id == child.task_id and child_run.parent_task_id == parent.task_id
    await api.complete_run(child_run.run_id, CompleteRunRequest(result=42))
    woken = await claim_one(api, queue)
    resolved = await api.wait_for_task(woken.run_id, wait)
    assert resolved.status == WaitResult.RESOLVED
    assert resolved.payload["status"] == "completed" and resolved.payload["result"] == 42

    other = await api.create_task(queue, CreateTaskRequest("orphan-child", parent_task_id=parent.task_id))
    timed = WaitForTaskRequest(other.task_id, "$task:t", timeout_seconds=1)
    assert (await api.wait_for_task(woken.run_id, timed)).status == WaitResult.SLEEPING
    # The orphan child is claimable too; leave it and take the parent back.
    back = await eventually(lambda: _claim_task(api, queue, parent.task_id))
    assert (await api.wait_for_task(back.run_id, timed)).status == WaitResult.TIMEOUT


async def _claim_task(api: Any, queue: str, task_id: str) -> Any:
    claimed = await api.claim_tasks(queue, ClaimTasksRequest(10, 30))
    mine = [t for t in claimed.tasks if t.task_id == task_id]
    for other in claimed.tasks:
        if other.task_id != task_id:
            await api.schedule_run(other.run_id, ScheduleRunRequest(run_at=later(3600)))
    return mine[0] if mine else None


async def test_cancel_task_fences_its_worker(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("long"))
    task = await claim_one(api, queue)
    canceled = await api.cancel_task(created.task_id)
    assert (canceled.task_id, canceled.status) == (created.task_id, TaskStatus.CANCELED)
    with pytest.raises(DurableError) as late:
        await api.complete_run(task.run_id, CompleteRunRequest())
    assert late.value.status_code == 409
    with pytest.raises(DurableError) as again:
        await api.cancel_task(created.task_id)
    assert again.value.status_code == 409
    assert (await api.get_task_result(created.task_id)).status == TaskStatus.CANCELED
    assert (await api.list_runs(task_id=created.task_id)).runs[0].status == RunStatus.CANCELED


async def test_workflow_runs(api: Any) -> None:
    name = unique("wf")
    created = await api.create_workflow_run(
        CreateWorkflowRunRequest(name, workflow_version="1", inputs={"a": 1}, created_by="me", tags={"t": "v"})
    )
    assert (created.workflow_name, created.status) == (name, WorkflowRunStatus.PENDING)
    queue = await new_queue(api)
    task = await api.create_task(queue, CreateTaskRequest("step", workflow_run_id=created.workflow_run_id))
    updated = await api.update_workflow_run(
        created.workflow_run_id,
        UpdateWorkflowRunRequest(status=WorkflowRunStatus.RUNNING, started_at=later(0)),
    )
    assert (updated.workflow_run_id, updated.status) == (created.workflow_run_id, WorkflowRunStatus.RUNNING)
    detail = await api.get_workflow_run(created.workflow_run_id)
    assert (detail.workflow_version, detail.inputs, detail.created_by, detail.tags) == ("1", {"a": 1}, "me", {"t": "v"})
    assert detail.started_at and [t.id for t in detail.tasks] == [task.task_id]
    listed = await api.list_workflow_runs(workflow_name=name, status=WorkflowRunStatus.RUNNING)
    assert [w.workflow_run_id for w in listed.workflow_runs] == [created.workflow_run_id]
    assert (await api.list_workflow_runs(workflow_name=name, status="completed", limit=5)).workflow_runs == []
    with pytest.raises(DurableError) as missing:
        await api.update_workflow_run("00000000-0000-7000-8000-000000000000", UpdateWorkflowRunRequest())
    assert missing.value.status_code == 404


async def test_error_mapping(api: Any) -> None:
    with pytest.raises(DurableError) as invalid:
        await api.get_task("not-a-uuid")
    error = invalid.value
    assert (error.status_code, error.body.code) == (400, "VALIDATION_ERROR")
    assert str(error) == "400: task_id must be a valid UUID"
    assert error.request_id
    with pytest.raises(DurableError) as unknown:
        await api.create_task(unique(), CreateTaskRequest("x"))
    assert (unknown.value.status_code, unknown.value.body.code) == (404, "NOT_FOUND")
    assert "not found" in str(unknown.value)
    with pytest.raises(DurableError) as blank:
        await api.create_task(unique(), CreateTaskRequest(""))
    assert blank.value.status_code in (400, 404)


async def test_long_poll_waits_for_a_task_created_meanwhile(api: Any, base_url: str) -> None:
    queue = await new_queue(api)

    def create_soon() -> None:
        # From a thread: the sync client blocks the event loop while it polls.
        time.sleep(0.5)
        with DurableClient(base_url) as other:
            other.create_task(queue, CreateTaskRequest("late"))

    creator = threading.Thread(target=create_soon)
    creator.start()
    claimed = await api.claim_tasks(queue, ClaimTasksRequest(1, 30, long_poll_seconds=10))
    creator.join()
    assert [t.task_name for t in claimed.tasks] == ["late"]
