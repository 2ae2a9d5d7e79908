"""The default chart grants the evidence snapshot exactly the reads it makes.

A snapshot of every kind of target (a crash-looping pod with its previous
log, owner chain and node; a Deployment, StatefulSet, DaemonSet and HPA) runs
against kmock's emulator through the real client; every request is turned
into the (group, resource, verb) RBAC checks. The chart's default render,
with no action types enabled, must grant exactly that set: every read, and
no more.
"""

from __future__ import annotations

from collections.abc import Iterator

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client
from remediator.actions.kubernetes.client import api_client
from remediator.actions.kubernetes.snapshot import SnapshotAction
from remediator.evidence.limits import Limits, snapshot_request
from remediator.model.actions import ActionRequest
from tests.actions.conftest import hpa, workload
from tests.evidence.conftest import NAMESPACE, Seeded, declare_logs

from .chart import render
from .test_chart_rbac import EVIDENCE, EVIDENCE_NODES, as_set

_VERBS = {"GET": "get", "PATCH": "patch", "DELETE": "delete", "PUT": "update", "POST": "create"}
TARGETS = [("pod", "web-b2-x1"), ("deployment", "web"), ("statefulset", "db"),
           ("daemonset", "agent"), ("hpa", "web")]


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=str(kmock.url).rstrip("/")))
    yield built
    close_api_client(built)


def rbac_triple(request: kmock.Request) -> tuple[str, str, str]:
    """The check the API server makes for a request, cluster-scoped or namespaced."""
    parts = request.url.path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if rest[0] == "namespaces":
        assert rest[1] == NAMESPACE, request.url
        rest = rest[2:]
    resource = "/".join([rest[0], *rest[2:3]])
    verb = _VERBS[str(request.method.value).upper()]
    return group, resource, "list" if verb == "get" and len(rest) == 1 else verb


def _seed(kmock: kmock.KubernetesEmulator) -> None:
    seeded = Seeded(kmock)
    seeded.scene()
    declare_logs(kmock)
    seeded.add("apps/v1/statefulsets", workload("StatefulSet", "db"))
    seeded.add("apps/v1/daemonsets", workload("DaemonSet", "agent"))
    seeded.add("autoscaling/v2/horizontalpodautoscalers", hpa("web", 2, 5))


async def test_the_default_render_grants_exactly_what_a_snapshot_reads(
        kmock: kmock.KubernetesEmulator, client: ApiClient) -> None:
    _seed(kmock)
    action = SnapshotAction(client)
    for kind, name in TARGETS:
        target = ActionRequest(type="kubernetes.delete_pod", kind=kind, namespace=NAMESPACE,
                               name=name)
        result = await action.run(snapshot_request(target, Limits(budget=5.0)))
        assert result.detail["errors"] == [], (kind, result.detail["errors"])
    used = {rbac_triple(request) for request in kmock}

    # The defaults, but no action types: what is left is the evidence's alone.
    rendered = render({"rbac": {"actions": [], "namespaces": [NAMESPACE]}})
    roles = rendered.of_kind("Role") + rendered.of_kind("ClusterRole")
    granted = as_set([rule for role in roles for rule in role["rules"]])

    assert ("", "nodes", "get") in used and ("", "pods/log", "get") in used
    assert granted == used
    assert as_set(EVIDENCE + EVIDENCE_NODES) == used
    defaults = render()
    for role in defaults.of_kind("Role"):
        assert used - {("", "nodes", "get")} <= as_set(role["rules"])
    assert as_set(defaults.one("ClusterRole")["rules"]) == {("", "nodes", "get")}
