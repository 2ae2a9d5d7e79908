"""Just before acting on a Kubernetes workload: is it GitOps-managed, and what then?

The pre-flight (`execute.preflight`) asks `GitopsGate.ownership` for the
`gitops` section of the evidence, then `GitopsGate.decide` for a managed
target, after the rule's preconditions held. The answer is one of:

- act: nothing is blocked; the audit entry of the action carries what the
  controller will make of the change (self-heal puts git's state back);
- refuse: `gitops_managed`, the idempotency key given back (as for
  `precondition_failed`), so a later notification is decided afresh;
- propose: the `Proposer` (`gitops.proposals`) writes the change to git on
  a worker thread; `proposed` with branch, commit and pull request, or
  `failed` with the proposal's reason and the key given back. With
  `also_act` the action runs too and its audit entry carries the proposal.

Reading ownership never fails the action: an unreadable answer is
"unknown" (with a note) and the action goes on as without GitOps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from remediator.actions.registry import ActionRegistry
from remediator.evidence.ownership import (
    GITOPS_OWNER_ACTION,
    GITOPS_SUSPEND_ACTION,
    Ownership,
    Tracking,
)
from remediator.execute import gitops_policy
from remediator.gitops.proposals import Proposal, ProposalError, Proposer
from remediator.model.actions import ActionRequest
from remediator.model.clock import Clock, utcnow
from remediator.model.outcomes import Outcome
from remediator.rules.model import Rule
from remediator.store.remediations import Remediation

log = logging.getLogger(__name__)

_OWNER_TIMEOUT = 5.0


@dataclass(frozen=True, kw_only=True)
class GitopsConfig:
    default: gitops_policy.Mode = "act"
    tracking: Tracking = field(default_factory=Tracking)
    external_url: str | None = None
    suspend_timeout: timedelta = timedelta(hours=2)
    """A Flux Kustomization suspended while a proposal is open is resumed after this."""

    @classmethod
    def from_settings(cls, settings: Any) -> GitopsConfig:
        return cls(default=settings.gitops_default,
                   tracking=Tracking(label=settings.gitops_tracking_label,
                                     argocd_namespace=settings.gitops_argocd_namespace),
                   external_url=settings.external_url,
                   suspend_timeout=settings.gitops_suspend_timeout)


@dataclass(frozen=True, kw_only=True)
class Gated:
    """The gate's answer; `outcome` None means the action runs (with `detail` audited)."""

    outcome: Outcome | None = None
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    release_key: bool = True
    timed: tuple[tuple[datetime, ActionRequest], ...] = ()
    """Follow-ups due at a time: the resume of a Kustomization suspended here."""


class GitopsGate:
    def __init__(self, *, actions: ActionRegistry, proposer: Proposer | None,
                 config: GitopsConfig | None = None, clock: Clock = utcnow) -> None:
        self.actions = actions
        self.proposer = proposer
        self.config = config or GitopsConfig()
        self.clock = clock

    async def ownership(self, request: ActionRequest) -> Ownership | None:
        """Who owns the target (None: not a checked action, or no cluster connected)."""
        reader = self.actions.get(GITOPS_OWNER_ACTION)
        if reader is None or request.type not in gitops_policy.CHECKED:
            return None
        tracking = self.config.tracking
        ask = ActionRequest(type=GITOPS_OWNER_ACTION, kind=request.kind, name=request.name,
                            namespace=request.namespace, timeout=_OWNER_TIMEOUT,
                            params={"tracking_label": tracking.label,
                                    "argocd_namespace": tracking.argocd_namespace})
        try:
            result = await asyncio.wait_for(reader.run(ask), _OWNER_TIMEOUT + 1)
        except Exception as error:  # never let the lookup stop or fail the action
            log.warning("GitOps ownership of %s unknown: %s", request.target, error)
            return Ownership(unknown=True, notes=(f"ownership not read: "
                                                  f"{type(error).__name__}: {error}"[:300],))
        return Ownership.from_json(result.detail)

    async def decide(self, remediation: Remediation, request: ActionRequest,
                     rule: Rule | None, owner: Ownership, *, retry: bool = False) -> Gated:
        """`retry`: a later attempt of an action whose first one already proposed."""
        chosen = gitops_policy.plan(
            request, owner, rule.gitops if rule is not None else None, self.config.default,
            remediation_id=remediation.id, title=self._title(remediation, request),
            message=self._message(remediation, request))
        section: dict[str, Any] = {"mode": chosen.mode, "controller": owner.controller,
                                   "app": owner.app, "self_heal": owner.self_heal}
        if chosen.note:
            section["note"] = chosen.note
        if chosen.mode == "refuse":
            return Gated(outcome=Outcome.GITOPS_MANAGED, reason=f"not run: {chosen.refusal}",
                         detail={"gitops": section})
        if chosen.mode == "act":
            return Gated(detail={"gitops": section})
        if retry and chosen.also_act:
            section["note"] = f"{chosen.note} (proposed at the first attempt)".strip()
            return Gated(detail={"gitops": section})
        if chosen.proposal is None:
            return Gated(outcome=Outcome.FAILED, reason=f"not proposed: {chosen.refusal}",
                         detail={"gitops": section})
        return await self._propose(chosen, section)

    async def _propose(self, chosen: gitops_policy.Plan, section: dict[str, Any]) -> Gated:
        assert chosen.proposal is not None
        if self.proposer is None:
            return Gated(outcome=Outcome.FAILED, detail={"gitops": section},
                         reason="not proposed: no git proposer configured (GITOPS_* settings)")
        try:
            made = await asyncio.to_thread(self.proposer.propose, chosen.proposal)
        except ProposalError as error:
            return Gated(outcome=Outcome.FAILED, reason=f"not proposed: {error.reason}",
                         detail={"gitops": section})
        section["proposal"] = proposal_json(made)
        if chosen.also_act:
            timed = await self._suspend(chosen, section)
            return Gated(detail={"gitops": section}, timed=timed)
        where = made.pr_url or f"branch {made.branch}"
        return Gated(outcome=Outcome.PROPOSED, reason=f"proposed in git: {where}",
                     detail={"gitops": section}, release_key=False)

    async def _suspend(self, chosen: gitops_policy.Plan, section: dict[str, Any]
                       ) -> tuple[tuple[datetime, ActionRequest], ...]:
        """Flux `suspend_while_proposed`: suspend the Kustomization, resume it later.

        The resume is due at the timeout; its request names the pull request, so
        the pull-request watch (app/prwatch.py) can make it due when it merges.
        """
        suspend = self.actions.get(GITOPS_SUSPEND_ACTION)
        app = str(section.get("app") or "")
        if not chosen.suspend or suspend is None or "/" not in app:
            return ()
        namespace, _, name = app.partition("/")
        ask = ActionRequest(type=GITOPS_SUSPEND_ACTION, kind="kustomization", name=name,
                            namespace=namespace, params={"suspend": True},
                            timeout=_OWNER_TIMEOUT)
        try:
            await suspend.run(ask)
        except Exception as error:  # the action goes on; Flux may re-apply git meanwhile
            section["suspend_error"] = f"{type(error).__name__}: {error}"[:300]
            return ()
        resume_at = self.clock() + self.config.suspend_timeout
        section["suspended"] = {"kustomization": app, "resume_at": resume_at.isoformat()}
        pr_url = (section.get("proposal") or {}).get("pr_url")
        resume = {"suspend": False, **({"pr_url": pr_url} if pr_url else {})}
        return ((resume_at, replace(ask, params=resume)),)

    @staticmethod
    def _title(remediation: Remediation, request: ActionRequest) -> str:
        alertname = remediation.alert.labels.get("alertname", "alert")
        return f"remediator: {request.type.rpartition('.')[2]} {request.target} ({alertname})"

    def _message(self, remediation: Remediation, request: ActionRequest) -> str:
        lines = [f"Alert: {remediation.alert.labels.get('alertname', '')}",
                 f"Rule: {remediation.rule}", f"Action: {request.type} on {request.target}",
                 f"Remediation: {remediation.id}"]
        if self.config.external_url:
            lines.append(f"Console: {self.config.external_url.rstrip('/')}/remediations/"
                         f"{remediation.id}")
        return "\n".join(lines)


def proposal_json(made: Proposal) -> dict[str, Any]:
    """What the audit, the API and the drift report show of a proposal (no diff body)."""
    return {"branch": made.branch, "commit": made.commit, "pr_url": made.pr_url,
            "files": list(made.files)}
