"""Metric -> Prometheus alert -> Alertmanager -> webhook -> decision -> action in
the Kubernetes emulator -> verification by Prometheus, all real except the
Kubernetes API server (kmock's emulator, over HTTP, through the official client).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import kmock
import pytest

from remediator.execute.verify import PrometheusVerifier
from remediator.model.outcomes import Outcome
from tests.actions.conftest import HPAS, PODS, Cluster, hpa, pod, workload
from tests.e2e.conftest import TOKEN, Service, Stack, prom_stack, run_service
from tests.support import promstack

pytestmark = pytest.mark.e2e

NAMESPACE = "apps-a"  # the namespace the emulator fixtures seed objects in


def crashlooping(stack: Stack, pod_name: str, *, value: float = 1) -> None:
    stack.exporter.set("kube_pod_container_status_waiting_reason", value, namespace=NAMESPACE,
                       pod=pod_name, container="app", reason="CrashLoopBackOff")


async def owned_by(stack: Stack, pod_name: str, deployment: str) -> None:
    """Pod -> ReplicaSet -> Deployment ownership, as kube-state-metrics exports it.

    Waits until Prometheus's recording rule joins them, so the alert carries
    its `deployment` label from its first evaluation.
    """
    stack.exporter.set("kube_pod_owner", 1, namespace=NAMESPACE, pod=pod_name,
                       owner_kind="ReplicaSet", owner_name=f"{deployment}-5d9f")
    stack.exporter.set("kube_replicaset_owner", 1, namespace=NAMESPACE,
                       replicaset=f"{deployment}-5d9f", owner_kind="Deployment",
                       owner_name=deployment)
    await asyncio.to_thread(stack.prometheus.wait_for_query,
                            f'namespace_deployment_pod:kube_pod_owner:relabel{{pod="{pod_name}"}}')


def hpa_saturated(stack: Stack, name: str, *, current: int, maximum: int,
                  minimum: int = 2) -> None:
    labels = {"namespace": NAMESPACE, "horizontalpodautoscaler": name}
    stack.exporter.set("kube_horizontalpodautoscaler_status_current_replicas", current, **labels)
    stack.exporter.set("kube_horizontalpodautoscaler_spec_max_replicas", maximum, **labels)
    stack.exporter.set("kube_horizontalpodautoscaler_spec_min_replicas", minimum, **labels)


def deletes(emulator: kmock.KubernetesEmulator, name: str) -> int:
    return sum(1 for request in emulator["delete"] if request.url.path.endswith(f"/{name}"))


async def test_crashlooping_pod_is_restarted_once_and_audited(
        stack: Stack, service: Service, cluster: Cluster,
        kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(pod("e2e-web-1"))
    changed_at = datetime.now(UTC)
    crashlooping(stack, "e2e-web-1")
    try:
        succeeded = await service.wait_for("succeeded", pod="e2e-web-1")
        assert not cluster.exists(PODS, "e2e-web-1")
        executed = (await service.wait_for("executed", pod="e2e-web-1"))[0]
        assert executed["target"] == f"pod/{NAMESPACE}/e2e-web-1"
        assert executed["runbook_url"] == (
            f"{promstack.DEFAULT_EXTERNAL_LABELS['runbook_base_url']}"
            "/runbooks/KubePodCrashLooping.md")
        # Alertmanager repeats the notification every 2s: duplicates, one action.
        await service.wait_for("duplicate", count=2, pod="e2e-web-1")
        assert deletes(kmock, "e2e-web-1") == 1
        _report_latency(changed_at, executed, succeeded[0])
    finally:
        stack.exporter.remove("kube_pod_container_status_waiting_reason", namespace=NAMESPACE,
                              pod="e2e-web-1", container="app", reason="CrashLoopBackOff")


async def test_hpa_is_raised_then_reverted_when_the_alert_resolves(
        stack: Stack, service: Service, cluster: Cluster,
        kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(hpa("e2e-api", 2, 4))
    hpa_saturated(stack, "e2e-api", current=4, maximum=4)
    try:
        await service.wait_for("succeeded", alertname="HpaMaxedOut")
        assert cluster.get(HPAS, "e2e-api")["spec"]["maxReplicas"] == 6
        hpa_saturated(stack, "e2e-api", current=3, maximum=4)  # the metric recovers
        await service.wait_for("resolved", alertname="HpaMaxedOut")
        await service.wait_for("succeeded", count=2, alertname="HpaMaxedOut")
        await service.wait_for("verified", alertname="HpaMaxedOut")
        assert cluster.get(HPAS, "e2e-api")["spec"]["maxReplicas"] == 4
        outcomes = [e["outcome"] for e in await service.audit(alertname="HpaMaxedOut")]
        assert outcomes.count("executed") == 1
    finally:
        for metric in ("current_replicas", "max_replicas", "min_replicas"):
            prefix = "status" if metric == "current_replicas" else "spec"
            stack.exporter.remove(f"kube_horizontalpodautoscaler_{prefix}_{metric}",
                                  namespace=NAMESPACE, horizontalpodautoscaler="e2e-api")


async def test_still_firing_escalates_then_exhausts(
        stack: Stack, service: Service, cluster: Cluster,
        kmock: kmock.KubernetesEmulator) -> None:
    cluster.add(pod("e2e-stuck-1"))
    cluster.add(workload("Deployment", "e2e-stuck"))
    await owned_by(stack, "e2e-stuck-1", "e2e-stuck")
    crashlooping(stack, "e2e-stuck-1")
    try:
        await service.wait_for("unverified", pod="e2e-stuck-1")
        restarted = await service.wait_for("succeeded", count=2, pod="e2e-stuck-1")
        assert restarted[1]["target"] == f"deployment/{NAMESPACE}/e2e-stuck"
        annotations = cluster.get("apps/v1/deployments", "e2e-stuck")["spec"]["template"][
            "metadata"]["annotations"]
        assert "kubectl.kubernetes.io/restartedAt" in annotations
        exhausted = await service.wait_for("exhausted", pod="e2e-stuck-1")
        assert "a human is needed" in exhausted[0]["reason"]
    finally:
        crashlooping(stack, "e2e-stuck-1", value=0)


async def test_wrong_token_is_refused_and_nothing_acts(
        tmp_path: Path, cluster: Cluster, kmock: kmock.KubernetesEmulator) -> None:
    port = promstack.free_port()
    with prom_stack(tmp_path, port=port, token="not-the-token", repeat_interval="1h") as wrong:
        async with run_service(port, tmp_path / "r.db", kmock) as service:
            cluster.add(pod("e2e-tok-1"))
            crashlooping(wrong, "e2e-tok-1")
            rejected = await service.wait_for("rejected")
            assert rejected[0]["reason"] == "invalid bearer token"
            assert rejected[0]["detail"]["status"] == 401
            assert cluster.exists(PODS, "e2e-tok-1")
            assert len(kmock) == 0


async def test_reconciliation_catches_alerts_fired_while_the_service_was_down(
        tmp_path: Path, cluster: Cluster, kmock: kmock.KubernetesEmulator) -> None:
    port = promstack.free_port()
    with prom_stack(tmp_path, port=port, token=TOKEN, repeat_interval="1h") as stack:
        cluster.add(pod("e2e-missed-1"))
        crashlooping(stack, "e2e-missed-1")
        await asyncio.to_thread(stack.alertmanager.wait_for_alert, "KubePodCrashLooping",
                                labels={"pod": "e2e-missed-1"})
        # Alertmanager's webhook failed (nothing listened); its next repeat is an
        # hour away. A service with reconciliation acts at once on start (on the
        # alerts of its receiver: promstack routes all to "webhook").
        async with run_service(promstack.free_port(), tmp_path / "r.db", kmock,
                               alertmanager_url=stack.alertmanager.url,
                               alertmanager_receiver="webhook",
                               reconcile_interval=1) as service:
            executed = await service.wait_for("executed", alertname="KubePodCrashLooping")
            assert executed[0]["group_key"] == "reconcile"
            await service.wait_for("succeeded", alertname="KubePodCrashLooping")
            assert not cluster.exists(PODS, "e2e-missed-1")


def _report_latency(changed_at: datetime, executed: dict[str, object],
                    succeeded: dict[str, object]) -> None:
    decided = datetime.fromisoformat(str(executed["ts"]))
    acted = datetime.fromisoformat(str(succeeded["ts"]))
    print(f"\nE2E latency: Prometheus+Alertmanager {(decided - changed_at).total_seconds():.2f}s,"
          f" remediator {(acted - decided).total_seconds() * 1000:.0f}ms "
          f"(decision to action done)")


async def test_verifier_asks_prometheus_about_this_alert_not_its_siblings(
        stack: Stack) -> None:
    hpa_saturated(stack, "e2e-fixed", current=4, maximum=4)
    hpa_saturated(stack, "e2e-busy", current=4, maximum=4)
    try:
        # The labels as Alertmanager delivers them: with Prometheus's external labels.
        fixed, busy = [
            (await asyncio.to_thread(stack.alertmanager.wait_for_alert, "HpaMaxedOut",
                                     labels={"horizontalpodautoscaler": name}))["labels"]
            for name in ("e2e-fixed", "e2e-busy")]
        assert "runbook_base_url" in fixed
        verifier = PrometheusVerifier(stack.prometheus.url)
        try:
            assert (await verifier.check(fixed, None))[0] is Outcome.UNVERIFIED
            hpa_saturated(stack, "e2e-fixed", current=3, maximum=4)  # only this one recovers
            await asyncio.to_thread(promstack.wait_until, lambda: not stack.prometheus.query(
                'ALERTS{horizontalpodautoscaler="e2e-fixed"}'), timeout=30,
                what="e2e-fixed gone")
            assert (await verifier.check(fixed, None))[0] is Outcome.VERIFIED
            assert (await verifier.check(busy, None))[0] is Outcome.UNVERIFIED
        finally:
            verifier.close()  # its connection pool and executor
    finally:
        for name in ("e2e-fixed", "e2e-busy"):
            for metric in ("status_current_replicas", "spec_max_replicas", "spec_min_replicas"):
                stack.exporter.remove(f"kube_horizontalpodautoscaler_{metric}",
                                      namespace=NAMESPACE, horizontalpodautoscaler=name)
