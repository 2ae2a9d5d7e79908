"""What the cluster's controllers would do, just enough for the demo to react.

A deleted pod of a Deployment is replaced by a new, healthy one (unless its
image is one of the scene's broken images); a changed pod template (a
rollback, a restart) rolls out: the ReplicaSet with that template becomes
current (created with the next revision number when there is none), its
pods start, and old pods go once the new ones are ready, as a RollingUpdate
with `maxUnavailable: 0` does. A rollout whose new pods never become ready
stays stuck, as `checkout` is at the start. Pure logic over `Objects`: the
emulator runs it on its own event loop between requests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from remediator.demo import scene
from remediator.evidence.revisions import REVISION, TEMPLATE_HASH, revision_of


class Objects(Protocol):
    """The emulator's stored objects, as plain dicts."""

    def live(self, resource: str) -> list[dict[str, Any]]: ...
    def put(self, resource: str, obj: dict[str, Any]) -> None: ...
    def remove(self, resource: str, namespace: str, name: str) -> None: ...


def reconcile(objects: Objects, now: datetime,
              suffix: Callable[[], str] = lambda: secrets.token_hex(3)[:5]) -> None:
    """One pass over every Deployment; changes only what is out of line."""
    replicasets = objects.live(scene.REPLICASETS)
    pods = objects.live(scene.PODS)
    for deployment in objects.live(scene.DEPLOYMENTS):
        _Rollout(objects, deployment, now, suffix).run(replicasets, pods)


class _Rollout:
    def __init__(self, objects: Objects, deployment: dict[str, Any], now: datetime,
                 suffix: Callable[[], str]) -> None:
        self.objects = objects
        self.deployment = deployment
        self.meta = deployment["metadata"]
        self.name = str(self.meta["name"])
        self.namespace = str(self.meta["namespace"])
        self.now = now
        self.suffix = suffix

    def run(self, replicasets: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        owned = [rs for rs in replicasets if rs["metadata"]["namespace"] == self.namespace
                 and _owner(rs) == self.name]
        current = self._current(owned)
        pod_hash = current["metadata"]["labels"][TEMPLATE_HASH]
        mine = [p for p in pods if p["metadata"]["namespace"] == self.namespace
                and (p["metadata"].get("labels") or {}).get("app") == self.name]
        new = [p for p in mine if p["metadata"]["labels"].get(TEMPLATE_HASH) == pod_hash]
        old = [p for p in mine if p not in new]
        wanted = int(self.deployment["spec"].get("replicas", 1))
        ready = sum(1 for p in new if _ready(p))
        while old and ready + len(old) > wanted:
            gone = old.pop()
            self.objects.remove(scene.PODS, self.namespace, gone["metadata"]["name"])
        if len(new) < wanted and len(new) + len(old) <= wanted:
            new.append(self._start(current))
        self._status(wanted, new, old)

    def _current(self, owned: list[dict[str, Any]]) -> dict[str, Any]:
        """The ReplicaSet whose template is the Deployment's, the newest revision."""
        template = _without_hash(self.deployment["spec"]["template"])
        newest = max((revision_of(rs) or 0 for rs in owned), default=0)
        for rs in owned:
            if _without_hash(rs["spec"]["template"]) == template:
                if (revision_of(rs) or 0) < newest:  # rolled back: it is the newest again
                    rs["metadata"]["annotations"][REVISION] = str(newest + 1)
                    self._revision(newest + 1)
                    self.objects.put(scene.REPLICASETS, rs)
                return rs
        image = template["spec"]["containers"][0]["image"]
        created = scene.replicaset(self.namespace, self.name, self.suffix() + "f4",
                                   image=image, revision=newest + 1, created=self.now,
                                   replicas=int(self.deployment["spec"].get("replicas", 1)))
        created["spec"]["template"] = _with_hash(template, created["metadata"]["labels"])
        self.objects.put(scene.REPLICASETS, created)
        self._revision(newest + 1)
        return created

    def _revision(self, number: int) -> None:
        self.meta.setdefault("annotations", {})[REVISION] = str(number)
        self.objects.put(scene.DEPLOYMENTS, self.deployment)

    def _start(self, replicaset: dict[str, Any]) -> dict[str, Any]:
        image = replicaset["spec"]["template"]["spec"]["containers"][0]["image"]
        crash = None
        if image in scene.BROKEN_IMAGES:
            crash = scene.Crash(restarts=1, reason="Error", exit_code=2, finished=self.now)
        started = scene.pod(self.namespace, f"{replicaset['metadata']['name']}-{self.suffix()}",
                            replicaset=replicaset["metadata"]["name"], image=image,
                            node_name=scene.NODE_NAMES[0], started=self.now, crash=crash)
        self.objects.put(scene.PODS, started)
        return started

    def _status(self, wanted: int, new: list[dict[str, Any]],
                old: list[dict[str, Any]]) -> None:
        status = self.deployment.setdefault("status", {})
        ready = sum(1 for p in new + old if _ready(p))
        done = not old and len(new) == wanted and all(_ready(p) for p in new)
        conditions = [c for c in status.get("conditions", []) if c.get("type") != "Progressing"]
        progressing = ({"type": "Progressing", "status": "True",
                        "reason": "NewReplicaSetAvailable"} if done else
                       next((c for c in status.get("conditions", [])
                             if c.get("type") == "Progressing"), None))
        changed = {"replicas": len(new) + len(old), "readyReplicas": ready,
                   "updatedReplicas": len(new),
                   "conditions": conditions + ([progressing] if progressing else [])}
        if any(status.get(key) != value for key, value in changed.items()):
            status.update(changed)
            self.objects.put(scene.DEPLOYMENTS, self.deployment)


def progressing(deployment: dict[str, Any]) -> bool:
    """False while the Deployment's rollout is stuck (Progressing=False)."""
    return not any(c.get("type") == "Progressing" and c.get("status") == "False"
                   for c in (deployment.get("status") or {}).get("conditions", []))


def _owner(obj: dict[str, Any]) -> str | None:
    refs = obj["metadata"].get("ownerReferences") or []
    return next((str(r.get("name")) for r in refs if r.get("controller")), None)


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions", []))


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    meta = dict(template.get("metadata") or {})
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if k != TEMPLATE_HASH}
    return {**template, "metadata": meta}


def _with_hash(template: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    meta = dict(template.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), TEMPLATE_HASH: labels[TEMPLATE_HASH]}
    return {**template, "metadata": meta}
