"""Client options and the wire format: auth, request ids, retries, timeouts,
what requests leave out and what responses may add."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from conftest import unique
from server import Server, start_server

from durable import AsyncDurableClient, DurableClient, DurableError, RetryPolicy
from durable import _calls as calls
from durable._codec import from_json, to_json
from durable.types import (
    ClaimTasksRequest,
    CleanupPolicy,
    CreateQueueRequest,
    CreateTaskRequest,
    CreateTaskResponse,
    EmitEventRequest,
    ErrorResponse,
    ListQueuesResponse,
    RetryStrategy,
    RetryStrategyKind,
    TaskStatus,
    TaskSummary,
)

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def auth_server() -> Iterator[Server]:
    running = start_server(auth_token=TOKEN)
    yield running
    running.stop()


def test_bearer_token(auth_server: Server) -> None:
    with DurableClient(auth_server.url) as anonymous, pytest.raises(DurableError) as refused:
        anonymous.list_queues()
    assert (refused.value.status_code, refused.value.body.code) == (401, "UNAUTHORIZED")
    with DurableClient(auth_server.url, token=TOKEN) as c:
        name = unique()
        c.create_queue(CreateQueueRequest(name))
        assert name in [q.name for q in c.list_queues().queues]


async def test_bearer_token_async(auth_server: Server) -> None:
    async with AsyncDurableClient(auth_server.url, token="wrong") as c:
        with pytest.raises(DurableError) as refused:
            await c.list_queues()
        assert refused.value.status_code == 401
    async with AsyncDurableClient(auth_server.url, token=TOKEN) as c:
        assert isinstance(await c.list_queues(), ListQueuesResponse)


def test_request_id_is_passed_through(base_url: str) -> None:
    seen: list[str | None] = []

    def record(response: httpx.Response) -> None:
        seen.append(response.headers.get("x-request-id"))

    with DurableClient(base_url, request_id="trace-42") as c:
        c._http.event_hooks["response"] = [record]
        c.list_queues()
        with pytest.raises(DurableError) as error:
            c.get_task("bad")
    assert seen == ["trace-42", "trace-42"]
    assert error.value.request_id == "trace-42"


@dataclass
class Flaky503(httpx.BaseTransport):
    """Answers the first `failures` requests with 503, then passes them to the real server."""

    failures: int
    real: httpx.BaseTransport
    seen: int = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.failures:
            return httpx.Response(503, json={"error": "storage unavailable", "code": "UNAVAILABLE"})
        return self.real.handle_request(request)


def test_idempotent_calls_are_retried_on_503(base_url: str) -> None:
    transport = Flaky503(2, httpx.HTTPTransport())
    with DurableClient(base_url, transport=transport, retry=RetryPolicy(3, 0.01, 0.05)) as c:
        assert isinstance(c.list_queues(), ListQueuesResponse)
    assert transport.seen == 3


@dataclass
class AsyncFlaky503(httpx.AsyncBaseTransport):
    failures: int
    real: httpx.AsyncBaseTransport
    seen: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.failures:
            return httpx.Response(503, json={"error": "storage unavailable", "code": "UNAVAILABLE"})
        return await self.real.handle_async_request(request)


async def test_async_client_retries_idempotent_calls_only(base_url: str, queue: str) -> None:
    transport = AsyncFlaky503(2, httpx.AsyncHTTPTransport())
    async with AsyncDurableClient(base_url, transport=transport, retry=RetryPolicy(3, 0.01, 0.05)) as c:
        assert (await c.get_queue_stats(queue)).queue_name == queue
        assert transport.seen == 3
        transport.failures, transport.seen = 1, 0
        with pytest.raises(DurableError) as refused:
            await c.emit_event(EmitEventRequest("once"))
        assert refused.value.status_code == 503 and transport.seen == 1


def test_retries_are_bounded(base_url: str) -> None:
    transport = Flaky503(10, httpx.HTTPTransport())
    with DurableClient(base_url, transport=transport, retry=RetryPolicy(2, 0.01, 0.05)) as c:
        with pytest.raises(DurableError) as error:
            c.list_queues()
    assert error.value.status_code == 503 and transport.seen == 3


def test_non_idempotent_calls_are_not_retried(base_url: str, queue: str) -> None:
    transport = Flaky503(1, httpx.HTTPTransport())
    with DurableClient(base_url, transport=transport, retry=RetryPolicy(3, 0.01, 0.05)) as c:
        with pytest.raises(DurableError):
            c.create_task(queue, CreateTaskRequest("once"))
        assert transport.seen == 1
        # With an idempotency key a repeat finds the first task, so it is retried.
        transport.failures, transport.seen = 2, 0
        created = c.create_task(queue, CreateTaskRequest("keyed", idempotency_key="k"))
        assert transport.seen == 3 and created.task_id


def test_connection_failures_are_retried_for_reads() -> None:
    # A port nobody listens on: every attempt fails to connect.
    attempts: list[httpx.Request] = []
    from server import free_port

    with DurableClient(f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(2, 0.01, 0.02)) as c:
        c._http.event_hooks["request"] = [attempts.append]
        with pytest.raises(httpx.ConnectError):
            c.list_queues()
    assert len(attempts) == 3


def test_retry_delays_grow_with_jitter_and_cap() -> None:
    policy = RetryPolicy(10, 0.1, 1.0)
    for _ in range(50):
        assert 0.05 <= policy.delay(0) <= 0.1
        assert 0.2 <= policy.delay(2) <= 0.4
        assert 0.5 <= policy.delay(40) <= 1.0


def test_long_poll_read_timeouts() -> None:
    claim = calls.claim_tasks("q", ClaimTasksRequest(1, 30, long_poll_seconds=20))
    assert claim.read_timeout == 25
    assert calls.claim_tasks("q", ClaimTasksRequest(1, 30)).read_timeout == 5
    assert calls.get_task_result("t", 60).read_timeout == 65


def test_base_url_trailing_slash_is_stripped() -> None:
    with DurableClient("http://localhost:8080/") as c:
        assert c.base_url == "http://localhost:8080"
    with DurableClient() as c:
        assert c.base_url == "http://localhost:8080"


def test_requests_leave_out_none_fields_recursively() -> None:
    request = CreateTaskRequest(
        "t",
        params={"keep": None},
        retry_strategy=RetryStrategy(RetryStrategyKind.FIXED, 1.5),
        max_attempts=3,
    )
    assert to_json(request) == {
        "task_name": "t",
        "params": {"keep": None},
        "retry_strategy": {"kind": "fixed", "base_seconds": 1.5},
        "max_attempts": 3,
    }
    assert to_json(CreateQueueRequest("q", cleanup=CleanupPolicy(event_ttl_seconds=0))) == {
        "name": "q",
        "cleanup": {"event_ttl_seconds": 0},
    }


def test_responses_ignore_fields_they_do_not_know() -> None:
    parsed = from_json(
        CreateTaskResponse, {"task_id": "t", "run_id": "r", "deduplicated": True, "from_the_future": {"x": 1}}
    )
    assert parsed == CreateTaskResponse("t", "r", None, True)
    summary = from_json(
        TaskSummary,
        {"id": "i", "task_name": "n", "status": "completed", "queue_name": "q", "max_attempts": 1,
         "created_at": "c", "shard": 7},
    )
    assert summary.status is TaskStatus.COMPLETED
    # A status this client does not know yet is kept as text, not refused.
    assert from_json(TaskSummary, {**summary.__dict__, "status": "archived"}).status == "archived"


def test_real_responses_with_extra_fields_decode(client: DurableClient, queue: str) -> None:
    # The server sends more than the original client's types declare
    # (key_concurrency_limit, deduplicated, sleeping_runs, ...).
    raw = client._http.get(f"/api/v1/queues/{queue}/stats").json()
    assert "sleeping_runs" in raw and "failed_runs" in raw
    stats = client.get_queue_stats(queue)
    assert stats.queue_name == queue


def test_error_without_a_message() -> None:
    assert str(DurableError(502, ErrorResponse())) == "unexpected status 502"
    assert str(DurableError(404, ErrorResponse("queue \"x\" not found", "NOT_FOUND"))) == '404: queue "x" not found'
    error = calls.error_of(httpx.Response(502, text="<html>bad gateway</html>"))
    assert (error.status_code, error.body) == (502, ErrorResponse())


def test_queue_names_are_percent_encoded(client: DurableClient) -> None:
    name = f"billing/eu {unique()}"
    client.create_queue(CreateQueueRequest(name))
    client.create_task(name, CreateTaskRequest("t"))
    assert client.get_queue_stats(name).pending_runs == 1
    client.delete_queue(name, force=True)
