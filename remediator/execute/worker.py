"""Claim jobs, run them with bounded concurrency and timeouts, record every outcome.

Job kinds: `action` (the remediation itself), `verify` (ask Prometheus after
`verify.after`, escalate when unverified) and `followup` (an action to run
when the alert resolves, e.g. an HPA revert). The queue lives in the
database, so a restart loses nothing; see `store.jobs` for the at-most-once
rule.

This module claims jobs and keeps `concurrency` of them running; the rest
is apart: leases and their heartbeat (`execute.leases`), one job run to its
recorded end (`execute.runner`), one attempt at an action within its time
budget (`execute.attempt`), verification and escalation
(`execute.verification`). The store facade (`store.service.Store`) owns
every transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from remediator.actions.registry import ActionRegistry
from remediator.decide.engine import breaker_stops_queued
from remediator.execute.leases import LEASE_MARGIN, Heartbeat, job_lease, owner_id
from remediator.execute.metrics import WorkerMetrics
from remediator.execute.preflight import Preflight
from remediator.execute.runner import JobRunner, Retries
from remediator.execute.verification import Verification
from remediator.model import log_context
from remediator.model.abc import Verifier
from remediator.model.clock import Clock, utcnow
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.model import Rule
from remediator.store.guard_state import DatabaseState
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation
from remediator.store.service import Store

__all__ = ["Worker", "owner_id"]

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, *, store: Store, policy: Policy, rules: Callable[[str], Rule | None],
                 actions: ActionRegistry, verifier: Verifier, metrics: WorkerMetrics,
                 clock: Clock = utcnow, concurrency: int = 4, retries: int = 3,
                 backoff: timedelta = timedelta(seconds=2),
                 timeout_grace: float = 30.0, preflight: Preflight | None = None,
                 owner: str | None = None) -> None:
        self.store = store
        self.policy = policy
        """The guards a queued action (and an escalation) is held to; read at each use."""
        self.actions = actions
        self.clock = clock
        self.concurrency = concurrency
        self.owner = owner or owner_id()
        self.heartbeat = Heartbeat(store=store, clock=clock)
        verification = Verification(store=store, verifier=verifier, metrics=metrics,
                                    clock=clock, backoff=backoff, policy=lambda: self.policy,
                                    rules=rules, actions=actions)
        self.runner = JobRunner(store=store, actions=actions, metrics=metrics, clock=clock,
                                verification=verification,
                                retries=Retries(retries=retries, backoff=backoff),
                                timeout_grace=timeout_grace, preflight=preflight)
        """Runs one claimed job to its recorded end (`execute.runner`); an action that
        overruns its own timeout by `timeout_grace` seconds is cancelled."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticking: asyncio.Task[None] | None = None
        self._wake_again = False
        self._stopping = False
        self._loading: asyncio.Task[None] | None = None
        self._claiming = asyncio.Lock()

    def wake(self) -> None:
        """Claim due jobs now instead of at the next poll (called on the event loop).

        The webhook calls this after committing an `executed` decision, and a
        finished job calls it to refill its slot, so the queue drains at the
        speed of the actions, not at `concurrency` per poll interval; the
        scheduler's poll is the safety net. A wake-up that arrives while a
        claim is under way is not lost: that claim runs once more after it.
        """
        if self._stopping:
            return
        if self._ticking is None or self._ticking.done():
            self._ticking = asyncio.create_task(self._tick_while_woken())
        else:
            self._wake_again = True

    async def _tick_while_woken(self) -> None:
        while True:
            self._wake_again = False
            try:
                await self.tick()
            except Exception:  # the poll retries; a wake-up must not end in an unseen error
                log.exception("claiming jobs failed; the next poll retries")
                return
            if not self._wake_again or self._stopping:
                return

    def _job_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self.heartbeat.release(int(task.get_name().rpartition("-")[2]))
        self.wake()

    async def tick(self) -> int:
        """Claim as many due jobs as there are free slots and start them.

        Serialised: the scheduler's poll and a webhook's wake-up may both
        tick, and two claims counting the same free slots would overrun
        `concurrency`.
        """
        async with self._claiming:
            if not self.actions.loaded():  # the Kubernetes client loads after start-up
                self._tick_when_loaded()
                return 0
            free = self.concurrency - len(self._tasks)
            if free <= 0 or self._stopping:
                return 0
            claimed = await asyncio.to_thread(self._claim, free)
            for job, remediation in claimed:
                task = asyncio.create_task(self.runner.run(job, remediation),
                                           name=f"job-{job.id}",
                                           context=log_context.task_context(
                                               remediation_id=job.remediation_id,
                                               job=f"{job.kind}-{job.id}"))
                self._tasks.add(task)
                self.heartbeat.hold(job)
                task.add_done_callback(self._job_done)
            if claimed:
                self.heartbeat.start()
            return len(claimed)

    def _tick_when_loaded(self) -> None:
        """Claim nothing before every action can run, then tick at once.

        A claimed job would otherwise spend its time budget and its lease
        waiting for an import; an action never runs differently because of it.
        """
        if self._loading is None:
            self._loading = asyncio.create_task(self._after_load())

    async def _after_load(self) -> None:
        if await self.actions.ready():  # False: serve is stopping on the error
            self.wake()

    async def drain(self) -> None:
        """Run until no job is due or running (tests, shutdown)."""
        await self.actions.ready()
        while await self.tick() or self._tasks or self._woken():
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            elif self._ticking is not None:
                await self._ticking

    def _woken(self) -> bool:
        """A refill claim started by a finished job is still running."""
        return self._ticking is not None and not self._ticking.done()

    async def stop(self, grace: float = 10.0) -> None:
        """Let running jobs finish for `grace` seconds; leases cover the rest.

        No new job is claimed from here on, not even to refill a finished slot.
        """
        self._stopping = True
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        if self._ticking is not None:  # a claim under way finishes; its jobs get the grace
            await asyncio.wait({self._ticking}, timeout=grace)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in set(self._tasks):
            task.cancel()
        self.heartbeat.stop()

    def _claim(self, limit: int) -> list[tuple[Job, Remediation | None]]:
        """Due jobs with their remediations; queued actions started or cancelled.

        Pause and an open breaker stop queued work too, not only new
        decisions: `blocked` is asked in the claim's transaction, and an
        action that may run has its lease stretched to its own timeout
        there (`Store.claim_to_run`: one commit where there were three).
        """
        now = self.clock()
        policy = self.policy

        def blocked(state: DatabaseState) -> tuple[Outcome, str] | None:
            if state.paused():
                return Outcome.PAUSED, "paused before the queued action ran"
            breaker = breaker_stops_queued(state, policy, now)
            return (Outcome.BREAKER_OPEN, f"not run: {breaker.reason}") if breaker.open else None

        def action_lease(remediation: Remediation) -> datetime:
            return now + timedelta(seconds=remediation.request.timeout) + LEASE_MARGIN

        return self.store.claim_to_run(owner=self.owner, now=now, limit=limit,
                                       lease=job_lease, blocked=blocked,
                                       action_lease=action_lease)

    def recover_expired(self) -> int:
        """Jobs whose worker vanished: verifications re-run, actions are failed, not re-run.

        Only expired leases, at start too: a live worker renews its leases, and
        no owner name says whose run a job was.
        """
        return self.store.recover_expired(self.clock())

    def renew_leases(self) -> list[Job]:
        """Lengthen the leases of the jobs running here; return those lost meanwhile."""
        return self.heartbeat.renew()
