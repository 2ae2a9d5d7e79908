"""Rendering the Helm chart with the real Helm engine (helm-python-sdk, no binary).

`render` returns the parsed manifests of one value set; `VALUE_SETS` are the
installations the tests cover: the defaults and the five shapes a user picks
from (HA on PostgreSQL, cluster-wide, no prometheus-operator CRDs, an Ingress
behind an auth proxy, secrets brought by the user).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "remediator"
RELEASE = "remediator"
NAMESPACE = "remediator"
KUBERNETES_VERSION = "1.31.0"

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "ha-postgresql": {
        "replicaCount": 3,
        "database": {"postgresql": {"enabled": True, "existingSecret": "remediator-db"}},
        "rbac": {"namespaces": ["apps-a", "apps-b"], "evidence": True},
        "image": {"digest": "sha256:" + "ab" * 32},
        "alertmanagerConfig": {"enabled": True, "labels": {"alertmanagerConfig": "remediator"}},
    },
    "cluster-wide": {
        "rbac": {"namespaces": []},
        "config": {"prometheusUrl": "http://prometheus-operated.monitoring:9090",
                   "alertmanagerUrl": "http://alertmanager-operated.monitoring:9093"},
    },
    "no-monitoring-crds": {
        "serviceMonitor": {"enabled": False},
        "prometheusRule": {"enabled": False},
        "dashboards": {"enabled": False},
        "alertmanagerConfig": {"enabled": False},
        "networkPolicy": {"enabled": False},
    },
    "ingress": {
        "ingress": {"enabled": True, "host": "remediator.example.org", "className": "nginx",
                    "tls": {"secretName": "remediator-tls"},
                    "annotations": {
                        "nginx.ingress.kubernetes.io/auth-url":
                            "https://auth.example.org/oauth2/auth",
                        "nginx.ingress.kubernetes.io/auth-signin":
                            "https://auth.example.org/oauth2/start?rd=$escaped_request_uri"}},
    },
    "existing-secrets": {
        "tokens": {"existingSecret": "remediator-tokens", "webhookTokenKey": "webhook",
                   "apiTokenKey": "api"},
        "database": {"persistence": {"existingClaim": "remediator-data"}},
        "rules": {"files": {"mine.yml": {"rules": [{
            "name": "restart-crashlooping-pod",
            "matchers": ['alertname="KubePodCrashLooping"'],
            "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
                       "name": "{{ labels.pod }}"}}]}}},
    },
}


@dataclass(frozen=True)
class Manifest:
    """One rendered object and the template it came from."""

    template: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


@dataclass(frozen=True)
class Rendered:
    manifests: list[Manifest]
    notes: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [m.body for m in self.manifests if m.kind == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.manifests)


def render(values: Mapping[str, Any] | None = None) -> Rendered:
    """The chart rendered as `helm template` would for an install in NAMESPACE."""
    return _render(json.dumps(values or {}, sort_keys=True))


@functools.cache
def _render(values_json: str) -> Rendered:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE,
                             is_install=True)
    manifests: list[Manifest] = []
    notes = ""
    for template, text in sorted(files.items()):
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        for body in yaml.safe_load_all(text):
            if body:
                manifests.append(Manifest(template=template, body=body))
    return Rendered(manifests=manifests, notes=notes)


def render_error(values: Mapping[str, Any]) -> str:
    """The message Helm refuses `values` with (fails if it renders)."""
    with helm.Chart.load(str(CHART)) as chart:
        try:
            chart.render(dict(values), name=RELEASE, namespace=NAMESPACE, is_install=True)
        except helm.HelmError as error:
            return str(error)
    raise AssertionError(f"the chart rendered values it should refuse: {values}")


def write_manifests(rendered: Rendered, directory: Path) -> list[Path]:
    """One YAML file per object, as tools that read files (checkov) want them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, manifest in enumerate(rendered):
        path = directory / f"{index:02d}-{manifest.kind.lower()}-{manifest.name}.yaml"
        path.write_text(yaml.safe_dump(manifest.body, sort_keys=False))
        paths.append(path)
    return paths
