"""Live changes git does not hold yet: what remediator set, and whether it still holds.

An `act` (or `also_act`) on a GitOps-managed target leaves the cluster
different from git: drift. Two questions follow, both answered here from
what the audit recorded (`detail.gitops`):

- at `verify.after`, does the change still hold, or did the controller's
  self-heal put git's value back (`reverted_by_gitops`)? `expected_fields`
  names the fields the action set, `reverted` compares them with a read;
- which such changes are still open (`remediator drift`, `GET /api/v1/drift`,
  `remediator_drift_objects`): `drift_items` folds audit entries into one
  item per remediation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from remediator.model.outcomes import Outcome


def expected_fields(action_type: str, detail: Mapping[str, Any]) -> dict[str, Any] | None:
    """The live fields the action set (None: nothing a read could check).

    A rollback sets the pod template's images (`images`, by container).
    """
    if action_type == "kubernetes.rollout_undo":
        images = detail.get("images")
        return {"images": dict(images)} if isinstance(images, Mapping) and images else None
    if not detail.get("changed"):
        return None
    if action_type == "kubernetes.scale" and isinstance(detail.get("replicas"), int):
        return {"replicas": detail["replicas"]}
    new = detail.get("new")
    if action_type == "kubernetes.hpa_patch" and isinstance(new, Mapping):
        return {field: int(new[key]) for field, key in (("minReplicas", "min_replicas"),
                                                        ("maxReplicas", "max_replicas"))
                if isinstance(new.get(key), int)}
    return None


def reverted(holds: Mapping[str, Any], live: Mapping[str, Any]) -> str | None:
    """What no longer holds, e.g. "replicas is 3, not 5" (None: everything holds).

    Images are compared for the containers the action set only (an injected
    sidecar is not a revert).
    """
    moved: list[str] = []
    for field, value in holds.items():
        now = live.get(field)
        if isinstance(value, Mapping):
            running = now if isinstance(now, Mapping) else {}
            moved.extend(f"container {name} runs {running.get(name)}, not {image}"
                         for name, image in value.items() if running.get(name) != image)
        elif now != value:
            moved.append(f"{field} is {now}, not {value}")
    return ", ".join(moved) or None


@dataclass(frozen=True, kw_only=True)
class DriftItem:
    """One remediation whose change on the cluster git does not hold (yet)."""

    remediation_id: str
    rule: str
    action: str
    target: str
    at: str
    controller: str | None
    app: str | None
    self_heal: bool
    pr_url: str | None
    reverted: bool
    """The controller has since put git's value back (verification said so)."""

    def to_json(self, now: datetime) -> dict[str, Any]:
        at = datetime.fromisoformat(self.at)
        if at.tzinfo is None:  # SQLite keeps UTC timestamps without their zone
            at = at.replace(tzinfo=UTC)
        age = (now - at).total_seconds()
        return {**self.__dict__, "age_seconds": max(0, round(age))}


CHANGES = frozenset({"kubernetes.scale", "kubernetes.hpa_patch", "kubernetes.rollout_undo"})
"""The actions whose change git would hold (a pod deletion or a restart leaves none)."""
REVERT = "kubernetes.hpa_revert"


def drift_items(entries: Iterable[Mapping[str, Any]]) -> list[DriftItem]:
    """One item per remediation that changed a managed target; oldest entries first in.

    An action entry with `detail.gitops.mode` act (or a proposal with
    also_act) on a managed target opens an item; a later
    `reverted_by_gitops` marks it reverted; a follow-up that undid the
    change (`hpa_revert` with `reverted`) closes it; a resolved alert
    does not: the live value still differs from git.
    """
    found: dict[str, DriftItem] = {}
    for entry in entries:
        rid = entry.get("remediation_id")
        if not rid:
            continue
        if entry.get("outcome") == Outcome.REVERTED_BY_GITOPS.value and rid in found:
            found[rid] = DriftItem(**{**found[rid].__dict__, "reverted": True})
            continue
        if entry.get("action") == REVERT and (entry.get("detail") or {}).get("reverted"):
            found.pop(rid, None)  # the follow-up put the old bounds back: nothing is left
            continue
        section = (entry.get("detail") or {}).get("gitops") or {}
        if (entry.get("outcome") != Outcome.SUCCEEDED.value or entry.get("action") not in
                CHANGES or not section.get("controller") or section.get("mode") == "refuse"):
            continue
        if (entry.get("detail") or {}).get("changed") is False:
            continue
        proposal = section.get("proposal") or {}
        found[rid] = DriftItem(remediation_id=rid, rule=str(entry.get("rule") or ""),
                               action=str(entry["action"]), target=str(entry.get("target")),
                               at=str(entry["ts"]), controller=section.get("controller"),
                               app=section.get("app"), self_heal=bool(section.get("self_heal")),
                               pr_url=proposal.get("pr_url"), reverted=False)
    return list(found.values())
