"""Follow the audit log and post each action and its outcome to the incident timelines.

Like the chat relay (`operate.chat.relay`): a scheduler job claims the
audit entries past its own cursor, shared by every replica, so each entry
is posted once; sending happens in the `Outbox` after the cursor moved,
never inside a decision. A server that is down keeps its integration's
messages waiting (bounded), the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

from remediator.model.clock import Clock
from remediator.operate.chat.outbox import Message, Outbox
from remediator.operate.timeline.events import event_of
from remediator.operate.timeline.sinks import TimelineSink
from remediator.store.operating import OperatorStore

CURSOR = "timeline_cursor"


class TimelineRelay:
    def __init__(self, sinks: Sequence[TimelineSink], *, store: OperatorStore, outbox: Outbox,
                 clock: Clock, external_url: str | None) -> None:
        self.sinks = list(sinks)
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.external_url = external_url
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """Claim new entries, queue what each integration wants of them, then send."""
        await self._claim()
        await self.outbox.drain()

    async def tick(self) -> None:
        """The scheduler's job: claim and queue now, send in the background."""
        await self._claim()
        self.outbox.drain_in_background()

    async def aclose(self) -> None:
        self.outbox.stop()

    async def _claim(self) -> None:
        async with self._lock:
            entries = await asyncio.to_thread(self.store.claim_audit_entries, cursor=CURSOR,
                                              now=self.clock())
            self._queue(entries)

    def _queue(self, entries: Sequence[dict[str, Any]]) -> None:
        for entry in entries:
            event = event_of(entry, self.external_url)
            if event is None:
                continue
            for sink in self.sinks:
                if sink.wants(event):
                    self.outbox.put(Message(sink.integration,
                                            f"{event.outcome} {event.short_id}",
                                            partial(sink.send, event)))
