"""Flux suspend_while_proposed: the Kustomization is suspended with the proposal and
resumed by a timed follow-up (GITOPS_SUSPEND_TIMEOUT), audited as the service's change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kubernetes.client import ApiClient

from tests.gitops_ownership.conftest import (
    DEPLOYMENTS,
    GITREPOS,
    KUSTOMIZATIONS,
    World,
    deployment,
    gitrepository,
    kustomization,
)
from tests.gitops_ownership.rig import FakeProposer, build_rig

RULES = """\
rules:
  - name: scale-web
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.scale, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}", step: 2, max: 10}
    gitops: {mode: propose, also_act: true, suspend_while_proposed: true}
    limits: {cooldown: 0s}
"""
FLUX = {"kustomize.toolkit.fluxcd.io/name": "apps",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


def suspended(world: World) -> bool:
    return bool(world.get(KUSTOMIZATIONS, "flux-system", "apps")["spec"]["suspend"])


async def test_suspended_with_the_proposal_and_resumed_on_timeout(
        tmp_path: Path, client: ApiClient, world: World) -> None:
    world.add(DEPLOYMENTS, deployment(labels=FLUX, replicas=3))
    world.add(KUSTOMIZATIONS, kustomization())
    world.add(GITREPOS, gitrepository())
    rig = build_rig(tmp_path, client, RULES, proposer=FakeProposer())
    rig.fire()
    await rig.worker.drain()

    acted = rig.last()
    assert acted["outcome"] == "succeeded" and suspended(world)
    assert acted["detail"]["gitops"]["suspended"] == {
        "kustomization": "flux-system/apps",
        "resume_at": (rig.clock() + timedelta(hours=2)).isoformat()}

    rig.clock.advance(timedelta(hours=1, minutes=59))
    await rig.worker.drain()
    assert suspended(world)  # not yet
    rig.clock.advance(timedelta(minutes=2))
    await rig.worker.drain()
    resumed = rig.last()
    assert not suspended(world)
    assert (resumed["outcome"], resumed["action"], resumed["reason"]) == (
        "succeeded", "kubernetes.gitops_suspend",
        "follow-up kubernetes.gitops_suspend: resumed Flux Kustomization flux-system/apps")


async def test_argo_target_is_not_suspended(tmp_path: Path, client: ApiClient,
                                            world: World) -> None:
    from tests.gitops_ownership.conftest import APPS, application

    world.add(DEPLOYMENTS, deployment(annotations={
        "argocd.argoproj.io/tracking-id": "shop-web:apps/Deployment:shop/web"}, replicas=3))
    world.add(APPS, application())
    rig = build_rig(tmp_path, client, RULES, proposer=FakeProposer())
    rig.fire()
    await rig.worker.drain()
    assert "suspended" not in rig.last()["detail"]["gitops"]
