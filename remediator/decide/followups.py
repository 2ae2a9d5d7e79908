"""Which follow-ups to run when an alert resolves. Pure.

A ladder can change one object twice: (2,5) -> (2,6) by the first step,
(2,6) -> (2,7) by the second. Each step remembers its own revert, and run
oldest-first (or at once, concurrently) the first finds bounds it did not
set and leaves them, so the HPA ends at (2,6). Reverts of one object are
merged into one: back to the oldest step's original bounds, expecting what
the newest step set.
"""

from __future__ import annotations

from collections.abc import Sequence

from remediator.model.actions import ActionRequest

_MERGEABLE = "kubernetes.hpa_revert"


def merged(steps: Sequence[tuple[str, Sequence[ActionRequest]]]) -> list[tuple[str, ActionRequest]]:
    """(remediation id, follow-up) pairs to run, from steps given oldest first.

    A merged revert belongs to the newest remediation that contributed to it.
    """
    out: list[tuple[str, ActionRequest]] = []
    reverts: dict[tuple[str, str | None, str], tuple[str, ActionRequest]] = {}
    for remediation_id, followups in steps:
        for request in followups:
            if request.type != _MERGEABLE:
                out.append((remediation_id, request))
                continue
            target = (request.kind, request.namespace, request.name)
            previous = reverts.get(target)
            if previous is None:
                reverts[target] = (remediation_id, request)
                continue
            oldest = previous[1].params
            params = {**request.params, "min_replicas": oldest["min_replicas"],
                      "max_replicas": oldest["max_replicas"]}
            reverts[target] = (remediation_id, ActionRequest(
                type=request.type, kind=request.kind, namespace=request.namespace,
                name=request.name, params=params, timeout=request.timeout))
    return out + list(reverts.values())
