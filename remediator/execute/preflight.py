"""Just before an action runs: gather evidence, draw hints, check the rule's preconditions.

The worker calls `Preflight.prepare` once per action attempt, right before
acting, and `Prepared.settle` with the result. Evidence gathering is bounded
by its own budget and never raises; a precondition that does not hold
records `precondition_failed` (with the hint, or the query and its result)
and gives the idempotency key back, so a later notification of the same
alert is decided afresh once things have changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from remediator.actions.registry import ActionRegistry
from remediator.diagnosis import Context, FiringAlert, Hint, Related, diagnose
from remediator.evidence.drift import expected_fields
from remediator.evidence.limits import SNAPSHOT_ACTION, Limits, snapshot_request
from remediator.evidence.ownership import Ownership
from remediator.execute.gitops_gate import Gated, GitopsGate
from remediator.execute.preconditions import Verdict, expr_verdict, hint_verdict
from remediator.model.abc import Querier
from remediator.model.actions import ActionError, ActionRequest, ActionResult, TargetGone
from remediator.model.clock import Clock, utcnow
from remediator.model.outcomes import Outcome
from remediator.rules.model import Rule
from remediator.store.jobs import Job
from remediator.store.preflight_store import PreflightStore
from remediator.store.recent_reads import RecentReads
from remediator.store.remediations import Remediation

log = logging.getLogger(__name__)

# A snapshot never raises and honours its budget; this margin only guards against bugs.
_SNAPSHOT_MARGIN = 0.5

RELATED_REUSE_SECONDS = 1.0
"""How long one read of related alerts may answer the same question again
(`store.recent_reads`), unless this process writes alerts first: the bound
for another replica's writes, which this process's change count cannot see."""


@dataclass(frozen=True, kw_only=True)
class PreflightConfig:
    limits: Limits = field(default_factory=Limits)
    rollout_window: timedelta = timedelta(minutes=30)
    dependency_label: str = "depends_on"

    @classmethod
    def from_settings(cls, settings: Any) -> PreflightConfig:
        return cls(limits=Limits(budget=settings.evidence_budget,
                                 max_bytes=settings.evidence_max_bytes,
                                 log_lines=settings.evidence_log_lines),
                   rollout_window=settings.hint_rollout_window,
                   dependency_label=settings.hint_dependency_label)


@dataclass
class Prepared:
    """What the preflight found; `blocked` means the action must not run (already recorded)."""

    blocked: bool = False
    hints: list[Hint] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    gitops: Mapping[str, Any] = field(default_factory=dict)
    """The GitOps gate's audit detail for an action that runs (`execute.gitops_gate`)."""
    action: str = ""
    timed: tuple[tuple[datetime, ActionRequest], ...] = ()
    """Follow-ups due at a time (the resume of a suspended Flux Kustomization)."""
    _failure: Callable[[], Any] | None = None

    def annotations(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.hints:
            out["hints"] = [h.to_json() for h in self.hints]
        if self.notes:
            out["preconditions"] = self.notes
        return {**out, **self.gitops}

    async def settle(self, result: ActionResult | ActionError) -> ActionResult | ActionError:
        """Put the hints on the result's audit entry; snapshot again if the action failed."""
        extra = self.annotations()
        if isinstance(result, ActionResult) and "gitops" in extra:
            extra["gitops"] = with_holds(extra["gitops"], self.action, result.detail)
        if isinstance(result, ActionError):
            if self._failure is not None and not isinstance(result, TargetGone):
                await self._failure()
            result.detail.update(extra)
            return result
        return replace(result, detail={**result.detail, **extra}) if extra else result


def with_holds(section: Mapping[str, Any], action: str,
               detail: Mapping[str, Any]) -> Mapping[str, Any]:
    """Under self-heal, the fields the action set: verification checks they still hold."""
    holds = expected_fields(action, detail) if section.get("self_heal") else None
    return {**section, "holds": holds} if holds else section


class Preflight:
    def __init__(self, *, store: PreflightStore, actions: ActionRegistry,
                 rules: Callable[[str], Rule | None], prometheus: Querier | None = None,
                 clock: Clock = utcnow, config: PreflightConfig | None = None,
                 gitops: GitopsGate | None = None) -> None:
        self.store = store
        self.gitops = gitops
        """Who owns the target, and act/propose/refuse when Argo CD or Flux does."""
        self.actions = actions
        self.rules = rules
        self.prometheus = prometheus
        self.clock = clock
        self.config = config or PreflightConfig()
        self._related: RecentReads[Related, tuple[Sequence[FiringAlert], bool]] = RecentReads(
            version=store.alerts_version,
            ttl=RELATED_REUSE_SECONDS, seconds=lambda: self.clock().timestamp())

    async def prepare(self, job: Job, remediation: Remediation,
                      request: ActionRequest) -> Prepared:
        rule = self.rules(remediation.rule)
        document = await self.snapshot(request)
        owner = await self.gitops.ownership(request) if self.gitops is not None else None
        if owner is not None:
            document = {**(document or {"target": request.target}), "gitops": owner.to_json()}
        context = self._context(remediation, document, [])
        firing, capped = await asyncio.to_thread(self._firing, context.related())
        hints = diagnose(replace(context, firing=firing, firing_capped=capped))
        notes: list[dict[str, Any]] = []
        verdict = None
        if rule is not None:
            verdict = hint_verdict(rule, hints) or await expr_verdict(
                rule, remediation.alert, self.prometheus, notes)
        gated = await self._gate(remediation, request, rule, owner, verdict,
                                 retry=job.attempts > 1)
        await asyncio.to_thread(self._record, job, remediation, document, hints, verdict, gated)

        async def on_failure() -> None:
            again = await self.snapshot(request)
            if again is not None:
                await asyncio.to_thread(self._save_failure, remediation.id, again, hints)

        return Prepared(blocked=verdict is not None or gated.outcome is not None,
                        hints=hints, notes=notes, gitops=gated.detail, action=request.type,
                        timed=gated.timed, _failure=on_failure)

    async def _gate(self, remediation: Remediation, request: ActionRequest, rule: Rule | None,
                    owner: Ownership | None, verdict: Verdict | None, *, retry: bool) -> Gated:
        """Act, propose or refuse on a GitOps-managed target (once the preconditions held)."""
        if self.gitops is None or owner is None or verdict is not None or not owner.managed:
            return Gated()
        return await self.gitops.decide(remediation, request, rule, owner, retry=retry)

    async def snapshot(self, request: ActionRequest) -> dict[str, Any] | None:
        """The target's evidence, or None when there is no Kubernetes target or client."""
        action = self.actions.get(SNAPSHOT_ACTION)
        if action is None or not request.type.startswith("kubernetes."):
            return None
        limits = self.config.limits
        try:
            result = await asyncio.wait_for(action.run(snapshot_request(request, limits)),
                                            limits.budget + _SNAPSHOT_MARGIN)
        except Exception as error:  # never let evidence stop or fail the action
            log.warning("evidence for %s not gathered: %s", request.target, error)
            return {"target": request.target, "errors": [
                {"section": "snapshot", "error": f"{type(error).__name__}: {error}"[:300]}]}
        return dict(result.detail)

    def _context(self, remediation: Remediation, document: Mapping[str, Any] | None,
                 firing: list[FiringAlert]) -> Context:
        alert = remediation.alert
        return Context(labels=alert.labels, starts_at=alert.starts_at,
                       fingerprint=alert.fingerprint, evidence=document or {}, firing=firing,
                       rollout_window=self.config.rollout_window,
                       dependency_label=self.config.dependency_label)

    def _firing(self, related: Related) -> tuple[Sequence[FiringAlert], bool]:
        """The related firing alerts; in a storm most actions reuse a recent read."""
        if not related:
            return (), False
        return self._related.get(related, lambda: self._read_firing(related))

    def _read_firing(self, related: Related) -> tuple[Sequence[FiringAlert], bool]:
        rows, capped = self.store.firing_alerts(node=related.node,
                                                namespace=related.namespace,
                                                services=related.services)
        return tuple(FiringAlert(r["alertname"], r["labels"], r["fingerprint"],
                                 r["starts_at"]) for r in rows), capped

    def _save_failure(self, remediation_id: str, document: Mapping[str, Any],
                      hints: list[Hint]) -> None:
        self.store.save_failure_evidence(remediation_id, at=self.clock(), document=document,
                                         hints=[h.to_json() for h in hints])

    def _record(self, job: Job, remediation: Remediation, document: dict[str, Any] | None,
                hints: list[Hint], verdict: Verdict | None, gated: Gated) -> None:
        """The snapshot and, if a precondition failed or GitOps stops it, the outcome:
        one transaction."""
        refused, outcome, release = None, Outcome.PRECONDITION_FAILED, True
        hinted = {"hints": [h.to_json() for h in hints]}
        if verdict is not None:
            refused = (f"not run: {verdict.reason}", {**verdict.detail, **hinted})
        elif gated.outcome is not None:
            refused = (gated.reason, {**gated.detail, **hinted})
            outcome, release = gated.outcome, gated.release_key
        self.store.record_preflight(job, remediation, now=self.clock(), document=document,
                                    hints=[h.to_json() for h in hints], refused=refused,
                                    outcome=outcome, release_key=release)
