"""A Deployment's rollout history, read from its ReplicaSets (pure functions over dicts).

The Deployment controller numbers revisions in the
`deployment.kubernetes.io/revision` annotation of each ReplicaSet it owns
and of the Deployment itself; `kubectl rollout history` and `rollout undo`
read exactly this. Both the evidence snapshot and `kubernetes.rollout_undo`
use these helpers, so they agree on which revision is current and previous.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
# Annotations `kubectl rollout undo` keeps from the Deployment rather than the ReplicaSet.
KEEP_ON_UNDO = frozenset({
    REVISION, "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
    "kubectl.kubernetes.io/last-applied-configuration"})

REPLICASET_LIMIT = 100
"""At most this many ReplicaSets are read for one Deployment's history. Only those
matching its selector are asked for (the controller keeps revisionHistoryLimit,
10 by default, plus the current one), never every ReplicaSet of the namespace."""

_SELECTOR_OPERATORS = {"In": "in", "NotIn": "notin"}


@dataclass(frozen=True)
class Revision:
    number: int
    replicaset: str
    created_at: datetime | None
    template: Mapping[str, Any]


def revision_of(obj: Mapping[str, Any]) -> int | None:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def label_selector(deployment: Mapping[str, Any]) -> str | None:
    """The Deployment's `spec.selector` as a list call's labelSelector (None: it has none).

    Its ReplicaSets carry these labels (plus a pod-template-hash); others may too,
    so `history` still checks the owner reference.
    """
    selector = (deployment.get("spec") or {}).get("selector") or {}
    terms = [f"{key}={value}" for key, value in sorted(
        (selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(sorted(expression.get("values") or []))
        if operator in _SELECTOR_OPERATORS:
            terms.append(f"{key} {_SELECTOR_OPERATORS[operator]} ({values})")
        elif operator in {"Exists", "DoesNotExist"}:
            terms.append(key if operator == "Exists" else f"!{key}")
    return ",".join(terms) or None


def truncated(listed: Mapping[str, Any]) -> bool:
    """Whether a list answer stopped at its `limit` with more to come."""
    return bool((listed.get("metadata") or {}).get("continue"))


def template_digest(deployment: Mapping[str, Any]) -> str:
    """A short digest of the Deployment's pod template: changes when anyone edits it."""
    template = (deployment.get("spec") or {}).get("template") or {}
    text = json.dumps(template, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def owned_by(obj: Mapping[str, Any], kind: str, name: str, uid: str | None = None) -> bool:
    """Whether `obj`'s controller owner reference is this `kind`/`name` (and uid, if known)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("name") == name and (
                uid is None or ref.get("uid") in (None, uid)):
            return True
    return False


def history(deployment: Mapping[str, Any],
            replicasets: Iterable[Mapping[str, Any]]) -> list[Revision]:
    """The Deployment's revisions, oldest first (one per owned ReplicaSet with a number)."""
    meta = deployment.get("metadata") or {}
    found: list[Revision] = []
    for rs in replicasets:
        number = revision_of(rs)
        if number is None or not owned_by(rs, "Deployment", meta.get("name", ""),
                                           meta.get("uid")):
            continue
        rs_meta = rs.get("metadata") or {}
        found.append(Revision(number, str(rs_meta.get("name", "")),
                              _time(rs_meta.get("creationTimestamp")),
                              (rs.get("spec") or {}).get("template") or {}))
    return sorted(found, key=lambda r: r.number)


def current_and_previous(deployment: Mapping[str, Any], revisions: list[Revision],
                         ) -> tuple[Revision | None, Revision | None]:
    """The revision in force and the one before it (what `rollout undo` goes back to)."""
    number = revision_of(deployment)
    if number is None and revisions:
        number = revisions[-1].number
    current = next((r for r in revisions if r.number == number), None)
    older = [r for r in revisions if number is not None and r.number < number]
    return current, (older[-1] if older else None)


def undo_template(revision: Revision) -> dict[str, Any]:
    """The previous pod template as the Deployment should carry it (no template hash)."""
    template = {key: value for key, value in revision.template.items()}
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != TEMPLATE_HASH}
    template["metadata"] = {**meta, "labels": labels}
    return template


def images(template: Mapping[str, Any]) -> dict[str, str]:
    """The image of each container of a pod template, by container name."""
    spec = template.get("spec") if isinstance(template, Mapping) else None
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    return {str(c["name"]): str(c["image"]) for c in containers or ()
            if isinstance(c, Mapping) and c.get("name") and c.get("image")}


def undo_annotations(deployment: Mapping[str, Any],
                     replicaset: Mapping[str, Any]) -> dict[str, str]:
    """Annotations after an undo, as kubectl computes them."""
    ours = (deployment.get("metadata") or {}).get("annotations") or {}
    theirs = (replicaset.get("metadata") or {}).get("annotations") or {}
    kept = {k: v for k, v in ours.items() if k in KEEP_ON_UNDO}
    return {**kept, **{k: v for k, v in theirs.items() if k not in KEEP_ON_UNDO}}


def replacing(current: Any, target: Any) -> Any:
    """A JSON merge patch (RFC 7386) that turns `current` into exactly `target`.

    Merge patches merge maps, so keys that `target` lacks are set to null
    (deleted); lists and scalars are replaced whole.
    """
    if not isinstance(target, Mapping) or not isinstance(current, Mapping):
        return target
    patch = {key: replacing(current.get(key), value) for key, value in target.items()}
    patch.update({key: None for key in current if key not in target})
    return patch


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def parse_time(value: Any) -> datetime | None:
    """A Kubernetes timestamp (RFC 3339 string or datetime) or None."""
    return _time(value)
