"""The `GuardState` contract's harness: what happened, told to each implementation.

`Backend` is the story a case tells (decided, failed, cancelled, resolved,
breaker reset, paused, a blocker firing); each class tells it to one
implementation the way the service does, so the cases in test_guard_state.py
read the same for all of them.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from remediator.decide.decision import Decision
from remediator.decide.engine import decide
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.operate import approvals
from remediator.operate.operator_log import Actor
from remediator.rules.model import Approval, Rule, RuleSet
from remediator.store import Database, recorder, remediations
from remediator.store.approving import ApprovalStore
from remediator.store.guard_state import DatabaseState
from remediator.store.operating import OperatorStore
from tests.support.postgres import create_database

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

RULE = Rule.model_validate({
    "name": "restart-pod",
    "matchers": ['alertname="KubePodCrashLooping"'],
    "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
               "name": "{{ labels.pod }}"},
    "limits": {"cooldown": "10m", "max": 3, "per": "1h"},
    "unless_firing": ['alertname="KubeNodeNotReady"', 'node=~"{{ labels.node }}"'],
})
RULES = RuleSet.of([RULE])
_counter = itertools.count()


def crash(pod: str = "web-1", *, starts: datetime = T0, status: str = "firing",
          node: str = "worker-1") -> Alert:
    return Alert(status=status, starts_at=starts,  # type: ignore[arg-type]
                 labels={"alertname": "KubePodCrashLooping", "namespace": "apps-a",
                         "pod": pod, "node": node})


class Backend(Protocol):
    """What happened, told to one GuardState implementation."""

    def decide(self, alert: Alert, now: datetime, policy: Policy) -> Decision: ...
    def fail(self, decision: Decision, at: datetime) -> None: ...
    def cancel(self, decision: Decision, at: datetime) -> None: ...
    def resolve(self, alert: Alert, at: datetime) -> None: ...
    def reset_breaker(self, at: datetime) -> None: ...
    def pause(self, paused: bool, at: datetime) -> None: ...
    def node_down(self, node: str, status: str, at: datetime) -> None: ...


def node_alert(node: str, status: str = "firing") -> Alert:
    return Alert(status=status, starts_at=T0,  # type: ignore[arg-type]
                 labels={"alertname": "KubeNodeNotReady", "node": node})


class MemoryBackend:
    def __init__(self) -> None:
        self.state = MemoryState()

    def decide(self, alert: Alert, now: datetime, policy: Policy) -> Decision:
        return decide(alert, rules=RULES, policy=policy, state=self.state, now=now)[0]

    def fail(self, decision: Decision, at: datetime) -> None:
        assert decision.key is not None
        self.state.fail(decision.key, at)

    def cancel(self, decision: Decision, at: datetime) -> None:
        assert decision.key is not None
        self.state.cancel(decision.key)

    def resolve(self, alert: Alert, at: datetime) -> None:
        """Nothing a guard reads changes in memory when an alert resolves."""

    def reset_breaker(self, at: datetime) -> None:
        self.state.reset_breaker(at)

    def pause(self, paused: bool, at: datetime) -> None:
        self.state.is_paused = paused

    def node_down(self, node: str, status: str, at: datetime) -> None:
        labels = dict(node_alert(node).labels)
        self.state.firing = [f for f in self.state.firing if f != labels]
        if status == "firing":
            self.state.firing.append(labels)


class DatabaseBackend:
    """Each event in its own transaction, as the intake and the worker write them."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.ids: dict[str | None, str] = {}

    def decide(self, alert: Alert, now: datetime, policy: Policy) -> Decision:
        with self.database.writing() as connection:
            recorder.remember_alerts(connection, [alert], now)
            decision = decide(alert, rules=RULES, policy=policy,
                              state=DatabaseState(connection), now=now)[0]
            summary = recorder.record(connection, [decision], now=now, group_key="g")[0]
        if "remediation_id" in summary:
            self.ids[decision.key] = summary["remediation_id"]
        return decision

    def _remediation(self, decision: Decision) -> remediations.Remediation:
        with self.database.reading() as connection:
            found = remediations.get(connection, self.ids[decision.key])
        assert found is not None
        return found

    def fail(self, decision: Decision, at: datetime) -> None:
        remediation = self._remediation(decision)
        with self.database.writing() as connection:
            recorder.record_outcome(connection, remediation, outcome=Outcome.FAILED,
                                    reason="boom", now=at, state=Outcome.FAILED.value)

    def cancel(self, decision: Decision, at: datetime) -> None:
        remediation = self._remediation(decision)
        with self.database.writing() as connection:
            remediations.release_key(connection, remediation.id)
            recorder.record_outcome(connection, remediation, outcome=Outcome.PAUSED,
                                    reason="paused", now=at, state=Outcome.PAUSED.value)

    def resolve(self, alert: Alert, at: datetime) -> None:
        resolved = crash(alert.labels["pod"], starts=alert.starts_at, status="resolved")
        with self.database.writing() as connection:
            recorder.remember_alerts(connection, [resolved], at)
            decisions = decide(resolved, rules=RULES, policy=Policy(),
                               state=DatabaseState(connection), now=at)
            recorder.record(connection, decisions, now=at, group_key="g")

    def reset_breaker(self, at: datetime) -> None:
        from remediator.operate.operations import reset_breaker
        reset_breaker(OperatorStore(self.database), at, "test")

    def pause(self, paused: bool, at: datetime) -> None:
        from remediator.operate.operations import set_paused
        set_paused(OperatorStore(self.database), paused, "test", at)

    def node_down(self, node: str, status: str, at: datetime) -> None:
        with self.database.writing() as connection:
            recorder.remember_alerts(connection, [node_alert(node, status)], at)


APPROVED_RULE = RULE.model_copy(update={"approval": Approval(timeout=timedelta(minutes=30))})
APPROVED_RULES = RuleSet.of([APPROVED_RULE])
OPERATOR = Actor(name="contract", via="test")


class ApprovalBackend(DatabaseBackend):
    """Every action is first an approval request, approved at once (`RecheckState`).

    `decide` reports what the approval ended in: `executed` when approved, else
    the guard that refused it; decisions that never asked pass through.
    """

    def request(self, alert: Alert, now: datetime, policy: Policy) -> Decision:
        with self.database.writing() as connection:
            recorder.remember_alerts(connection, [alert], now)
            decision = decide(alert, rules=APPROVED_RULES, policy=policy,
                              state=DatabaseState(connection), now=now)[0]
            summary = recorder.record(connection, [decision], now=now, group_key="g")[0]
        if "remediation_id" in summary:
            self.ids[decision.key] = summary["remediation_id"]
        return decision

    def answer(self, decision: Decision, now: datetime, policy: Policy) -> Decision:
        """Approve the request: `executed`, or the refusing guard and its reason."""
        assert decision.outcome is Outcome.AWAITING_APPROVAL
        got = approvals.approve(ApprovalStore(self.database), remediation_id=self.ids[decision.key],
                                actor=OPERATOR, reason="", now=now, rules=APPROVED_RULES,
                                policy=policy)
        if got.outcome is Outcome.APPROVED:
            return replace(decision, outcome=Outcome.EXECUTED)
        why = got.reason.split("not run: ", 1)[-1].removeprefix(f"{got.outcome.value}: ")
        return replace(decision, outcome=got.outcome, reason=why)

    def decline(self, decision: Decision, now: datetime) -> None:
        approvals.decline(ApprovalStore(self.database), remediation_id=self.ids[decision.key],
                          actor=OPERATOR, reason="", now=now)

    def decide(self, alert: Alert, now: datetime, policy: Policy) -> Decision:
        asked = self.request(alert, now, policy)
        if asked.outcome is not Outcome.AWAITING_APPROVAL:
            return asked
        return self.answer(asked, now, policy)


def open_database(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Database:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'guards.db'}"
    else:
        url = create_database(request.getfixturevalue("postgres_admin_url"),
                              f"guards_{next(_counter)}")
    database = Database(url)
    database.migrate()
    return database


def outcomes(backend: Backend, alerts: list[Alert], now: datetime,
             policy: Policy | None = None) -> list[Outcome]:
    return [backend.decide(alert, now, policy or Policy()).outcome for alert in alerts]
