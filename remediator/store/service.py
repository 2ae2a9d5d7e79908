"""The store facade, execution side: named operations that each own one transaction.

The worker and the scheduler say what happened ("the action settled", "the
verification came back unverified") and this module writes it all in one
`Database.writing()` transaction: job state, remediation state and audit
entries never disagree after a crash. The intake's transactions are in
`store.intake_store`, the pre-flight's in `store.preflight_store`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from remediator.decide.decision import Decision
from remediator.model.actions import ActionRequest
from remediator.model.outcomes import Outcome
from remediator.store import evidence, jobs, recorder, remediations
from remediator.store.audit.log import purge_before
from remediator.store.database import Database
from remediator.store.guard_state import DatabaseState
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation

log = logging.getLogger(__name__)

Blocked = Callable[[DatabaseState], tuple[Outcome, str] | None]
"""Whether pause or the breaker forbids a queued action now, and why (None: it may run)."""

Escalation = Callable[[DatabaseState], Decision | None]
"""Decides the next ladder step against the state of the same transaction
(None: there is no next step to try)."""


@dataclass(frozen=True, kw_only=True)
class Settled:
    """How an action ended, as the worker saw it."""

    outcome: Outcome
    reason: str
    duration_ms: float | None = None
    detail: dict[str, Any] | None = None
    followups: tuple[ActionRequest, ...] = ()
    ran: bool = True
    """False for TargetGone/errors: no follow-ups were produced."""
    report: dict[str, Any] | None = None
    """A diagnostic play's report (`evidence.reports.play_report`): kept with the
    remediation's evidence, in the same transaction as the outcome."""
    timed: tuple[tuple[datetime, ActionRequest], ...] = ()
    """Follow-ups due at a time, whatever the action's result (a Flux Kustomization
    suspended while a proposal is open is resumed)."""


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database

    # -- jobs -------------------------------------------------------------

    def claim(self, *, owner: str, now: datetime, limit: int, lease: jobs.Lease) -> list[Job]:
        with self.database.writing() as connection:
            return jobs.claim(connection, owner=owner, now=now, limit=limit, lease=lease)

    def claim_to_run(self, *, owner: str, now: datetime, limit: int, lease: jobs.Lease,
                     blocked: Blocked, action_lease: Callable[[Remediation], datetime],
                     ) -> list[tuple[Job, Remediation | None]]:
        """Claim due jobs with their remediations; start or cancel the actions among them.

        One transaction (one commit, one fsync) for what took three per
        action: the claim, loading the remediation, and the start, where
        pause and an open breaker cancel a queued action (`_cancel_if_blocked`).
        An action is leased until `action_lease(remediation)`, its own timeout
        plus a margin, by the claim's own statement (a play may run longer than
        a claim's lease, and must never look abandoned). Cancelled
        actions are not returned; a job whose remediation is gone comes back
        with None.
        """
        found: dict[str, Remediation] = {}
        with self.database.writing() as connection:

            def actions_leases(claimed: list[Job]) -> dict[int, datetime]:
                found.update(remediations.get_many(connection,
                                                   {job.remediation_id for job in claimed}))
                return {job.id: action_lease(remediation) for job in claimed
                        if (remediation := _to_start(job, found)) is not None}

            claimed = jobs.claim(connection, owner=owner, now=now, limit=limit, lease=lease,
                                 leases=actions_leases)
            runnable: list[tuple[Job, Remediation | None]] = []
            for job in claimed:
                remediation = _to_start(job, found)
                if remediation is not None and _cancel_if_blocked(
                        connection, job, remediation, now=now, blocked=blocked):
                    continue
                runnable.append((job, found.get(job.remediation_id)))
            return runnable

    def finish(self, job: Job) -> None:
        with _fenced(), self.database.writing() as connection:
            jobs.finish(connection, job)

    def retry(self, job: Job, run_at: datetime) -> None:
        with _fenced(), self.database.writing() as connection:
            jobs.retry_at(connection, job, run_at)

    def renew(self, held: list[Job], *, until: datetime) -> list[Job]:
        """Lengthen the leases of running jobs (the worker's heartbeat); the lost ones back."""
        if not held:
            return []
        with self.database.writing() as connection:
            return jobs.renew(connection, held, until)

    def defer(self, job: Job, remediation: Remediation, *, run_at: datetime, now: datetime,
              outcome: Outcome, reason: str, audit: bool) -> None:
        """Put a job back for later (a follow-up while paused), noting it once."""
        with _fenced(), self.database.writing() as connection:
            jobs.retry_at(connection, job, run_at)
            if audit:
                recorder.record_outcome(connection, remediation, outcome=outcome,
                                        reason=reason, now=now)

    def paused(self) -> bool:
        with self.database.reading() as connection:
            return DatabaseState(connection).paused()

    # -- actions ----------------------------------------------------------

    def retry_action(self, job: Job, remediation: Remediation, *, run_at: datetime,
                     now: datetime, reason: str, duration_ms: float,
                     detail: dict[str, Any], payload: Mapping[str, Any] | None = None) -> None:
        """A transient failure: note it and queue the same job again.

        `payload` replaces the job's (what the attempt saw, for the retry to
        hold on to), in the same transaction: it survives a restart.
        """
        with _fenced(), self.database.writing() as connection:
            jobs.retry_at(connection, job, run_at)
            if payload is not None:
                jobs.set_payload(connection, job.id, payload)
            recorder.record_outcome(connection, remediation, outcome=Outcome.FAILED, now=now,
                                    reason=reason, duration_ms=duration_ms,
                                    detail={"retrying": True, **detail})

    def settle_action(self, job: Job, remediation: Remediation, settled: Settled, *,
                      now: datetime) -> None:
        """The action's result, its follow-ups and its verification job, together."""
        with _fenced(), self.database.writing() as connection:
            jobs.finish(connection, job)
            for run_at, request in settled.timed:
                jobs.enqueue(connection, kind=jobs.FOLLOWUP, remediation_id=remediation.id,
                             run_at=run_at, payload={"request": request.to_json()})
            if settled.ran:
                resolved_at = remediations.settle_state(
                    connection, remediation.id, settled.outcome.value, now,
                    followups=settled.followups)
                if resolved_at is not None:
                    # Resolved while the action ran: its follow-ups are due now.
                    jobs.enqueue_many(connection, recorder.followup_jobs(
                        [(remediation.id, settled.followups)], now=now))
                after = job.payload.get("verify_after")
                if after is not None:
                    jobs.enqueue(connection, kind=jobs.VERIFY, remediation_id=remediation.id,
                                 run_at=now + timedelta(seconds=float(after)),
                                 payload={"expr": job.payload.get("verify_expr"),
                                          **_gitops_holds(settled.detail or {})})
            if settled.report is not None:
                evidence.save(connection, remediation_id=remediation.id, phase=evidence.REPORT,
                              at=now, document=settled.report, hints=())
            recorder.record_outcome(connection, remediation, outcome=settled.outcome, now=now,
                                    reason=settled.reason, duration_ms=settled.duration_ms,
                                    detail=settled.detail,
                                    state=None if settled.ran else settled.outcome.value)

    def record(self, job: Job, remediation: Remediation, outcome: Outcome, reason: str, *,
               now: datetime, state: str | None = None, detail: dict[str, Any] | None = None,
               action: str | None = None, duration_ms: float | None = None) -> None:
        """Finish a job with one audited outcome (a follow-up's, a resolved action's)."""
        with _fenced(), self.database.writing() as connection:
            jobs.finish(connection, job)
            recorder.record_outcome(connection, remediation, outcome=outcome, reason=reason,
                                    now=now, state=state, detail=detail, action=action,
                                    duration_ms=duration_ms)

    # -- verification and escalation --------------------------------------

    def record_verification(self, job: Job, remediation: Remediation, outcome: Outcome,
                            reason: str, *, now: datetime,
                            escalate: Escalation | None = None,
                            exhausted: Callable[[Decision | None], str] | None = None,
                            ) -> tuple[Decision | None, dict[str, Any] | None]:
        """The verification's outcome and, when unverified, the next ladder step.

        One transaction: a crash cannot leave `unverified` committed without
        the escalation decided (which silently ended the ladder). Returns the
        escalation decision and its summary (None when there was none, or when the
        job's lease was lost and nothing was written).
        """
        with _fenced(), self.database.writing() as connection:
            jobs.finish(connection, job)
            recorder.record_outcome(connection, remediation, outcome=outcome, reason=reason,
                                    now=now, state=outcome.value)
            if outcome is not Outcome.UNVERIFIED or escalate is None:
                return None, None
            decision = escalate(DatabaseState(connection))
            summary = None
            if decision is not None:
                summary = recorder.record(connection, [decision], now=now,
                                          group_key=remediation.group_key)[0]
                if decision.creates_remediation:
                    return decision, summary
            if exhausted is not None:
                recorder.record_outcome(connection, remediation, outcome=Outcome.EXHAUSTED,
                                        reason=exhausted(decision), now=now,
                                        state=Outcome.EXHAUSTED.value)
            return decision, summary
        return None, None  # fenced out: nothing was written

    # -- recovery ----------------------------------------------------------

    def recover_expired(self, now: datetime) -> int:
        """Jobs whose worker vanished: their lease expired (a live worker renews its own).

        Verifications run again. An action is recorded as failed, not run
        again (it may have happened). A follow-up is recorded as failed on
        its own: its parent's action succeeded, so the parent stays as it
        was and the breaker does not count a failure that is not one.
        """
        with self.database.writing() as connection:
            lost = jobs.expired(connection, now)
            for job in lost:  # under the writers' lock: each lease is still as read
                if job.kind == jobs.VERIFY:
                    jobs.retry_at(connection, job, now)
                    continue
                jobs.finish(connection, job)
                remediation = remediations.get(connection, job.remediation_id)
                if remediation is None:
                    continue
                if job.kind == jobs.FOLLOWUP:
                    request = ActionRequest.from_json(job.payload["request"])
                    recorder.record_outcome(
                        connection, remediation, outcome=Outcome.FAILED, now=now,
                        action=request.type,
                        reason=(f"follow-up {request.type} interrupted: the worker stopped "
                                "while it ran; not run again - check the target"))
                    continue
                recorder.record_outcome(
                    connection, remediation, outcome=Outcome.FAILED, now=now,
                    state=Outcome.FAILED.value,
                    reason=("interrupted: the worker stopped while the action ran; not "
                            "run again (it may have happened) - check the target"))
        return len(lost)

    # -- retention -----------------------------------------------------------

    def purge(self, cutoff: datetime) -> dict[str, int]:
        """Retention: finished jobs, resolved alerts, closed remediations, old audit."""
        with self.database.writing() as connection:
            return {
                "jobs": jobs.purge_done_before(connection, cutoff),
                "alerts": recorder.forget_resolved_alerts(connection, cutoff),
                "remediations": remediations.purge_closed_before(connection, cutoff),
                "audit": purge_before(connection, cutoff),
            }


@contextmanager
def _fenced() -> Iterator[None]:
    """A result written under a lost lease: its transaction rolled back, and it is said."""
    try:
        yield
    except jobs.FencedOut as fenced:
        log.warning("result not written: %s (its lease expired and was taken over; "
                    "the job's outcome stands as recorded)", fenced)


def _to_start(job: Job, found: Mapping[str, Remediation]) -> Remediation | None:
    """The remediation of an action job about to run (not one resolved meanwhile)."""
    remediation = found.get(job.remediation_id)
    if job.kind != jobs.ACTION or remediation is None or remediation.resolved_at is not None:
        return None
    return remediation


def _cancel_if_blocked(connection: Connection, job: Job, remediation: Remediation, *,
                       now: datetime, blocked: Blocked) -> bool:
    """Cancel a queued action that pause or the breaker now forbids (True when cancelled).

    The cancelled remediation gives its idempotency key back and counts
    for no guard (`remediations.release_key`): nothing ran, so after a
    resume the alert is decided afresh, not `duplicate` or `cooldown`.
    """
    verdict = blocked(DatabaseState(connection))
    if verdict is None:
        return False
    outcome, reason = verdict
    jobs.finish(connection, job)
    remediations.release_key(connection, remediation.id)
    recorder.record_outcome(connection, remediation, outcome=outcome, reason=reason,
                            now=now, state=outcome.value)
    return True


def _gitops_holds(detail: Mapping[str, Any]) -> dict[str, Any]:
    """What verification checks still holds on a self-healing GitOps target (if any)."""
    holds = (detail.get("gitops") or {}).get("holds")
    return {"gitops_holds": dict(holds)} if isinstance(holds, Mapping) and holds else {}
