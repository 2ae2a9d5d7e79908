"""The console's reads and the approval writes on both backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.app.metrics import Metrics
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.operate import approvals
from remediator.operate.operator_log import Actor
from remediator.rules.book import RuleBook
from remediator.store import Database, readmodel
from remediator.store.intake_store import IntakeStore
from tests.support.payloads import crashloop

RULES = """\
rules:
  - name: restart-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    approval: {required: true, timeout: 30m, namespaces: [apps-payments]}
"""
OPERATOR = Actor(name="webhook-token", via="token", client="192.0.2.1")


@pytest.fixture
def intake(database: Database, tmp_path: Path, clock: FakeClock) -> Intake:
    (tmp_path / "rules.yml").write_text(RULES)
    metrics = Metrics.create()
    return Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics, clock=clock,
                  rulebook=RuleBook([str(tmp_path / "rules.yml")], metrics=metrics))


def receive(intake: Intake, pod: str, namespace: str = "apps-a") -> dict[str, object]:
    alert = Alert.model_validate(crashloop(pod=pod, namespace=namespace))
    return intake.receive([alert], group_key="g")[0]


def test_list_filters_pages_and_resolves_short_ids(intake: Intake, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        ids.append(str(receive(intake, f"web-{n}")["remediation_id"]))
        clock.advance(minutes=1)
    receive(intake, "web-0")  # a repeat
    with intake.store.database.reading() as connection:
        first, cursor = readmodel.list_remediations(connection, readmodel.ListQuery(limit=2))
        assert [r.id for r in first] == ids[:0:-1]
        rest, end = readmodel.list_remediations(
            connection, readmodel.ListQuery(limit=2, before=cursor))
        assert [(r.id, r.repeats) for r in rest] == [(ids[0], 1)] and end is None
        pending, _ = readmodel.list_remediations(connection, readmodel.ListQuery(state="pending"))
        assert len(pending) == 3
        assert readmodel.resolve_id(connection, ids[1][:8]) == ids[1]
        view = readmodel.remediation_view(connection, ids[0])
        assert [e.outcome for e in view.timeline] == ["executed", "duplicate"]


def test_approve_decline_and_expire(intake: Intake, clock: FakeClock) -> None:
    database = intake.store.database
    rules = intake.rulebook.current
    a = str(receive(intake, "pay-1", "apps-payments")["remediation_id"])
    b = str(receive(intake, "pay-2", "apps-payments")["remediation_id"])
    c = str(receive(intake, "pay-3", "apps-payments")["remediation_id"])
    answer = approvals.approve(database, remediation_id=a, actor=OPERATOR, reason="ok",
                               now=clock(), rules=rules, policy=Policy())
    assert answer.queued
    assert approvals.decline(database, remediation_id=b, actor=OPERATOR, reason="no",
                             now=clock()).reason == "declined by webhook-token: no"
    clock.advance(minutes=31)
    assert [r.id for r in approvals.expire_due(database, clock())] == [c]
    with database.reading() as connection:
        states = {rid: readmodel.remediation_view(connection, rid).state for rid in (a, b, c)}
    assert states == {a: "pending", b: "declined", c: "expired"}
    with pytest.raises(approvals.ApprovalError, match="not awaiting approval"):
        approvals.approve(database, remediation_id=c, actor=OPERATOR, reason="", now=clock(),
                          rules=rules, policy=Policy())
