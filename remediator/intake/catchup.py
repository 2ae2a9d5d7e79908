"""Reconcile at once when Alertmanager says it cut alerts off a notification.

A webhook receiver with `max_alerts` set sends at most that many alerts of a
group and reports the rest as `truncatedAlerts`. Those alerts never arrive by
webhook; waiting for the next periodic reconciliation would leave a
cluster-wide outage unanswered for a whole interval, so the first truncated
delivery starts one at once. Deliveries that arrive while it runs ask for one
more run after it (Alertmanager's state may have moved on), never for a pile.

It reads Alertmanager through the same client as the periodic
reconciliation, so it sees only this service's alerts (see `reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from remediator.clients.alertmanager import AlertmanagerClient
from remediator.intake.intake import Intake
from remediator.intake.reconcile import reconcile

log = logging.getLogger(__name__)


class CatchUp:
    def __init__(self, client: AlertmanagerClient | None, intake: Intake, *,
                 on_decided: Callable[[], None]) -> None:
        self._client = client
        self._intake = intake
        self._on_decided = on_decided
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.runs = 0
        """Completed reconciliations (tests and the status page read it)."""

    def request(self, truncated: int) -> bool:
        """Ask for a reconciliation; False when there is no Alertmanager to ask."""
        if self._client is None:
            log.warning("Alertmanager cut %d alerts off a notification and no "
                        "ALERTMANAGER_URL is set to fetch them: they are not decided "
                        "(raise max_alerts or set REMEDIATOR_ALERTMANAGER_URL)", truncated)
            return False
        if self._task is not None and not self._task.done():
            self._again = True
            return True
        if self._client.receiver is None:
            log.warning("Alertmanager cut %d alerts off a notification; without "
                        "ALERTMANAGER_RECEIVER only those this service has received by "
                        "webhook before are decided (set REMEDIATOR_ALERTMANAGER_RECEIVER "
                        "to the receiver whose webhook points here)", truncated)
        else:
            log.info("Alertmanager cut %d alerts off a notification: reconciling now",
                     truncated)
        self._task = asyncio.create_task(self._run(self._client), name="catch-up")
        return True

    async def _run(self, client: AlertmanagerClient) -> None:
        while True:
            self._again = False
            try:
                decided = await reconcile(client, self._intake)
            except Exception as error:  # the periodic reconciliation tries again later
                log.warning("reconciling truncated alerts from Alertmanager failed: %s", error)
                decided = []
            self.runs += 1
            if decided:
                log.info("reconciliation decided for %d truncated alerts", len(decided))
                self._on_decided()
            if not self._again:
                return

    async def idle(self) -> None:
        """Wait until no reconciliation is running (tests; shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
