"""Prometheus -> Alertmanager -> webhook -> preflight (evidence, hints) -> action on kmock.

The same KubePodCrashLooping alert is rolled back when the pod's Deployment
rolled out a minute ago (hint `recent_rollout`), and restarts the pod when
the Deployment is old.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import kmock
import pytest

from tests.e2e.conftest import TOKEN, Service, Stack, run_service
from tests.e2e.test_pipeline import crashlooping, owned_by
from tests.evidence.conftest import crashlooping_pod, declare_logs, deployment, replicaset

pytestmark = pytest.mark.e2e

NAMESPACE = "apps-a"
RULES = Path(__file__).parent / "rules" / "rollback.yml"


@pytest.fixture
async def service(stack: Stack, kmock: kmock.KubernetesEmulator,
                  tmp_path: Path) -> AsyncIterator[Service]:
    async with run_service(stack.port, tmp_path / "r.db", kmock, rules=[str(RULES)],
                           prometheus_url=stack.prometheus.url) as running:
        yield running


def seed(emulator: kmock.KubernetesEmulator, name: str, *, rolled_out: datetime) -> str:
    """Deployment `name` at revision 2 (rolled out at `rolled_out`), revision 1 a week
    earlier, and its crash-looping pod (OOMKilled). Returns the pod's name."""
    pod = f"{name}-b2-x1"
    objects = emulator.objects
    objects["apps/v1/deployments", NAMESPACE, name] = deployment(name, image=f"{name}:2")
    objects["apps/v1/replicasets", NAMESPACE, f"{name}-b2"] = replicaset(
        f"{name}-b2", 2, rolled_out, f"{name}:2", owner=name)
    objects["apps/v1/replicasets", NAMESPACE, f"{name}-a1"] = replicaset(
        f"{name}-a1", 1, rolled_out - timedelta(days=7), f"{name}:1", owner=name)
    objects["v1/pods", NAMESPACE, pod] = crashlooping_pod(pod, replicaset=f"{name}-b2")
    declare_logs(emulator)
    return pod


async def remediation(service: Service, remediation_id: str) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{service.url}/api/v1/remediations/{remediation_id}",
                                    headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


async def test_fresh_rollout_is_rolled_back_old_one_restarts_the_pod(
        stack: Stack, service: Service, kmock: kmock.KubernetesEmulator) -> None:
    now = datetime.now(UTC)
    fresh = seed(kmock, "e2e-fresh", rolled_out=now - timedelta(minutes=1))
    old = seed(kmock, "e2e-old", rolled_out=now - timedelta(days=2))
    for pod, name in ((fresh, "e2e-fresh"), (old, "e2e-old")):
        await owned_by(stack, pod, name)
        crashlooping(stack, pod)
    try:
        # Fresh rollout: rolled back, the restart held.
        [rolled] = [e for e in await service.wait_for("succeeded", pod=fresh)
                    if e["rule"] == "roll-back-recent-rollout"]
        assert rolled["detail"]["from_revision"] == 2 and rolled["detail"]["to_revision"] == 1
        assert [h["name"] for h in rolled["detail"]["hints"]] == ["recent_rollout"]
        template = kmock.objects["apps/v1/deployments", NAMESPACE, "e2e-fresh"]["spec"][
            "template"]
        assert template["spec"]["containers"][0]["image"] == "e2e-fresh:1"
        held = (await service.wait_for("precondition_failed", pod=fresh))[0]
        assert held["rule"] == "restart-crashlooping-pod"
        assert "unless.hints: recent_rollout applies" in held["reason"]
        assert not kmock.objects["v1/pods", NAMESPACE, fresh].deleted

        # Old rollout: the pod is restarted, the rollback held.
        [restarted] = [e for e in await service.wait_for("succeeded", pod=old)
                       if e["rule"] == "restart-crashlooping-pod"]
        assert kmock.objects["v1/pods", NAMESPACE, old].deleted
        # The fresh pod's alert fires in the same namespace: co_firing names it.
        hints = {h["name"]: h for h in restarted["detail"]["hints"]}
        assert set(hints) == {"oom_killed", "co_firing"}
        assert f"pod={fresh}" in hints["co_firing"]["explanation"]
        not_rolled = (await service.wait_for("precondition_failed", pod=old))[0]
        assert not_rolled["rule"] == "roll-back-recent-rollout"
        assert not_rolled["reason"] == "not run: when.hints: recent_rollout did not apply"
        old_template = kmock.objects["apps/v1/deployments", NAMESPACE, "e2e-old"]["spec"][
            "template"]
        assert old_template["spec"]["containers"][0]["image"] == "e2e-old:2"

        # The API shows the evidence and the hints of the held restart.
        shown = await remediation(service, str(held["remediation_id"]))
        assert [h["name"] for h in shown["hints"]][:2] == [  # type: ignore[union-attr]
            "recent_rollout", "oom_killed"]
        document = shown["evidence"][0]["document"]  # type: ignore[index]
        assert document["containers"][0]["lastTermination"]["reason"] == "OOMKilled"
        assert document["rollout"]["revision"] == 2
        assert "hunter2" not in str(shown)
    finally:
        for pod in (fresh, old):
            crashlooping(stack, pod, value=0)
