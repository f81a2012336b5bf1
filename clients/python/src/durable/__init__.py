"""Python client and durable-execution SDK for the durable task queue server."""

from .async_client import AsyncDurableClient
from .client import DurableClient
from .errors import DurableError
from .retry import RetryPolicy

__all__ = ["AsyncDurableClient", "DurableClient", "DurableError", "RetryPolicy"]
