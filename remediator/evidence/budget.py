"""Gathering within a time budget: each section either arrives, fails or runs out of time.

Sections record into one document as they finish, so a budget that runs out
keeps what arrived and names what did not. Nothing here ever raises: the
action must not wait for, or fail because of, its evidence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Gathering:
    """The document being gathered, the errors met, and the time left."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._started = clock()
        self.document: dict[str, Any] = {}
        self.errors: list[dict[str, str]] = []

    def remaining(self) -> float:
        return self.seconds - (self._clock() - self._started)

    def timed_out(self) -> str:
        """How a part that ran out of the budget is recorded."""
        return f"timed out (budget {self.seconds:g}s)"

    def elapsed_ms(self) -> float:
        return round((self._clock() - self._started) * 1000, 1)

    async def section(self, name: str, work: Awaitable[T]) -> T | None:
        """Await one part; on failure record `name: error` and return None.

        Cancelled (the budget ran out): recorded as timed out, then re-raised.
        """
        try:
            return await work
        except asyncio.CancelledError:
            self.errors.append({"section": name, "error": self.timed_out()})
            raise
        except Exception as error:
            self.errors.append({"section": name, "error": _message(error)})
            return None

    async def run(self, work: Awaitable[None]) -> None:
        """Run the whole gathering; parts still pending when the budget ends record so."""
        try:
            await asyncio.wait_for(work, timeout=max(self.remaining(), 0.0))
        except TimeoutError:
            pass
        except Exception as error:  # a bug in a summariser must not stop the action
            self.errors.append({"section": "snapshot", "error": _message(error)})


def _message(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(text).splitlines()[0][:300] if str(text) else type(error).__name__
