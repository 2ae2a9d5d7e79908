"""Pure summaries of Kubernetes objects (plain dicts, camelCase) for the evidence document.

Only what explains a failure is kept: phases, conditions, container states,
restart counts, revisions, replica counts. Never env values, never volumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from remediator.evidence.redact import redact
from remediator.evidence.revisions import Revision

MAX_EVENTS = 20


def conditions(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{key: item.get(key) for key in ("type", "status", "reason", "lastTransitionTime")
             if item.get(key) is not None}
            | ({"message": redact(str(item["message"]), limit=200)} if item.get("message")
               else {})
            for item in status.get("conditions") or []]


def _state(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`{"state": "terminated", "reason": "OOMKilled", "exitCode": 137, ...}` or None."""
    if not state:
        return None
    for name in ("waiting", "running", "terminated"):
        detail = state.get(name)
        if detail is not None:
            out: dict[str, Any] = {"state": name}
            for key in ("reason", "exitCode", "signal", "startedAt", "finishedAt"):
                if detail.get(key) is not None:
                    out[key] = detail[key]
            if detail.get("message"):
                out["message"] = redact(str(detail["message"]), limit=200)
            return out
    return None


def containers(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for kind, key in (("init", "initContainerStatuses"), ("app", "containerStatuses")):
        for item in status.get(key) or []:
            entry: dict[str, Any] = {"name": item.get("name"), "image": item.get("image"),
                                     "ready": item.get("ready"),
                                     "restartCount": item.get("restartCount", 0),
                                     "state": _state(item.get("state")),
                                     "lastTermination": _state(item.get("lastState"))}
            if kind == "init":
                entry["init"] = True
            found.append(entry)
    return found


def pod(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta, spec, status = (obj.get("metadata") or {}), (obj.get("spec") or {}), (
        obj.get("status") or {})
    return {"name": meta.get("name"), "namespace": meta.get("namespace"),
            "phase": status.get("phase"), "reason": status.get("reason"),
            "node": spec.get("nodeName"), "startTime": status.get("startTime"),
            "conditions": conditions(status)}


def events(items: Iterable[Mapping[str, Any]], *, kind: str, name: str) -> list[dict[str, Any]]:
    """The object's most recent events, oldest first."""
    mine = [e for e in items if (e.get("involvedObject") or {}).get("name") == name
            and (e.get("involvedObject") or {}).get("kind", kind) == kind]

    def when(event: Mapping[str, Any]) -> str:
        return str(event.get("lastTimestamp") or event.get("eventTime")
                   or (event.get("metadata") or {}).get("creationTimestamp") or "")

    return [{"type": e.get("type"), "reason": e.get("reason"), "count": e.get("count"),
             "last": when(e) or None, "message": redact(str(e.get("message") or ""), limit=300)}
            for e in sorted(mine, key=when)[-MAX_EVENTS:]]


def node(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta, spec, status = (obj.get("metadata") or {}), (obj.get("spec") or {}), (
        obj.get("status") or {})
    return {"name": meta.get("name"), "unschedulable": bool(spec.get("unschedulable")),
            "conditions": conditions(status)}


def rollout(deployment: Mapping[str, Any], current: Revision | None,
            previous: Revision | None) -> dict[str, Any]:
    """The Deployment's revision in force, when it rolled out, and the one before."""
    meta = deployment.get("metadata") or {}
    return {"name": meta.get("name"),
            "revision": current.number if current else None,
            "replicaset": current.replicaset if current else None,
            "rolledOutAt": current.created_at.isoformat() if current and current.created_at
            else None,
            "previousRevision": previous.number if previous else None,
            "previousReplicaset": previous.replicaset if previous else None}


def workload(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Spec and status of a Deployment, StatefulSet or DaemonSet, in brief."""
    meta, spec, status = (obj.get("metadata") or {}), (obj.get("spec") or {}), (
        obj.get("status") or {})
    template = (spec.get("template") or {}).get("spec") or {}
    return {"kind": obj.get("kind"), "name": meta.get("name"),
            "generation": meta.get("generation"),
            "spec": {"replicas": spec.get("replicas"), "paused": spec.get("paused"),
                     "strategy": (spec.get("strategy") or spec.get("updateStrategy") or {}
                                  ).get("type"),
                     "images": [c.get("image") for c in template.get("containers") or []]},
            "status": {key: status.get(key) for key in (
                "observedGeneration", "replicas", "readyReplicas", "updatedReplicas",
                "availableReplicas", "unavailableReplicas", "currentReplicas",
                "desiredNumberScheduled", "numberReady", "numberUnavailable")
                if status.get(key) is not None} | {"conditions": conditions(status)}}


def hpa(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta, spec, status = (obj.get("metadata") or {}), (obj.get("spec") or {}), (
        obj.get("status") or {})
    ref = spec.get("scaleTargetRef") or {}
    return {"kind": "HorizontalPodAutoscaler", "name": meta.get("name"),
            "spec": {"minReplicas": spec.get("minReplicas"),
                     "maxReplicas": spec.get("maxReplicas"),
                     "target": f"{ref.get('kind')}/{ref.get('name')}",
                     "metrics": [m.get("type") for m in spec.get("metrics") or []]},
            "status": {"currentReplicas": status.get("currentReplicas"),
                       "desiredReplicas": status.get("desiredReplicas"),
                       "lastScaleTime": status.get("lastScaleTime"),
                       "conditions": conditions(status)}}
