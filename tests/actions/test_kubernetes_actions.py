"""Each action against the emulator: assert on the stored objects afterwards."""

from __future__ import annotations

from typing import Any

import kmock
import pytest

from remediator.model.abc import Action
from remediator.model.actions import ActionRequest

from .conftest import HPAS, NAMESPACE, NOW, PODS, WORKLOADS, Cluster, hpa, pod, requests, workload


def request(type_: str, kind: str, name: str = "web", **params: Any) -> ActionRequest:
    return ActionRequest(type=type_, kind=kind, namespace=NAMESPACE, name=name,
                         params=params, timeout=5.0)


async def test_delete_pod_removes_it(cluster: Cluster, actions: dict[str, Action],
                                     kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(pod("web-1"))
    cluster.add(pod("web-2"))

    result = await actions["kubernetes.delete_pod"].run(
        request("kubernetes.delete_pod", "pod", "web-1", grace_period_seconds=5))

    assert not cluster.exists(PODS, "web-1")
    assert cluster.exists(PODS, "web-2")
    assert requests(kmock["delete"])[0].params == {"gracePeriodSeconds": "5"}
    assert result.message == "deleted pod apps-a/web-1"


@pytest.mark.parametrize(("kind", "type_"), [
    pytest.param("deployment", "Deployment", id="deployment"),
    pytest.param("statefulset", "StatefulSet", id="statefulset"),
    pytest.param("daemonset", "DaemonSet", id="daemonset"),
])
async def test_rollout_restart_stamps_the_pod_template(
        cluster: Cluster, actions: dict[str, Action], kind: str, type_: str) -> None:
    cluster.add(workload(type_, "web"))

    result = await actions["kubernetes.rollout_restart"].run(
        request("kubernetes.rollout_restart", kind))

    template = cluster.get(WORKLOADS[kind], "web")["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "2024-05-06T07:08:09Z"}
    assert template["metadata"]["labels"] == {"app": "web"}
    assert result.detail == {"restartedAt": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}


async def test_rollout_restart_sends_a_strategic_merge_patch(
        cluster: Cluster, actions: dict[str, Action], kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(workload("Deployment", "web"))

    await actions["kubernetes.rollout_restart"].run(
        request("kubernetes.rollout_restart", "deployment"))

    patch = requests(kmock["patch"])[0]
    assert patch.headers["Content-Type"] == "application/strategic-merge-patch+json"
    assert patch.data == {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2024-05-06T07:08:09Z"}}}}}


@pytest.mark.parametrize(("kind", "type_", "current", "params", "expected"), [
    pytest.param("deployment", "Deployment", 2, {"step": 1}, 3, id="step-up"),
    pytest.param("deployment", "Deployment", 2, {"step": -1}, 1, id="step-down"),
    pytest.param("deployment", "Deployment", 4, {"step": 3}, 5, id="clamped-to-max"),
    pytest.param("deployment", "Deployment", 2, {"step": -5}, 1, id="clamped-to-min"),
    pytest.param("deployment", "Deployment", 2, {"replicas": 4}, 4, id="absolute"),
    pytest.param("deployment", "Deployment", 9, {"replicas": 4}, 4, id="absolute-down"),
    pytest.param("statefulset", "StatefulSet", 2, {"step": 2}, 4, id="statefulset"),
    pytest.param("statefulset", "StatefulSet", 7, {"step": 1}, 5, id="above-max-clamped"),
])
async def test_scale_moves_replicas_within_bounds(
        cluster: Cluster, actions: dict[str, Action], kind: str, type_: str,
        current: int, params: dict[str, Any], expected: int) -> None:
    cluster.add(workload(type_, "web", replicas=current))

    result = await actions["kubernetes.scale"].run(
        request("kubernetes.scale", kind, **{"min": 1, "max": 5, **params}))

    assert cluster.get(WORKLOADS[kind], "web")["spec"]["replicas"] == expected
    assert result.detail == {"previous": current, "replicas": expected, "changed": True}


@pytest.mark.parametrize(("current", "params"), [
    pytest.param(5, {"step": 1}, id="at-max"),
    pytest.param(1, {"step": -1}, id="at-min"),
    pytest.param(3, {"replicas": 3}, id="already-there"),
])
async def test_scale_without_change_does_not_patch(
        cluster: Cluster, actions: dict[str, Action], kmock: kmock.KubernetesEmulator,
        current: int, params: dict[str, Any]) -> None:
    cluster.add(workload("Deployment", "web", replicas=current))

    result = await actions["kubernetes.scale"].run(
        request("kubernetes.scale", "deployment", **{"min": 1, "max": 5, **params}))

    assert len(kmock["patch"]) == 0
    assert "not changed" in result.message
    assert result.detail == {"previous": current, "replicas": current, "changed": False}


async def test_scale_goes_through_the_scale_subresource_with_a_precondition(
        cluster: Cluster, actions: dict[str, Action], kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(workload("Deployment", "web", replicas=2))

    await actions["kubernetes.scale"].run(
        request("kubernetes.scale", "deployment", step=1, min=1, max=5))

    assert [r.subresource for r in kmock] == ["scale", "scale"]
    assert requests(kmock["patch"])[0].data == {"metadata": {"resourceVersion": "21"},
                                      "spec": {"replicas": 3}}


@pytest.mark.parametrize(("bounds", "params", "expected"), [
    pytest.param((2, 5), {"fields": "max"}, (2, 7), id="max"),
    pytest.param((2, 5), {"fields": "min"}, (4, 5), id="min"),
    pytest.param((2, 5), {"fields": "both"}, (4, 7), id="both"),
    pytest.param((2, 5), {"fields": "max", "ceiling": 6}, (2, 6), id="max-capped"),
    pytest.param((2, 5), {"fields": "both", "ceiling": 6}, (4, 6), id="both-capped"),
    pytest.param((4, 5), {"fields": "min"}, (5, 5), id="min-not-above-max"),
    pytest.param((5, 5), {"fields": "min", "ceiling": 4}, (5, 5), id="above-ceiling-kept"),
])
async def test_hpa_patch_raises_bounds_under_the_ceiling(
        cluster: Cluster, actions: dict[str, Action], bounds: tuple[int, int],
        params: dict[str, Any], expected: tuple[int, int]) -> None:
    cluster.add(hpa("web", *bounds))

    result = await actions["kubernetes.hpa_patch"].run(
        request("kubernetes.hpa_patch", "hpa", **{"step": 2, "ceiling": 10, **params}))

    spec = cluster.get(HPAS, "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == expected
    assert result.detail["previous"] == {"min_replicas": bounds[0], "max_replicas": bounds[1]}
    assert result.detail["new"] == {"min_replicas": expected[0], "max_replicas": expected[1]}
    assert result.followups == ()


async def test_hpa_patch_at_the_ceiling_changes_nothing(
        cluster: Cluster, actions: dict[str, Action], kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(hpa("web", 2, 6))

    result = await actions["kubernetes.hpa_patch"].run(request(
        "kubernetes.hpa_patch", "hpa", step=2, ceiling=6, fields="max", revert=True))

    assert len(kmock["patch"]) == 0
    assert result.detail["changed"] is False
    assert result.followups == ()


async def test_hpa_patch_with_revert_schedules_the_revert(
        cluster: Cluster, actions: dict[str, Action]) -> None:
    cluster.add(hpa("web", 2, 5))

    result = await actions["kubernetes.hpa_patch"].run(request(
        "kubernetes.hpa_patch", "hpa", step=1, ceiling=10, fields="both", revert=True))

    assert result.followups == (ActionRequest(
        type="kubernetes.hpa_revert", kind="hpa", namespace=NAMESPACE, name="web",
        params={"min_replicas": 2, "max_replicas": 5, "expect_min": 3, "expect_max": 6},
        timeout=5.0),)


async def test_hpa_revert_restores_the_values_we_replaced(
        cluster: Cluster, actions: dict[str, Action]) -> None:
    cluster.add(hpa("web", 2, 5))
    patched = await actions["kubernetes.hpa_patch"].run(request(
        "kubernetes.hpa_patch", "hpa", step=1, ceiling=10, fields="both", revert=True))
    assert cluster.get(HPAS, "web")["spec"]["maxReplicas"] == 6

    result = await actions["kubernetes.hpa_revert"].run(patched.followups[0])

    spec = cluster.get(HPAS, "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 5)
    assert result.detail["reverted"] is True


async def test_hpa_revert_leaves_an_hpa_someone_changed_since(
        cluster: Cluster, actions: dict[str, Action], kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(hpa("web", 3, 12))  # a human retuned it after our 2..5 -> 3..6

    result = await actions["kubernetes.hpa_revert"].run(request(
        "kubernetes.hpa_revert", "hpa",
        min_replicas=2, max_replicas=5, expect_min=3, expect_max=6))

    spec = cluster.get(HPAS, "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 12)
    assert len(kmock["patch"]) == 0
    assert result.detail["reverted"] is False
    assert "left hpa apps-a/web alone" in result.message
