"""Approving an action whose target has gone: refused at the click, not at run time.

The check reads the target through the official client against kmock's
emulator (`kubernetes.exists`); nothing is patched.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.kubernetes.target_check import target_exists
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.intake.intake import Intake
from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.operate import approvals
from remediator.operate.operator_log import Actor
from remediator.rules.book import RuleBook
from remediator.store import Database, jobs, remediations
from remediator.store.approving import ApprovalStore
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from tests.actions.conftest import NAMESPACE, Cluster, hpa, pod, workload
from tests.support.payloads import crashloop

RULES = """\
rules:
  - name: restart-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    approval: {required: true, timeout: 30m}
"""
OPERATOR = Actor(name="webhook-token", via="token", client="192.0.2.1")


@pytest.fixture
def registry(client: ApiClient) -> ActionRegistry:
    return ActionRegistry(kubernetes_actions(client))


@pytest.fixture
def intake(tmp_path: Path, clock: FakeClock) -> Intake:
    (tmp_path / "rules.yml").write_text(RULES)
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    metrics = Metrics.create()
    return Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                  rulebook=RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules))


def request(kind: str, name: str, type_: str = "kubernetes.rollout_restart") -> ActionRequest:
    return ActionRequest(type=type_, kind=kind, namespace=NAMESPACE, name=name)


@pytest.mark.parametrize(("kind", "obj"), [
    ("pod", pod("x")), ("deployment", workload("Deployment", "x")),
    ("statefulset", workload("StatefulSet", "x")), ("daemonset", workload("DaemonSet", "x")),
    ("hpa", hpa("x", 2, 5))])
async def test_each_kind_is_read(registry: ActionRegistry, cluster: Cluster, kind: str,
                                 obj: dict[str, object]) -> None:
    assert await target_exists(registry, request(kind, "x")) is False
    cluster.add(obj)
    assert await target_exists(registry, request(kind, "x")) is True


async def test_unknown_when_it_cannot_be_asked(registry: ActionRegistry) -> None:
    assert await target_exists(ActionRegistry(), request("pod", "x")) is None  # no cluster
    assert await target_exists(registry, request("node", "x")) is None  # no reader for it
    play = ActionRequest(type="ansible.playbook", kind="playbook", name="repair/web-1")
    assert await target_exists(registry, play) is None


async def test_approval_of_a_vanished_pod_is_target_gone(intake: Intake, clock: FakeClock,
                                                         registry: ActionRegistry,
                                                         cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    here = str(intake.receive([Alert.model_validate(crashloop(pod="web-1"))],
                              group_key="g")[0]["remediation_id"])
    gone = str(intake.receive([Alert.model_validate(crashloop(pod="web-2"))],
                              group_key="g")[0]["remediation_id"])
    database = intake.store.database
    answers = {}
    for rid in (here, gone):
        with database.reading() as connection:
            current = remediations.get(connection, rid)
        assert current is not None
        exists = await target_exists(registry, current.request)
        answers[rid] = approvals.approve(
            ApprovalStore(database), remediation_id=rid, actor=OPERATOR, reason="go", now=clock(),
            rules=intake.rulebook.current, policy=intake.policy, target_exists=exists)
    assert answers[here].queued and answers[here].outcome.value == "approved"
    assert not answers[gone].queued and answers[gone].outcome.value == "target_gone"
    assert "pod/apps-a/web-2 no longer exists" in answers[gone].reason
    with database.writing() as connection:
        queued = jobs.claim(connection, owner="t", now=clock(), limit=10,
                            lease=timedelta(minutes=5))
        items, _ = audit.query(connection, AuditQuery(remediation_id=gone))
    assert [j.remediation_id for j in queued] == [here]
    assert [i["outcome"] for i in reversed(items)] == ["awaiting_approval", "operator",
                                                      "target_gone"]
    # The key was given back: the alert's next notification asks again.
    again = intake.receive([Alert.model_validate(crashloop(pod="web-2"))], group_key="g")[0]
    assert again["outcome"] == "awaiting_approval" and again["remediation_id"] != gone

