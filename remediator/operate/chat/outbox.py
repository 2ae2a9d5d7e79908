"""Sending to chat off the decision path: a bounded backlog per integration.

Decisions never wait for Slack or Mattermost: the relay and the endpoints
put messages here, and `drain` sends them afterwards. When a server is down
the message that failed stays first in line and the integration's queue
waits for the next drain (the relay's next run): nothing is lost while the
backlog has room. Beyond `limit` messages, or `attempts` failed drains, the
oldest is given up on, counted (`result="failed"`) and said in the log. A
message the server refuses (`Refused`: a 4xx, retrying cannot help) is
given up at once and counted `result="refused"`. With `attempts=None` (the
incident timelines) a message is kept however long the server is down, as
long as the backlog has room. A
failing spell is logged once when it starts and once when it ends, not once
per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Counter, Gauge

from remediator.operate.chat.transport import Refused

log = logging.getLogger(__name__)


@dataclass
class Message:
    integration: str
    what: str
    """What it is, for the log (`post 1a2b3c4d`); never a secret."""
    send: Callable[[], Awaitable[None]]
    failures: int = 0


class Counts(Protocol):
    """Where the outbox counts (`ChatMetrics`, `TimelineMetrics`): by integration, result."""

    @property
    def messages(self) -> Counter: ...

    @property
    def backlog(self) -> Gauge: ...


class Outbox:
    def __init__(self, *, metrics: Counts, limit: int = 500, attempts: int | None = 5) -> None:
        self.metrics = metrics
        self.limit = limit
        self.attempts = attempts
        self._queues: dict[str, deque[Message]] = {}
        self._spells: dict[str, tuple[int, int]] = {}
        """Per integration in a failing spell: (failed attempts, messages given up)."""
        self._lock = asyncio.Lock()
        self._sending: asyncio.Task[None] | None = None

    def waiting(self, integration: str) -> int:
        return len(self._queues.get(integration, ()))

    def put(self, message: Message) -> None:
        queue = self._queues.setdefault(message.integration, deque())
        if len(queue) >= self.limit:
            self._give_up(queue.popleft(), "the backlog is full")
        queue.append(message)
        self.metrics.backlog.labels(integration=message.integration).set(len(queue))

    def drain_in_background(self) -> None:
        """For a scheduler job: a server that hangs (a connect timeout, three attempts)
        must not make the job overrun its interval, or APScheduler logs every skipped
        run. A new drain starts only when the last one is done."""
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self.drain())

    def stop(self) -> None:
        """Shutdown: a drain still waiting on a server is abandoned (counted as not sent)."""
        if self._sending is not None:
            self._sending.cancel()

    async def drain(self) -> None:
        """Send what waits, each integration's queue at the same time (a server that hangs
        does not hold the others); a failure stops that one's queue."""
        async with self._lock:
            await asyncio.gather(*(self._drain(integration, queue)
                                   for integration, queue in list(self._queues.items())))

    async def _drain(self, integration: str, queue: deque[Message]) -> None:
        while queue:
            message = queue[0]
            try:
                await message.send()
            except Refused as error:  # retrying cannot help: counted, not kept
                self._failed(message, error, refused=True)
                self._give_up(queue.popleft(), str(error), result="refused")
                continue
            except Exception as error:  # any failure of the server: kept for later
                self._failed(message, error)
                if self.attempts is not None and message.failures >= self.attempts:
                    self._give_up(queue.popleft(), f"{self.attempts} failed attempts")
                break
            queue.popleft()
            self._sent(integration)
        self.metrics.backlog.labels(integration=integration).set(len(queue))

    def _sent(self, integration: str) -> None:
        self.metrics.messages.labels(integration=integration, result="sent").inc()
        failed, dropped = self._spells.pop(integration, (0, 0))
        if failed:
            log.warning("%s: sending works again after %d failed attempt(s); %d message(s) "
                        "were given up meanwhile", integration, failed, dropped)

    def _failed(self, message: Message, error: Exception, *, refused: bool = False) -> None:
        message.failures += 1
        failed, dropped = self._spells.get(message.integration, (0, 0))
        self._spells[message.integration] = (failed + 1, dropped)
        if not failed and refused:
            log.warning("%s: the server refused %s (%s); refused messages are counted and "
                        "dropped; not logged again until sending works",
                        message.integration, message.what, error)
        elif not failed:
            log.warning("%s: sending failed (%s: %s); %d message(s) wait and are retried "
                        "(at most %d kept); not logged again until it works",
                        message.integration, message.what, error,
                        self.waiting(message.integration), self.limit)

    def _give_up(self, message: Message, why: str, *, result: str = "failed") -> None:
        """Counted always; logged only outside a failing spell (the spell's end says it)."""
        self.metrics.messages.labels(integration=message.integration, result=result).inc()
        spell = self._spells.get(message.integration)
        if spell is None:
            log.warning("%s: gave up on %s: %s", message.integration, message.what, why)
        else:
            self._spells[message.integration] = (spell[0], spell[1] + 1)
