"""Job leases: who holds a job, for how long, and the heartbeat that keeps them.

A claimed job is leased to this process (`owner_id`); a job whose lease
expires is recovered as abandoned (`Store.recover_expired`). The lease of a
running job must outlast the job, so it is sized from the job's own timeout
when it has one, and renewed by a heartbeat while the job runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from datetime import timedelta

from remediator.model.actions import ActionRequest
from remediator.model.clock import Clock
from remediator.store import jobs
from remediator.store.jobs import Job
from remediator.store.service import Store

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
LEASE_MARGIN = timedelta(minutes=5)  # must exceed the worker's timeout_grace
HEARTBEAT = timedelta(seconds=30)
RENEWED_LEASE = timedelta(minutes=2)  # several heartbeats: one late beat loses nothing


def owner_id(host: str | None = None) -> str:
    """A lease owner no other process has, before or after: host, pid and 8 random hex.

    Never compared by prefix: a replica on host `node` must not take the jobs of
    live host `node-2` for those of its own previous run (issue 20).
    """
    name = (host if host is not None else socket.gethostname())[:40]
    return f"{name}-{os.getpid()}-{secrets.token_hex(4)}"


def job_lease(job: Job) -> timedelta:
    """A claimed job's lease: a follow-up's covers its own timeout plus the margin.

    Leased for a claim's 5 minutes, a revert given a longer timeout looked
    abandoned while it ran: recovery recorded it failed ("interrupted") and
    the live worker's result landed on a finished job. (An action's lease is
    stretched the same way, from its remediation: `Worker._claim`.)
    """
    if job.kind != jobs.FOLLOWUP:
        return CLAIM_LEASE
    try:  # read as the worker will run it; a malformed payload must not fail the claim
        timeout = timedelta(seconds=ActionRequest.from_json(job.payload["request"]).timeout)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
        return CLAIM_LEASE
    return max(CLAIM_LEASE, timeout + LEASE_MARGIN)


class Heartbeat:
    """Renews the leases of the jobs this process runs, every `HEARTBEAT`, while any runs."""

    def __init__(self, *, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.held: dict[int, Job] = {}
        """The jobs this worker runs now, whose leases the heartbeat renews."""
        self._task: asyncio.Task[None] | None = None

    def hold(self, job: Job) -> None:
        self.held[job.id] = job

    def release(self, job_id: int) -> None:
        self.held.pop(job_id, None)

    def renew(self) -> list[Job]:
        """Lengthen the leases of the jobs running here; return those lost meanwhile
        (a stall past the lease: recovery took them, and their results will be fenced)."""
        lost = self.store.renew(list(self.held.values()),
                                until=self.clock() + RENEWED_LEASE)
        for job in lost:
            log.warning("job %s (%s): lease lost while it ran; its result will not be "
                        "written", job.id, job.kind)
            self.held.pop(job.id, None)
        return lost

    def start(self) -> None:
        """Beat while jobs run (called on the event loop after a claim)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._beat(), name="lease-heartbeat")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _beat(self) -> None:
        """Renew every `HEARTBEAT` while jobs run; ends with the last of them."""
        while self.held:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            try:
                await asyncio.to_thread(self.renew)
            except Exception:  # the store is down: the leases still run a while
                log.exception("renewing job leases failed; retrying at the next beat")
