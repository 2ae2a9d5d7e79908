"""The hot path: a delivery's alerts -> decisions -> one durable transaction.

Nothing here talks to Kubernetes or waits for an action: the webhook answers
as soon as the decisions and their jobs are committed, and the worker picks
the jobs up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from remediator.decide.decision import Decision
from remediator.decide.engine import decide, lookups
from remediator.intake.metrics import IntakeMetrics
from remediator.model.abc import GuardState
from remediator.model.alerts import Alert
from remediator.model.clock import Clock, utcnow
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store.intake_store import IntakeStore


@dataclass(frozen=True)
class Delivery:
    """The alerts of one webhook call and Alertmanager's group key for them."""

    alerts: Sequence[Alert]
    group_key: str = ""


class Intake:
    def __init__(self, *, store: IntakeStore, rulebook: RuleBook, policy: Policy,
                 metrics: IntakeMetrics, clock: Clock = utcnow) -> None:
        self.store = store
        self.rulebook = rulebook
        self.policy = policy
        self.metrics = metrics
        self.clock = clock

    def receive(self, alerts: Sequence[Alert], *, group_key: str = "") -> list[dict[str, Any]]:
        """Decide for every alert and commit it all at once (raises StoreUnavailable)."""
        return self.receive_many([Delivery(alerts, group_key)])[0]

    def receive_many(self, deliveries: Sequence[Delivery]) -> list[list[dict[str, Any]]]:
        """Decide several deliveries in one transaction: one commit, one set of lookups.

        Concurrent webhook calls are grouped here (see `DecisionWriter`); the
        decisions are exactly those of receiving the deliveries one by one.
        """
        rules = self.rulebook.current
        every_alert = [alert for delivery in deliveries for alert in delivery.alerts]
        usable = [alert for alert in every_alert if not alert.unusable_time]

        def decide_all(alerts: Sequence[Alert], state: GuardState,
                       now: datetime) -> list[Decision]:
            return [decision for alert in alerts for decision in (
                [_unusable(alert)] if alert.unusable_time
                else decide(alert, rules=rules, policy=self.policy, state=state, now=now))]

        recorded = self.store.record_deliveries(
            [(delivery.alerts, delivery.group_key) for delivery in deliveries],
            seen=usable, lookups=lookups(usable, rules), clock=self.clock, decide=decide_all)
        self._count(every_alert, [d for batch in recorded for d in batch.decisions])
        return [batch.summaries for batch in recorded]

    def reject(self, *, reason: str, detail: dict[str, Any], now: datetime | None = None) -> None:
        """Record a delivery that failed validation or authentication."""
        self.store.record_rejection(ts=now or self.clock(), reason=reason, detail=detail)
        self.metrics.decisions.labels(rule="", outcome=Outcome.REJECTED.value).inc()

    def _count(self, alerts: Sequence[Alert], decisions: Sequence[Decision]) -> None:
        for status, n in Counter(alert.status for alert in alerts).items():
            self.metrics.alerts_received.labels(status=status).inc(n)
        per_rule = Counter((d.rule_name, d.outcome.value) for d in decisions)
        for (rule, outcome), n in per_rule.items():
            self.metrics.decisions.labels(rule=rule, outcome=outcome).inc(n)
        if any(d.trips_breaker for d in decisions):
            self.metrics.breaker_open.set(1)


def _unusable(alert: Alert) -> Decision:
    """An alert that cannot be decided (its time has no UTC value): rejected alone."""
    return Decision(outcome=Outcome.REJECTED, alert=alert,
                    reason=f"alert rejected: {alert.unusable_time}")
