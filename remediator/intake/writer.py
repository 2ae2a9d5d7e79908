"""One writer for the webhook: concurrent deliveries commit together.

SQLite has one writer at a time, and a commit (an fsync) costs as much as
deciding a whole delivery. Instead of each request taking the lock and
committing alone, requests queue here and one task commits every waiting
delivery in a single transaction. Each request still gets its answer only
after its decisions are durable; a failed commit fails every request of the
group (503: nothing of it was written).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from remediator.intake.intake import Delivery, Intake
from remediator.model.alerts import Alert
from remediator.store import StoreUnavailable

log = logging.getLogger(__name__)

_Pending = tuple[Delivery, "asyncio.Future[list[dict[str, Any]]]"]


class DecisionWriter:
    def __init__(self, intake: Intake, *, max_group: int = 32) -> None:
        self._intake = intake
        self._max_group = max_group
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="decision-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, alerts: Sequence[Alert], group_key: str) -> list[dict[str, Any]]:
        """Decide and commit one delivery; return its decisions once durable."""
        if self._task is None or self._task.done():  # not started (tests, CLI): write inline
            return await asyncio.to_thread(self._intake.receive, alerts, group_key=group_key)
        future: asyncio.Future[list[dict[str, Any]]] = (
            asyncio.get_running_loop().create_future())
        self._queue.put_nowait((Delivery(alerts, group_key), future))
        return await future

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._commit(group)

    async def _commit(self, group: list[_Pending]) -> None:
        try:
            results = await asyncio.to_thread(self._intake.receive_many,
                                              [delivery for delivery, _ in group])
        except StoreUnavailable as error:
            for _, future in group:
                _settle(future, error=error)
            return
        except Exception:
            if len(group) == 1:
                log.exception("deciding a delivery failed")
                _settle(group[0][1], error=RuntimeError("internal error while deciding"))
                return
            # One bad delivery must not fail its neighbours: retry them one by one.
            for pending in group:
                await self._commit([pending])
            return
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future[list[dict[str, Any]]], *,
            result: list[dict[str, Any]] | None = None,
            error: BaseException | None = None) -> None:
    if future.done():  # the request was cancelled (client went away)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result or [])
