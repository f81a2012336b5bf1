"""The (ext) endpoints the dashboard reads and acts through, against a real
server, through the sync and the async client."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import unique
from test_client import claim_one, later, new_queue

from durable import DurableError
from durable.types import (
    CompleteRunRequest,
    CreateTaskRequest,
    EmitEventRequest,
    FailRunRequest,
    TaskStatus,
    WaitForEventRequest,
    WaitResult,
)


async def test_retry_task_gives_a_failed_task_a_new_run(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("flaky"))
    first = await claim_one(api, queue)
    await api.fail_run(first.run_id, FailRunRequest("boom"))
    retried = await api.retry_task(created.task_id)
    assert (retried.task_id, retried.attempt, retried.status) == (created.task_id, 2, TaskStatus.PENDING)
    second = await claim_one(api, queue)
    assert second.run_id == retried.run_id
    await api.complete_run(second.run_id, CompleteRunRequest({"ok": True}))
    with pytest.raises(DurableError) as refused:
        await api.retry_task(created.task_id)
    assert refused.value.status_code == 409


async def test_events_list_newest_first_by_name(api: Any) -> None:
    name = unique("evt")
    for n in range(3):
        await api.emit_event(EmitEventRequest(name, {"n": n}))
    listed = await api.list_events(event_name=name)
    assert [e.payload for e in listed.events] == [{"n": 2}, {"n": 1}, {"n": 0}]
    assert all(e.event_name == name and e.event_id and e.created_at for e in listed.events)
    page = await api.list_events(event_name=name, limit=2)
    assert len(page.events) == 2 and page.next_cursor
    rest = await api.list_events(event_name=name, cursor=page.next_cursor, limit=2)
    assert [e.payload for e in rest.events] == [{"n": 0}]


async def test_wait_outcomes_and_queue_history(api: Any) -> None:
    queue = await new_queue(api)
    event = unique("paid")
    created = await api.create_task(queue, CreateTaskRequest("waiter"))
    task = await claim_one(api, queue)
    wait = WaitForEventRequest(event, 60, created.task_id, "payment")
    assert (await api.wait_for_event(task.run_id, wait)).status == WaitResult.SLEEPING
    await api.emit_event(EmitEventRequest(event, {"amount": 5}))
    woken = await claim_one(api, queue)
    await api.complete_run(woken.run_id, CompleteRunRequest())
    waits = await api.list_wait_outcomes(created.task_id)
    assert [(w.step_name, w.outcome, w.payload) for w in waits.waits] == [("payment", "resolved", {"amount": 5})]

    history = await api.get_queue_history(queue)
    assert history.queue_name == queue and history.interval_seconds == 60
    assert (history.completed_runs, history.failed_runs, history.count_cap) == (1, 0, 10000)
    assert sum(m.claimed for m in history.samples) == 2, "both claims, this minute or the last"
    with pytest.raises(DurableError) as unknown:
        await api.get_queue_history(unique("nowhere"))
    assert unknown.value.status_code == 404


async def test_tasks_filter_by_creation_time(api: Any) -> None:
    queue = await new_queue(api)
    created = await api.create_task(queue, CreateTaskRequest("dated"))
    future = later(3600)
    assert [t.id for t in (await api.list_tasks(queue_name=queue, created_before=future)).tasks] == [created.task_id]
    assert (await api.list_tasks(queue_name=queue, created_after=future)).tasks == []
