"""How a durable task is created: the defaults a registration gives it and
what a spawn may override."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from .exceptions import NotJSON
from .types import CreateTaskRequest, RetryStrategy


@dataclass(frozen=True)
class TaskOptions:
    """Options left `None` take the server's defaults."""

    queue: str = "default"
    max_attempts: int | None = None
    retry_strategy: RetryStrategy | None = None
    headers: dict[str, str] = field(default_factory=dict)
    start_timeout: float | None = None
    execution_timeout: float | None = None
    priority: int | None = None
    concurrency_key: str | None = None

    def merged(self, **overrides: Any) -> TaskOptions:
        """These options with every override that is not `None`."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})

    def create(
        self,
        task_name: str,
        params: Any,
        *,
        idempotency_key: str | None = None,
        run_at: str | None = None,
        parent_task_id: str | None = None,
    ) -> CreateTaskRequest:
        return CreateTaskRequest(
            task_name=task_name,
            params=as_json(params, f"the params of task {task_name!r}"),
            headers=dict(self.headers) or None,
            retry_strategy=self.retry_strategy,
            max_attempts=self.max_attempts,
            start_timeout=self.start_timeout,
            execution_timeout=self.execution_timeout,
            idempotency_key=idempotency_key,
            run_at=run_at,
            parent_task_id=parent_task_id,
            priority=self.priority,
            concurrency_key=self.concurrency_key,
        )


def as_json(value: Any, what: str) -> Any:
    """`value` as it comes back from the server: what JSON keeps of it
    (tuples become lists, keys strings), so a first run sees exactly what a
    replay will. Refuses values JSON cannot hold."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise NotJSON(f"{what} is not JSON: {error}") from error
