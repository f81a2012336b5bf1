"""When a request is sent again: only calls safe to repeat, only after
failures where the server most likely did not act or asked to try again."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff; `max_retries=0` disables retries."""

    max_retries: int = 3
    base_delay: float = 0.1
    max_delay: float = 5.0

    def delay(self, retry: int) -> float:
        """The wait before retry `retry` (0 for the first): the doubled base,
        capped, then a random point in its upper half, so that many clients
        do not come back in lockstep."""
        ceiling = min(self.base_delay * float(2 ** min(retry, 30)), self.max_delay)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def should_retry(self, idempotent: bool, retry: int, failure: httpx.Response | Exception) -> bool:
        if not idempotent or retry >= self.max_retries:
            return False
        if isinstance(failure, httpx.Response):
            return failure.status_code == 503
        return isinstance(failure, httpx.TransportError)


NO_RETRIES = RetryPolicy(max_retries=0)
