"""Run one claimed job to its recorded end: an action, a verification or a follow-up.

An action runs once its pre-flight allows it, and settles as one
transaction: a transient failure is retried (held to what its first attempt
saw of the target), anything else records its outcome with its follow-ups
and its verification job. A follow-up (an HPA revert when the alert
resolves) waits while remediation is paused. The result of a job whose
lease was lost is not written (`jobs.FencedOut`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from remediator.actions.registry import ActionRegistry
from remediator.evidence.limits import Limits
from remediator.evidence.reports import play_report
from remediator.execute.attempt import attempt, outcome_of
from remediator.execute.metrics import WorkerMetrics
from remediator.execute.preflight import Preflight, Prepared
from remediator.execute.verification import Verification
from remediator.model import log_context
from remediator.model.actions import (
    ActionError,
    ActionRequest,
    ActionResult,
    Observed,
    TargetGone,
)
from remediator.model.clock import Clock
from remediator.model.outcomes import Outcome
from remediator.store import jobs
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation
from remediator.store.service import Settled, Store

log = logging.getLogger(__name__)

OBSERVED = "observed"
"""The job payload's key for what an action's first attempt saw of its target."""
_PAUSED_RECHECK = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class Retries:
    """How often a transient failure is retried, and the first wait (doubled each time)."""

    retries: int = 3
    backoff: timedelta = timedelta(seconds=2)


class JobRunner:
    def __init__(self, *, store: Store, actions: ActionRegistry, metrics: WorkerMetrics,
                 clock: Clock, verification: Verification, retries: Retries,
                 timeout_grace: float, preflight: Preflight | None) -> None:
        self.store = store
        self.actions = actions
        self.metrics = metrics
        self.clock = clock
        self.verification = verification
        self.retries = retries
        self.timeout_grace = timeout_grace
        self.preflight = preflight

    async def run(self, job: Job, remediation: Remediation | None) -> None:
        """Run a job; a crash leaves it leased (recovered later), never unseen."""
        try:
            log_context.bind(
                fingerprint=remediation.alert.fingerprint if remediation else None)
            if remediation is None:
                await asyncio.to_thread(self.store.finish, job)
            elif job.kind == jobs.ACTION:
                await self._run_action(job, remediation)
            elif job.kind == jobs.VERIFY:
                await self.verification.run(job, remediation)
            else:
                await self._run_followup(job, remediation)
        except jobs.FencedOut as fenced:
            log.warning("job %s (%s) stopped: %s; recovery has recorded it", job.id,
                        job.kind, fenced)
        except Exception:
            log.exception("job %s (%s) crashed; it stays leased and is recovered later",
                          job.id, job.kind)

    async def _attempt(self, request: ActionRequest) -> tuple[ActionResult | ActionError, float]:
        return await attempt(request, actions=self.actions, metrics=self.metrics,
                             grace=self.timeout_grace)

    async def _run_action(self, job: Job, remediation: Remediation) -> None:
        if remediation.resolved_at is not None:
            await asyncio.to_thread(self.store.record, job, remediation, Outcome.RESOLVED,
                                    "alert resolved before the action ran; nothing done",
                                    now=self.clock(), state=Outcome.RESOLVED.value)
            return
        request = remediation.request
        if job.payload.get("check"):  # a dry-run allowed to run its play in check mode
            request = replace(request, params={**request.params, "check": True})
        expected = Observed.from_json(job.payload.get(OBSERVED))
        if expected is not None:  # a retry: the target must still be as first seen
            request = replace(request, expected=expected)
        prepared = await self._prepare(job, remediation, request)
        if prepared.blocked:
            return
        result, elapsed = await self._attempt(request)
        result = await prepared.settle(result)
        await asyncio.to_thread(self._settle, job, remediation, result, elapsed, prepared.timed)

    async def _prepare(self, job: Job, remediation: Remediation,
                       request: ActionRequest) -> Prepared:
        """Evidence, hints and preconditions (remediator.execute.preflight); blocked is recorded."""
        if self.preflight is None:
            return Prepared()
        return await self.preflight.prepare(job, remediation, request)

    def _settle(self, job: Job, remediation: Remediation, result: ActionResult | ActionError,
                elapsed: float, timed: tuple[tuple[datetime, ActionRequest], ...] = ()
                ) -> None:
        now = self.clock()
        duration_ms = round(elapsed * 1000, 3)
        retries = self.retries
        if isinstance(result, ActionError) and not isinstance(result, TargetGone) and (
                result.transient and job.attempts <= retries.retries):
            delay = (result.retry_after
                     or retries.backoff.total_seconds() * 2 ** (job.attempts - 1))
            detail, payload = premise(job, result)
            self.store.retry_action(
                job, remediation, run_at=now + timedelta(seconds=delay), now=now,
                reason=(f"attempt {job.attempts}/{retries.retries + 1} failed: "
                        f"{result.message}; retrying in {delay:g}s"),
                duration_ms=duration_ms, detail=detail, payload=payload)
            return
        outcome = outcome_of(result)
        followups = result.followups if isinstance(result, ActionResult) else ()
        self.store.settle_action(job, remediation, Settled(
            outcome=outcome, reason=result.message or outcome.value, duration_ms=duration_ms,
            detail=dict(result.detail), followups=followups,
            ran=isinstance(result, ActionResult), report=self._report(remediation, result),
            timed=timed), now=now)
        self.metrics.action_results.labels(action=remediation.request.type,
                                           outcome=outcome.value).inc()

    def _report(self, remediation: Remediation,
                result: ActionResult | ActionError) -> dict[str, Any] | None:
        """A diagnostic play's report, for the remediation's evidence (`evidence.reports`)."""
        limits = self.preflight.config.limits if self.preflight is not None else Limits()
        return play_report(result.detail, target=remediation.request.target,
                           max_bytes=limits.max_bytes)

    async def _run_followup(self, job: Job, remediation: Remediation) -> None:
        request = ActionRequest.from_json(job.payload["request"])
        if await asyncio.to_thread(self._defer_if_paused, job, remediation, request):
            return
        result, elapsed = await self._attempt(request)
        outcome = outcome_of(result)
        message = result.message or outcome.value
        if job.payload.get("reason"):  # made due early, e.g. "pull request merged"
            message = f"{message} ({job.payload['reason']})"
        self.metrics.action_results.labels(action=request.type, outcome=outcome.value).inc()
        await asyncio.to_thread(self.store.record, job, remediation, outcome,
                                f"follow-up {request.type}: {message}", now=self.clock(),
                                detail=dict(result.detail), action=request.type,
                                duration_ms=round(elapsed * 1000, 3))

    def _defer_if_paused(self, job: Job, remediation: Remediation,
                         request: ActionRequest) -> bool:
        """Pause holds follow-ups too: they wait (not dropped) and run after resume.

        Noted in the audit log once, on the first attempt, not at every poll.
        """
        now = self.clock()
        if not self.store.paused():
            return False
        self.store.defer(job, remediation, run_at=now + _PAUSED_RECHECK, now=now,
                         outcome=Outcome.PAUSED, audit=job.attempts == 1,
                         reason=f"follow-up {request.type} waits: remediation is paused")
        return True


def premise(job: Job, error: ActionError) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The retry's audit detail, and the job's new payload when it must remember more.

    The first attempt that saw its target fixes the premise for every later
    one (kept in the job, so a restarted process holds the retry to it too);
    a later attempt's view never replaces it.
    """
    if error.observed is None:
        return dict(error.detail), None
    seen = error.observed.to_json()
    detail = {**error.detail, OBSERVED: job.payload.get(OBSERVED, seen)}
    if OBSERVED in job.payload:
        return detail, None
    return detail, {**job.payload, OBSERVED: seen}
