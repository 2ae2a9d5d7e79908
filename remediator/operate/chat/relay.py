"""Follow the audit log: post each approval request, update it when it is answered.

A scheduler job (and each chat answer, at once) claims the audit entries
past its own cursor, shared by every replica like the notifier's, so a
request is posted once. An `awaiting_approval` decision is posted to every
configured sink and where it went is kept (`ChatStore`); any later entry of a
posted remediation (approved, declined, expired, refused by a guard, and
then what the action did) updates the message in place, wherever the answer
came from: console, CLI, API or the other chat. Sending happens in the
outbox, after the cursor moved: never inside a decision.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from remediator.model.clock import Clock
from remediator.model.outcomes import Outcome
from remediator.operate.chat.messages import Summary, decided, summary_of
from remediator.operate.chat.outbox import Message, Outbox
from remediator.operate.chat.sinks import Sink
from remediator.store.chat import ChatStore, Posted
from remediator.store.readmodel import LookupError_, ReadModel

log = logging.getLogger(__name__)

CURSOR = "chat_cursor"


class Relay:
    def __init__(self, sinks: Sequence[Sink], *, store: ChatStore, reads: ReadModel,
                 outbox: Outbox, clock: Clock, external_url: str | None) -> None:
        self.sinks = {sink.integration: sink for sink in sinks}
        self.store = store
        self.reads = reads
        self.outbox = outbox
        self.clock = clock
        self.external_url = external_url
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """Claim new entries, queue what they mean for chat, then send."""
        await self._claim()
        await self.outbox.drain()

    async def tick(self) -> None:
        """The scheduler's job: claim and queue now, send in the background."""
        await self._claim()
        self.outbox.drain_in_background()

    async def _claim(self) -> None:
        async with self._lock:
            entries = await asyncio.to_thread(self.store.claim_audit_entries, cursor=CURSOR,
                                              now=self.clock())
            await asyncio.to_thread(self._queue, entries)

    def _queue(self, entries: Sequence[dict[str, Any]]) -> None:
        posted = self.store.posted({e["remediation_id"] for e in entries
                                    if e.get("remediation_id")})
        for entry in entries:
            rid = entry.get("remediation_id")
            if not rid or entry["outcome"] == Outcome.OPERATOR.value:
                continue
            if entry["outcome"] == Outcome.AWAITING_APPROVAL.value:
                try:
                    summary = self.summary(rid)
                except LookupError_:  # purged meanwhile: nothing left to approve
                    log.warning("approval request %s is gone; not posted", rid[:8])
                    continue
                for sink in self.sinks.values():
                    self.outbox.put(Message(sink.integration, f"request {summary.short_id}",
                                            partial(self._post, sink, summary)))
                continue
            for where in posted.get(rid, ()):
                target = self.sinks.get(where.integration)
                if target is not None:
                    outcome = f"{entry['outcome']}: {entry['reason']}"
                    self.outbox.put(Message(target.integration, f"update {rid[:8]}",
                                            partial(self._update, target, where, rid, outcome)))

    def summary(self, remediation_id: str) -> Summary:
        return summary_of(self.reads.remediation(remediation_id), self.external_url)

    async def _post(self, sink: Sink, summary: Summary) -> None:
        posted = await sink.post(summary)
        await asyncio.to_thread(self.store.remember, summary.id, posted, now=self.clock())
        view = await asyncio.to_thread(self.reads.remediation, summary.id)
        if view.state != Outcome.AWAITING_APPROVAL.value:  # answered before it was posted
            await sink.update(posted, summary, decided(view) or view.state)

    async def _update(self, sink: Sink, posted: Posted, remediation_id: str,
                      outcome: str) -> None:
        view = await asyncio.to_thread(self.reads.remediation, remediation_id)
        answered = decided(view)
        if answered and answered != outcome:  # who decided stays on the message
            outcome = f"{answered}\nnow {outcome}"
        await sink.update(posted, summary_of(view, self.external_url), outcome)
