"""What to do with an action whose target Argo CD or Flux owns: act, propose or refuse.

Pure: the rule's `gitops:` (or the service default), the action and what
`ownership` found go in; a `Plan` comes out. The change a proposal writes
to git is the one the action would have made on the cluster: the same new
replicas (`bounds.scale_target`) or HPA bounds (`bounds.hpa_bounds`), or
for a rollback the revert of the commit that last changed the pod template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from remediator.actions.kubernetes.bounds import hpa_bounds, scale_target
from remediator.evidence.ownership import Ownership
from remediator.gitops.proposals import (
    Change,
    GitSource,
    HelmValue,
    ObjectRef,
    ProposalRequest,
    RevertLastTemplateChange,
    SetFields,
)
from remediator.model.actions import ActionError, ActionRequest
from remediator.rules.gitops import GitopsPolicy

Mode = Literal["act", "propose", "refuse"]
ALWAYS_ACT = frozenset({"kubernetes.delete_pod"})
"""Git does not describe pods: deleting one is never a change git could hold."""
REVERTED = frozenset({"kubernetes.scale", "kubernetes.hpa_patch", "kubernetes.rollout_undo"})
"""Changes a self-healing controller puts back to git's state."""
CHECKED = frozenset({*ALWAYS_ACT, *REVERTED, "kubernetes.rollout_restart"})
"""Action types whose target's ownership is read before acting."""
HELM_REASON = "helm-sourced application: name values.file and values.key in the rule"
_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet",
          "hpa": "HorizontalPodAutoscaler"}
_CONTROLLERS = {"argocd": "Argo CD", "flux": "Flux"}


@dataclass(frozen=True, kw_only=True)
class Plan:
    mode: Mode
    note: str = ""
    """For the audit: what the controller will make of an `act`."""
    proposal: ProposalRequest | None = None
    refusal: str | None = None
    """Why nothing is done (`refuse`), or why no proposal could be built (`propose`)."""
    also_act: bool = False
    suspend: bool = False


def mode_of(policy: GitopsPolicy | None, default: Mode, action_type: str) -> Mode:
    if action_type in ALWAYS_ACT:
        return "act"
    return policy.mode if policy is not None else default


def plan(request: ActionRequest, owner: Ownership, policy: GitopsPolicy | None,
         default: Mode, *, remediation_id: str, title: str, message: str) -> Plan:
    """The plan for a managed target (callers skip unmanaged ones)."""
    name = _CONTROLLERS.get(owner.controller or "", "a GitOps controller")
    mode = mode_of(policy, default, request.type)
    if mode == "refuse":
        return Plan(mode=mode, refusal=f"{request.target} is managed by {name} "
                    f"({owner.app_kind} {owner.app}); the rule says refuse")
    if mode == "act":
        return Plan(mode=mode, note=act_note(request.type, owner))
    policy = policy or GitopsPolicy(mode="propose")  # GITOPS_DEFAULT=propose
    try:
        change = _change(request, owner, policy)
    except ActionError as error:
        return Plan(mode=mode, refusal=error.message)
    source = git_source(owner)
    if source is None:
        return Plan(mode=mode, refusal=f"the git source of {owner.app_kind} {owner.app} is "
                    f"unknown: {'; '.join(owner.notes) or 'not a git source'}")
    proposal = ProposalRequest(
        source=source, target=ObjectRef(kind=_KINDS.get(request.kind, request.kind),
                                        name=request.name, namespace=request.namespace or ""),
        change=change, branch=f"remediator/{remediation_id}", title=title, message=message,
        push_to=policy.push_to)
    also = policy.also_act
    return Plan(mode=mode, proposal=proposal, also_act=also,
                note=act_note(request.type, owner, proposed=True) if also else "",
                suspend=policy.suspend_while_proposed and owner.controller == "flux")


def git_source(owner: Ownership) -> GitSource | None:
    """Where the controller reads the target from, for the Proposer."""
    if owner.repo is None:
        return None
    return GitSource(repo_url=owner.repo, path=owner.path or ".",
                     target_revision=owner.revision or "HEAD")


def act_note(action_type: str, owner: Ownership, *, proposed: bool = False) -> str:
    """What the controller will do about a change made on the cluster."""
    name = _CONTROLLERS.get(owner.controller or "", "the GitOps controller")
    if action_type in REVERTED and owner.self_heal:
        until = "the pull request merges" if proposed else "the change is in git"
        return (f"{name} self-heal is on for {owner.app_kind} {owner.app}: it will put git's "
                f"state back until {until}")
    if action_type == "kubernetes.rollout_restart":
        return f"{name} will show {owner.app_kind} {owner.app} OutOfSync (restartedAt)"
    if action_type in REVERTED:
        return f"{name} will show {owner.app_kind} {owner.app} OutOfSync until git holds it"
    return ""


def _change(request: ActionRequest, owner: Ownership, policy: GitopsPolicy) -> Change:
    if request.type == "kubernetes.rollout_undo":
        if owner.helm:
            raise ActionError("helm-sourced application: a rollback cannot be proposed as a "
                              "values change; use gitops: act or refuse")
        return RevertLastTemplateChange()
    fields = _fields(request, owner)
    if not owner.helm:
        return SetFields(values=fields)
    if policy.values is None:
        raise ActionError(HELM_REASON)
    value = fields.get("spec.replicas", fields.get("spec.maxReplicas"))
    assert value is not None
    return HelmValue(file=policy.values.file, key=policy.values.key, value=value)


def _fields(request: ActionRequest, owner: Ownership) -> dict[str, int | str]:
    live = owner.live
    if request.type == "kubernetes.scale":
        if not isinstance(live.get("replicas"), int):
            raise ActionError(f"cannot propose a scale: {request.target} has no replicas")
        return {"spec.replicas": scale_target(live["replicas"], request.params)}
    if request.type == "kubernetes.hpa_patch":
        old = live.get("minReplicas", 1), live.get("maxReplicas")
        if not isinstance(old[1], int):
            raise ActionError(f"cannot propose HPA bounds: {request.target} has no "
                              "maxReplicas")
        new_min, new_max = hpa_bounds(int(old[0]), old[1], request.params)
        changed: dict[str, int | str] = {"spec.maxReplicas": new_max}
        if new_min != old[0]:
            changed["spec.minReplicas"] = new_min
        return changed
    raise ActionError(f"{request.type} has no lasting change to propose to git; "
                      "use gitops: act or refuse")
