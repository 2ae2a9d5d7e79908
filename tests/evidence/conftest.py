"""A real client against kmock's emulator, seeded with a crash-looping pod and its owners.

The emulator declares `pods/log` (a text answer, as the API server gives)
and `events`, the two resources a snapshot reads besides the objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client
from remediator.actions.kubernetes.client import api_client

NAMESPACE = "apps-a"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
LOG = ("starting\nconnecting to db with password=hunter2\n"
       "Authorization: Bearer abcdefghijklmnop\npanic: out of memory\n")


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image}]}}


def deployment(name: str = "web", revision: int = 2, image: str = "web:2") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE, "uid": f"uid-{name}",
                         "resourceVersion": "41",
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"type": "RollingUpdate"}, "template": template(image)},
            "status": {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2,
                       "conditions": [{"type": "Available", "status": "True"}]}}


def replicaset(name: str, revision: int, created: datetime, image: str,
               owner: str = "web") -> dict[str, Any]:
    labelled = template(image)
    labelled["metadata"]["labels"]["pod-template-hash"] = name.rsplit("-", 1)[-1]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "creationTimestamp": stamp(created),
                         "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                         "note": f"revision {revision}"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": owner, "uid": f"uid-{owner}",
                                              "controller": True}]},
            "spec": {"replicas": 2, "template": labelled}}


def crashlooping_pod(name: str = "web-b2-x1", *, replicaset: str = "web-b2",
                     node: str = "n1", reason: str = "OOMKilled",
                     exit_code: int = 137) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": replicaset, "uid": "uid-rs", "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "web", "image": "web:2"}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "False",
                                       "reason": "ContainersNotReady"}],
                       "containerStatuses": [{
                           "name": "web", "image": "web:2", "imageID": "", "ready": False, "restartCount": 5,
                           "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                           "lastState": {"terminated": {"reason": reason,
                                                        "exitCode": exit_code,
                                                        "finishedAt": stamp(NOW)}}}]}}


def node(name: str = "n1", ready: str = "True") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {}, "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": ready, "reason": "KubeletReady"}]}}


def event(name: str, kind: str, obj: str, reason: str, message: str,
          when: datetime = NOW) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "involvedObject": {"kind": kind, "name": obj, "namespace": NAMESPACE},
            "type": "Warning", "reason": reason, "message": message, "count": 3,
            "lastTimestamp": stamp(when)}


class Seeded:
    def __init__(self, emulator: kmock.KubernetesEmulator) -> None:
        self.emulator = emulator

    def add(self, resource: str, obj: dict[str, Any]) -> None:
        namespace = obj["metadata"].get("namespace")
        self.emulator.objects[resource, namespace, obj["metadata"]["name"]] = obj

    def rollout(self, *, rolled_out: datetime, previous: datetime | None = None) -> None:
        """web at revision 2 (rolled out at `rolled_out`), revision 1 before it if given."""
        self.add("apps/v1/deployments", deployment())
        self.add("apps/v1/replicasets", replicaset("web-b2", 2, rolled_out, "web:2"))
        if previous is not None:
            self.add("apps/v1/replicasets", replicaset("web-a1", 1, previous, "web:1"))

    def scene(self) -> None:
        """A crash-looping pod of a Deployment rolled out 5 minutes before NOW."""
        self.rollout(rolled_out=NOW - timedelta(minutes=5), previous=NOW - timedelta(days=3))
        self.add("v1/pods", crashlooping_pod())
        self.add("v1/nodes", node())
        self.add("v1/events", event("e1", "Pod", "web-b2-x1", "BackOff",
                                    "Back-off restarting failed container web"))
        self.add("v1/events", event("e2", "Pod", "other-pod", "BackOff", "not ours"))


def declare_logs(emulator: kmock.KubernetesEmulator, text: str = LOG) -> None:
    emulator.resources["v1/pods"] = kmock.ResourceInfo(
        kind="Pod", namespaced=True, verbs={"get", "list"}, subresources={"log"})
    emulator.resources["v1/events"] = kmock.ResourceInfo(
        kind="Event", namespaced=True, verbs={"get", "list"})
    emulator["get", kmock.resource("v1/pods"), kmock.subresource("log")] << kmock.text(text)


@pytest.fixture
def seeded(kmock: kmock.KubernetesEmulator) -> Seeded:
    return Seeded(kmock)


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=str(kmock.url).rstrip("/")))
    yield built
    close_api_client(built)
