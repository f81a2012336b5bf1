"""Python client and durable-execution SDK for the durable task queue server."""

from .app import Durable, TaskHandle
from .async_client import AsyncDurableClient
from .client import DurableClient
from .context import ChildTask, TaskContext
from .errors import DurableError
from .exceptions import (
    ChildCanceled,
    ChildFailed,
    ChildTimeout,
    EventTimeout,
    ExecutionError,
    InvalidStepName,
    NotJSON,
    TaskCanceled,
    TaskFailed,
)
from .options import TaskOptions
from .retry import RetryPolicy
from .worker import Worker

__all__ = [
    "AsyncDurableClient",
    "ChildCanceled",
    "ChildFailed",
    "ChildTask",
    "ChildTimeout",
    "Durable",
    "DurableClient",
    "DurableError",
    "EventTimeout",
    "ExecutionError",
    "InvalidStepName",
    "NotJSON",
    "RetryPolicy",
    "TaskCanceled",
    "TaskContext",
    "TaskFailed",
    "TaskHandle",
    "TaskOptions",
    "Worker",
]
