"""The worker with its preflight: evidence stored, hints decide, precondition_failed recorded.

A real SQLite store, the real Kubernetes actions against kmock's emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import kmock
import pytest
from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.cli.evidence_text import render_text
from remediator.execute.preflight import Preflight, PreflightConfig
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
from remediator.store.preflight_store import PreflightStore
from remediator.store.readmodel import ReadModel
from remediator.store.service import Store
from tests.support.payloads import crashloop

from .conftest import NAMESPACE, NOW, Seeded, declare_logs

RULES = """\
rules:
  - name: roll-back-recent-rollout
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.rollout_undo, namespace: "{{ labels.namespace }}", name: "{{ labels.deployment }}", max_age: 1h}
    when: {hints: [recent_rollout]}
    limits: {cooldown: 0s}
  - name: restart-pod-unless-rollout
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    unless: {hints: [recent_rollout]}
    limits: {cooldown: 0s}
"""


@dataclass
class Rig:
    database: Database
    intake: Intake
    worker: Worker
    clock: FakeClock

    def fire(self, pod: str = "web-b2-x1") -> dict[str, str]:
        summaries = self.intake.receive([Alert.model_validate(crashloop(
            pod, NAMESPACE, deployment="web", starts_at=NOW))], group_key="g")
        return {s["rule"]: s["remediation_id"] for s in summaries}

    def audit(self) -> list[dict[str, object]]:
        with self.database.reading() as connection:
            items, _ = audit.query(connection, AuditQuery(limit=1000))
        return list(reversed(items))

    def evidence(self, remediation_id: str) -> dict[str, object]:
        return ReadModel(database=self.database).evidence(remediation_id)


@pytest.fixture
def rig(tmp_path: Path, client: ApiClient) -> Iterator[Rig]:
    (tmp_path / "rules.yml").write_text(RULES)
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    clock = FakeClock(NOW)
    metrics = Metrics.create()
    rulebook = RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules)
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                    rulebook=rulebook)
    actions = ActionRegistry(kubernetes_actions(client, clock=clock))
    preflight = Preflight(store=PreflightStore(database), actions=actions, clock=clock,
                          rules=rulebook.current.by_name, config=PreflightConfig())
    worker = Worker(store=Store(database), policy=intake.policy, rules=rulebook.current.by_name,
                    actions=actions, verifier=NoVerifier(),
                    metrics=metrics.worker, clock=clock, preflight=preflight, retries=0)
    yield Rig(database, intake, worker, clock)
    database.dispose()


async def test_recent_rollout_rolls_back_and_holds_the_restart(
        rig: Rig, seeded: Seeded, kmock: kmock.KubernetesEmulator) -> None:
    seeded.scene()  # revision 2 rolled out 5 minutes before the alert
    declare_logs(kmock)
    ids = rig.fire()

    await rig.worker.drain()

    outcomes = {(e["rule"], e["outcome"]) for e in rig.audit()}
    assert ("roll-back-recent-rollout", "succeeded") in outcomes
    assert ("restart-pod-unless-rollout", "precondition_failed") in outcomes
    held = next(e for e in rig.audit() if e["outcome"] == "precondition_failed")
    assert str(held["reason"]).startswith(
        "not run: unless.hints: recent_rollout applies (deployment web rolled out revision 2")
    assert held["detail"]["hints"][0]["name"] == "recent_rollout"  # type: ignore[index]
    rolled = next(e for e in rig.audit() if e["outcome"] == "succeeded")
    assert rolled["detail"]["from_revision"] == 2  # type: ignore[index]
    assert rolled["detail"]["to_revision"] == 1  # type: ignore[index]
    # Its evidence is the Deployment's: no containers, so no oom_killed.
    assert [h["name"] for h in rolled["detail"]["hints"]] == [  # type: ignore[index]
        "recent_rollout"]
    assert seeded.emulator.objects["v1/pods", NAMESPACE, "web-b2-x1"].deleted is False

    view = rig.evidence(ids["restart-pod-unless-rollout"])
    [snapshot] = view["evidence"]  # type: ignore[misc]
    assert snapshot["phase"] == "before"
    assert snapshot["document"]["containers"][0]["lastTermination"]["exitCode"] == 137
    assert [h["name"] for h in view["hints"]] == ["recent_rollout", "oom_killed"]  # type: ignore[union-attr]
    json.dumps(view)
    text = render_text(view)
    assert "hint oom_killed: container web was OOMKilled" in text
    assert "last exit OOMKilled (137)" in text
    assert "password=<redacted>" in text and "hunter2" not in text


async def test_old_rollout_restarts_the_pod_and_holds_the_rollback(
        rig: Rig, seeded: Seeded, kmock: kmock.KubernetesEmulator) -> None:
    seeded.scene()
    declare_logs(kmock)
    rig.clock.advance(timedelta(hours=2))  # the alert starts long after the rollout
    rig.intake.receive([Alert.model_validate(crashloop(
        "web-b2-x1", NAMESPACE, deployment="web", starts_at=NOW + timedelta(hours=2)))],
        group_key="g")

    await rig.worker.drain()

    outcomes = {(e["rule"], e["outcome"]) for e in rig.audit()}
    assert ("restart-pod-unless-rollout", "succeeded") in outcomes, [
        e["reason"] for e in rig.audit()]
    assert ("roll-back-recent-rollout", "precondition_failed") in outcomes
    held = next(e for e in rig.audit() if e["outcome"] == "precondition_failed")
    assert held["reason"] == "not run: when.hints: recent_rollout did not apply"
    assert seeded.emulator.objects["v1/pods", NAMESPACE, "web-b2-x1"].deleted
    assert len(kmock["patch"]) == 0


async def test_a_failed_action_is_snapshotted_again(
        rig: Rig, seeded: Seeded, kmock: kmock.KubernetesEmulator) -> None:
    seeded.scene()
    declare_logs(kmock)
    kmock["delete", kmock.resource("v1/pods")] << 403 << {
        "apiVersion": "v1", "kind": "Status", "code": 403, "message": "forbidden"}
    rig.clock.advance(timedelta(hours=2))
    ids = {s["rule"]: s["remediation_id"] for s in rig.intake.receive([Alert.model_validate(
        crashloop("web-b2-x1", NAMESPACE, deployment="web",
                  starts_at=NOW + timedelta(hours=2)))], group_key="g")}

    await rig.worker.drain()

    failed = next(e for e in rig.audit() if e["outcome"] == "failed")
    assert "forbidden" in str(failed["reason"])
    phases = [s["phase"] for s in rig.evidence(ids["restart-pod-unless-rollout"])["evidence"]]  # type: ignore[union-attr]
    assert phases == ["before", "failure"]


async def test_without_a_cluster_nothing_is_gathered_and_hints_still_apply(
        tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    clock = FakeClock(NOW)
    metrics = Metrics.create()
    rulebook = RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules)
    preflight = Preflight(store=PreflightStore(database), actions=ActionRegistry(), clock=clock,
                          rules=rulebook.current.by_name)
    from remediator.model.actions import ActionRequest

    request = ActionRequest(type="kubernetes.delete_pod", kind="pod", namespace=NAMESPACE,
                            name="web-1")
    assert await preflight.snapshot(request) is None
    database.dispose()
