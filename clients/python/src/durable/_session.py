"""What the sync and the async client share: configuration, and how a
`Call` becomes the arguments of an httpx request."""

from __future__ import annotations

from typing import Any

import httpx

from ._calls import Call
from .retry import RetryPolicy

DEFAULT_TIMEOUT = 30.0


class Session:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        timeout: float,
        retry: RetryPolicy | None,
        request_id: str | None,
        headers: dict[str, str] | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.headers: dict[str, str] = {"accept": "application/json", **(headers or {})}
        if token is not None:
            self.headers["authorization"] = f"Bearer {token}"
        if request_id is not None:
            # Passed through so the server's log lines carry the caller's id.
            self.headers["x-request-id"] = request_id

    def client_options(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "headers": self.headers, "timeout": self.timeout}

    def request_options(self, call: Call[Any]) -> dict[str, Any]:
        options: dict[str, Any] = {"method": call.method, "url": call.path}
        if call.body is not None:
            options["json"] = call.body
        if call.query:
            options["params"] = call.query
        if call.read_timeout is not None:
            options["timeout"] = httpx.Timeout(self.timeout, read=call.read_timeout)
        return options
