"""The error every refused request raises."""

from __future__ import annotations

from .types import ErrorResponse


class DurableError(Exception):
    """The server answered with status >= 400; `body` is its error body.

    `request_id` is the `x-request-id` of the exchange when there was one,
    to find the request in the server's log.
    """

    def __init__(self, status_code: int, body: ErrorResponse, request_id: str | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.body.error:
            return f"{self.status_code}: {self.body.error}"
        return f"unexpected status {self.status_code}"

    @property
    def code(self) -> str:
        return self.body.code

    @property
    def is_conflict(self) -> bool:
        return self.status_code == 409

    @property
    def is_not_found(self) -> bool:
        return self.status_code == 404
