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
import os
import secrets
import socket
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from remediator.actions.registry import ActionRegistry
from remediator.app import logs
from remediator.decide.decision import Decision
from remediator.decide.engine import breaker_stops_queued, decide_step
from remediator.execute.metrics import WorkerMetrics
from remediator.execute.preflight import Preflight, Prepared
from remediator.intake.intake import Intake
from remediator.model.abc import Verifier
from remediator.model.actions import ActionError, ActionRequest, ActionResult, Observed, TargetGone
from remediator.model.clock import Clock, utcnow
from remediator.model.outcomes import Outcome
from remediator.store import Database, jobs
from remediator.store.guard_state import DatabaseState
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation
from remediator.store.service import Settled, Store

log = logging.getLogger(__name__)

_VERIFY_ATTEMPTS = 3
_CLAIM_LEASE = timedelta(minutes=5)
_LEASE_MARGIN = timedelta(minutes=5)  # must exceed the worker's timeout_grace
_PAUSED_RECHECK = timedelta(minutes=1)
OBSERVED = "observed"
"""The job payload's key for what an action's first attempt saw of its target."""
_HEARTBEAT = timedelta(seconds=30)
_RENEWED_LEASE = timedelta(minutes=2)  # several heartbeats: one late beat loses nothing


def owner_id(host: str | None = None) -> str:
    """A lease owner no other process has, before or after: host, pid and 8 random hex.

    Never compared by prefix: a replica on host `node` must not take the jobs of
    live host `node-2` for those of its own previous run (issue 20).
    """
    name = (host if host is not None else socket.gethostname())[:40]
    return f"{name}-{os.getpid()}-{secrets.token_hex(4)}"


class Worker:
    def __init__(self, *, database: Database, intake: Intake, actions: ActionRegistry,
                 verifier: Verifier, metrics: WorkerMetrics, clock: Clock = utcnow,
                 concurrency: int = 4, retries: int = 3,
                 backoff: timedelta = timedelta(seconds=2),
                 timeout_grace: float = 30.0, preflight: Preflight | None = None,
                 owner: str | None = None) -> None:
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
        self.store = Store(database)
        self.owner = owner or owner_id()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: dict[int, Job] = {}
        """The jobs this worker runs now, whose leases its heartbeat renews."""
        self._heartbeat: asyncio.Task[None] | None = None
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
        self._held.pop(int(task.get_name().rpartition("-")[2]), None)
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
                task = asyncio.create_task(self._run(job, remediation), name=f"job-{job.id}",
                                           context=logs.task_context(
                                               remediation_id=job.remediation_id,
                                               job=f"{job.kind}-{job.id}"))
                self._tasks.add(task)
                self._held[job.id] = job
                task.add_done_callback(self._job_done)
            if claimed:
                self._beat_while_running()
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
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    def _claim(self, limit: int) -> list[tuple[Job, Remediation | None]]:
        """Due jobs with their remediations; queued actions started or cancelled.

        Pause and an open breaker stop queued work too, not only new
        decisions: `blocked` is asked in the claim's transaction, and an
        action that may run has its lease stretched to its own timeout
        there (`Store.claim_to_run`: one commit where there were three).
        """
        now = self.clock()

        def blocked(state: DatabaseState) -> tuple[Outcome, str] | None:
            if state.paused():
                return Outcome.PAUSED, "paused before the queued action ran"
            breaker = breaker_stops_queued(state, self.intake.policy, now)
            return (Outcome.BREAKER_OPEN, f"not run: {breaker.reason}") if breaker.open else None

        def action_lease(remediation: Remediation) -> datetime:
            return now + timedelta(seconds=remediation.request.timeout) + _LEASE_MARGIN

        return self.store.claim_to_run(owner=self.owner, now=now, limit=limit,
                                       lease=_lease, blocked=blocked,
                                       action_lease=action_lease)

    async def _run(self, job: Job, remediation: Remediation | None) -> None:
        try:
            logs.bind(fingerprint=remediation.alert.fingerprint if remediation else None)
            if remediation is None:
                await asyncio.to_thread(self.store.finish, job)
                return
            if job.kind == jobs.ACTION:
                await self._run_action(job, remediation)
            elif job.kind == jobs.VERIFY:
                await self._run_verify(job, remediation)
            else:
                await self._run_followup(job, remediation)
        except jobs.FencedOut as fenced:
            log.warning("job %s (%s) stopped: %s; recovery has recorded it", job.id,
                        job.kind, fenced)
        except Exception:
            log.exception("job %s (%s) crashed; it stays leased and is recovered later",
                          job.id, job.kind)

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
        result, elapsed = await self._execute(request)
        result = await prepared.settle(result)
        await asyncio.to_thread(self._settle, job, remediation, result, elapsed)

    async def _prepare(self, job: Job, remediation: Remediation,
                       request: ActionRequest) -> Prepared:
        """Evidence, hints and preconditions (remediator.execute.preflight); blocked is recorded."""
        if self.preflight is None:
            return Prepared()
        return await self.preflight.prepare(job, remediation, request)

    def _settle(self, job: Job, remediation: Remediation, result: ActionResult | ActionError,
                elapsed: float) -> None:
        now = self.clock()
        duration_ms = round(elapsed * 1000, 3)
        if isinstance(result, ActionError) and not isinstance(result, TargetGone) and (
                result.transient and job.attempts <= self.retries):
            delay = result.retry_after or self.backoff.total_seconds() * 2 ** (job.attempts - 1)
            detail, payload = _premise(job, result)
            self.store.retry_action(
                job, remediation, run_at=now + timedelta(seconds=delay), now=now,
                reason=(f"attempt {job.attempts}/{self.retries + 1} failed: "
                        f"{result.message}; retrying in {delay:g}s"),
                duration_ms=duration_ms, detail=detail, payload=payload)
            return
        if isinstance(result, TargetGone):
            outcome = Outcome.TARGET_GONE
        elif isinstance(result, ActionError):
            outcome = Outcome.FAILED
        else:
            outcome = Outcome.SUCCEEDED
        followups = result.followups if isinstance(result, ActionResult) else ()
        self.store.settle_action(job, remediation, Settled(
            outcome=outcome, reason=result.message or outcome.value, duration_ms=duration_ms,
            detail=dict(result.detail), followups=followups,
            ran=isinstance(result, ActionResult)), now=now)
        self.metrics.action_results.labels(action=remediation.request.type,
                                           outcome=outcome.value).inc()

    async def _run_verify(self, job: Job, remediation: Remediation) -> None:
        if remediation.resolved_at is not None:
            outcome, reason = Outcome.VERIFIED, "the alert resolved"
        else:
            outcome, reason = await self.verifier.check(remediation.alert.labels,
                                                        job.payload.get("expr"))
        if outcome is Outcome.UNKNOWN and job.attempts < _VERIFY_ATTEMPTS:
            await asyncio.to_thread(self.store.retry, job,
                                    self.clock() + self.backoff * job.attempts)
            return
        self.metrics.verifications.labels(rule=remediation.rule, outcome=outcome.value).inc()
        await asyncio.to_thread(self._record_verification, job, remediation, outcome, reason)

    def _record_verification(self, job: Job, remediation: Remediation, outcome: Outcome,
                             reason: str) -> None:
        """Unverified: the next ladder step is decided in the same transaction."""
        now = self.clock()
        rule = self.intake.rulebook.current.by_name(remediation.rule)
        next_step = remediation.step + 1
        has_next = rule is not None and rule.step(next_step) is not None

        def escalate(state: DatabaseState) -> Decision | None:
            if rule is None or not has_next:
                return None
            return decide_step(remediation.alert, rule, next_step, policy=self.intake.policy,
                               state=state, now=now, parent_id=remediation.id)

        def exhausted(decision: Decision | None) -> str:
            if decision is not None:
                return (f"escalation step {next_step} not taken ({decision.outcome.value}: "
                        f"{decision.reason}); still firing, a human is needed (see the runbook)")
            if rule is None:
                return f"rule {remediation.rule!r} is no longer loaded; cannot escalate"
            return ("escalation ladder exhausted: still firing after "
                    f"{next_step} step(s); a human is needed (see the runbook)")

        decision, _ = self.store.record_verification(job, remediation, outcome, reason, now=now,
                                                     escalate=escalate, exhausted=exhausted)
        if outcome is not Outcome.UNVERIFIED:
            return
        if decision is not None:
            self.metrics.escalations.labels(rule=remediation.rule).inc()
            self.metrics.decisions.labels(rule=decision.rule_name,
                                          outcome=decision.outcome.value).inc()
        if decision is None or not decision.creates_remediation:
            self.metrics.escalations_exhausted.labels(rule=remediation.rule).inc()

    async def _run_followup(self, job: Job, remediation: Remediation) -> None:
        request = ActionRequest.from_json(job.payload["request"])
        if await asyncio.to_thread(self._defer_if_paused, job, remediation, request):
            return
        result, elapsed = await self._execute(request)
        if isinstance(result, TargetGone):
            outcome = Outcome.TARGET_GONE
        elif isinstance(result, ActionError):
            outcome = Outcome.FAILED
        else:
            outcome = Outcome.SUCCEEDED
        message = result.message or outcome.value
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

    def recover_expired(self) -> int:
        """Jobs whose worker vanished: verifications re-run, actions are failed, not re-run.

        Only expired leases, at start too: a live worker renews its leases, and
        no owner name says whose run a job was.
        """
        return self.store.recover_expired(self.clock())

    # -- the heartbeat: leases of running jobs -------------------------------------

    def renew_leases(self) -> list[Job]:
        """Lengthen the leases of the jobs running here; return those lost meanwhile
        (a stall past the lease: recovery took them, and their results will be fenced)."""
        lost = self.store.renew(list(self._held.values()),
                                until=self.clock() + _RENEWED_LEASE)
        for job in lost:
            log.warning("job %s (%s): lease lost while it ran; its result will not be "
                        "written", job.id, job.kind)
            self._held.pop(job.id, None)
        return lost

    def _beat_while_running(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name="lease-heartbeat")

    async def _beat(self) -> None:
        """Renew every `_HEARTBEAT` while jobs run; ends with the last of them."""
        while self._held:
            await asyncio.sleep(_HEARTBEAT.total_seconds())
            try:
                await asyncio.to_thread(self.renew_leases)
            except Exception:  # the store is down: the leases still run a while
                log.exception("renewing job leases failed; retrying at the next beat")


def _premise(job: Job, error: ActionError) -> tuple[dict[str, Any], dict[str, Any] | None]:
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


def _lease(job: Job) -> timedelta:
    """A claimed job's lease: a follow-up's covers its own timeout plus the margin.

    Leased for a claim's 5 minutes, a revert given a longer timeout looked
    abandoned while it ran: recovery recorded it failed ("interrupted") and
    the live worker's result landed on a finished job. (An action's lease is
    stretched the same way, from its remediation: `action_lease`.)
    """
    if job.kind != jobs.FOLLOWUP:
        return _CLAIM_LEASE
    try:  # read as the worker will run it; a malformed payload must not fail the claim
        timeout = timedelta(seconds=ActionRequest.from_json(job.payload["request"]).timeout)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
        return _CLAIM_LEASE
    return max(_CLAIM_LEASE, timeout + _LEASE_MARGIN)
