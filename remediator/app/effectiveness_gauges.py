"""Effectiveness gauges: the busiest target per rule, read from the audit log.

"One target remediated more than N times a day" cannot be a counter with a
`target` label (targets come from alert labels: an unbounded set). Instead a
scheduler job folds the last 24 hours of audit entries through the report's
computation (`remediator.report.effectiveness`) and exports, per rule, the
actions on its most remediated target; RemediatorTargetRemediatedOften fires
on it and `remediator report effectiveness` names the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Gauge

from remediator.report.effectiveness import Entry, effectiveness
from remediator.store import Database
from remediator.store.audit.reads import AuditReads

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class EffectivenessMetrics:
    busiest_target: Gauge

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> EffectivenessMetrics:
        return cls(busiest_target=Gauge(
            "remediator_rule_busiest_target_actions",
            "Actions in the last 24 hours on the target each rule remediated most "
            "(`remediator report effectiveness --since 1d` names it).",
            ["rule"], registry=registry))


def refresh_effectiveness(database: Database, metrics: EffectivenessMetrics,
                          now: datetime) -> dict[str, int]:
    """Set the gauge per rule that acted in the last day; rules that did not drop out."""
    rows = AuditReads(database=database).between(now - DAY, now)
    busiest: dict[str, int] = {}
    for row in effectiveness(map(Entry.of, rows), since=now - DAY, until=now).rows:
        top = max(row.targets.values(), default=0)
        busiest[row.rule] = max(busiest.get(row.rule, 0), top)
    metrics.busiest_target.clear()
    for rule, count in busiest.items():
        metrics.busiest_target.labels(rule=rule).set(count)
    return busiest
