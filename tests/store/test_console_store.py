"""The console's reads (`ReadModel`) and the approval writes on both backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.app.metrics import Metrics
from remediator.decide.guards import BreakerVerdict
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.operate import approvals
from remediator.operate.operator_log import Actor
from remediator.rules.book import RuleBook
from remediator.store import Database, StoreUnavailable
from remediator.store.approving import ApprovalStore
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from remediator.store.operating import OperatorStore
from remediator.store.readmodel import LookupError_, ReadModel
from remediator.store.views import ListQuery
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
    return Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                  rulebook=RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules))


def receive(intake: Intake, pod: str, namespace: str = "apps-a") -> dict[str, object]:
    alert = Alert.model_validate(crashloop(pod=pod, namespace=namespace))
    return intake.receive([alert], group_key="g")[0]


def test_list_filters_pages_and_resolves_short_ids(intake: Intake, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        ids.append(str(receive(intake, f"web-{n}")["remediation_id"]))
        clock.advance(minutes=1)
    receive(intake, "web-0")  # a repeat
    reads = ReadModel(database=intake.store.database)
    first, cursor = reads.remediations(ListQuery(limit=2))
    assert [r.id for r in first] == ids[:0:-1]
    rest, end = reads.remediations(ListQuery(limit=2, before=cursor))
    assert [(r.id, r.repeats) for r in rest] == [(ids[0], 1)] and end is None
    pending, _ = reads.remediations(ListQuery(state="pending"))
    assert len(pending) == 3
    assert reads.resolve(ids[1][:8]) == ids[1]
    view = reads.remediation(ids[0][:8])
    assert view.id == ids[0]
    assert [e.outcome for e in view.timeline] == ["executed", "duplicate"]


def test_approve_decline_and_expire(intake: Intake, clock: FakeClock) -> None:
    database = intake.store.database
    rules = intake.rulebook.current
    a = str(receive(intake, "pay-1", "apps-payments")["remediation_id"])
    b = str(receive(intake, "pay-2", "apps-payments")["remediation_id"])
    c = str(receive(intake, "pay-3", "apps-payments")["remediation_id"])
    answer = approvals.approve(ApprovalStore(database), remediation_id=a, actor=OPERATOR, reason="ok",
                               now=clock(), rules=rules, policy=Policy())
    assert answer.queued
    assert approvals.decline(ApprovalStore(database), remediation_id=b, actor=OPERATOR, reason="no",
                             now=clock()).reason == "declined by webhook-token: no"
    clock.advance(minutes=31)
    assert [r.id for r in approvals.expire_due(ApprovalStore(database), clock())] == [c]
    reads = ReadModel(database=database)
    states = {rid: reads.remediation(rid).state for rid in (a, b, c)}
    assert states == {a: "pending", b: "declined", c: "expired"}
    with pytest.raises(approvals.ApprovalError, match="not awaiting approval"):
        approvals.approve(ApprovalStore(database), remediation_id=c, actor=OPERATOR, reason="", now=clock(),
                          rules=rules, policy=Policy())


@pytest.mark.parametrize(("text", "status"), [
    pytest.param("not-an-id", 404, id="not-hex"),
    pytest.param("abc", 404, id="too-short"),
    pytest.param("ffffff", 404, id="unknown"),
])
def test_an_id_that_names_no_remediation_is_a_lookup_error(
        intake: Intake, text: str, status: int) -> None:
    receive(intake, "web-0")
    reads = ReadModel(database=intake.store.database)
    for read in (reads.resolve, reads.find, reads.remediation):
        with pytest.raises(LookupError_) as raised:
            read(text)
        assert raised.value.status == status


def test_find_returns_the_step_with_its_request(intake: Intake) -> None:
    rid = str(receive(intake, "pay-1", "apps-payments")["remediation_id"])
    found = ReadModel(database=intake.store.database).find(rid[:8])
    assert (found.id, found.state, found.request.target) == (
        rid, "awaiting_approval", "pod/apps-payments/pay-1")


def test_awaiting_approval_counts_steps_waiting_for_an_answer(
        intake: Intake, clock: FakeClock) -> None:
    reads = ReadModel(database=intake.store.database)
    assert reads.awaiting_approval() == 0
    receive(intake, "web-0")
    a = str(receive(intake, "pay-1", "apps-payments")["remediation_id"])
    receive(intake, "pay-2", "apps-payments")
    assert reads.awaiting_approval() == 2
    approvals.decline(ApprovalStore(intake.store.database), remediation_id=a, actor=OPERATOR, reason="no",
                      now=clock())
    assert reads.awaiting_approval() == 1


def test_evidence_is_empty_when_none_was_gathered(intake: Intake) -> None:
    rid = str(receive(intake, "web-0")["remediation_id"])
    reads = ReadModel(database=intake.store.database)
    assert reads.evidence(rid) == {"evidence": [], "hints": []}
    view = reads.remediation(rid)
    assert (view.evidence, view.hints) == ([], [])


def test_audit_pages_follow_and_verify(intake: Intake) -> None:
    reads = ReadModel(database=intake.store.database).audit
    receive(intake, "web-0")
    items, _ = reads.query(AuditQuery(limit=10))
    last = max(int(e["id"]) for e in items)
    assert reads.newer_than(AuditQuery(limit=10), last) == []
    receive(intake, "web-1")
    fresh = reads.newer_than(AuditQuery(limit=10), last)
    assert [e["target"] for e in fresh] == ["pod/apps-a/web-1"]
    assert reads.verify().ok


def test_ping_answers_while_the_store_does(intake: Intake) -> None:
    reads = ReadModel(database=intake.store.database)
    reads.ping()
    gone = ReadModel(database=Database("postgresql+psycopg://nobody@127.0.0.1:1/none"
                                       "?connect_timeout=2"))
    with pytest.raises(StoreUnavailable):
        gone.ping()


def test_rows_carry_the_decision_beside_the_current_state(intake: Intake,
                                                         clock: FakeClock) -> None:
    """Issue 23: the decision is secondary to the state, in the list and the view."""
    database = intake.store.database
    acted = str(receive(intake, "web-0")["remediation_id"])
    asked = str(receive(intake, "pay-1", "apps-payments")["remediation_id"])
    approvals.decline(ApprovalStore(database), remediation_id=asked, actor=OPERATOR,
                      reason="no", now=clock())
    reads = ReadModel(database=database)
    rows, _ = reads.remediations(ListQuery())
    assert {r.id: (r.state, r.decision) for r in rows} == {
        acted: ("pending", "executed"), asked: ("declined", "awaiting_approval")}
    view = reads.remediation(asked)
    assert (view.state, view.decision) == ("declined", "awaiting_approval")
    assert [(s.state, s.decision) for s in view.steps] == [("declined", "awaiting_approval")]


def test_controls_count_the_approvals_waiting(intake: Intake, clock: FakeClock) -> None:
    database = intake.store.database
    store = OperatorStore(database)
    closed = BreakerVerdict(open=False, reason="closed")
    assert store.controls(breaker=lambda state: closed).awaiting_approval == 0
    receive(intake, "web-0")
    first = str(receive(intake, "pay-1", "apps-payments")["remediation_id"])
    receive(intake, "pay-2", "apps-payments")
    assert store.controls(breaker=lambda state: closed).awaiting_approval == 2
    approvals.decline(ApprovalStore(database), remediation_id=first, actor=OPERATOR,
                      reason="no", now=clock())
    assert store.controls(breaker=lambda state: closed).awaiting_approval == 1
