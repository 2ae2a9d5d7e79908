"""The demo's small cluster, as the API server would store it: plain dicts, no I/O.

Two namespaces matching the demo rules: `apps-shop` holds `cart` (three
crash-looping pods; a restart cures them, the database they lost came back)
with its HPA pinned at its maximum, and `checkout`, whose rollout of 2.4.0
is stuck (its new pod crashes on a missing setting, the old pods still
serve); `apps-stream` holds `encoder`, near its memory limit. Pod logs and
events say the same story the container statuses do, so the evidence reads
like a real incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from remediator.evidence.revisions import REVISION, TEMPLATE_HASH

PODS = "v1/pods"
EVENTS = "v1/events"
NODES = "v1/nodes"
NAMESPACES = "v1/namespaces"
DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
HPAS = "autoscaling/v2/horizontalpodautoscalers"

SHOP = "apps-shop"
STREAM = "apps-stream"
NODE_NAMES = ("demo-worker-1", "demo-worker-2")

CART_HASH = "7d9f8b6c5d"
CART_PODS = ("cart-7d9f8b6c5d-x2kq9", "cart-7d9f8b6c5d-m4wz7", "cart-7d9f8b6c5d-p8rt2")
"""`x2kq9` is the pod of examples/alerts.json: left for the reader to remediate."""
CHECKOUT_NEW = "6b7f9c8d4"
CHECKOUT_OLD = "59d8c7b6f"
BROKEN_IMAGES = frozenset({"registry.example.org/checkout:2.4.0"})
"""Pods of these images crash whenever they start (the demo's controller knows)."""

CART_LOG = """\
{0} INFO  cart starting, version 1.8.2
{0} INFO  connecting to postgres at cart-db.apps-shop.svc:5432
{1} WARN  connection pool: server closed the connection unexpectedly
{1} WARN  retrying in 1s (attempt 5/5), password=s3cr3t-in-a-log-line
{2} ERROR connection pool exhausted: all 5 connections are stale
{2} FATAL health check failed: database unavailable, exiting
"""
CHECKOUT_LOG = """\
{0} INFO  checkout starting, version 2.4.0
{1} INFO  loading configuration from /etc/checkout/config.yaml
panic: config: required key payments.endpoint is missing

goroutine 1 [running]:
main.mustLoadConfig(...)
\t/src/cmd/checkout/main.go:57 +0x1c5
"""


def log_text(template: str, finished: datetime) -> str:
    """A previous container's log ending when it terminated (`{0}`..`{2}`: its times)."""
    return template.format(*(stamp(finished - timedelta(seconds=s)) for s in (10, 5, 0)))


@dataclass(frozen=True)
class Crash:
    """How a crash-looping container last ended."""

    restarts: int
    reason: str
    exit_code: int
    finished: datetime


@dataclass
class Scene:
    """Objects keyed as kmock stores them (resource, namespace, name) and pod logs."""

    objects: dict[tuple[str, str | None, str], dict[str, Any]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)

    def add(self, resource: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[resource, meta.get("namespace"), meta["name"]] = obj


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(now: datetime) -> Scene:
    """The cluster as it is when the demo starts (`now`: the service's clock)."""
    scene = Scene()
    for name in (SHOP, STREAM):
        scene.add(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": name, "labels": {"team": "shop"}},
                               "status": {"phase": "Active"}})
    for name in NODE_NAMES:
        scene.add(NODES, node(name))
    _cart(scene, now)
    _checkout(scene, now)
    _encoder(scene, now)
    return scene


def node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {}, "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False",
                 "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def template(app: str, image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": app, "image": image,
                                     "resources": {"limits": {"memory": "512Mi"}}}]}}


def deployment(namespace: str, name: str, *, replicas: int, image: str, revision: int,
               created: datetime) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                         "resourceVersion": "1", "creationTimestamp": stamp(created),
                         "annotations": {REVISION: str(revision)}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate"}, "progressDeadlineSeconds": 600,
                     "template": template(name, image)},
            "status": {"replicas": replicas, "readyReplicas": replicas,
                       "updatedReplicas": replicas, "observedGeneration": 1,
                       "conditions": [
                           {"type": "Available", "status": "True",
                            "reason": "MinimumReplicasAvailable"},
                           {"type": "Progressing", "status": "True",
                            "reason": "NewReplicaSetAvailable"}]}}


def replicaset(namespace: str, owner: str, pod_hash: str, *, image: str, revision: int,
               created: datetime, replicas: int) -> dict[str, Any]:
    labelled = template(owner, image)
    labelled["metadata"]["labels"][TEMPLATE_HASH] = pod_hash
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{owner}-{pod_hash}", "namespace": namespace,
                         "creationTimestamp": stamp(created),
                         "labels": {"app": owner, TEMPLATE_HASH: pod_hash},
                         "annotations": {REVISION: str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": owner, "uid": f"uid-{owner}",
                                              "controller": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": owner}},
                     "template": labelled}}


def pod(namespace: str, name: str, *, replicaset: str, image: str, node_name: str,
        started: datetime, crash: Crash | None = None) -> dict[str, Any]:
    """A pod of `replicaset`: running and ready, or crash-looping as `crash` says."""
    app = replicaset.rsplit("-", 1)[0]
    container: dict[str, Any] = {"name": app, "image": image, "imageID": "", "ready": True,
                                 "restartCount": 0,
                                 "state": {"running": {"startedAt": stamp(started)}}}
    ready = "True"
    if crash is not None:
        ready = "False"
        container.update(ready=False, restartCount=crash.restarts,
                         state={"waiting": {"reason": "CrashLoopBackOff",
                                            "message": "back-off 5m0s restarting failed "
                                                       f"container={app} pod={name}"}},
                         lastState={"terminated": {
                             "reason": crash.reason, "exitCode": crash.exit_code,
                             "startedAt": stamp(crash.finished - timedelta(seconds=10)),
                             "finishedAt": stamp(crash.finished)}})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                         "creationTimestamp": stamp(started),
                         "labels": {"app": app, TEMPLATE_HASH: replicaset.rsplit("-", 1)[1]},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": replicaset, "uid": f"uid-{replicaset}",
                                              "controller": True}]},
            "spec": {"nodeName": node_name,
                     "containers": [{"name": app, "image": image}]},
            "status": {"phase": "Running", "startTime": stamp(started),
                       "conditions": [{"type": "Ready", "status": ready,
                                       **({} if crash is None else
                                          {"reason": "ContainersNotReady"})}],
                       "containerStatuses": [container]}}


def event(namespace: str, kind: str, name: str, reason: str, message: str, *,
          when: datetime, count: int = 1, warning: bool = True) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{reason.lower()}", "namespace": namespace},
            "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
            "type": "Warning" if warning else "Normal", "reason": reason, "message": message,
            "count": count, "firstTimestamp": stamp(when - timedelta(minutes=14)),
            "lastTimestamp": stamp(when)}


def _cart(scene: Scene, now: datetime) -> None:
    image = "registry.example.org/cart:1.8.2"
    created = now - timedelta(days=6)
    scene.add(DEPLOYMENTS, deployment(SHOP, "cart", replicas=3, image=image, revision=7,
                                      created=created - timedelta(days=30)))
    scene.objects[DEPLOYMENTS, SHOP, "cart"]["status"].update(readyReplicas=0)
    scene.add(REPLICASETS, replicaset(SHOP, "cart", CART_HASH, image=image, revision=7,
                                      created=created, replicas=3))
    for index, name in enumerate(CART_PODS):
        crash = Crash(restarts=6 + index, reason="Error", exit_code=1,
                      finished=now - timedelta(seconds=40 + 25 * index))
        scene.add(PODS, pod(SHOP, name, replicaset=f"cart-{CART_HASH}", image=image,
                            node_name=NODE_NAMES[index % 2], started=created, crash=crash))
        scene.logs[name] = log_text(CART_LOG, crash.finished)
        scene.add(EVENTS, event(SHOP, "Pod", name, "BackOff",
                                f"Back-off restarting failed container cart in pod {name}",
                                when=now - timedelta(seconds=20 * index), count=6 + index))
        scene.add(EVENTS, event(SHOP, "Pod", name, "Unhealthy",
                                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                                when=now - timedelta(seconds=60 + 20 * index), count=18))
    scene.add(HPAS, {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "cart", "namespace": SHOP, "resourceVersion": "1"},
        "spec": {"minReplicas": 2, "maxReplicas": 6,
                 "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "cart"},
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization",
                                               "averageUtilization": 70}}}]},
        "status": {"currentReplicas": 6, "desiredReplicas": 6,
                   "currentMetrics": [{"type": "Resource", "resource": {
                       "name": "cpu", "current": {"averageUtilization": 94}}}],
                   "conditions": [{"type": "ScalingLimited", "status": "True",
                                   "reason": "TooManyReplicas",
                                   "message": "the desired replica count is more than the "
                                              "maximum replica count"}]}})
    scene.add(EVENTS, event(SHOP, "HorizontalPodAutoscaler", "cart", "SuccessfulRescale",
                            "New size: 6; reason: cpu resource utilization (percentage of "
                            "request) above target", when=now - timedelta(minutes=9),
                            warning=False))


def _checkout(scene: Scene, now: datetime) -> None:
    old, new = ("registry.example.org/checkout:2.3.1", "registry.example.org/checkout:2.4.0")
    rolled_out = now - timedelta(minutes=12)
    deployed = deployment(SHOP, "checkout", replicas=2, image=new, revision=2,
                          created=now - timedelta(days=40))
    deployed["status"].update(readyReplicas=2, updatedReplicas=1, unavailableReplicas=1)
    deployed["status"]["conditions"][1] = {
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": f'ReplicaSet "checkout-{CHECKOUT_NEW}" has timed out progressing.'}
    scene.add(DEPLOYMENTS, deployed)
    scene.add(REPLICASETS, replicaset(SHOP, "checkout", CHECKOUT_OLD, image=old, revision=1,
                                      created=now - timedelta(days=3), replicas=2))
    scene.add(REPLICASETS, replicaset(SHOP, "checkout", CHECKOUT_NEW, image=new, revision=2,
                                      created=rolled_out, replicas=1))
    for index, suffix in enumerate(("k7pz2", "w9qd4")):
        scene.add(PODS, pod(SHOP, f"checkout-{CHECKOUT_OLD}-{suffix}",
                            replicaset=f"checkout-{CHECKOUT_OLD}", image=old,
                            node_name=NODE_NAMES[index], started=now - timedelta(days=3)))
    name = f"checkout-{CHECKOUT_NEW}-r2vxm"
    scene.add(PODS, pod(SHOP, name, replicaset=f"checkout-{CHECKOUT_NEW}", image=new,
                        node_name=NODE_NAMES[1], started=rolled_out,
                        crash=Crash(restarts=7, reason="Error", exit_code=2,
                                    finished=now - timedelta(seconds=75))))
    scene.logs[name] = log_text(CHECKOUT_LOG, now - timedelta(seconds=75))
    scene.add(EVENTS, event(SHOP, "Pod", name, "BackOff",
                            f"Back-off restarting failed container checkout in pod {name}",
                            when=now - timedelta(seconds=30), count=7))
    scene.add(EVENTS, event(SHOP, "Deployment", "checkout", "ScalingReplicaSet",
                            f"Scaled up replica set checkout-{CHECKOUT_NEW} to 1",
                            when=rolled_out, warning=False))


def _encoder(scene: Scene, now: datetime) -> None:
    image = "registry.example.org/encoder:3.2.0"
    scene.add(DEPLOYMENTS, deployment(STREAM, "encoder", replicas=2, image=image, revision=4,
                                      created=now - timedelta(days=20)))
    scene.add(REPLICASETS, replicaset(STREAM, "encoder", "5c6d7e8f9", image=image, revision=4,
                                      created=now - timedelta(days=2), replicas=2))
    for index, suffix in enumerate(("t5nb8", "h3jc6")):
        scene.add(PODS, pod(STREAM, f"encoder-5c6d7e8f9-{suffix}",
                            replicaset="encoder-5c6d7e8f9", image=image,
                            node_name=NODE_NAMES[index], started=now - timedelta(days=2)))
