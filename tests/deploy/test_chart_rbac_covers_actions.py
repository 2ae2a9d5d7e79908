"""The chart grants every API call the actions really make: code and RBAC cannot drift.

Each action runs against kmock's emulator through the real client; every
request it sent is turned into the (group, resource, verb) RBAC would check,
and the Role the chart renders for that action type alone must allow it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.kubernetes.client import api_client, close_api_client
from remediator.model.actions import ActionRequest
from tests.actions.conftest import NAMESPACE, Cluster, hpa, pod, workload

from .chart import render
from .test_chart_rbac import as_set

_VERBS = {"GET": "get", "PATCH": "patch", "DELETE": "delete", "PUT": "update", "POST": "create"}
# The chart's RBAC switch for each action type (a revert undoes an hpa_patch).
_SWITCH = {"kubernetes.hpa_revert": "kubernetes.hpa_patch"}


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=str(kmock.url).rstrip("/")))
    yield built
    close_api_client(built)


def _seed(cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        cluster.add(workload(kind, "web" if kind == "Deployment" else kind.lower()))
    cluster.add(hpa("web", 2, 5))


def _request(type_: str, kind: str, name: str, **params: Any) -> ActionRequest:
    return ActionRequest(type=type_, kind=kind, namespace=NAMESPACE, name=name, params=params,
                         timeout=5.0)


CALLS = [
    pytest.param(_request("kubernetes.delete_pod", "pod", "web-1"), id="delete-pod"),
    pytest.param(_request("kubernetes.rollout_restart", "deployment", "web"), id="restart-deploy"),
    pytest.param(_request("kubernetes.rollout_restart", "statefulset", "statefulset"),
                 id="restart-sts"),
    pytest.param(_request("kubernetes.rollout_restart", "daemonset", "daemonset"),
                 id="restart-ds"),
    pytest.param(_request("kubernetes.scale", "deployment", "web", step=1, min=1, max=5),
                 id="scale-deploy"),
    pytest.param(_request("kubernetes.scale", "statefulset", "statefulset", step=1, min=1, max=5),
                 id="scale-sts"),
    pytest.param(_request("kubernetes.hpa_patch", "hpa", "web", step=1, ceiling=10,
                          fields="both", revert=True), id="hpa-patch-and-revert"),
]


def _rbac_triple(request: kmock.Request) -> tuple[str, str, str]:
    parts = request.url.path.strip("/").split("/")
    # /api/v1/namespaces/NS/RES/NAME[/SUB] or /apis/GROUP/VERSION/namespaces/NS/RES/NAME[/SUB]
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    assert rest[0] == "namespaces" and rest[1] == NAMESPACE, request.url
    resource = "/".join([rest[2], *rest[4:5]])
    verb = _VERBS[str(request.method.value).upper()]
    return group, resource, "list" if verb == "get" and len(rest) == 3 else verb


@pytest.mark.parametrize("call", CALLS)
async def test_the_role_for_an_action_type_allows_every_call_it_makes(
        kmock: kmock.KubernetesEmulator, client: ApiClient, call: ActionRequest) -> None:
    _seed(Cluster(kmock))
    actions = kubernetes_actions(client)

    result = await actions[call.type].run(call)
    for followup in result.followups:
        await actions[followup.type].run(followup)

    used = {_rbac_triple(request) for request in kmock}
    [role] = render({"rbac": {"namespaces": [NAMESPACE],
                              "actions": [_SWITCH.get(call.type, call.type)]}}).of_kind("Role")
    assert used
    assert used <= as_set(role["rules"]), f"{call.type} needs {used - as_set(role['rules'])}"
