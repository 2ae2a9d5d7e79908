"""The service's own metrics, on a registry each app (and each test) builds.

Each component defines the metrics it updates, next to it (`IntakeMetrics`,
`WorkerMetrics`, `RuleMetrics`, `NotifyMetrics`, `ApprovalMetrics`, `ChatMetrics`,
`TimelineMetrics`, `AuditHeadMetrics`; the web layer's `WebMetrics` is built by `web.app` on
this registry). This module only assembles them, once, in `Services.build`,
and hands a metric two components update from its owner to the other.
Names follow Prometheus conventions (`_total`, `_seconds`); outcome labels
use the one vocabulary of `outcomes.Outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from remediator.app.audit_head import AuditHeadMetrics
from remediator.app.drift import DriftMetrics
from remediator.app.effectiveness_gauges import EffectivenessMetrics
from remediator.execute.metrics import WorkerMetrics
from remediator.intake.metrics import IntakeMetrics
from remediator.operate.metrics import (
    ApprovalMetrics,
    ChatMetrics,
    NotifyMetrics,
    TimelineMetrics,
)
from remediator.rules.metrics import RuleMetrics


@dataclass(frozen=True)
class SchedulerMetrics:
    """Set by the app's periodic jobs (`app.scheduler`); the breaker gauge they
    refresh is the intake's (`IntakeMetrics.breaker_open`)."""

    jobs_queued: Gauge
    paused: Gauge
    reconcile_runs: Counter

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> SchedulerMetrics:
        return cls(
            jobs_queued=Gauge(
                "remediator_jobs_queued", "Jobs waiting in the queue, by kind.",
                ["kind"], registry=registry),
            paused=Gauge(
                "remediator_paused", "1 while remediation is paused by an operator.",
                registry=registry),
            reconcile_runs=Counter(
                "remediator_reconcile_runs", "Reconciliations with Alertmanager, by result.",
                ["result"], registry=registry),
        )


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    intake: IntakeMetrics
    worker: WorkerMetrics
    rules: RuleMetrics
    notify: NotifyMetrics
    approvals: ApprovalMetrics
    audit_head: AuditHeadMetrics
    drift: DriftMetrics
    effectiveness: EffectivenessMetrics
    scheduler: SchedulerMetrics
    chat: ChatMetrics
    timeline: TimelineMetrics

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        """Every group on `registry` (a fresh one by default, never the global one)."""
        reg = registry if registry is not None else CollectorRegistry()
        intake = IntakeMetrics.create(registry=reg)
        return cls(registry=reg, intake=intake,
                   worker=WorkerMetrics.create(registry=reg, decisions=intake.decisions),
                   rules=RuleMetrics.create(registry=reg),
                   notify=NotifyMetrics.create(registry=reg),
                   approvals=ApprovalMetrics.create(registry=reg),
                   audit_head=AuditHeadMetrics.create(registry=reg),
                   drift=DriftMetrics.create(registry=reg),
                   effectiveness=EffectivenessMetrics.create(registry=reg),
                   scheduler=SchedulerMetrics.create(registry=reg),
                   chat=ChatMetrics.create(registry=reg),
                   timeline=TimelineMetrics.create(registry=reg))
