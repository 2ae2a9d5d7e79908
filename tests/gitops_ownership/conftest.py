"""Argo CD and Flux objects in kmock's emulator, read through the official client.

The emulator stores any group/version/plural, so the controllers' custom
resources are seeded like Deployments; nothing of the client is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import api_client
from remediator.model.abc import Action

NS = "shop"
REPO = "https://git.example.com/platform/apps.git"
APPS = "argoproj.io/v1alpha1/applications"
KUSTOMIZATIONS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
HELMRELEASES = "helm.toolkit.fluxcd.io/v2/helmreleases"
GITREPOS = "source.toolkit.fluxcd.io/v1/gitrepositories"
DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
PODS = "v1/pods"
HPAS = "autoscaling/v2/horizontalpodautoscalers"


def deployment(name: str = "web", *, labels: dict[str, str] | None = None,
               annotations: dict[str, str] | None = None, replicas: int = 2) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS, "labels": labels or {},
                         "annotations": annotations or {}, "resourceVersion": "5"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name,
                                                           "image": "shop/web:1.1"}]}}}}


def owned(kind: str, name: str, owner_kind: str, owner: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": NS, "resourceVersion": "3",
                         "ownerReferences": [{"kind": owner_kind, "name": owner,
                                              "controller": True, "apiVersion": "apps/v1",
                                              "uid": "u"}]},
            "kind": kind, "spec": {}}


def application(name: str = "shop-web", *, self_heal: bool = True,
                chart: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"repoURL": REPO, "targetRevision": "main"}
    source.update({"chart": chart} if chart else {"path": "apps/web"})
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"source": source, "destination": {"namespace": NS},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": self_heal}}},
            "status": {"sync": {"status": "Synced"}}}


def kustomization(name: str = "apps", *, suspend: bool = False) -> dict[str, Any]:
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"path": "./clusters/prod/shop", "suspend": suspend, "interval": "5m",
                     "sourceRef": {"kind": "GitRepository", "name": "platform"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def gitrepository(name: str = "platform") -> dict[str, Any]:
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"url": REPO, "ref": {"branch": "main"}}}


class World:
    """Seeds the emulator by resource and namespace."""

    def __init__(self, emulator: kmock.KubernetesEmulator) -> None:
        self.emulator = emulator

    def add(self, resource: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.emulator.objects[resource, meta["namespace"], meta["name"]] = obj

    def get(self, resource: str, namespace: str, name: str) -> Any:
        """The stored object (kmock's view: index it like a dict)."""
        return self.emulator.objects[resource, namespace, name]


@pytest.fixture
def world(kmock: kmock.KubernetesEmulator) -> World:
    return World(kmock)


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    configuration = Configuration(host=str(kmock.url).rstrip("/"),
                                  api_key={"BearerToken": "t0ken"},
                                  api_key_prefix={"BearerToken": "Bearer"})
    built = api_client(configuration)
    yield built
    close_api_client(built)


@pytest.fixture
def actions(client: ApiClient) -> dict[str, Action]:
    return kubernetes_actions(client)
