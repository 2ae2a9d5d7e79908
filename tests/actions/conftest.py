"""Fixtures for the Kubernetes actions: a real client against kmock's emulator.

The emulator is an aiohttp server on a loopback port inside the test's event
loop; the client is synchronous, and the actions run it in a thread
(`asyncio.to_thread`), so the loop keeps serving while a call is in flight.
Nothing of the client is patched: every request crosses real HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import api_client
from remediator.model.abc import Action

NAMESPACE = "apps-a"
TOKEN = "s3cr3t-bearer-token"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

PODS = "v1/pods"
HPAS = "autoscaling/v2/horizontalpodautoscalers"
WORKLOADS = {
    "deployment": "apps/v1/deployments",
    "statefulset": "apps/v1/statefulsets",
    "daemonset": "apps/v1/daemonsets",
}
KINDS = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset"}


def _template() -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE, "resourceVersion": "11"},
            "spec": _template()["spec"]}


def workload(kind: str, name: str, replicas: int = 2) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}}, "template": _template()}
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": NAMESPACE, "resourceVersion": "21"},
            "spec": spec}


def hpa(name: str, min_replicas: int, max_replicas: int) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NAMESPACE, "resourceVersion": "31"},
            "spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas,
                     "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name}}}


class Cluster:
    """Seeding and reading the emulator's stored objects, by our vocabulary."""

    def __init__(self, emulator: kmock.KubernetesEmulator) -> None:
        self.emulator = emulator

    def add(self, obj: dict[str, Any]) -> None:
        kind = obj["kind"]
        resource = PODS if kind == "Pod" else HPAS if kind.startswith("Horizontal") else (
            WORKLOADS[KINDS[kind]])
        self.emulator.objects[resource, NAMESPACE, obj["metadata"]["name"]] = obj

    def get(self, resource: str, name: str) -> dict[str, Any]:
        stored = self.emulator.objects[resource, NAMESPACE, name]
        assert not stored.deleted, f"{resource} {name} was deleted"
        plain: dict[str, Any] = _plain(stored)
        return plain

    def exists(self, resource: str, name: str) -> bool:
        return not self.emulator.objects[resource, NAMESPACE, name].deleted


def requests(view: kmock.View) -> list[kmock.Request]:
    """The requests a kmock view (a filter like `kmock["patch"]`) has seen, typed."""
    return list(view)


def _plain(value: Any) -> Any:
    """Unwrap kmock's pattern-matching views into plain dicts for exact asserts."""
    if isinstance(value, Mapping):
        return {key: _plain(value[key]) for key in value}
    return value


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator) -> Cluster:
    return Cluster(kmock)


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    """A client as production builds it, with a token that must never leak."""
    configuration = Configuration(host=str(kmock.url).rstrip("/"),
                                  api_key={"BearerToken": TOKEN},
                                  api_key_prefix={"BearerToken": "Bearer"})
    built = api_client(configuration)
    yield built
    close_api_client(built)


@pytest.fixture
def actions(client: ApiClient) -> dict[str, Action]:
    return kubernetes_actions(client, clock=lambda: NOW)


@pytest.fixture
async def gate(kmock: kmock.KubernetesEmulator) -> AsyncIterator[asyncio.Event]:
    """Hold a response until the test ends: a server slower than any timeout, no sleeps.

    Set before the emulator shuts down, so its pending handler finishes.
    """
    event = asyncio.Event()
    yield event
    event.set()
