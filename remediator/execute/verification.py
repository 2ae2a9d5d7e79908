"""A `verify` job: did the action work? If not, the next ladder step, or a human.

Prometheus is asked after the rule's `verify.after`; `unknown` is retried a
few times. `unverified` escalates: the next step of the rule's ladder is
decided through the same guards as a new alert, in the transaction that
records `unverified` (`Store.record_verification`), or the ladder is
recorded as exhausted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from remediator.actions.registry import ActionRegistry
from remediator.decide.decision import Decision
from remediator.decide.engine import decide_step
from remediator.evidence.drift import reverted
from remediator.evidence.ownership import GITOPS_OWNER_ACTION, Ownership
from remediator.execute.metrics import WorkerMetrics
from remediator.model.abc import GuardState, Verifier
from remediator.model.clock import Clock
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.model import Rule
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation
from remediator.store.service import Store

VERIFY_ATTEMPTS = 3
_READ_TIMEOUT = 5.0
log = logging.getLogger(__name__)


class Verification:
    def __init__(self, *, store: Store, verifier: Verifier, metrics: WorkerMetrics, clock: Clock,
                 backoff: timedelta, policy: Callable[[], Policy],
                 rules: Callable[[str], Rule | None],
                 actions: ActionRegistry | None = None) -> None:
        self.store = store
        self.actions = actions
        """Reads the target again (`kubernetes.gitops_owner`) for `reverted_by_gitops`."""
        self.verifier = verifier
        self.metrics = metrics
        self.clock = clock
        self.backoff = backoff
        self.policy = policy
        """The guards an escalation is decided under (read at each escalation)."""
        self.rules = rules
        """The rule by name as loaded now (a reload may have dropped it)."""

    async def run(self, job: Job, remediation: Remediation) -> None:
        undone = await self._undone_by_gitops(job, remediation)
        if undone is not None:
            outcome, reason = Outcome.REVERTED_BY_GITOPS, undone
        elif remediation.resolved_at is not None:
            outcome, reason = Outcome.VERIFIED, "the alert resolved"
        else:
            outcome, reason = await self.verifier.check(remediation.alert.labels,
                                                        job.payload.get("expr"))
        if outcome is Outcome.UNKNOWN and job.attempts < VERIFY_ATTEMPTS:
            await asyncio.to_thread(self.store.retry, job,
                                    self.clock() + self.backoff * job.attempts)
            return
        self.metrics.verifications.labels(rule=remediation.rule, outcome=outcome.value).inc()
        await asyncio.to_thread(self.record, job, remediation, outcome, reason)

    async def _undone_by_gitops(self, job: Job, remediation: Remediation) -> str | None:
        """Under self-heal: did Argo CD or Flux put git's value back? (None: it holds.)

        The fields the action set are in the job (`gitops_holds`); a read that
        fails says nothing, and the Prometheus check goes on as usual.
        """
        holds = job.payload.get("gitops_holds")
        reader = self.actions.get(GITOPS_OWNER_ACTION) if self.actions else None
        if not holds or reader is None:
            return None
        request = remediation.request
        try:
            result = await reader.run(replace(request, type=GITOPS_OWNER_ACTION, params={},
                                              timeout=_READ_TIMEOUT))
        except Exception as error:  # unknown: fall back to the alert's state
            log.warning("could not read %s to check it still holds: %s", request.target, error)
            return None
        owner = Ownership.from_json(result.detail)
        moved = reverted(holds, owner.live)
        if moved is None:
            return None
        name = {"argocd": "Argo CD", "flux": "Flux"}.get(owner.controller or "", "GitOps")
        return (f"{name} put git's state back: {moved}; the change must go to git "
                f"({owner.app_kind} {owner.app})")

    def record(self, job: Job, remediation: Remediation, outcome: Outcome,
               reason: str) -> None:
        """Unverified: the next ladder step is decided in the same transaction."""
        now = self.clock()
        ladder = _Ladder(remediation, self.rules(remediation.rule), self.policy(), now)
        decision, _ = self.store.record_verification(
            job, remediation, outcome, reason, now=now, escalate=ladder.escalate,
            exhausted=ladder.exhausted)
        if outcome is not Outcome.UNVERIFIED:
            return
        if decision is not None:
            self.metrics.escalations.labels(rule=remediation.rule).inc()
            self.metrics.decisions.labels(rule=decision.rule_name,
                                          outcome=decision.outcome.value).inc()
        if decision is None or not decision.creates_remediation:
            self.metrics.escalations_exhausted.labels(rule=remediation.rule).inc()


class _Ladder:
    """The next step of a remediation's ladder, and why none was taken."""

    def __init__(self, remediation: Remediation, rule: Rule | None, policy: Policy,
                 now: datetime) -> None:
        self.remediation = remediation
        self.rule = rule
        self.policy = policy
        self.now = now
        self.next_step = remediation.step + 1

    def escalate(self, state: GuardState) -> Decision | None:
        """The next step, decided through the same guards as a new alert (None: no step)."""
        if self.rule is None or self.rule.step(self.next_step) is None:
            return None
        return decide_step(self.remediation.alert, self.rule, self.next_step,
                           policy=self.policy, state=state, now=self.now,
                           parent_id=self.remediation.id)

    def exhausted(self, decision: Decision | None) -> str:
        """Why the ladder ends here: a human is needed."""
        if decision is not None:
            return (f"escalation step {self.next_step} not taken ({decision.outcome.value}: "
                    f"{decision.reason}); still firing, a human is needed (see the runbook)")
        if self.rule is None:
            return f"rule {self.remediation.rule!r} is no longer loaded; cannot escalate"
        return ("escalation ladder exhausted: still firing after "
                f"{self.next_step} step(s); a human is needed (see the runbook)")
