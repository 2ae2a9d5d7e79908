"""Where the right-sizing report gets its numbers: the cluster and Prometheus.

Read-only: pods and Deployments are listed (RBAC: list on pods and
deployments in the namespace), Prometheus is asked range queries. Pods are
grouped by the workload that owns them (a ReplicaSet's pods under its
Deployment), because a recommendation is made for the workload's pod
template, and pod names do not outlive a rollout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api
from kubernetes.utils import parse_quantity as _parse_quantity

from remediator.report.prometheus import Connection, Series, query_range
from remediator.report.rightsizing import Allocation, Resource

# The alphabet of generated names (ReplicaSet template hashes, pod suffixes).
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_parse: Callable[[object], Decimal] = _parse_quantity

Key = tuple[str, str]
"""(workload, container)"""
UsageKey = tuple[str, str, Resource]
"""(workload, container, resource)"""


@dataclass(frozen=True, kw_only=True)
class Inventory:
    """The namespace's workloads as the cluster describes them."""

    pods: Mapping[str, str]
    """Pod name -> its workload (`deployment/web`)."""
    allocations: Mapping[Key, Mapping[Resource, Allocation]]
    deployments: tuple[str, ...] = ()

    def workload(self, pod: str) -> str:
        """The workload of a pod, also of one deleted since (a past ReplicaSet's pod).

        A Deployment's pods are named `<deployment>-<template hash>-<suffix>`,
        both from Kubernetes' safe alphabet; a week of usage is mostly pods
        that no longer exist, and their usage belongs to their Deployment.
        """
        if pod in self.pods:
            return self.pods[pod]
        for name in sorted(self.deployments, key=len, reverse=True):
            if re.fullmatch(re.escape(name) + rf"-{_SAFE}{{1,10}}-{_SAFE}{{5}}", pod):
                return f"deployment/{name}"
        return f"pod/{pod}"


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity (`250m`, `1Gi`) as a number; None when absent or unreadable."""
    if value is None:
        return None
    try:
        return float(_parse(value))
    except (ValueError, InvalidOperation):
        return None


def workload_of(pod: Mapping[str, Any]) -> str:
    """`deployment/web` for a ReplicaSet's pod, `<kind>/<name>` of another owner, else the pod."""
    metadata = pod.get("metadata") or {}
    owners = [o for o in metadata.get("ownerReferences") or [] if o.get("controller")]
    if not owners:
        return f"pod/{metadata.get('name', '')}"
    owner = owners[0]
    kind, name = str(owner.get("kind", "")).lower(), str(owner.get("name", ""))
    suffix = "-" + str((metadata.get("labels") or {}).get("pod-template-hash", ""))
    if kind == "replicaset" and suffix != "-" and name.endswith(suffix):
        return f"deployment/{name.removesuffix(suffix)}"
    return f"{kind}/{name}"


def allocations_of(spec: Mapping[str, Any]) -> dict[str, dict[Resource, Allocation]]:
    """Container name -> requests and limits, from a pod spec (or a pod template's)."""
    found: dict[str, dict[Resource, Allocation]] = {}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        found[str(container.get("name", ""))] = {
            resource: Allocation(request=quantity(requests.get(resource)),
                                 limit=quantity(limits.get(resource)))
            for resource in ("cpu", "memory")}
    return found


def inventory(pods: Sequence[Mapping[str, Any]],
              deployments: Sequence[Mapping[str, Any]]) -> Inventory:
    """Group pods by workload; a Deployment's template wins over its pods' specs.

    The template is what a recommendation would change, and during a
    rollout the old pods still show the old values.
    """
    owners: dict[str, str] = {}
    allocations: dict[Key, Mapping[Resource, Allocation]] = {}
    names = []
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name", ""))
        workload = owners[name] = workload_of(pod)
        for container, found in allocations_of(pod.get("spec") or {}).items():
            allocations.setdefault((workload, container), found)
    for deployment in deployments:
        name = str((deployment.get("metadata") or {}).get("name", ""))
        names.append(name)
        workload = f"deployment/{name}"
        template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container, found in allocations_of(template).items():
            allocations[(workload, container)] = found
    return Inventory(pods=owners, allocations=allocations, deployments=tuple(names))


def read_cluster(client: ApiClient, namespace: str, *, timeout: float = 10.0) -> Inventory:
    """List the namespace's pods and Deployments through the official client."""
    core, apps = CoreV1Api(client), AppsV1Api(client)
    pods = core.list_namespaced_pod(namespace, _request_timeout=timeout)
    deployments = apps.list_namespaced_deployment(namespace, _request_timeout=timeout)
    return inventory(_items(client, pods), _items(client, deployments))


def _items(client: ApiClient, listed: Any) -> list[Mapping[str, Any]]:
    """The `items` of a list, as plain JSON (field names as in manifests)."""
    sanitize: Callable[[Any], Any] = client.sanitize_for_serialization
    items: list[Mapping[str, Any]] = sanitize(listed).get("items") or []
    return items


def usage_queries(namespace: str, *, rate_window: str = "5m") -> dict[Resource, str]:
    """PromQL per resource: one series per pod and container (cAdvisor's metrics).

    `namespace` must be validated already; it is also escaped as a PromQL string.
    """
    selector = (f'namespace={json.dumps(namespace)}, container!="", container!="POD", '
                'pod!=""')
    return {
        "cpu": ("sum by (pod, container) (rate(container_cpu_usage_seconds_total"
                f"{{{selector}}}[{rate_window}]))"),
        "memory": f"max by (pod, container) (container_memory_working_set_bytes{{{selector}}})",
    }


def read_usage(prometheus: Connection, namespace: str, cluster: Inventory, *, end: datetime,
               window: timedelta, step: timedelta,
               rate_window: str = "5m") -> dict[UsageKey, list[float]]:
    """(workload, container, resource) -> every sample of every pod of the workload.

    Series of pods deleted since count for their Deployment (see
    `Inventory.workload`); others stay under `pod/<name>` and are not sized.
    """
    usage: dict[UsageKey, list[float]] = {}
    for resource, query in usage_queries(namespace, rate_window=rate_window).items():
        series: list[Series] = query_range(prometheus, query, start=end - window, end=end,
                                           step=step)
        for item in series:
            pod, container = item.labels.get("pod", ""), item.labels.get("container", "")
            workload = cluster.workload(pod)
            usage.setdefault((workload, container, resource), []).extend(item.values)
    return usage


def step_for(window: timedelta, points: int = 1000) -> timedelta:
    """A query step giving about `points` samples per series, at least one second."""
    return timedelta(seconds=max(1, -(-int(window.total_seconds()) // points)))
