"""The hint-based rules shipped in rules/workloads.yml, through the worker's preflight.

`rules test` shows their decisions; whether they act is decided just before
acting, from the evidence snapshot, so these run the real file against kmock's
emulator: roll a service back only after a rollout, and hold a pod restart
while the pod's own node is sick.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import kmock
import pytest
from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.execute.preflight import Preflight, PreflightConfig
from remediator.execute.verify import NoVerifier
from remediator.execute.worker import Worker
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.intake_store import IntakeStore
from remediator.store.preflight_store import PreflightStore
from remediator.store.service import Store
from tests.support.payloads import alert, crashloop

from .conftest import NAMESPACE, NOW, Seeded, declare_logs, node
from .test_preflight import Rig

SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "workloads.yml"


@pytest.fixture
def rig(tmp_path: Path, client: ApiClient) -> Iterator[Rig]:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    clock = FakeClock(NOW)
    metrics = Metrics.create()
    rulebook = RuleBook([str(SHIPPED)], metrics=metrics.rules)
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake,
                    clock=clock, rulebook=rulebook)
    actions = ActionRegistry(kubernetes_actions(client, clock=clock))
    preflight = Preflight(store=PreflightStore(database), actions=actions, clock=clock,
                          rules=rulebook.current.by_name, config=PreflightConfig())
    worker = Worker(store=Store(database), policy=intake.policy, rules=rulebook.current.by_name,
                    actions=actions, verifier=NoVerifier(), metrics=metrics.worker, clock=clock,
                    preflight=preflight, retries=0)
    yield Rig(database, intake, worker, clock)
    database.dispose()


def errors(started: timedelta = timedelta(0)) -> Alert:
    """HighErrorRate for service `web`, whose Deployment `web` the scene rolled out."""
    return Alert.model_validate(alert("HighErrorRate", namespace=NAMESPACE, service="web",
                                      starts_at=NOW + started))


def outcome_of(rig: Rig, rule: str) -> dict[str, object]:
    return [e for e in rig.audit() if e["rule"] == rule][-1]


async def test_errors_after_a_rollout_roll_the_deployment_back(
        rig: Rig, seeded: Seeded, kmock: kmock.KubernetesEmulator) -> None:
    seeded.scene()  # revision 2 rolled out 5 minutes before the alert
    declare_logs(kmock)
    rig.intake.receive([errors()], group_key="g")

    await rig.worker.drain()

    rolled = outcome_of(rig, "roll-back-recent-rollout")
    assert rolled["outcome"] == "succeeded", rolled["reason"]
    assert rolled["detail"]["from_revision"] == 2  # type: ignore[index]
    assert rolled["detail"]["to_revision"] == 1  # type: ignore[index]


async def test_errors_long_after_the_rollout_roll_nothing_back(
        rig: Rig, seeded: Seeded, kmock: kmock.KubernetesEmulator) -> None:
    seeded.scene()
    declare_logs(kmock)
    rig.clock.advance(timedelta(hours=2))
    rig.intake.receive([errors(timedelta(hours=2))], group_key="g")

    await rig.worker.drain()

    held = outcome_of(rig, "roll-back-recent-rollout")
    assert held["outcome"] == "precondition_failed"
    assert held["reason"] == "not run: when.hints: recent_rollout did not apply"
    assert len(kmock["patch"]) == 0


@pytest.mark.parametrize(("ready", "expected"), [
    pytest.param("False", "precondition_failed", id="sick-node-holds-the-restart"),
    pytest.param("True", "succeeded", id="healthy-node-restarts"),
])
async def test_a_crash_looping_pod_is_restarted_only_off_a_sick_node(
        rig: Rig, seeded: Seeded, kmock: kmock.KubernetesEmulator,
        ready: str, expected: str) -> None:
    seeded.scene()
    seeded.add("v1/nodes", node("n1", ready=ready))
    declare_logs(kmock)
    rig.intake.receive([Alert.model_validate(crashloop(
        "web-b2-x1", NAMESPACE, deployment="web", starts_at=NOW))], group_key="g")

    await rig.worker.drain()

    entry = outcome_of(rig, "restart-crashlooping-pod")
    assert entry["outcome"] == expected, entry["reason"]
    deleted = seeded.emulator.objects["v1/pods", NAMESPACE, "web-b2-x1"].deleted
    assert deleted is (expected == "succeeded")
    if expected == "precondition_failed":
        assert str(entry["reason"]).startswith("not run: unless.hints: node_not_ready applies")
