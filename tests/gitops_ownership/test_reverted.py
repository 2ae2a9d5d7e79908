"""Verification of an `act` under self-heal: the change still holds, or reverted_by_gitops."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from remediator.model.outcomes import Outcome
from tests.evidence.conftest import deployment as rolled_deployment
from tests.evidence.conftest import replicaset, template
from tests.gitops_ownership.conftest import (
    APPS,
    DEPLOYMENTS,
    HPAS,
    NS,
    REPLICASETS,
    World,
    application,
    deployment,
)
from tests.gitops_ownership.rig import NOW, build_rig
from tests.gitops_ownership.selfheal import SelfHeal

TRACKING = {"argocd.argoproj.io/tracking-id": f"shop-web:apps/Deployment:{NS}/web"}
SCALE = """\
rules:
  - name: scale-web
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.scale, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}", step: 2, max: 10}
    verify: {after: 5m}
    limits: {cooldown: 0s}
"""
HPA = """\
rules:
  - name: widen-web
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.hpa_patch, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}", step: 2, ceiling: 20, fields: both}
    verify: {after: 5m}
    limits: {cooldown: 0s}
"""
UNDO = """\
rules:
  - name: undo-web
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.rollout_undo, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}", max_age: 1h}
    verify: {after: 5m}
    limits: {cooldown: 0s}
"""
BAD, GOOD = "registry.local/shop/web:1.1-bad", "registry.local/shop/web:1.0"


class AlertGone:
    """The verifier's answer when Prometheus no longer sees the alert."""

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]:
        return Outcome.VERIFIED, "alert gone"


@pytest.fixture
def argo(world: World) -> SelfHeal:
    world.add(DEPLOYMENTS, deployment(annotations=TRACKING, replicas=3))
    world.add(APPS, application(self_heal=True))
    heal = SelfHeal(world)
    heal.holds(DEPLOYMENTS, NS, "web", replicas=3)
    return heal


async def test_self_heal_put_replicas_back(tmp_path: Path, client: ApiClient,
                                           argo: SelfHeal) -> None:
    rig = build_rig(tmp_path, client, SCALE)
    rig.fire()
    await rig.worker.drain()
    assert rig.last()["detail"]["gitops"]["holds"] == {"replicas": 5}
    assert argo.reconcile() == 1  # Argo CD's self-heal, between the action and verify
    rig.clock.advance(minutes=6)
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "reverted_by_gitops"
    assert entry["reason"] == ("Argo CD put git's state back: replicas is 3, not 5; the "
                               "change must go to git (Application argocd/shop-web)")


async def test_change_that_holds_goes_on_to_the_usual_check(
        tmp_path: Path, client: ApiClient, argo: SelfHeal) -> None:
    rig = build_rig(tmp_path, client, SCALE, verifier=AlertGone())
    rig.fire()
    await rig.worker.drain()
    rig.clock.advance(minutes=6)
    await rig.worker.drain()  # no reconcile: the replicas hold
    assert (rig.last()["outcome"], rig.last()["reason"]) == ("verified", "alert gone")


async def test_without_self_heal_nothing_is_checked(tmp_path: Path, client: ApiClient,
                                                    world: World) -> None:
    world.add(DEPLOYMENTS, deployment(annotations=TRACKING, replicas=3))
    world.add(APPS, application(self_heal=False))
    rig = build_rig(tmp_path, client, SCALE)
    rig.fire()
    await rig.worker.drain()
    assert "holds" not in rig.last()["detail"]["gitops"]


async def test_hpa_bounds_put_back(tmp_path: Path, client: ApiClient, world: World) -> None:
    world.add(HPAS, {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                     "metadata": {"name": "web", "namespace": NS, "annotations": {
                         "argocd.argoproj.io/tracking-id":
                             f"shop-web:autoscaling/HorizontalPodAutoscaler:{NS}/web"},
                         "resourceVersion": "4"},
                     "spec": {"minReplicas": 2, "maxReplicas": 4, "scaleTargetRef": {
                         "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}})
    world.add(APPS, application())
    heal = SelfHeal(world)
    heal.holds(HPAS, NS, "web", minReplicas=2, maxReplicas=4)
    rig = build_rig(tmp_path, client, HPA)
    rig.fire()
    await rig.worker.drain()
    assert rig.last()["detail"]["gitops"]["holds"] == {"minReplicas": 4, "maxReplicas": 6}
    heal.reconcile()
    rig.clock.advance(timedelta(minutes=6))
    await rig.worker.drain()
    assert rig.last()["reason"].startswith(
        "Argo CD put git's state back: minReplicas is 2, not 4, maxReplicas is 4, not 6")


@pytest.fixture
def rolled_out(world: World) -> SelfHeal:
    """web rolled out to 1.1-bad two minutes ago; git (Argo CD, self-heal) says 1.1-bad."""
    web = rolled_deployment(image=BAD)
    web["metadata"].update(namespace=NS, annotations={
        **web["metadata"]["annotations"], **TRACKING})
    world.add(DEPLOYMENTS, web)
    for name, revision, created, image in (
            ("web-b2", 2, NOW - timedelta(minutes=2), BAD),
            ("web-a1", 1, NOW - timedelta(days=3), GOOD)):
        replicas = replicaset(name, revision, created, image)
        replicas["metadata"]["namespace"] = NS  # and the Deployment's annotations, as the
        replicas["metadata"]["annotations"].update(TRACKING)  # controller copies them
        world.add(REPLICASETS, replicas)
    world.add(APPS, application(self_heal=True))
    heal = SelfHeal(world)
    heal.holds(DEPLOYMENTS, NS, "web", template=template(BAD))
    return heal


async def test_self_heal_put_the_rolled_back_image_back(
        tmp_path: Path, client: ApiClient, rolled_out: SelfHeal) -> None:
    rig = build_rig(tmp_path, client, UNDO)
    rig.fire()
    await rig.worker.drain()
    acted = rig.last()
    assert acted["outcome"] == "succeeded", acted["reason"]
    assert acted["detail"]["gitops"]["holds"] == {"images": {"web": GOOD}}
    assert rolled_out.reconcile() == 1  # Argo CD applies git's template (1.1-bad) again
    rig.clock.advance(minutes=6)
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "reverted_by_gitops"
    assert entry["reason"] == (f"Argo CD put git's state back: container web runs {BAD}, "
                               f"not {GOOD}; the change must go to git "
                               "(Application argocd/shop-web)")


async def test_a_rollback_that_holds_goes_on_to_the_usual_check(
        tmp_path: Path, client: ApiClient, rolled_out: SelfHeal) -> None:
    rig = build_rig(tmp_path, client, UNDO, verifier=AlertGone())
    rig.fire()
    await rig.worker.drain()
    rig.clock.advance(minutes=6)
    await rig.worker.drain()  # no reconcile: the rolled-back image holds
    assert (rig.last()["outcome"], rig.last()["reason"]) == ("verified", "alert gone")


def test_only_the_containers_the_rollback_set_are_compared() -> None:
    from remediator.evidence.drift import expected_fields, reverted

    holds = expected_fields("kubernetes.rollout_undo", {"images": {"web": GOOD}})
    assert holds == {"images": {"web": GOOD}}
    assert reverted(holds, {"images": {"web": GOOD, "istio-proxy": "istio/proxy:1"}}) is None
    assert reverted(holds, {}) == f"container web runs None, not {GOOD}"
    assert expected_fields("kubernetes.rollout_undo", {"from_revision": 2}) is None
