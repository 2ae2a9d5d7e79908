"""Who owns the target: each controller's marker, the owner chain, and degraded reads."""

from __future__ import annotations

from typing import Any

import kmock
import pytest

from remediator.evidence.ownership import GITOPS_OWNER_ACTION, Ownership
from remediator.model.abc import Action
from remediator.model.actions import ActionRequest, TargetGone
from tests.gitops_ownership.conftest import (
    APPS,
    DEPLOYMENTS,
    GITREPOS,
    HELMRELEASES,
    KUSTOMIZATIONS,
    NS,
    PODS,
    REPLICASETS,
    REPO,
    World,
    application,
    deployment,
    gitrepository,
    kustomization,
    owned,
)

TRACKING = "argocd.argoproj.io/tracking-id"


async def ownership(actions: dict[str, Action], kind: str = "deployment", name: str = "web",
                    **params: Any) -> Ownership:
    request = ActionRequest(type=GITOPS_OWNER_ACTION, kind=kind, namespace=NS, name=name,
                            params=params, timeout=5)
    result = await actions[GITOPS_OWNER_ACTION].run(request)
    return Ownership.from_json(result.detail)


async def test_argo_tracking_id_reads_the_application(world: World,
                                                      actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(annotations={
        TRACKING: f"shop-web:apps/Deployment:{NS}/web"}))
    world.add(APPS, application())
    found = await ownership(actions)
    assert (found.controller, found.app, found.repo, found.path, found.revision) == (
        "argocd", "argocd/shop-web", REPO, "apps/web", "main")
    assert found.self_heal and found.sync_status == "Synced" and not found.helm
    assert found.live == {"replicas": 2, "images": {"web": "shop/web:1.1"}}


async def test_argo_app_outside_argocd_namespace(world: World,
                                                 actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(annotations={
        TRACKING: f"team_shop-web:apps/Deployment:{NS}/web"}))
    app = application()
    app["metadata"]["namespace"] = "team"
    world.add(APPS, app)
    assert (await ownership(actions)).app == "team/shop-web"


async def test_label_tracking_with_configured_key(world: World,
                                                  actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(labels={"argocd.example/app": "shop-web"}))
    world.add(APPS, application(self_heal=False, chart="web"))
    found = await ownership(actions, tracking_label="argocd.example/app")
    assert found.controller == "argocd" and found.helm and not found.self_heal


async def test_helm_instance_label_without_application_is_not_argo(
        world: World, actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(labels={"app.kubernetes.io/instance": "my-release"}))
    found = await ownership(actions)
    assert not found.managed and not found.unknown
    assert "not Argo CD's" in found.notes[0]


async def test_flux_kustomization_through_the_pod_owner_chain(
        world: World, actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(labels={
        "kustomize.toolkit.fluxcd.io/name": "apps",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}))
    world.add(REPLICASETS, owned("ReplicaSet", "web-7d9", "Deployment", "web"))
    world.add(PODS, owned("Pod", "web-7d9-x1", "ReplicaSet", "web-7d9"))
    world.add(KUSTOMIZATIONS, kustomization())
    world.add(GITREPOS, gitrepository())
    found = await ownership(actions, kind="pod", name="web-7d9-x1")
    assert (found.controller, found.app, found.owner, found.repo, found.path) == (
        "flux", "flux-system/apps", "deployment/web", REPO, "./clusters/prod/shop")
    assert found.self_heal and not found.suspended


async def test_flux_suspended_kustomization_does_not_self_heal(
        world: World, actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(labels={
        "kustomize.toolkit.fluxcd.io/name": "apps",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}))
    world.add(KUSTOMIZATIONS, kustomization(suspend=True))
    world.add(GITREPOS, gitrepository())
    found = await ownership(actions)
    assert found.suspended and not found.self_heal


async def test_flux_helmrelease(world: World, actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment(labels={
        "helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": NS}))
    world.add(HELMRELEASES, {"metadata": {"name": "web", "namespace": NS}, "spec": {
        "driftDetection": {"mode": "enabled"},
        "chart": {"spec": {"chart": "./charts/web", "sourceRef": {
            "kind": "GitRepository", "name": "platform", "namespace": "flux-system"}}}}})
    world.add(GITREPOS, gitrepository())
    found = await ownership(actions)
    assert found.controller == "flux" and found.helm and found.self_heal
    assert (found.repo, found.path) == (REPO, "./charts/web")


async def test_unmanaged(world: World, actions: dict[str, Action]) -> None:
    world.add(DEPLOYMENTS, deployment())
    found = await ownership(actions)
    assert not found.managed and not found.unknown and found.notes == ()


@pytest.mark.parametrize("status", [403, 404], ids=["no-rbac", "no-crd"])
async def test_controller_resource_unreadable_is_unknown(
        world: World, actions: dict[str, Action], kmock: kmock.KubernetesEmulator,
        status: int) -> None:
    world.add(DEPLOYMENTS, deployment(annotations={
        TRACKING: f"shop-web:apps/Deployment:{NS}/web"}))
    kmock["get", kmock.resource("argoproj.io", "v1alpha1", "applications")] << status
    found = await ownership(actions)
    assert found.controller == "argocd" and found.unknown
    assert "Application argocd/shop-web" in found.notes[0]
    if status == 403:
        assert "rbac.gitops" in found.notes[0]


async def test_target_gone(actions: dict[str, Action]) -> None:
    with pytest.raises(TargetGone):
        await ownership(actions)
