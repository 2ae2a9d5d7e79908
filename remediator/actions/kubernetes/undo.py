"""`kubernetes.rollout_undo`: roll a Deployment back to its previous revision.

As `kubectl rollout undo` does: the previous ReplicaSet's pod template
(without its pod-template-hash label) replaces the Deployment's, and the
ReplicaSet's annotations come along. It is a JSON merge patch that nulls what
the old template lacks (so it replaces, not merges), carrying the
resourceVersion it read: a concurrent change is a 409, never lost.

The history is read from the ReplicaSets that match the Deployment's selector
(at most `revisions.REPLICASET_LIMIT`, and only those it owns count), not
from every ReplicaSet of the namespace. A retry after a 409 must find the
revision and pod template the first attempt saw: if someone shipped a fix
meanwhile, "the previous revision" is now the broken one, and it refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient, AppsV1Api

from remediator.actions.kubernetes.client import Deadline, Operation, call, namespace_of, write
from remediator.evidence import revisions
from remediator.model.actions import (
    ActionError,
    ActionRequest,
    ActionResult,
    Observed,
    TargetChanged,
)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def observe(deployment: dict[str, Any]) -> Observed:
    """What a rollback is based on: the revision in force and its pod template."""
    meta = deployment.get("metadata") or {}
    return Observed(values={"revision": revisions.revision_of(deployment),
                            "template": revisions.template_digest(deployment)},
                    resource_version=meta.get("resourceVersion"))


class RolloutUndoAction:
    """Roll back one revision; refuse without a previous one, or when the current one
    is older than `max_age` (then the rollout is not what just broke)."""

    def __init__(self, api_client: ApiClient, *, clock: Clock = _utcnow) -> None:
        self._apps = AppsV1Api(api_client)
        self._clock = clock

    async def run(self, request: ActionRequest) -> ActionResult:
        if request.kind != "deployment":
            raise ActionError(f"cannot roll back a {request.kind!r}")
        namespace, name, deadline = namespace_of(request), request.name, Deadline(request.timeout)
        what = f"deployment {namespace}/{name}"
        deployment = await self._deployment(namespace, name, deadline)
        seen = observe(deployment)
        TargetChanged.unless_same(what, request.expected, seen)
        replicasets = await self._replicasets(namespace, name, deployment, deadline)
        history = revisions.history(deployment, replicasets)
        current, previous = revisions.current_and_previous(deployment, history)
        detail: dict[str, Any] = {
            "from_revision": current.number if current else revisions.revision_of(deployment),
            "revisions": [r.number for r in history]}
        if current is None or previous is None:
            raise ActionError(f"refused: {what} has no previous revision to roll back to "
                              f"(revisions: {detail['revisions'] or 'none'})", detail=detail)
        max_age = float(request.params.get("max_age", 3600))
        age = (self._clock() - current.created_at).total_seconds() if current.created_at else None
        detail.update(to_revision=previous.number, to_replicaset=previous.replicaset,
                      from_replicaset=current.replicaset, current_age_seconds=age)
        if age is None or age >= max_age:
            shown = "unknown" if age is None else f"{age:.0f}s"
            raise ActionError(f"refused: {what} revision {current.number} is {shown} old, "
                              f"not younger than max_age {max_age:g}s", detail=detail)
        source = next(rs for rs in replicasets
                      if (rs.get("metadata") or {}).get("name") == previous.replicaset)
        body = _undo_patch(deployment, source, previous)
        detail["images"] = revisions.images(revisions.undo_template(previous))  # verify.after
        operation = Operation(verb="patch", resource="deployments", namespace=namespace,
                              name=name)
        await write(operation, deadline, lambda timeout: self._apps.patch_namespaced_deployment(
            name, namespace, body, _request_timeout=timeout,
            _content_type="application/merge-patch+json"), seen)
        return ActionResult(message=f"rolled back {what} from revision {current.number} to "
                                    f"revision {previous.number} ({previous.replicaset})",
                            detail=detail, observed=seen)

    async def _deployment(self, namespace: str, name: str,
                          deadline: Deadline) -> dict[str, Any]:
        reading = Operation(verb="get", resource="deployments", namespace=namespace, name=name)
        return await call(reading, deadline, lambda timeout: _json(
            self._apps.read_namespaced_deployment(name, namespace, _request_timeout=timeout,
                                                  _preload_content=False)))

    async def _replicasets(self, namespace: str, name: str, deployment: dict[str, Any],
                           deadline: Deadline) -> list[dict[str, Any]]:
        """The ReplicaSets matching the Deployment's selector, all of them or a refusal.

        A history cut at the limit could name the wrong "previous" revision.
        """
        selector = revisions.label_selector(deployment)
        if selector is None:
            raise ActionError(f"refused: deployment {namespace}/{name} has no selector")
        listing = Operation(verb="list", resource="replicasets", namespace=namespace, name="")
        listed = await call(listing, deadline, lambda timeout: _json(
            self._apps.list_namespaced_replica_set(
                namespace, label_selector=selector, limit=revisions.REPLICASET_LIMIT,
                _request_timeout=timeout, _preload_content=False)))
        if revisions.truncated(listed):
            raise ActionError(f"refused: more than {revisions.REPLICASET_LIMIT} ReplicaSets "
                              f"match {selector!r} in {namespace}; the history of deployment "
                              f"{name} would be incomplete")
        return list(listed.get("items") or [])


def _undo_patch(deployment: dict[str, Any], source: dict[str, Any],
                previous: revisions.Revision) -> dict[str, Any]:
    """The merge patch that puts `previous` back, locked to the resourceVersion read."""
    meta = deployment.get("metadata") or {}
    patch = revisions.replacing(
        {"metadata": {"annotations": meta.get("annotations") or {}},
         "spec": {"template": (deployment.get("spec") or {}).get("template") or {}}},
        {"metadata": {"annotations": revisions.undo_annotations(deployment, source)},
         "spec": {"template": revisions.undo_template(previous)}})
    # The resourceVersion is the optimistic lock (the patch has its own metadata).
    return {**patch, "metadata": {**patch["metadata"],
                                  "resourceVersion": meta.get("resourceVersion")}}


def _json(response: Any) -> dict[str, Any]:
    """A raw client response parsed as a JSON object (no model validation).

    Called in the request's thread: it reads the body and gives the
    connection back to the pool (a raw response otherwise keeps it).
    """
    try:
        data = json.loads(response.data)
    except ValueError:
        raise ActionError("the API server sent invalid JSON", transient=True) from None
    finally:
        response.release_conn()
    if not isinstance(data, dict):
        raise ActionError("the API server sent an unexpected answer", transient=True)
    return data
