"""How a run stops early without reporting anything."""

from __future__ import annotations

import enum


class Stop(enum.Enum):
    # The run gave its claim up to wait (sleep, event, child); it comes back
    # later and replays to the same point.
    SUSPENDED = "suspended"
    # The server says the claim is no longer held (expired, task canceled):
    # nothing more may be written for this run.
    CLAIM_LOST = "claim lost"


class RunStopped(BaseException):
    """Unwinds the handler from the call that stopped the run.

    A BaseException, like `asyncio.CancelledError`, so that the handler's
    own `except Exception` does not swallow it and go on past the wait.
    """

    def __init__(self, why: Stop) -> None:
        self.why = why
        super().__init__(why.value)
