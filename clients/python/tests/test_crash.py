"""A worker process killed in the middle of a task: another one finishes it,
and the steps that were recorded do not run again."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conftest import unique

from durable import DurableClient
from durable.types import CreateQueueRequest, CreateTaskRequest

WORKER = Path(__file__).with_name("crash_worker.py")


def start_worker(url: str, queue: str, directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER), url, queue, str(directory)], env=os.environ.copy())


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.05)


def test_a_worker_killed_during_step_two(base_url: str, client: DurableClient, tmp_path: Path) -> None:
    queue = unique("crash")
    client.create_queue(CreateQueueRequest(queue))
    created = client.create_task(queue, CreateTaskRequest("three-steps"))

    first = start_worker(base_url, queue, tmp_path)
    try:
        wait_for(lambda: lines(tmp_path / "two") == 1, 20)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert lines(tmp_path / "one") == 1 and lines(tmp_path / "three") == 0

    second = start_worker(base_url, queue, tmp_path)
    try:
        result = client.get_task_result(created.task_id, wait_seconds=30)
        assert result.finished, "the second worker did not finish the task"
        assert result.result == ["one", "two", "three"]
        # SIGTERM stops the worker gracefully: it exits on its own.
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    finally:
        if second.poll() is None:
            second.kill()

    assert (lines(tmp_path / "one"), lines(tmp_path / "two"), lines(tmp_path / "three")) == (1, 2, 1)
    runs = client.list_runs(task_id=created.task_id).runs
    assert [(r.attempt, r.status, r.error) for r in runs] == [
        (2, "completed", None),
        (1, "failed", "claim expired"),
    ]


def test_the_readme_example_runs(base_url: str) -> None:
    example = Path(__file__).parents[1] / "examples" / "order_fulfillment.py"
    done = subprocess.run([sys.executable, str(example), base_url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ast.literal_eval(done.stdout.strip()) == {
        "payment": "pay-17",
        "tracking": "1Z999",
        "email": {"sent_to": "ada@example.com"},
    }
