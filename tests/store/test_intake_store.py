"""The intake's side of the store facade, on SQLite and PostgreSQL.

The webhook's hot path is one transaction: alerts remembered, decisions
made against that transaction's state, and every row they write, committed
together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select

from remediator.app.metrics import Metrics
from remediator.decide.decision import Decision
from remediator.decide.engine import decide, lookups
from remediator.model.abc import GuardState
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from remediator.store.tables import alerts as alerts_table
from tests.support.payloads import crashloop


def _alert(pod: str) -> Alert:
    return Alert.model_validate(crashloop(pod=pod))


def _outcomes(database: Database) -> list[str]:
    with database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery())
    return [item["outcome"] for item in reversed(items)]


def _remembered(database: Database) -> list[str]:
    with database.reading() as connection:
        return sorted(connection.execute(select(alerts_table.c.fingerprint)).scalars())


def test_deliveries_are_decided_one_by_one_and_committed_once(
        database: Database, rules_dir: Path, clock: FakeClock) -> None:
    rules = RuleBook([str(rules_dir)], metrics=Metrics.create().rules).current
    first, second = _alert("web-1"), _alert("web-2")
    asked: list[tuple[GuardState, datetime]] = []

    def decide_all(alerts: Sequence[Alert], state: GuardState, now: datetime) -> list[Decision]:
        asked.append((state, now))
        return [d for alert in alerts
                for d in decide(alert, rules=rules, policy=Policy(), state=state, now=now)]

    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(database.writer, "commit", committed)
    try:
        recorded = IntakeStore(database).record_deliveries(
            [([first], "g1"), ([second, first], "g2")], seen=[first, second],
            lookups=lookups([first, second], rules), clock=clock, decide=decide_all)
    finally:
        event.remove(database.writer, "commit", committed)

    assert len(commits) == 1
    assert [[s["outcome"] for s in r.summaries] for r in recorded] == [
        ["executed"], ["executed", "duplicate"]]  # the second saw the first's rows
    assert [[d.outcome.value for d in r.decisions] for r in recorded] == [
        ["executed"], ["executed", "duplicate"]]
    assert recorded[0].summaries[0]["remediation_id"]
    assert asked[0][0] is asked[1][0] and {now for _, now in asked} == {clock.now}
    assert _remembered(database) == sorted([first.fingerprint, second.fingerprint])
    assert _outcomes(database) == ["executed", "executed", "duplicate"]


def test_a_failed_decision_writes_nothing_of_the_batch(
        database: Database, clock: FakeClock) -> None:
    alert = _alert("web-1")

    def fail_second(alerts: Sequence[Alert], state: GuardState,
                    now: datetime) -> list[Decision]:
        if alerts[0].labels["pod"] == "web-2":
            raise RuntimeError("boom")
        return [Decision(outcome=Outcome.REJECTED, alert=alerts[0], reason="unusable")]

    with pytest.raises(RuntimeError):
        IntakeStore(database).record_deliveries(
            [([alert], "g1"), ([_alert("web-2")], "g2")], seen=[alert],
            lookups=(set(), set()), clock=clock, decide=fail_second)
    assert _remembered(database) == []
    assert _outcomes(database) == []


def test_a_rejection_is_one_audit_row(database: Database, clock: FakeClock) -> None:
    IntakeStore(database).record_rejection(ts=clock.now, reason="bad token",
                                           detail={"remote": "10.0.0.1"})
    with database.reading() as connection:
        [item], _ = audit.query(connection, AuditQuery())
    assert (item["outcome"], item["reason"], item["detail"]) == (
        "rejected", "bad token", {"remote": "10.0.0.1"})
