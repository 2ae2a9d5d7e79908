"""Alert in, object changed in the Kubernetes emulator: the whole decision and
worker path with the official client over real HTTP, nothing patched."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.execute.verify import NoVerifier
from remediator.execute.worker import Worker
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from remediator.store.service import Store
from tests.actions.conftest import HPAS, PODS, Cluster, hpa, pod
from tests.support.payloads import alert, crashloop

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def pipeline(tmp_path: Path, client: ApiClient, clock: FakeClock) -> tuple[Intake, Worker]:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    metrics = Metrics.create()
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                    rulebook=RuleBook([str(RULES)], metrics=metrics.rules))
    worker = Worker(store=Store(database), policy=intake.policy, rules=intake.rulebook.current.by_name,
                    metrics=metrics.worker, clock=clock,
                    actions=ActionRegistry(kubernetes_actions(client)), verifier=NoVerifier())
    return intake, worker


def outcomes(intake: Intake) -> list[str]:
    with intake.store.database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery())
    return [i["outcome"] for i in reversed(items)]


async def test_crashlooping_pod_is_deleted(pipeline: tuple[Intake, Worker],
                                           cluster: Cluster) -> None:
    intake, worker = pipeline
    cluster.add(pod("web-1"))
    cluster.add(pod("web-2"))
    intake.receive([Alert.model_validate(crashloop(pod="web-1"))], group_key="g")
    await worker.drain()
    assert not cluster.exists(PODS, "web-1")
    assert cluster.exists(PODS, "web-2")
    assert outcomes(intake) == ["executed", "succeeded"]


async def test_missing_pod_is_target_gone(pipeline: tuple[Intake, Worker]) -> None:
    intake, worker = pipeline
    intake.receive([Alert.model_validate(crashloop(pod="ghost"))], group_key="g")
    await worker.drain()
    assert outcomes(intake) == ["executed", "target_gone"]


@pytest.mark.parametrize("hostile", [
    pytest.param(crashloop(pod="x; rm -rf /"), id="shell"),
    pytest.param(crashloop(pod="../etc"), id="traversal"),
    pytest.param(crashloop(pod="a" * 300), id="too-long"),
    pytest.param(alert("HpaMaxedOut", namespace="kube-system", horizontalpodautoscaler="dns"),
                 id="kube-system"),
    pytest.param(alert("HpaMaxedOut", namespace="apps-a", horizontalpodautoscaler="$(reboot)"),
                 id="command-substitution"),
])
async def test_hostile_labels_never_reach_the_api(pipeline: tuple[Intake, Worker],
                                                  kmock: object,
                                                  hostile: dict[str, object]) -> None:
    intake, worker = pipeline
    intake.receive([Alert.model_validate(hostile)], group_key="g")
    await worker.drain()
    assert outcomes(intake) == ["denied"]
    assert len(kmock) == 0  # type: ignore[arg-type]


async def test_hpa_is_raised_and_reverted_when_the_alert_resolves(
        pipeline: tuple[Intake, Worker], cluster: Cluster) -> None:
    intake, worker = pipeline
    cluster.add(hpa("web", 2, 4))
    firing = alert("HpaMaxedOut", namespace="apps-a", horizontalpodautoscaler="web")
    intake.receive([Alert.model_validate(firing)], group_key="g")
    await worker.drain()
    assert cluster.get(HPAS, "web")["spec"]["maxReplicas"] == 6
    intake.receive([Alert.model_validate({**firing, "status": "resolved"})], group_key="g")
    await worker.drain()
    assert cluster.get(HPAS, "web")["spec"]["maxReplicas"] == 4
    assert outcomes(intake) == ["executed", "succeeded", "resolved", "succeeded"]
