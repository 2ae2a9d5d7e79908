"""Claim jobs, run them with bounded concurrency and timeouts, record every outcome.

Job kinds: `action` (the remediation itself), `verify` (ask Prometheus after
`verify.after`, escalate when unverified) and `followup` (an action to run
when the alert resolves, e.g. an HPA revert). The queue lives in the
database, so a restart loses nothing; see `store.jobs` for the at-most-once
rule.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from remediator.actions.base import (
    ActionError,
    ActionRegistry,
    ActionRequest,
    ActionResult,
    TargetGone,
)
from remediator.clock import Clock, utcnow
from remediator.engine import breaker_state
from remediator.intake import Intake
from remediator.metrics import Metrics
from remediator.outcomes import Outcome
from remediator.preflight import Preflight, Prepared
from remediator.store import Database, jobs, recorder, remediations
from remediator.store.guard_state import DatabaseState
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation
from remediator.verify import Verifier

log = logging.getLogger(__name__)

_VERIFY_ATTEMPTS = 3
_CLAIM_LEASE = timedelta(minutes=5)
_LEASE_MARGIN = timedelta(minutes=5)  # must exceed the worker's timeout_grace


class Worker:
    def __init__(self, *, database: Database, intake: Intake, actions: ActionRegistry,
                 verifier: Verifier, metrics: Metrics, clock: Clock = utcnow,
                 concurrency: int = 4, retries: int = 3,
                 backoff: timedelta = timedelta(seconds=2),
                 timeout_grace: float = 30.0, preflight: Preflight | None = None) -> None:
        self.database = database
        self.intake = intake
        self.actions = actions
        self.verifier = verifier
        self.metrics = metrics
        self.clock = clock
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        self.timeout_grace = timeout_grace
        """Actions enforce their own timeout (and say whether a retry is safe); the
        worker cancels only one that overruns it by this much."""
        self.preflight = preflight
        """Evidence, hints and rule preconditions just before acting (optional)."""
        self.owner = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticking: asyncio.Task[int] | None = None
        self._claiming = asyncio.Lock()

    def wake(self) -> None:
        """Claim due jobs now instead of at the next poll (called on the event loop).

        The webhook calls this after committing an `executed` decision, so an
        action starts within milliseconds; the scheduler's poll is the safety net.
        """
        if self._ticking is None or self._ticking.done():
            self._ticking = asyncio.create_task(self.tick())

    async def tick(self) -> int:
        """Claim as many due jobs as there are free slots and start them.

        Serialised: the scheduler's poll and a webhook's wake-up may both
        tick, and two claims counting the same free slots would overrun
        `concurrency`.
        """
        async with self._claiming:
            free = self.concurrency - len(self._tasks)
            if free <= 0:
                return 0
            claimed = await asyncio.to_thread(self._claim, free)
            for job in claimed:
                task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return len(claimed)

    async def drain(self) -> None:
        """Run until no job is due or running (tests, shutdown)."""
        while await self.tick() or self._tasks:
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def stop(self, grace: float = 10.0) -> None:
        """Let running jobs finish for `grace` seconds; leases cover the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in set(self._tasks):
            task.cancel()

    def _claim(self, limit: int) -> list[Job]:
        with self.database.writing() as connection:
            return jobs.claim(connection, owner=self.owner, now=self.clock(), limit=limit,
                              lease=_CLAIM_LEASE)

    async def _run(self, job: Job) -> None:
        try:
            remediation = await asyncio.to_thread(self._load, job.remediation_id)
            if remediation is None:
                await asyncio.to_thread(self._finish, job)
                return
            if job.kind == jobs.ACTION:
                await self._run_action(job, remediation)
            elif job.kind == jobs.VERIFY:
                await self._run_verify(job, remediation)
            else:
                await self._run_followup(job, remediation)
        except Exception:
            log.exception("job %s (%s) crashed; it stays leased and is recovered later",
                          job.id, job.kind)

    def _load(self, remediation_id: str) -> Remediation | None:
        with self.database.reading() as connection:
            return remediations.get(connection, remediation_id)

    def _extend_lease(self, job: Job, timeout: float) -> None:
        """A play may run longer than the claim's lease; never let it look abandoned."""
        until = self.clock() + timedelta(seconds=timeout) + _LEASE_MARGIN
        with self.database.writing() as connection:
            jobs.extend_lease(connection, job.id, until)

    def _finish(self, job: Job) -> None:
        with self.database.writing() as connection:
            jobs.finish(connection, job.id)

    async def _execute(self, request: ActionRequest) -> tuple[ActionResult | ActionError, float]:
        """Run one action with its timeout; return (result or error, seconds)."""
        action = self.actions.get(request.type)
        started = time.perf_counter()
        self.metrics.actions_in_flight.inc()
        try:
            if action is None:
                raise ActionError(f"no implementation for {request.type} "
                                  "(is the Kubernetes connection configured?)")
            result: ActionResult | ActionError = await asyncio.wait_for(
                action.run(request), timeout=request.timeout + self.timeout_grace)
        except TimeoutError:
            # The action did not stop at its own deadline: it may be half done.
            result = ActionError(f"timeout: no result within {request.timeout:g}s; cancelled "
                                 "and not retried (it may have acted)")
        except ActionError as error:
            result = error
        except Exception as error:
            result = ActionError(f"{type(error).__name__}: {error}")
        finally:
            self.metrics.actions_in_flight.dec()
        elapsed = time.perf_counter() - started
        self.metrics.action_duration.labels(action=request.type).observe(elapsed)
        return result, elapsed

    async def _run_action(self, job: Job, remediation: Remediation) -> None:
        if remediation.resolved_at is not None:
            await asyncio.to_thread(self._record, job, remediation, Outcome.RESOLVED,
                                    "alert resolved before the action ran; nothing done",
                                    state=Outcome.RESOLVED.value)
            return
        if await asyncio.to_thread(self._cancel_if_blocked, job, remediation):
            return
        request = remediation.request
        if job.payload.get("check"):  # a dry-run allowed to run its play in check mode
            request = replace(request, params={**request.params, "check": True})
        await asyncio.to_thread(self._extend_lease, job, request.timeout)
        prepared = await self._prepare(job, remediation, request)
        if prepared.blocked:
            return
        result, elapsed = await self._execute(request)
        result = await prepared.settle(result)
        await asyncio.to_thread(self._settle, job, remediation, result, elapsed)

    async def _prepare(self, job: Job, remediation: Remediation,
                       request: ActionRequest) -> Prepared:
        """Evidence, hints and preconditions (remediator.preflight); blocked is recorded."""
        if self.preflight is None:
            return Prepared()
        return await self.preflight.prepare(job.id, remediation, request)

    def _cancel_if_blocked(self, job: Job, remediation: Remediation) -> bool:
        """Pause and an open breaker stop queued work too, not only new decisions.

        The cancelled remediation gives its idempotency key back, so the alert's
        next notification after a resume is decided afresh instead of being a
        `duplicate` of something that never ran.
        """
        now = self.clock()
        with self.database.writing() as connection:
            state = DatabaseState(connection)
            if state.paused():
                outcome, reason = Outcome.PAUSED, "paused before the queued action ran"
            else:
                breaker = breaker_state(state, self.intake.policy, now)
                if not breaker.open:
                    return False
                outcome, reason = Outcome.BREAKER_OPEN, f"not run: {breaker.reason}"
            jobs.finish(connection, job.id)
            remediations.release_key(connection, remediation.id)
            recorder.record_outcome(connection, remediation, outcome=outcome, reason=reason,
                                    now=now, state=outcome.value)
        return True

    def _settle(self, job: Job, remediation: Remediation, result: ActionResult | ActionError,
                elapsed: float) -> None:
        now = self.clock()
        duration_ms = round(elapsed * 1000, 3)
        action = remediation.request.type
        if isinstance(result, TargetGone):
            outcome, state = Outcome.TARGET_GONE, Outcome.TARGET_GONE.value
        elif isinstance(result, ActionError):
            if result.transient and job.attempts <= self.retries:
                delay = result.retry_after or self.backoff.total_seconds() * 2 ** (job.attempts - 1)
                with self.database.writing() as connection:
                    jobs.retry_at(connection, job.id, now + timedelta(seconds=delay))
                    recorder.record_outcome(
                        connection, remediation, outcome=Outcome.FAILED, now=now,
                        reason=(f"attempt {job.attempts}/{self.retries + 1} failed: "
                                f"{result.message}; retrying in {delay:g}s"),
                        duration_ms=duration_ms, detail={"retrying": True, **result.detail})
                return
            outcome, state = Outcome.FAILED, Outcome.FAILED.value
        else:
            outcome, state = Outcome.SUCCEEDED, Outcome.SUCCEEDED.value
        with self.database.writing() as connection:
            jobs.finish(connection, job.id)
            if isinstance(result, ActionResult):
                remediations.set_state(connection, remediation.id, state, now,
                                       followups=result.followups)
                current = remediations.get(connection, remediation.id)
                if current is not None and current.resolved_at is not None:
                    # Resolved while the action ran: its follow-ups are due now.
                    jobs.enqueue_many(connection, [
                        {"kind": jobs.FOLLOWUP, "remediation_id": remediation.id,
                         "run_at": now, "payload": {"request": f.to_json()}}
                        for f in result.followups])
                after = job.payload.get("verify_after")
                if after is not None:
                    jobs.enqueue(connection, kind=jobs.VERIFY, remediation_id=remediation.id,
                                 run_at=now + timedelta(seconds=float(after)),
                                 payload={"expr": job.payload.get("verify_expr")})
            recorder.record_outcome(connection, remediation, outcome=outcome, now=now,
                                    reason=result.message or outcome.value,
                                    duration_ms=duration_ms, detail=dict(result.detail),
                                    state=state)
        self.metrics.action_results.labels(action=action, outcome=outcome.value).inc()

    def _record(self, job: Job, remediation: Remediation, outcome: Outcome, reason: str,
                *, state: str | None = None, detail: dict[str, Any] | None = None,
                action: str | None = None, duration_ms: float | None = None) -> None:
        with self.database.writing() as connection:
            jobs.finish(connection, job.id)
            recorder.record_outcome(connection, remediation, outcome=outcome, reason=reason,
                                    now=self.clock(), state=state, detail=detail,
                                    action=action, duration_ms=duration_ms)

    async def _run_verify(self, job: Job, remediation: Remediation) -> None:
        if remediation.resolved_at is not None:
            outcome, reason = Outcome.VERIFIED, "the alert resolved"
        else:
            outcome, reason = await self.verifier.check(remediation.alert.labels,
                                                        job.payload.get("expr"))
        if outcome is Outcome.UNKNOWN and job.attempts < _VERIFY_ATTEMPTS:
            with self.database.writing() as connection:
                jobs.retry_at(connection, job.id, self.clock() + self.backoff * job.attempts)
            return
        self.metrics.verifications.labels(rule=remediation.rule, outcome=outcome.value).inc()
        await asyncio.to_thread(self._record, job, remediation, outcome, reason,
                                state=outcome.value)
        if outcome is Outcome.UNVERIFIED:
            await asyncio.to_thread(self._escalate, remediation)

    def _escalate(self, remediation: Remediation) -> None:
        rule = self.intake.rulebook.current.by_name(remediation.rule)
        next_step = remediation.step + 1
        if rule is not None and rule.step(next_step) is not None:
            self.metrics.escalations.labels(rule=rule.name).inc()
            taken = self.intake.escalate(remediation.alert, rule, next_step,
                                         parent_id=remediation.id,
                                         group_key=remediation.group_key)
            if taken["outcome"] in (Outcome.EXECUTED.value, Outcome.DRY_RUN.value):
                return
            reason = (f"escalation step {next_step} not taken ({taken['outcome']}: "
                      f"{taken['reason']}); still firing, a human is needed (see the runbook)")
        elif rule is None:
            reason = f"rule {remediation.rule!r} is no longer loaded; cannot escalate"
        else:
            reason = ("escalation ladder exhausted: still firing after "
                      f"{next_step} step(s); a human is needed (see the runbook)")
        with self.database.writing() as connection:
            recorder.record_outcome(connection, remediation, outcome=Outcome.EXHAUSTED,
                                    reason=reason, now=self.clock(),
                                    state=Outcome.EXHAUSTED.value)
        self.metrics.escalations_exhausted.labels(rule=remediation.rule).inc()

    async def _run_followup(self, job: Job, remediation: Remediation) -> None:
        request = ActionRequest.from_json(job.payload["request"])
        result, elapsed = await self._execute(request)
        if isinstance(result, TargetGone):
            outcome = Outcome.TARGET_GONE
        elif isinstance(result, ActionError):
            outcome = Outcome.FAILED
        else:
            outcome = Outcome.SUCCEEDED
        message = result.message or outcome.value
        self.metrics.action_results.labels(action=request.type, outcome=outcome.value).inc()
        await asyncio.to_thread(self._record, job, remediation, outcome,
                                f"follow-up {request.type}: {message}",
                                detail=dict(result.detail),
                                action=request.type, duration_ms=round(elapsed * 1000, 3))

    def recover_expired(self) -> int:
        """Jobs whose worker vanished: verifications re-run, actions are failed, not re-run."""
        now = self.clock()
        with self.database.writing() as connection:
            lost = jobs.expired(connection, now)
            for job in lost:
                if job.kind == jobs.VERIFY:
                    jobs.retry_at(connection, job.id, now)
                    continue
                jobs.finish(connection, job.id)
                remediation = remediations.get(connection, job.remediation_id)
                if remediation is not None:
                    recorder.record_outcome(
                        connection, remediation, outcome=Outcome.FAILED, now=now,
                        state=Outcome.FAILED.value,
                        reason=("interrupted: the worker stopped while the action ran; not "
                                "run again (it may have happened) - check the target"))
        return len(lost)
