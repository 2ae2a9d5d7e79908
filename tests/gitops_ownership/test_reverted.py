"""Verification of an `act` under self-heal: the change still holds, or reverted_by_gitops."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from remediator.model.outcomes import Outcome
from tests.gitops_ownership.conftest import (
    APPS,
    DEPLOYMENTS,
    HPAS,
    NS,
    World,
    application,
    deployment,
)
from tests.gitops_ownership.rig import build_rig
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
