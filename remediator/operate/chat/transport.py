"""One HTTP call to a chat API, with bounded retries: 429 honours Retry-After, capped.

A chat server that is down or throttling must never hold a decision: these
calls run in the outbox (`outbox`), never in the approval's transaction.
The wait is bounded (`max_wait` per retry, `retries` retries), so one slow
spell cannot stall the outbox for longer than a few seconds per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded when a chat is configured, not by every start-up
    import httpx


class ChatApiError(Exception):
    """The chat server refused or could not be reached (after the bounded retries)."""


class Refused(ChatApiError):
    """The server answered and refused (a 4xx other than 429): the same request will not
    do better later (a wrong key, an unknown incident), so the outbox does not keep it."""


Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Transport:
    client: httpx.AsyncClient
    sleep: Sleep = field(default=asyncio.sleep)
    retries: int = 2
    max_wait: float = 30.0
    """The longest Retry-After honoured; a longer one is waited this long."""
    timeout: float | None = None
    """Seconds one attempt may take (None: the client's own timeout)."""

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        import httpx

        problem = ""
        for attempt in range(self.retries + 1):
            try:
                if self.timeout is not None:
                    kwargs["timeout"] = self.timeout
                response = await self.client.request(method, url, **kwargs)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
                await self._wait(0.5 * 2 ** attempt, attempt)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                await self._wait(_retry_after(response, 0.5 * 2 ** attempt), attempt)
                continue
            return response
        raise ChatApiError(f"{problem} after {self.retries + 1} attempt(s)")

    async def _wait(self, seconds: float, attempt: int) -> None:
        if attempt < self.retries:
            await self.sleep(min(max(seconds, 0.0), self.max_wait))


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else default
