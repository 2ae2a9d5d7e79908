"""`ApprovalStore`: an answer's re-check and its decision in one transaction, on SQLite
and PostgreSQL (the decision logic is `operate.approvals`', tested through the API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.app.metrics import Metrics
from remediator.decide.engine import decide_step
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database, jobs, remediations
from remediator.store.approving import ApprovalStore, Pending, Ruling
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery, AuditRecord
from remediator.store.intake_store import IntakeStore
from tests.support.payloads import crashloop

RULES = """\
rules:
  - name: restart-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    approval: {required: true, timeout: 30m}
    verify: {after: 5m}
"""


@pytest.fixture
def intake(database: Database, tmp_path: Path, clock: FakeClock) -> Intake:
    (tmp_path / "rules.yml").write_text(RULES)
    metrics = Metrics.create()
    return Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                  rulebook=RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules))


def request(intake: Intake, pod: str = "web-1") -> str:
    alert = Alert.model_validate(crashloop(pod=pod))
    return str(intake.receive([alert], group_key="g")[0]["remediation_id"])


def said(clock: FakeClock, rid: str) -> AuditRecord:
    return AuditRecord(ts=clock(), outcome="operator", action="approve", remediation_id=rid)


def written(database: Database, rid: str) -> tuple[str, list[str], dict[str, int]]:
    with database.reading() as connection:
        current = remediations.get(connection, rid)
        entries, _ = audit.query(connection, AuditQuery(remediation_id=rid))
        queued = jobs.depth(connection)
    assert current is not None
    return current.state, sorted(e["outcome"] for e in entries), queued


def test_an_approval_rechecks_and_queues_in_one_transaction(intake: Intake,
                                                            clock: FakeClock) -> None:
    rid = request(intake)
    rule = intake.rulebook.current.by_name("restart-pod")
    assert rule is not None

    def ruling(pending: Pending) -> tuple[Ruling, str]:
        current = pending.remediation
        assert current is not None and pending.expires is not None
        step = decide_step(current.alert, rule.model_copy(update={"approval": None}),
                           current.step, policy=Policy(), state=pending.state, now=clock())
        assert step.outcome is Outcome.EXECUTED  # the request does not count against itself
        return (Ruling(entry=said(clock, rid), queue=step, outcome=Outcome.APPROVED,
                       reason="ok", state="pending"), "queued")

    done, result = ApprovalStore(intake.store.database).answer(remediation_id=rid, now=clock(),
                                                         ruling=ruling)
    assert result == "queued" and done.queue is not None
    assert written(intake.store.database, rid) == (
        "pending", ["approved", "awaiting_approval", "operator"], {jobs.ACTION: 1})


def test_an_answer_that_fails_writes_nothing(intake: Intake, clock: FakeClock) -> None:
    rid = request(intake)

    def ruling(pending: Pending) -> tuple[Ruling, None]:
        raise RuntimeError("the re-check failed")

    with pytest.raises(RuntimeError):
        ApprovalStore(intake.store.database).answer(remediation_id=rid, now=clock(), ruling=ruling)
    assert written(intake.store.database, rid) == ("awaiting_approval", ["awaiting_approval"], {})


def test_an_unknown_request_is_read_as_none_and_nothing_written(
        intake: Intake, clock: FakeClock) -> None:
    seen: list[Pending] = []

    def ruling(pending: Pending) -> tuple[Ruling, None]:
        seen.append(pending)
        return Ruling(outcome=Outcome.DECLINED), None

    ApprovalStore(intake.store.database).answer(remediation_id="nope", now=clock(), ruling=ruling)
    assert [(p.remediation_id, p.remediation, p.expires) for p in seen] == [
        ("nope", None, None)]


def test_a_decline_keeps_the_key_and_counts_for_nothing(intake: Intake,
                                                        clock: FakeClock) -> None:
    rid = request(intake)
    ApprovalStore(intake.store.database).answer(
        remediation_id=rid, now=clock(),
        ruling=lambda p: (Ruling(uncount=True, outcome=Outcome.DECLINED, reason="no",
                                 state=Outcome.DECLINED.value), None))
    assert written(intake.store.database, rid) == ("declined", ["awaiting_approval", "declined"], {})
    again = Alert.model_validate(crashloop(pod="web-1"))
    assert intake.receive([again], group_key="g")[0]["outcome"] == "duplicate"


def test_expire_due_writes_the_expiry_of_requests_past_their_timeout(
        intake: Intake, clock: FakeClock) -> None:
    rid = request(intake)
    store = ApprovalStore(intake.store.database)
    expiry = Ruling(give_back_key=True, outcome=Outcome.EXPIRED, reason="late",
                    state=Outcome.EXPIRED.value)
    clock.advance(minutes=29)
    assert store.expire_due(now=clock(), expiry=expiry) == []
    clock.advance(minutes=2)
    assert [r.id for r in store.expire_due(now=clock(), expiry=expiry)] == [rid]
    assert written(intake.store.database, rid) == ("expired", ["awaiting_approval", "expired"], {})
    clock.advance(minutes=1)
    again = Alert.model_validate(crashloop(pod="web-1"))
    assert intake.receive([again], group_key="g")[0]["outcome"] == "awaiting_approval"
