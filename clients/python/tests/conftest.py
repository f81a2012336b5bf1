from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from server import Server, start_server

from durable import AsyncDurableClient, DurableClient
from durable.types import CreateQueueRequest


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


# Every test runs against SQLite, and again against PostgreSQL when
# DATABASE_URL names one; without it those runs are reported as skipped.
@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "postgres":
        url = _postgres_url()
        if url is None:
            pytest.skip("PostgreSQL run: set DATABASE_URL=postgres://… to run it")
        running = start_server(database_url=url)
    else:
        running = start_server()
    yield running
    running.stop()


@pytest.fixture
def base_url(server: Server) -> str:
    return server.url


@pytest.fixture
def client(base_url: str) -> Iterator[DurableClient]:
    with DurableClient(base_url) as c:
        yield c


@pytest.fixture
async def aclient(base_url: str) -> AsyncIterator[AsyncDurableClient]:
    async with AsyncDurableClient(base_url) as c:
        yield c


def unique(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def queue(client: DurableClient) -> str:
    name = unique()
    client.create_queue(CreateQueueRequest(name))
    return name


class _Blocking:
    """The sync client's methods, awaitable, so one test body covers both clients."""

    def __init__(self, client: DurableClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, base_url: str) -> AsyncIterator[Any]:
    """The sync client (called directly) or the async one, with the same methods."""
    if request.param == "sync":
        with DurableClient(base_url) as c:
            yield _Blocking(c)
    else:
        async with AsyncDurableClient(base_url) as c:
            yield c


async def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Polls `check` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
