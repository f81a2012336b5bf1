"""What durable-execution calls raise.

`DurableError` (in `durable.errors`) is a refused HTTP request; these are
outcomes of durable execution. A handler may catch them (a timeout is an
ordinary branch); one that escapes the handler fails the run, and the
task's retry strategy applies.
"""

from __future__ import annotations


class ExecutionError(Exception):
    """Base class of durable-execution outcomes."""


class InvalidStepName(ExecutionError, ValueError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"invalid step name {name!r}: {reason}")


class NotJSON(ExecutionError, TypeError):
    """A value to be stored (params, a step's result, a task's result) is not JSON."""


class EventTimeout(ExecutionError):
    def __init__(self, event_name: str) -> None:
        self.event_name = event_name
        super().__init__(f"timed out waiting for event {event_name!r}")


class ChildTimeout(ExecutionError):
    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"timed out waiting for child task {task_id}")


class ChildFailed(ExecutionError):
    def __init__(self, task_id: str, error: str) -> None:
        self.task_id = task_id
        self.error = error
        super().__init__(f"child task {task_id} failed: {error}")


class ChildCanceled(ExecutionError):
    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"child task {task_id} was canceled")


class TaskFailed(ExecutionError):
    """`TaskHandle.result`: the task used up its attempts."""

    def __init__(self, task_id: str, error: str) -> None:
        self.task_id = task_id
        self.error = error
        super().__init__(f"task {task_id} failed: {error}")


class TaskCanceled(ExecutionError):
    """`TaskHandle.result`: the task was canceled."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"task {task_id} was canceled")
